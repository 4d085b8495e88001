//! A sample company of fifty people across eight departments, the same every time.

use chrono::{Duration, NaiveDate};
use serde_json::{Value, json};

const FIRST: [&str; 25] = [
    "Ada",
    "Grace",
    "Alan",
    "Barbara",
    "Edsger",
    "Frances",
    "Donald",
    "Margaret",
    "Ken",
    "Radia",
    "Dennis",
    "Hedy",
    "Linus",
    "Katherine",
    "Tim",
    "Sophie",
    "Niklaus",
    "Annie",
    "Guido",
    "Evelyn",
    "Bjarne",
    "Mary",
    "John",
    "Jean",
    "Leslie",
];
const LAST: [&str; 10] =
    ["Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Knuth", "Hamilton", "Thompson", "Perlman"];
const DEPARTMENTS: [(&str, &[&str]); 8] = [
    ("Engineering", &["VP Engineering", "Software Engineer", "Senior Software Engineer", "SRE"]),
    ("Sales", &["Head of Sales", "Account Executive", "Sales Development Rep"]),
    ("Marketing", &["CMO", "Content Marketer", "Growth Marketer"]),
    ("Finance", &["CFO", "Accountant"]),
    ("People", &["Head of People", "Recruiter"]),
    ("Support", &["Support Lead", "Support Engineer"]),
    ("Design", &["Design Lead", "Product Designer"]),
    ("IT", &["IT Manager", "IT Specialist"]),
];
const CITIES: [(&str, &str, &str); 5] = [
    ("Provo", "UT", "84601"),
    ("Austin", "TX", "73301"),
    ("Denver", "CO", "80202"),
    ("Portland", "OR", "97201"),
    ("Raleigh", "NC", "27601"),
];

/// Fifty BambooHR records keyed by id: heads of department report to person 1, everyone else to their head.
/// Two people start in the future; one is on leave.
pub fn sample_company(today: NaiveDate) -> Vec<(u32, Value)> {
    let mut people = Vec::with_capacity(50);
    for n in 0..50u32 {
        let id = n + 1;
        let first = FIRST[n as usize % FIRST.len()];
        let last = LAST[(n as usize / 5) % LAST.len()];
        let (department, titles) = DEPARTMENTS[n as usize % DEPARTMENTS.len()];
        let head = n < DEPARTMENTS.len() as u32;
        let title = if head { titles[0] } else { titles[1 + n as usize % (titles.len() - 1)] };
        let supervisor = if n == 0 {
            None
        } else if head {
            Some(1)
        } else {
            Some(n % DEPARTMENTS.len() as u32 + 1)
        };
        let hire = match n {
            48 => today + Duration::days(14),
            49 => today + Duration::days(30),
            _ => NaiveDate::from_ymd_opt(2015 + (n as i32 % 10), 1 + n % 12, 1 + n % 28).unwrap_or(today),
        };
        let (city, state, zip) = CITIES[n as usize % CITIES.len()];
        let history = if n == 20 { "Leave of Absence" } else { "Full-Time" };
        let email = format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), if n >= 25 { "2" } else { "" });
        let record = json!({
            "firstName": first,
            "lastName": last,
            "workEmail": format!("{email}@acme.example"),
            "homeEmail": format!("{email}@home.example"),
            "mobilePhone": format!("555-01{:02}", n),
            "address1": format!("{} Main St", 100 + n),
            "address2": "",
            "city": city,
            "state": state,
            "zipcode": zip,
            "country": "United States",
            "jobTitle": title,
            "department": department,
            "supervisorId": supervisor.map(|s| s.to_string()),
            "supervisor": supervisor.map(|s| {
                let m = s - 1;
                format!("{}, {}", LAST[(m as usize / 5) % LAST.len()], FIRST[m as usize % FIRST.len()])
            }),
            // Pre-hires stay inactive until their first day, as BambooHR keeps them.
            "status": if hire > today { "Inactive" } else { "Active" },
            "employmentHistoryStatus": history,
            "hireDate": hire.format("%Y-%m-%d").to_string(),
            "terminationDate": "0000-00-00",
        });
        people.push((id, record));
    }
    people
}

/// A company of `size` people for scale tests and benchmarks, built from the same pools as the sample company: ids
/// 1..=size, departments and managers in a tree, everyone active. Deterministic, and cheap to build for 100,000.
pub fn generated_company(size: u32) -> Vec<(u32, Value)> {
    (0..size)
        .map(|n| {
            let id = n + 1;
            let first = FIRST[n as usize % FIRST.len()];
            let last = LAST[(n as usize / FIRST.len()) % LAST.len()];
            let (department, titles) = DEPARTMENTS[n as usize % DEPARTMENTS.len()];
            let (city, state, zip) = CITIES[n as usize % CITIES.len()];
            let manager = if n < DEPARTMENTS.len() as u32 { 1 } else { n % DEPARTMENTS.len() as u32 + 1 };
            let record = json!({
                "firstName": first,
                "lastName": format!("{last}-{id}"),
                "email": format!("{}.{}{id}@bigco.example", first.to_lowercase(), last.to_lowercase()),
                "mobilePhone": format!("555-{:06}", id),
                "addressLineOne": format!("{} Main St", id),
                "city": city,
                "state": state,
                "zipcode": zip,
                "country": "United States",
                "jobInformationJobTitle": titles[n as usize % titles.len()],
                "jobInformationDepartment": department,
                "supervisorEid": (id != 1).then(|| manager.to_string()),
                "status": "Active",
                "employmentStatus": "Full-Time",
                "hireDate": format!("{}-{:02}-{:02}", 2010 + n % 15, 1 + n % 12, 1 + n % 28),
                "terminationDate": "0000-00-00",
            });
            (id, record)
        })
        .collect()
}

/// One person of the small sample company every other fake HR system starts with: first and last name,
/// department, title, start date and city.
pub struct Sample {
    pub first: &'static str,
    pub last: &'static str,
    pub department: &'static str,
    pub title: &'static str,
    pub start: NaiveDate,
    pub city: &'static str,
}

/// Eight people in four departments; one starts in two weeks.
pub fn small_company(today: NaiveDate) -> Vec<Sample> {
    let rows: [(&str, &str, &str, &str, i64, &str); 8] = [
        ("Ada", "Lovelace", "Engineering", "VP Engineering", -2000, "London"),
        ("Grace", "Hopper", "Engineering", "Software Engineer", -900, "Arlington"),
        ("Alan", "Turing", "Engineering", "SRE", -400, "Manchester"),
        ("Barbara", "Liskov", "Finance", "CFO", -1500, "Boston"),
        ("Edsger", "Dijkstra", "Finance", "Accountant", -300, "Austin"),
        ("Frances", "Allen", "IT", "IT Manager", -1200, "Peru"),
        ("Donald", "Knuth", "IT", "IT Specialist", -200, "Stanford"),
        ("Margaret", "Hamilton", "Design", "Product Designer", 14, "Boston"),
    ];
    rows.into_iter()
        .map(|(first, last, department, title, days, city)| Sample {
            first,
            last,
            department,
            title,
            start: today + Duration::days(days),
            city,
        })
        .collect()
}
