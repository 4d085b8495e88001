//! Fake HR systems that follow each provider's documented API closely enough to test a connector against it, each
//! with sandbox controls (hire, change, terminate, rehire, delete, webhooks, injected faults): HiBob
//! ([`FakeBob`]), Personio ([`FakePersonio`]) and Gusto ([`FakeGusto`]) are described in their modules. The
//! first, [`FakeBamboo`], is a fake BambooHR:
//!
//! - `POST /api/v2/datasets/employee/data` (Datasets v2: `fields`, an OData-style `filter` of `eq ne lt le gt
//!   ge` and `in` terms joined by `and` or `or`, `orderBy: "eeid asc"`, `page`, `pageSize` up to 1000; `data`,
//!   `links.next` while more pages follow, `meta`; errors as problem+json)
//! - `GET  /api/v1/employees/changed?since=<ISO 8601>` (`Updated` and `Deleted` actions, `latest`)
//!
//! on the company-domain form of the API (the base URL stands for `https://{company}.bamboohr.com`), with HTTP
//! Basic auth (the API key as user name, any password). It sends event-based webhooks
//! (`employee.created|updated|deleted`) signed with HMAC-SHA256 over the body followed by
//! `X-BambooHR-Timestamp`, to a URL registered through the sandbox. Records are kept under the dataset's field
//! names; the sandbox also takes v1 names (`jobTitle`, `department`, `workEmail`, …).
//!
//! Sandbox controls, without auth, for people and tests:
//! - `GET   /sandbox/employees`, `POST /sandbox/employees` (hire), `PATCH /sandbox/employees/{id}` (change),
//!   `DELETE /sandbox/employees/{id}` (delete outright), `POST /sandbox/employees/{id}/terminate`
//!   (`{"date": "YYYY-MM-DD"}`, default today)
//! - `PUT   /sandbox/webhook` (`{"url": …, "privateKey": …}`)
//! - `GET   /sandbox/stats`: API calls and dataset pages answered so far, and the headcount
//! - `POST  /sandbox/faults` (`{"status": 429, "count": 2, "retryAfter": 1, "after": 0, "kind": "status"}`): after
//!   `after` calls pass, the next `count` answer that (`kind` `truncated`: a body cut short; `drop`: no answer)
//!   (`{"every": 10}`: every tenth call from now on, refused in turn by 429, 500, 503, a truncated body and a
//!   dropped connection)

mod adp;
mod company;
pub mod contract;
mod faults;
mod gusto;
mod hibob;
mod personio;
mod rippling;
pub mod sandbox;
mod server;
mod workday;
mod xsd;

pub use company::{Sample, generated_company, sample_company, small_company};

/// The sandbox HR system `make run` starts: this fake, on `addr`, with the sample company (as of `today`).
pub async fn start_sandbox(addr: std::net::SocketAddr, today: chrono::NaiveDate) -> std::io::Result<FakeBamboo> {
    FakeBamboo::start(addr, "acme", "sandbox-api-key", sample_company(today)).await
}
pub use adp::{ClientIdentity, FakeAdp, sample as adp_sample, stranger_identity};
pub use faults::{Fault, FaultKind};
pub use gusto::{FakeGusto, sample as gusto_sample, sign as gusto_sign};
pub use hibob::{BobDelivery, FakeBob, sample as bob_sample, sign as bob_sign};
pub use personio::{FakePersonio, sample as personio_sample};
pub use rippling::{FakeRippling, sample as rippling_sample};
pub use server::{Delivery, FakeBamboo, sign, sign_bytes};
pub use workday::{FakeWorkday, sample as workday_sample};
