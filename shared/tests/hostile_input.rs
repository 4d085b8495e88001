//! Hostile input, fuzzed on stable Rust with proptest: every parser that reads what an HR system, an identity
//! provider or an admin sends — webhook deliveries that pass their signature check, each provider's record mapper,
//! SCIM users and PATCH requests, the worker's messages, the admin API's request bodies — answers with a value or
//! a reason and never panics. `PROPTEST_CASES` sets the cases per target (256 by default; `make fuzz` runs
//! 100,000).

use chrono::{NaiveDate, Utc};
use hmac::{Hmac, Mac};
use ithub::providers::{self, ProviderKind};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::HashMap;

/// Any JSON document, biased toward the shapes and field names HR records have, so that mappers get past their
/// first checks.
fn json() -> impl Strategy<Value = Value> {
    const NAMES: &[&str] = &[
        "id",
        "uuid",
        "root",
        "work",
        "firstName",
        "first_name",
        "lastName",
        "email",
        "status",
        "hireDate",
        "hired_at",
        "startDate",
        "terminationDate",
        "terminations",
        "effective_date",
        "department",
        "manager",
        "userName",
        "name",
        "emails",
        "value",
        "active",
        "schemas",
        "Operations",
        "op",
        "path",
        "person",
        "workerID",
        "associateOID",
        "workAssignments",
        "employment_status",
        "Employee_ID",
        "First_Name",
        "Last_Name",
        "Work_Email",
        "Personal_Email",
        "Phone",
        "Hire_Date",
        "Termination_Date",
        "Active",
        "On_Leave",
        "Manager_ID",
        "Department",
        "Job_Title",
    ];
    let names = prop_oneof![prop::sample::select(NAMES).prop_map(str::to_owned), "[a-zA-Z_.]{1,12}"];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}".prop_map(Value::String),
        "(ACTIVE|TERMINATED|Active|Inactive|active|terminated|leave|PRE_HIRE|add|replace|remove)"
            .prop_map(Value::String),
        "\\PC{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((names.clone(), inner), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// Workday's element names, the ones its mapper looks for, with ids of the types it reads.
const WORKDAY_NAMES: &[&str] = &[
    "Response_Results",
    "Total_Pages",
    "Response_Data",
    "Worker",
    "Worker_Reference",
    "ID",
    "Worker_Data",
    "Worker_ID",
    "Personal_Data",
    "Name_Data",
    "Legal_Name_Data",
    "Preferred_Name_Data",
    "Name_Detail_Data",
    "First_Name",
    "Last_Name",
    "Contact_Data",
    "Email_Address_Data",
    "Email_Address",
    "Phone_Data",
    "Formatted_Phone",
    "Phone_Device_Type_Reference",
    "Address_Data",
    "Address_Line_Data",
    "Municipality",
    "Postal_Code",
    "Country_Reference",
    "Country_Region_Reference",
    "Usage_Data",
    "Type_Data",
    "Type_Reference",
    "Employment_Data",
    "Worker_Status_Data",
    "Active",
    "Terminated",
    "Hire_Date",
    "Termination_Date",
    "Leave_Status_Data",
    "On_Leave",
    "Worker_Job_Data",
    "Position_Data",
    "Position_Title",
    "Business_Title",
    "Job_Title",
    "Primary_Job",
    "Worker_Organization_Data",
    "Organization_Data",
    "Organization_Name",
    "Organization_Type_Reference",
    "Management_Chain_Data",
    "Worker_Supervisory_Management_Chain_Data",
    "Manager_Reference",
];

/// A Workday `Get_Workers` answer of any shape: elements named as Workday names them (or not), `wd:type` ids of
/// the kinds the mapper reads, and any text, nested.
fn workday_xml() -> impl Strategy<Value = String> {
    let text = prop_oneof![
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(-07:00)?",
        "(0|1|true|false|WORK|HOME|Employee_ID|Cost_Center)",
        "\\PC{0,24}".prop_map(|t| quick_escape(&t)),
    ];
    let name = prop_oneof![prop::sample::select(WORKDAY_NAMES).prop_map(str::to_owned), "[A-Za-z_]{1,12}"];
    let kind = prop::option::of(prop::sample::select(
        &["Employee_ID", "Contingent_Worker_ID", "WID", "Organization_Type_ID", "ISO_3166-1_Alpha-2_Code"][..],
    ));
    text.prop_recursive(6, 96, 8, move |inner| {
        (name.clone(), kind.clone(), prop::collection::vec(inner, 0..6)).prop_map(|(name, kind, children)| {
            let kind = kind.map(|k| format!(" wd:type=\"{k}\"")).unwrap_or_default();
            format!("<wd:{name}{kind}>{}</wd:{name}>", children.concat())
        })
    })
}

/// One Workday worker as the mapper reads it, each section there or not, every value and attribute any text
/// (dates and flags among them), and any subtree beside them: what the mapper itself does with odd values.
fn workday_worker() -> impl Strategy<Value = String> {
    const SECTIONS: &[&str] = &[
        "<wd:Personal_Data><wd:Name_Data><wd:Legal_Name_Data><wd:Name_Detail_Data><wd:First_Name>§</wd:First_Name>\
         <wd:Last_Name>§</wd:Last_Name></wd:Name_Detail_Data></wd:Legal_Name_Data><wd:Preferred_Name_Data>\
         <wd:Name_Detail_Data><wd:First_Name>§</wd:First_Name></wd:Name_Detail_Data></wd:Preferred_Name_Data>\
         </wd:Name_Data><wd:Contact_Data><wd:Email_Address_Data><wd:Email_Address>§</wd:Email_Address>\
         <wd:Usage_Data><wd:Type_Data><wd:Type_Reference wd:Descriptor=\"§\"><wd:ID wd:type=\"Communication_Usage_Type_ID\">§</wd:ID>\
         </wd:Type_Reference></wd:Type_Data></wd:Usage_Data></wd:Email_Address_Data>\
         <wd:Phone_Data wd:Formatted_Phone=\"§\"><wd:Phone_Device_Type_Reference wd:Descriptor=\"§\"/>\
         <wd:Phone_Number>§</wd:Phone_Number></wd:Phone_Data>\
         <wd:Address_Data><wd:Address_Line_Data wd:Type=\"§\">§</wd:Address_Line_Data><wd:Municipality>§</wd:Municipality>\
         <wd:Country_Region_Reference wd:Descriptor=\"§\"/><wd:Postal_Code>§</wd:Postal_Code>\
         <wd:Country_Reference><wd:ID wd:type=\"ISO_3166-1_Alpha-2_Code\">§</wd:ID></wd:Country_Reference>\
         <wd:Usage_Data><wd:Type_Data><wd:Type_Reference><wd:ID>§</wd:ID></wd:Type_Reference></wd:Type_Data></wd:Usage_Data>\
         </wd:Address_Data></wd:Contact_Data></wd:Personal_Data>",
        "<wd:Employment_Data><wd:Worker_Job_Data wd:Primary_Job=\"§\"><wd:Position_Data><wd:Business_Title>§</wd:Business_Title>\
         <wd:Position_Title>§</wd:Position_Title></wd:Position_Data></wd:Worker_Job_Data><wd:Worker_Status_Data>\
         <wd:Active>§</wd:Active><wd:Hire_Date>§</wd:Hire_Date><wd:Terminated>§</wd:Terminated>\
         <wd:Termination_Date>§</wd:Termination_Date><wd:Leave_Status_Data><wd:On_Leave>§</wd:On_Leave>\
         </wd:Leave_Status_Data></wd:Worker_Status_Data></wd:Employment_Data>",
        "<wd:Organization_Data><wd:Worker_Organization_Data><wd:Organization_Data><wd:Organization_Name>§</wd:Organization_Name>\
         <wd:Organization_Type_Reference><wd:ID wd:type=\"Organization_Type_ID\">§</wd:ID></wd:Organization_Type_Reference>\
         </wd:Organization_Data></wd:Worker_Organization_Data></wd:Organization_Data>",
        "<wd:Management_Chain_Data><wd:Worker_Supervisory_Management_Chain_Data><wd:Management_Chain_Data>\
         <wd:Manager_Reference><wd:ID wd:type=\"§\">§</wd:ID></wd:Manager_Reference></wd:Management_Chain_Data>\
         </wd:Worker_Supervisory_Management_Chain_Data></wd:Management_Chain_Data>",
    ];
    let value = prop_oneof![
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(-07:00|Z)?",
        "[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}",
        "(0|1|true|false|WORK|HOME|Mobile|Cost_Center|Employee_ID|WID|ADDRESS_LINE_1|US)",
        "\\PC{0,24}".prop_map(|t| quick_escape(&t)),
    ];
    (
        prop::option::of("\\PC{0,12}".prop_map(|t| quick_escape(&t))),
        prop::collection::vec(any::<bool>(), SECTIONS.len()),
        prop::collection::vec(value, 48),
        workday_xml(),
    )
        .prop_map(|(id, shown, mut values, junk)| {
            let mut data = String::new();
            for (section, shown) in SECTIONS.iter().zip(shown) {
                if shown {
                    for (n, part) in section.split('§').enumerate() {
                        if n > 0 {
                            data.push_str(&values.pop().unwrap_or_default());
                        }
                        data.push_str(part);
                    }
                }
            }
            let reference = id
                .map(|id| {
                    format!("<wd:Worker_Reference><wd:ID wd:type=\"Employee_ID\">{id}</wd:ID></wd:Worker_Reference>")
                })
                .unwrap_or_default();
            format!("<wd:Worker>{reference}<wd:Worker_Data>{data}{junk}</wd:Worker_Data></wd:Worker>")
        })
}

fn quick_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    for part in parts {
        mac.update(part);
    }
    hex::encode(mac.finalize().into_bytes())
}

fn headers(pairs: &[(&'static str, String)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            map.insert(*name, value);
        }
    }
    map
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        json().prop_map(|v| serde_json::to_vec(&v).expect("JSON")),
        json().prop_map(|v| serde_json::to_vec(&serde_json::json!({"type": "employee.updated", "data": v})).unwrap()),
        json().prop_map(|v| serde_json::to_vec(&serde_json::json!({"employees": [v], "data": [v]})).unwrap()),
    ]
}

proptest! {
    /// Deliveries signed with the connection's own secret reach each provider's payload parser: any body gets a
    /// verdict.
    #[test]
    fn signed_deliveries_of_any_body_get_a_verdict(body in body(), secret in "[ -~]{1,40}") {
        let now = Utc::now();
        let secrets = vec![secret.clone()];
        let timestamp = now.timestamp().to_string();
        let bamboo = headers(&[
            ("x-bamboohr-timestamp", timestamp.clone()),
            ("x-bamboohr-signature", hmac_hex(&secret, &[&body, timestamp.as_bytes()])),
        ]);
        let _ = providers::bamboohr::verify_webhook(&secrets, &bamboo, &body, now);
        let gusto = headers(&[(providers::gusto::SIGNATURE_HEADER, providers::gusto::sign(&secret, &body))]);
        let _ = providers::gusto::verify_webhook(&secrets, &gusto, &body);
        let bob = headers(&[(providers::hibob::SIGNATURE_HEADER, providers::hibob::sign(&secret, &body))]);
        let _ = providers::hibob::verify_webhook(&secrets, &bob, &body);
        let personio = headers(&[("authorization", secret.clone())]);
        let _ = providers::personio::verify_webhook(&secrets, &personio, &body);
        // And every provider, whatever the headers say.
        for kind in ProviderKind::ALL {
            for h in [&bamboo, &gusto, &bob, &personio] {
                let _ = kind.verify_webhook(&secrets, h, &body, now);
            }
        }
    }

    /// Whatever a provider's API answers for one person, its mapper gives an employee or a reason.
    #[test]
    fn every_record_mapper_answers_any_record(record in json()) {
        let today = today();
        if let Ok(parsed) = serde_json::from_value::<providers::bamboohr::Record>(record.clone()) {
            let _ = parsed.into_employee(today);
        }
        let _ = providers::gusto::into_employee(&record, today);
        let departments = HashMap::from([("1".to_owned(), "Engineering".to_owned())]);
        let _ = providers::hibob::into_employee(&record, &departments, today);
        let _ = providers::adp::into_employee(&record, today);
        if let Ok(worker) = serde_json::from_value::<providers::rippling::Worker>(record.clone()) {
            let _ = providers::rippling::into_employee(worker, &["status".to_owned()], today);
        }
        if let (Ok(settings), Ok(person)) = (
            serde_json::from_value::<providers::personio::Settings>(serde_json::json!({})),
            serde_json::from_value::<providers::personio::Person>(record.clone()),
        ) {
            let employment = serde_json::from_value::<providers::personio::Employment>(record.clone()).ok();
            let _ = providers::personio::into_employee(&settings, person, employment, Some("Sales".into()), today);
        }
        if let Ok(user) = ithub::scim::user::accept(record.clone()) {
            let _ = ithub::scim::user::to_employee("u1", &user, today);
        }
        let _ = ithub::scim::user::to_employee("u2", &record, today);
    }

    /// Whatever Workday answers: a `Get_Workers` page of any shape (inside its SOAP envelope, or bare, or not
    /// XML at all) is mapped worker by worker or refused as malformed, and a report row of any shape is an employee
    /// or a reason.
    #[test]
    fn workday_answers_of_any_shape_are_mapped_or_refused(
        workers in prop::collection::vec(workday_worker(), 0..4),
        tree in workday_xml(),
        raw in "\\PC{0,64}",
        row in json(),
    ) {
        let today = today();
        let page = format!(
            "<env:Envelope xmlns:env=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:wd=\"urn:com.workday/bsvc\">\
             <env:Body><wd:Get_Workers_Response>{tree}<wd:Response_Data>{}</wd:Response_Data></wd:Get_Workers_Response>\
             </env:Body></env:Envelope>",
            workers.concat()
        );
        if let Ok((workers, _pages)) = providers::workday::parse_workers(&page, "Cost_Center", today) {
            for worker in workers.into_iter().flatten() {
                prop_assert!(!worker.hr_id.is_empty(), "a worker mapped without an id");
            }
        }
        let _ = providers::workday::parse_workers(&tree, "Cost_Center", today);
        let _ = providers::workday::parse_workers(&raw, "Cost_Center", today);
        let row: HashMap<String, Value> = match row {
            Value::Object(fields) => fields.into_iter().collect(),
            other => HashMap::from([("Employee_ID".to_owned(), other)]),
        };
        let _ = providers::workday::from_report(&row, today);
    }

    /// A SCIM PATCH request of any shape, applied to any user: an answer or a SCIM error.
    #[test]
    fn scim_patch_requests_of_any_shape_apply_or_are_refused(request in json(), user in json()) {
        if let Ok(request) = serde_json::from_value::<ithub::scim::patch::PatchRequest>(request) {
            let mut user = user;
            let _ = ithub::scim::patch::apply(&mut user, &request);
        }
    }

    /// The worker's queue messages: anything on the queue parses or is refused.
    #[test]
    fn any_queue_message_parses_or_is_refused(text in prop_oneof![
        "\\PC{0,200}",
        json().prop_map(|v| v.to_string()),
        json().prop_map(|v| serde_json::json!({"version": 1, "message": v}).to_string()),
    ]) {
        let _ = ithub::messages::Message::from_json(&text);
    }

    /// The admin API's bodies: a connection request is validated field by field, a playbook and IT's own fields
    /// checked; none panics.
    #[test]
    fn admin_bodies_of_any_shape_are_validated_or_refused(body in json(), provider in prop_oneof![
        prop::sample::select(&["bamboohr", "gusto", "hibob", "personio", "adp", "rippling", "workday", "scim"][..])
            .prop_map(str::to_owned),
        "[a-z]{0,8}",
    ]) {
        let mut request = body.clone();
        if let Some(fields) = request.as_object_mut() {
            fields.insert("provider".into(), Value::String(provider));
        }
        if let Ok(connection) = serde_json::from_value::<providers::NewConnection>(request) {
            let _ = connection.validate(providers::Egress::Public);
        }
        if let Ok(playbook) = serde_json::from_value::<ithub::domain::Playbook>(body.clone()) {
            let _ = playbook.validate();
        }
        if let Ok(fields) = serde_json::from_value::<ithub::domain::HubFields>(body) {
            let _ = fields.validate();
        }
    }
}
