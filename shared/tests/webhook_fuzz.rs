//! The webhook verifier faces the internet: whatever headers and body arrive, it answers with a verdict and never
//! panics. (A property test standing in for `cargo fuzz`, so it runs with every `make test`.)

use chrono::{DateTime, Utc};
use ithub::providers::ProviderKind;
use proptest::prelude::*;

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9a-f]{0,70}", "-?[0-9]{0,12}", "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-Z0-9:]{0,6}", "\\PC{0,40}",]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn any_delivery_gets_a_verdict_without_panicking(
        timestamp in prop::option::of(header_value()),
        signature in prop::option::of(header_value()),
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..300),
            "\\{\"(type|data|employees)\":.{0,80}\\}".prop_map(String::into_bytes),
        ],
        secrets in prop::collection::vec("\\PC{0,20}", 0..3),
        now in any::<i64>(),
    ) {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [("x-bamboohr-timestamp", timestamp), ("x-bamboohr-signature", signature)] {
            if let Some(value) = value.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
                headers.insert(name, value);
            }
        }
        let now = DateTime::from_timestamp(now % 10_000_000_000, 0).unwrap_or_else(Utc::now);
        // A random signature matches an HMAC-SHA256 with odds of 2^-256: every one of these is refused.
        for kind in ProviderKind::ALL {
            prop_assert!(kind.verify_webhook(&secrets, &headers, &body, now).is_err());
        }
    }
}
