//! The web console in a real headless Chromium (Debian's `chromium` and `chromium-driver`, which `make test`
//! installs), driven over WebDriver: what an IT admin does, screen by screen, with axe-core run on every screen
//! (no serious or critical finding allowed) and a screenshot of each saved into `docs/console/`. Then the
//! session's properties over plain HTTP: cookie flags, CSRF, expiry, sign-out and revoked keys.

use chrono::Utc;
use integration_tests::{World, drain, person, serve, stack, tenant};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;

const DEADLINE: Duration = Duration::from_secs(90);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// chromedriver on a free port, and a headless Chromium session through it; both end with the test.
struct Browser {
    driver: WebDriver,
    base: String,
    _chromedriver: tokio::process::Child,
    _profile: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    /// Also ends any Chromium still using the profile: a test that fails before `quit` leaves its browser behind
    /// when chromedriver is killed.
    fn drop(&mut self) {
        let pattern = format!("user-data-dir={}", self.0.display());
        let _ = std::process::Command::new("pkill").args(["-f", &pattern]).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Browser {
    async fn start(base: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let chromedriver = tokio::process::Command::new(std::env::var("CHROMEDRIVER").unwrap_or("chromedriver".into()))
            .arg(format!("--port={port}"))
            // The admin is somewhere else than the server: times must be shown in their zone, not UTC.
            .env("TZ", "Pacific/Auckland")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver (Debian's chromium-driver; `make test` installs it)");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        while !http.get(format!("{url}/status")).send().await.is_ok_and(|r| r.status().is_success()) {
            assert!(started.elapsed() < Duration::from_secs(30), "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!("ithub-chromium-{}", uuid::Uuid::new_v4().simple()));
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary(&std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into())).unwrap();
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,900",
            "--lang=en-GB",
            &format!("--user-data-dir={}", profile.display()),
        ] {
            caps.add_arg(arg).unwrap();
        }
        let driver = WebDriver::new(&url, caps).await.expect("a Chromium session");
        Self { driver, base: base.to_owned(), _chromedriver: chromedriver, _profile: TempDir(profile) }
    }

    async fn go(&self, path: &str) {
        self.driver.goto(format!("{}{path}", self.base)).await.expect("navigate");
    }

    async fn path(&self) -> String {
        let url = self.driver.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The page's visible text; empty while a page is being replaced.
    async fn text(&self) -> String {
        match self.driver.find(By::Tag("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    async fn css(&self, selector: &str) -> WebElement {
        self.driver.find(By::Css(selector)).await.unwrap_or_else(|e| panic!("{selector}: {e}"))
    }

    async fn click(&self, selector: &str) {
        self.css(selector).await.click().await.unwrap_or_else(|e| panic!("click {selector}: {e}"));
    }

    async fn button(&self, label: &str) {
        let xpath = format!("//button[normalize-space(.)='{label}']");
        let button = self.driver.find(By::XPath(&xpath)).await.unwrap_or_else(|e| panic!("button {label}: {e}"));
        button.click().await.unwrap_or_else(|e| panic!("click {label}: {e}"));
    }

    async fn fill(&self, selector: &str, text: &str) {
        let field = self.css(selector).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Waits until the page's text contains `what` (reloading with `reload`), up to the deadline.
    async fn wait_for(&self, what: &str, reload: bool) {
        let started = Instant::now();
        loop {
            let text = self.text().await;
            if text.contains(what) {
                return;
            }
            assert!(started.elapsed() < DEADLINE, "gave up waiting for {what:?} on {}:\n{text}", self.path().await);
            tokio::time::sleep(Duration::from_millis(300)).await;
            if reload {
                self.driver.refresh().await.expect("reload");
            }
        }
    }

    /// Waits until `done` holds, up to the deadline.
    async fn wait_until<F: std::future::Future<Output = bool>>(&self, what: &str, done: impl Fn() -> F) {
        let started = Instant::now();
        while !done().await {
            assert!(
                started.elapsed() < DEADLINE,
                "gave up waiting for {what} on {}:\n{}",
                self.path().await,
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// axe-core on the screen as it is: no serious or critical finding. Then a screenshot of it, as
    /// `docs/console/{name}.png`.
    async fn check(&self, name: &str) {
        eprintln!("checking {name} at {}", self.path().await);
        let axe = std::env::var("ITHUB_AXE_JS")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo().join(".venv/browser/node_modules/axe-core/axe.min.js"));
        let source = std::fs::read_to_string(&axe)
            .unwrap_or_else(|e| panic!("{}: {e} (`make test` installs axe-core)", axe.display()));
        self.driver.execute(&source, vec![]).await.expect("load axe-core");
        let script = "return axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations \
            .filter(v => v.impact === 'serious' || v.impact === 'critical') \
            .map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')) })));";
        let found = self.driver.execute(script, vec![]).await.expect("run axe-core");
        let found = found.json().clone();
        assert_eq!(found, json!([]), "{name} ({}): axe-core's serious or critical findings", self.path().await);
        let dir = repo().join("docs/console");
        std::fs::create_dir_all(&dir).expect("docs/console");
        self.driver.screenshot(&dir.join(format!("{name}.png"))).await.expect("screenshot");
    }
}

fn people(n: u32) -> Vec<(u32, Value)> {
    let names = [
        ("Ada", "Lovelace", "Engineering"),
        ("Grace", "Hopper", "Engineering"),
        ("Alan", "Turing", "Research"),
        ("Katherine", "Johnson", "Research"),
        ("Edsger", "Dijkstra", "Engineering"),
        ("Barbara", "Liskov", "Engineering"),
        ("Donald", "Knuth", "Research"),
        ("Frances", "Allen", "Sales"),
        ("Tim", "Berners-Lee", "Sales"),
        ("Radia", "Perlman", "Operations"),
    ];
    (1..=n)
        .map(|i| {
            let (f, l, d) = names[(i as usize - 1) % names.len()];
            (i, person(f, l, d))
        })
        .collect()
}

async fn licenses(world: &World) -> u64 {
    world.admin.get("/v1/licenses").await.1["count"].as_u64().expect("a count")
}

/// The whole journey of the issue, in the browser: a wrong key refused; sign in; set up three people (licenses
/// +3); a hire in HR and "Sync now" bring its onboarding task, performed and completed; Employee → Actions →
/// Offboard opens the offboarding task; a held sync run approved; another tenant's ids are not found; sign out.
#[tokio::test]
async fn an_admin_works_through_the_console_in_a_real_browser() {
    let world = World::new(people(10)).await;
    world.sync().await;
    let mut feeding = world.stack.start_feeding();
    let b = Browser::start(&world.api).await;

    // Signed out, every page leads to sign-in; a wrong key is refused with a reason.
    b.go("/console/employees").await;
    assert!(b.path().await.starts_with("/console/sign-in"), "{}", b.path().await);
    b.check("sign-in").await;
    b.fill("#key", "ithub_not-a-real-key").await;
    b.button("Sign in").await;
    b.wait_for("That admin key is not valid", false).await;
    assert!(b.path().await.starts_with("/console/sign-in"));

    b.fill("#key", &world.admin.key).await;
    b.button("Sign in").await;
    b.wait_for("Set up selected", false).await;
    assert_eq!(b.path().await, "/console/employees");
    b.check("employees").await;
    let cookies = b.driver.get_all_cookies().await.expect("cookies");
    assert!(cookies.iter().all(|c| !c.value.contains(&world.admin.key)), "the key is not kept in the browser");
    let script = b.driver.execute("return document.cookie", vec![]).await.expect("document.cookie");
    assert_eq!(script.json(), &json!(""), "no cookie is readable by page scripts");

    // Set up three people: the page says what it adds, and three licenses are in use.
    assert_eq!(licenses(&world).await, 0);
    let boxes = b.driver.find_all(By::Css("input[name=employee_id]")).await.unwrap();
    assert_eq!(boxes.len(), 10, "everyone is active and not set up");
    for checkbox in &boxes[..3] {
        checkbox.click().await.unwrap();
    }
    b.wait_for("3 selected: setting them up adds 3 licenses", false).await;
    b.button("Set up 3 people").await;
    b.wait_for("Licenses in use: 0 → 3 (+3)", false).await;
    b.check("setup-result").await;
    assert_eq!(licenses(&world).await, 3);
    b.go("/console/licenses").await;
    assert_eq!(b.css("#license-count").await.text().await.unwrap(), "3");
    b.check("licenses").await;

    // A hire in HR; "Sync now" from the connection's page brings the onboarding task. The worker is held back
    // until the run's page shows the run queued, so the page is seen following it to its end on its own.
    world
        .fake
        .hire(json!({"firstName": "Margaret", "lastName": "Hamilton", "department": "Engineering", "status": "Active"}))
        .await;
    b.go(&format!("/console/connections/{}", world.connection.id)).await;
    b.check("connection").await;
    feeding.stop().await;
    b.button("Sync now").await;
    b.wait_until("the run's page", || async { b.path().await.contains("/runs/") }).await;
    let polled = b.css("[hx-trigger='every 2s']").await;
    assert_eq!(polled.attr("data-status").await.unwrap().as_deref(), Some("queued"));
    feeding = world.stack.start_feeding();
    b.wait_until("the run to succeed on its page", || async {
        b.driver.find(By::Css("[data-status='succeeded']")).await.is_ok()
    })
    .await;
    b.check("sync-run").await;
    b.go("/console/tasks?kind=onboarding").await;
    b.wait_for("Margaret Hamilton", true).await;
    b.check("tasks").await;
    b.driver.find(By::LinkText("Margaret Hamilton")).await.unwrap().click().await.unwrap();
    b.wait_for("Checklist", false).await;
    b.check("onboarding-task").await;
    // Each item done (in place, by htmx), a note on the first.
    let task_path = b.path().await;
    b.driver.execute("window.ithubMarker = 'before'", vec![]).await.unwrap();
    let mut first = true;
    loop {
        let Ok(done) = b.driver.find(By::XPath("//button[normalize-space(.)='Done']")).await else { break };
        if first {
            let note = b.css("#task-work input[name=note]").await;
            note.send_keys("Laptop shipped").await.unwrap();
            first = false;
        }
        let before = b.driver.find_all(By::XPath("//button[normalize-space(.)='Done']")).await.unwrap().len();
        done.click().await.unwrap();
        let started = Instant::now();
        while b.driver.find_all(By::XPath("//button[normalize-space(.)='Done']")).await.unwrap().len() >= before {
            assert!(started.elapsed() < DEADLINE, "the item was not marked done");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(b.path().await, task_path, "items were ticked in place");
    let same_page = b.driver.execute("return window.ithubMarker === 'before'", vec![]).await.unwrap();
    assert_eq!(same_page.json(), &json!(true), "ticked by htmx, without loading the page again");
    b.wait_for("Note: Laptop shipped", false).await;
    b.click("#hub_access").await;
    b.button("Complete task").await;
    b.wait_for("IT Hub access: given", false).await;
    assert_eq!(licenses(&world).await, 4, "hub access gives Margaret a license");

    // Employee → Actions → Offboard, with a reason and a confirmation.
    let ada = world.admin.employee_by_hr_id("1").await;
    b.go(&format!("/console/employees/{}", ada["id"].as_str().unwrap())).await;
    b.wait_for("These fields are managed in BambooHR", false).await;
    let text = b.text().await;
    assert!(text.contains("Times are shown in your time zone (Pacific/Auckland)"), "{text}");
    let script = "const t = document.querySelector('#hr-help time'); const at = new Date(t.getAttribute('datetime')); \
        const f = z => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: z }).format(at); \
        return [t.textContent, f('Pacific/Auckland'), f('UTC')];";
    let shown = b.driver.execute(script, vec![]).await.unwrap().json().clone();
    assert_eq!(shown[0], shown[1], "the sync time is shown in Auckland's time: {shown}");
    assert_ne!(shown[1], shown[2], "{shown}");
    b.check("employee").await;
    b.css("details.actions summary").await.click().await.unwrap();
    b.fill("#reason", "Left for a competitor today").await;
    b.click("#confirm").await;
    b.button("Offboard").await;
    b.wait_for("Offboarding: Ada Lovelace", false).await;
    b.check("offboarding-task").await;
    assert_eq!(world.tasks_of("1", "offboarding").await.len(), 1, "one offboarding task");

    // Six of eleven gone from HR: a full sync is held; the connection lists who would go; approved.
    world.fake.vanish(&[5, 6, 7, 8, 9, 10]);
    b.go(&format!("/console/connections/{}", world.connection.id)).await;
    b.button("Full sync").await;
    // The run's page follows it, and shows who would go once it is held.
    b.wait_until("the run's page", || async { b.path().await.contains("/runs/") }).await;
    b.wait_for("Held: 6 people would be offboarded", false).await;
    b.go(&format!("/console/connections/{}", world.connection.id)).await;
    b.wait_for("Held: 6 people would be offboarded", false).await;
    assert!(b.text().await.contains("Radia Perlman"), "who would go is listed");
    b.check("held-run").await;
    b.button("Approve: offboard them").await;
    let started = Instant::now();
    loop {
        let gone = world.admin.employee_by_hr_id("10").await;
        if gone["hr"]["status"] == "terminated" {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "the approved run did not apply: {gone}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // The other screens, each checked.
    b.go("/console/connections").await;
    b.check("connections").await;
    b.go("/console/connections/new?provider=bamboohr").await;
    b.check("new-connection").await;
    b.go("/console/playbook").await;
    b.check("playbook").await;
    b.go("/console/audit").await;
    b.wait_for("employee.offboard", false).await;
    b.check("audit").await;

    // Another tenant's employee, task and connection, on the same server and table: not found, as if they did
    // not exist.
    let (other, _) = tenant(&world.stack).await;
    let other_fake = integration_tests::fake_bamboo(people(1)).await;
    let other_connection = integration_tests::connect(&world.stack, &other, &other_fake, "other-secret").await;
    let theirs =
        integration_tests::observed(&other, &other_connection.id, integration_tests::record("1", "Theirs"), Utc::now());
    world.stack.worker().apply(theirs.clone()).await.expect("their employee");
    let acting =
        ithub::service::Acting { tenant: other.clone(), actor: ithub::domain::Actor::Admin { key: "other".into() } };
    let their_task =
        world.stack.service().offboard(&acting, theirs.employee_id().as_str(), "leaving").await.expect("their task");
    for path in [
        format!("/console/employees/{}", theirs.employee_id()),
        format!("/console/tasks/{}", their_task.task.id),
        format!("/console/connections/{}", other_connection.id),
        format!("/console/audit?employee_id={}", theirs.employee_id()),
    ] {
        b.go(&path).await;
        let text = b.text().await;
        assert!(!text.contains("Theirs"), "{path} shows nothing of the other tenant: {text}");
        if !path.starts_with("/console/audit") {
            assert!(text.contains("Not found") && text.contains("No such"), "{path}: {text}");
        }
    }
    // And their task cannot be changed from here.
    let item = &their_task.task.items[0].id;
    let changed = b
        .driver
        .execute(
            &format!(
                "return fetch('/console/tasks/{}/items/{item}', {{ method: 'POST', headers: {{ 'content-type': \
                 'application/x-www-form-urlencoded' }}, body: 'status=done&csrf=' + document.querySelector('input[name=csrf]').value }}).then(r => r.status)",
                their_task.task.id
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(changed.json(), &json!(404));
    let still = world.stack.service().task(&other, their_task.task.id.as_str()).await.unwrap();
    assert!(still.task.items.iter().all(|i| i.status == ithub::domain::ItemStatus::Open), "their task is untouched");

    // Sign out: back to sign-in, and the pages need signing in again.
    b.go("/console/employees").await;
    b.button("Sign out").await;
    b.wait_for("You are signed out", false).await;
    b.go("/console/tasks").await;
    assert!(b.path().await.starts_with("/console/sign-in"), "{}", b.path().await);

    b.driver.clone().quit().await.expect("quit");
    feeding.stop().await;
}

/// The console's session over plain HTTP: what the browser is given, and what is refused.
#[tokio::test]
async fn console_sessions_are_httponly_strict_csrf_checked_and_end() {
    let stack = stack().await;
    let (tenant_id, key) = tenant(&stack).await;
    let base = serve(&stack).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let sign_in_cookie = |response: &reqwest::Response, name: &str| -> String {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name} cookie"))
            .to_owned()
    };
    let value = |cookie: &str| cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();

    // The sign-in form's token, double-submitted.
    let page = http.get(format!("{base}/console/sign-in")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let form_cookie = sign_in_cookie(&page, "ithub_sign_in");
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let token = value(&form_cookie);
    let sign_in = |key: &str, csrf: &str, host: Option<&str>| {
        let mut request = http
            .post(format!("{base}/console/sign-in"))
            .header("cookie", format!("ithub_sign_in={token}"))
            .form(&[("key", key), ("csrf", csrf), ("next", "/console/tasks")]);
        if let Some(host) = host {
            request = request.header("host", host);
        }
        request.send()
    };

    // Without the form's token: refused, no session.
    let refused = sign_in(&key, "forged", None).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get_all("set-cookie").iter().all(|c| !c.to_str().unwrap().starts_with("ithub_session")));
    // A wrong key: 401, a reason, no session.
    let wrong = sign_in("ithub_0000", &token, None).await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().contains("That admin key is not valid"));

    // The right key: a session cookie, HttpOnly and SameSite=Strict, not Secure on loopback; the key is not in it.
    let signed_in = sign_in(&key, &token, None).await.unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/console/tasks", "back where the admin was going");
    let session_cookie = sign_in_cookie(&signed_in, "ithub_session");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"] {
        assert!(session_cookie.contains(flag), "{flag} missing: {session_cookie}");
    }
    assert!(!session_cookie.contains("Secure"), "loopback is plain HTTP: {session_cookie}");
    assert!(!session_cookie.contains(&key));
    let session = value(&session_cookie);
    // Reached by a real host name, the cookie is Secure.
    let public = sign_in(&key, &token, Some("ithub.example.com")).await.unwrap();
    assert!(sign_in_cookie(&public, "ithub_session").contains("Secure"));
    // Signing in again from a browser that holds a session ends that session: a planted token does not live on.
    let planted = value(&sign_in_cookie(&public, "ithub_session"));
    let again = http
        .post(format!("{base}/console/sign-in"))
        .header("cookie", format!("ithub_sign_in={token}; ithub_session={planted}"))
        .form(&[("key", key.as_str()), ("csrf", token.as_str()), ("next", "/console/tasks")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303);
    let old = http
        .get(format!("{base}/console/tasks"))
        .header("cookie", format!("ithub_session={planted}"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 303, "the earlier session ended");
    // Only a console path is followed after signing in.
    for next in ["https://evil.example/", "//evil.example/console/", "/console//evil.example", "/console/caf\u{e9}"] {
        let answer = http
            .post(format!("{base}/console/sign-in"))
            .header("cookie", format!("ithub_sign_in={token}"))
            .form(&[("key", key.as_str()), ("csrf", token.as_str()), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            (answer.status().as_u16(), answer.headers()["location"].to_str().unwrap()),
            (303, "/console/employees"),
            "{next}"
        );
    }

    let cookie = format!("ithub_session={session}");
    let page = http.get(format!("{base}/console/employees")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Connect your HR system"), "a tenant with no connection is told what to do first");
    let csrf =
        html.split("name=\"csrf\" value=\"").nth(1).and_then(|s| s.split('"').next()).expect("a CSRF field").to_owned();

    // A change without the session's CSRF token is refused and changes nothing; with it, it is made.
    let playbook =
        json!({"onboarding": [{"id": "badge", "kind": "access_group", "name": "Office badge"}], "offboarding": []});
    let save = |csrf: Option<&str>| {
        let mut form = vec![("playbook", playbook.to_string())];
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf.to_owned()));
        }
        http.post(format!("{base}/console/playbook")).header("cookie", &cookie).form(&form).send()
    };
    assert_eq!(save(None).await.unwrap().status(), 403);
    assert_eq!(save(Some("0".repeat(64).as_str())).await.unwrap().status(), 403);
    let stored = stack.store.playbook(&tenant_id).await.unwrap();
    assert!(stored.onboarding.iter().all(|i| i.id != "badge"), "nothing saved without the token");
    assert_eq!(save(Some(&csrf)).await.unwrap().status(), 200);
    let stored = stack.store.playbook(&tenant_id).await.unwrap();
    assert!(stored.onboarding.iter().any(|i| i.id == "badge"), "saved with it");

    // Sign-out ends the session on the server, not only in the browser.
    let out = http
        .post(format!("{base}/console/sign-out"))
        .header("cookie", &cookie)
        .form(&[("csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = http.get(format!("{base}/console/employees")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(after.status(), 303);
    assert!(after.headers()["location"].to_str().unwrap().starts_with("/console/sign-in"));

    // An expired session, and a session whose key is revoked, lead back to sign-in.
    let expired = ithub::store::Session {
        tenant_id: tenant_id.clone(),
        key_hash: ithub::apikey::hash(&key),
        key_label: "test".into(),
        csrf: "c".repeat(64),
        created_at: Utc::now() - chrono::Duration::hours(9),
        expires: Utc::now() - chrono::Duration::hours(1),
    };
    let token_hash = ithub::apikey::hash;
    stack.store.put_session(&token_hash("expired-token"), &expired).await.unwrap();
    let old =
        http.get(format!("{base}/console/tasks")).header("cookie", "ithub_session=expired-token").send().await.unwrap();
    assert_eq!(old.status(), 303);
    assert!(old.headers()["location"].to_str().unwrap().contains("expired=1"));

    let live =
        ithub::store::Session { created_at: Utc::now(), expires: Utc::now() + chrono::Duration::hours(1), ..expired };
    stack.store.put_session(&token_hash("live-token"), &live).await.unwrap();
    let ok =
        http.get(format!("{base}/console/tasks")).header("cookie", "ithub_session=live-token").send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let key_id: String = ithub::apikey::hash(&key).chars().take(12).collect();
    assert!(stack.store.revoke_api_key(&tenant_id, &key_id, Utc::now()).await.unwrap());
    let revoked =
        http.get(format!("{base}/console/tasks")).header("cookie", "ithub_session=live-token").send().await.unwrap();
    assert_eq!(revoked.status(), 303, "a revoked key ends its sessions");
    drain(&stack).await;
}

/// Signs in over plain HTTP; returns the session cookie header and the page's CSRF token.
async fn http_session(http: &reqwest::Client, base: &str, key: &str) -> (String, String) {
    let form = http.get(format!("{base}/console/sign-in")).send().await.unwrap();
    let token = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("ithub_sign_in="))
        .and_then(|c| c.split(';').next())
        .expect("the sign-in form's cookie")
        .to_owned();
    let signed_in = http
        .post(format!("{base}/console/sign-in"))
        .header("cookie", format!("ithub_sign_in={token}"))
        .form(&[("key", key), ("csrf", &token)])
        .send()
        .await
        .unwrap();
    let session = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("ithub_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session")
        .to_owned();
    let cookie = format!("ithub_session={session}");
    let page = http.get(format!("{base}/console/licenses")).header("cookie", &cookie).send().await.unwrap();
    let html = page.text().await.unwrap();
    (cookie, field(&html, "csrf"))
}

/// The value of the hidden input `name` in a page.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker).nth(1).and_then(|s| s.split('"').next()).unwrap_or_else(|| panic!("no {name} field")).to_owned()
}

/// Connecting an HR system with its own form: the form asks for the provider's fields (read from the API's
/// schema), a bad field is named, the webhook URL and secret are shown once, and sending the form again (a
/// reload) makes no second connection; rotation likewise.
#[tokio::test]
async fn connecting_through_the_console_shows_the_secret_once() {
    let stack = stack().await;
    let (tenant_id, key) = tenant(&stack).await;
    let base = serve(&stack).await;
    let fake = integration_tests::fake_bamboo(people(3)).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (cookie, csrf) = http_session(&http, &base, &key).await;
    let get = |path: String| http.get(format!("{base}{path}")).header("cookie", &cookie).send();

    // Each provider's own fields; ADP's certificate and key are multi-line.
    let adp = get("/console/connections/new?provider=adp".into()).await.unwrap().text().await.unwrap();
    for name in ["credentials.client_id", "credentials.client_secret", "settings.base_url"] {
        assert!(adp.contains(&format!("name=\"{name}\"")), "ADP's form asks for {name}");
    }
    assert!(adp.contains("<textarea id=\"credentials-client_certificate\""), "a PEM is pasted into a text area");
    let form = get("/console/connections/new?provider=bamboohr".into()).await.unwrap().text().await.unwrap();
    assert!(form.contains("name=\"settings.company_domain\"") && form.contains("type=\"password\""), "{form}");

    let request = fake.connection_request();
    let submit = |domain: &str, nonce: &str| {
        http.post(format!("{base}/console/connections"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("nonce", nonce),
                ("provider", "bamboohr"),
                ("settings.company_domain", domain),
                ("settings.base_url", request["settings"]["base_url"].as_str().unwrap()),
                ("credentials.api_key", request["credentials"]["api_key"].as_str().unwrap()),
                ("schedule.poll_interval_minutes", "15"),
            ])
            .send()
    };
    // A bad field: named, nothing made, the secret not echoed.
    let bad = submit("not a domain!", &field(&form, "nonce")).await.unwrap();
    assert_eq!(bad.status(), 400);
    let page = bad.text().await.unwrap();
    assert!(page.contains("settings.company_domain") || page.contains("company_domain"), "{page}");
    assert!(!page.contains(request["credentials"]["api_key"].as_str().unwrap()), "the credential is not sent back");
    assert!(stack.store.page_connections(&tenant_id, 10, None).await.unwrap().items.is_empty());

    // Made: the webhook URL, and the check's report; the connection check registered IT Hub's webhook with
    // BambooHR, whose key IT Hub keeps and never shows.
    let nonce = field(&page, "nonce");
    let made = submit(request["settings"]["company_domain"].as_str().unwrap(), &nonce).await.unwrap();
    assert_eq!(made.status(), 200);
    let page = made.text().await.unwrap();
    let connections = stack.store.page_connections(&tenant_id, 10, None).await.unwrap().items;
    assert_eq!(connections.len(), 1);
    let connection = &connections[0];
    assert_eq!(connection.poll_interval_secs, Some(15 * 60), "the schedule's field reached the connection");
    assert!(page.contains(&format!("/webhooks/{}", connection.id)), "{page}");
    let secrets = stack.secrets.get_fresh(&connection.secret_id).await.unwrap();
    assert_eq!(
        Some(&secrets.webhook_secrets[0]),
        fake.webhook_key(&format!("{base}/webhooks/{}", connection.id)).as_ref()
    );
    assert!(!page.contains(&secrets.webhook_secrets[0]), "BambooHR's key is not shown");
    assert!(page.contains("Connection check") && page.contains("IT Hub registered its webhook"), "{page}");
    let detail = get(format!("/console/connections/{}", connection.id)).await.unwrap().text().await.unwrap();
    assert!(!detail.contains(&secrets.webhook_secrets[0]), "nor on the connection's page");

    // "Check connection": a step per call, each with its result.
    let checked = http
        .post(format!("{base}/console/connections/{}/check", connection.id))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(checked.status(), 200);
    let report = checked.text().await.unwrap();
    for step in ["fields", "list", "one_person", "webhook"] {
        assert!(report.contains(&format!("data-step=\"{step}\"")), "{step}: {report}");
    }
    assert!(!report.contains("failed"), "{report}");

    // The same form again (a reload): refused, still one connection.
    let again = submit(request["settings"]["company_domain"].as_str().unwrap(), &nonce).await.unwrap();
    assert_eq!(again.status(), 409);
    assert_eq!(stack.store.page_connections(&tenant_id, 10, None).await.unwrap().items.len(), 1);

    // Rotation: a new webhook registered with BambooHR, its key kept, not shown; the same form again rotates
    // nothing.
    let rotate_nonce = field(&detail, "nonce");
    let rotate = || {
        http.post(format!("{base}/console/connections/{}/rotate", connection.id))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("nonce", rotate_nonce.as_str())])
            .send()
    };
    let rotated = rotate().await.unwrap();
    assert_eq!(rotated.status(), 200);
    let after = stack.secrets.get_fresh(&connection.secret_id).await.unwrap().webhook_secrets;
    assert_eq!(after.len(), 2, "the previous secret stays valid until the next rotation");
    assert_eq!(after[1], secrets.webhook_secrets[0]);
    assert!(!rotated.text().await.unwrap().contains(&after[0]), "BambooHR's new key is not shown");
    assert_eq!(fake.registered_webhooks().len(), 1, "the old webhook was deleted");
    assert_eq!(rotate().await.unwrap().status(), 409);
    assert_eq!(stack.secrets.get_fresh(&connection.secret_id).await.unwrap().webhook_secrets, after, "rotated once");
}

/// Editing a connection on its page: the form shows its settings and schedule and no credential; a bad field is
/// named and nothing changes; credentials left empty stay, and a new API key typed in replaces them (the next run
/// signs in with it).
#[tokio::test]
async fn editing_a_connection_through_the_console_keeps_credentials_left_empty() {
    let stack = stack().await;
    let (tenant_id, key) = tenant(&stack).await;
    let base = serve(&stack).await;
    let fake = integration_tests::fake_bamboo(people(2)).await;
    let connection = integration_tests::connect(&stack, &tenant_id, &fake, "console-secret").await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (cookie, csrf) = http_session(&http, &base, &key).await;
    let page_path = format!("/console/connections/{}", connection.id);
    let detail = http.get(format!("{base}{page_path}")).header("cookie", &cookie).send().await.unwrap();
    let detail = detail.text().await.unwrap();
    assert!(detail.contains(&format!("action=\"{page_path}/edit\"")), "an edit form on the connection's page");
    assert!(detail.contains(&format!("value=\"{}\"", fake.base_url())), "its settings are filled in");
    assert!(!detail.contains(integration_tests::FAKE_KEY), "its credentials are not");

    let edit = |domain: &str, api_key: &str, csrf: &str| {
        http.post(format!("{base}{page_path}/edit"))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf),
                ("settings.company_domain", domain),
                ("settings.base_url", fake.base_url()),
                ("credentials.api_key", api_key),
                ("schedule.poll_interval_minutes", "45"),
            ])
            .send()
    };
    let stored = || async { stack.store.get_connection(&tenant_id, &connection.id).await.unwrap().unwrap() };
    let credential = || async {
        let secret = stack.secrets.get_fresh(&connection.secret_id).await.unwrap();
        serde_json::to_value(&secret.credentials).unwrap()["api_key"].as_str().unwrap().to_owned()
    };
    assert_eq!(edit("acme", "", "0".repeat(64).as_str()).await.unwrap().status(), 403, "CSRF is checked");

    // A bad field: named, nothing changed, the typed key not sent back.
    let new_key = fake.rotate_api_key();
    let bad = edit("not a domain!", &new_key, &csrf).await.unwrap();
    assert_eq!(bad.status(), 400);
    let page = bad.text().await.unwrap();
    assert!(page.contains("1-100 letters, digits, dashes or underscores"), "{page}");
    assert!(!page.contains(&new_key), "the credential is not sent back");
    assert_eq!(stored().await.poll_interval_secs, None);
    assert_eq!(credential().await, integration_tests::FAKE_KEY);

    // Credentials left empty stay; the schedule is saved.
    let saved = edit(integration_tests::FAKE_COMPANY, "", &csrf).await.unwrap();
    assert_eq!((saved.status().as_u16(), saved.headers()["location"].to_str().unwrap()), (303, page_path.as_str()));
    assert_eq!(stored().await.poll_interval_secs, Some(45 * 60));
    assert_eq!(credential().await, integration_tests::FAKE_KEY, "kept");

    // The new key typed in replaces the old; the next run signs in with it.
    assert_eq!(edit(integration_tests::FAKE_COMPANY, &new_key, &csrf).await.unwrap().status(), 303);
    assert_eq!(credential().await, new_key);
    let (service, acting) = (stack.service(), acting(&tenant_id));
    let (_, run, _) =
        service.request_sync(&stack.runs, &acting, connection.id.as_str(), Default::default()).await.unwrap();
    drain(&stack).await;
    let run = stack.store.get_run(&tenant_id, &connection.id, &run.run_id).await.unwrap().unwrap();
    assert_eq!(run.status, ithub::store::RunStatus::Succeeded, "{:?}", run.error);
}

fn acting(tenant: &ithub::domain::TenantId) -> ithub::service::Acting {
    ithub::service::Acting { tenant: tenant.clone(), actor: ithub::domain::Actor::Admin { key: "test".into() } }
}
