//! A fake BambooHR that follows the documented API closely enough to test a connector against it:
//!
//! - `GET  /api/gateway.php/{company}/v1/employees/directory[?onlyCurrent=false]`
//! - `GET  /api/gateway.php/{company}/v1/employees/changed?since=<ISO 8601>`
//! - `GET  /api/gateway.php/{company}/v1/employees/{id}?fields=a,b,c`
//!
//! with HTTP Basic auth (the API key as user name, any password), 404 for an empty directory, and errors in
//! `X-BambooHR-Error-Message`. It sends event-based webhooks (`employee.created|updated`) signed with
//! HMAC-SHA256 over the body followed by `X-BambooHR-Timestamp`, to a URL registered through the sandbox.
//!
//! Sandbox controls, without auth, for people and tests:
//! - `GET   /sandbox/employees`, `POST /sandbox/employees` (hire), `PATCH /sandbox/employees/{id}` (change),
//!   `POST /sandbox/employees/{id}/terminate` (`{"date": "YYYY-MM-DD"}`, default today)
//! - `PUT   /sandbox/webhook` (`{"url": …, "privateKey": …}`)
//! - `POST  /sandbox/faults` (`{"status": 429, "count": 2, "retryAfter": 1}`): the next API calls answer that

mod company;
mod server;

pub use company::sample_company;

/// The sandbox HR system `make run` starts: this fake, on `addr`, with the sample company (as of `today`).
pub async fn start_sandbox(addr: std::net::SocketAddr, today: chrono::NaiveDate) -> std::io::Result<FakeBamboo> {
    FakeBamboo::start(addr, "acme", "sandbox-api-key", sample_company(today)).await
}
pub use server::{Delivery, FakeBamboo, Fault, sign};
