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
