//! Page cursors: the last key of a page, as base64url JSON. They are only ever applied under the caller's own
//! tenant: the partition values must be exactly the ones the list reads, and the sort key must name an item of
//! that list.

use super::{Item, StoreError, s};
use crate::resources::{GSI1_PK, GSI1_SK, PK, SK};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;

pub(crate) fn encode(key: &Item) -> String {
    let plain: std::collections::BTreeMap<&str, &str> =
        key.iter().filter_map(|(k, v)| v.as_s().ok().map(|v| (k.as_str(), v.as_str()))).collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).unwrap_or_default())
}

/// Where a page starts: nowhere in particular (the first page) without a cursor or with an empty one, else the
/// key the cursor names, if it is one of this list's.
pub(crate) fn start(
    cursor: Option<&str>,
    fixed: &[(&str, &str)],
    sort: (&str, &str),
) -> Result<Option<Item>, StoreError> {
    cursor.filter(|c| !c.is_empty()).map(|c| decode(c, fixed, sort)).transpose()
}

pub(crate) fn decode(cursor: &str, fixed: &[(&str, &str)], (sort, prefix): (&str, &str)) -> Result<Item, StoreError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| StoreError::BadCursor)?;
    let plain: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    let fixed_ok = fixed.iter().all(|(name, value)| plain.get(*name).map(String::as_str) == Some(*value));
    let sort_ok = plain.get(sort).and_then(|v| v.strip_prefix(prefix)).is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"_#:.-".contains(&b))
    });
    let known = plain.keys().all(|k| [PK, SK, GSI1_PK, GSI1_SK].contains(&k.as_str()));
    if !(fixed_ok && sort_ok && known) {
        return Err(StoreError::BadCursor);
    }
    Ok(plain.into_iter().map(|(k, v)| (k, s(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let key: Item = HashMap::from([(PK.into(), s("T#ten_a")), (SK.into(), s("E#emp_0123abcd"))]);
        let cursor = encode(&key);
        assert_eq!(decode(&cursor, &[(PK, "T#ten_a")], (SK, "E#")).unwrap(), key);
        assert!(matches!(decode("%%%", &[(PK, "T#ten_a")], (SK, "E#")), Err(StoreError::BadCursor)));
        let other_tenant = decode(&cursor, &[(PK, "T#ten_b")], (SK, "E#"));
        assert!(matches!(other_tenant, Err(StoreError::BadCursor)), "a cursor is bound to its tenant");
        let other_list = decode(&cursor, &[(PK, "T#ten_a")], (SK, "C#"));
        assert!(matches!(other_list, Err(StoreError::BadCursor)), "and to its list");
        let forged = URL_SAFE_NO_PAD.encode(r#"{"PK":"T#ten_a","SK":"E#x","data":"y"}"#);
        assert!(matches!(decode(&forged, &[(PK, "T#ten_a")], (SK, "E#")), Err(StoreError::BadCursor)));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    const TENANT: &str = "TENANT#ten_1";
    const FIXED: &[(&str, &str)] = &[(PK, TENANT)];
    const SORT: (&str, &str) = (SK, "EMP#");

    fn text(key: &Item, name: &str) -> Option<String> {
        key.get(name).and_then(|v| v.as_s().ok()).cloned()
    }

    /// A decoded cursor is a key of this list: the caller's own partition and a sort key of the list's kind.
    fn of_this_list(key: &Item) -> bool {
        text(key, PK).as_deref() == Some(TENANT)
            && text(key, SK).and_then(|sk| sk.strip_prefix("EMP#").map(str::to_owned)).is_some_and(|rest| {
                !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"_#:.-".contains(&b))
            })
            && key.keys().all(|k| [PK, SK, GSI1_PK, GSI1_SK].contains(&k.as_str()))
    }

    proptest! {
        /// Any text as a cursor, including any bytes in base64url: refused, or a key of this list; never a panic.
        #[test]
        fn any_cursor_is_refused_or_names_this_list(cursor in prop_oneof![
            "\\PC{0,200}",
            any::<Vec<u8>>().prop_map(|bytes| URL_SAFE_NO_PAD.encode(bytes)),
        ]) {
            if let Ok(key) = decode(&cursor, FIXED, SORT) {
                prop_assert!(of_this_list(&key), "{key:?}");
            }
        }

        /// A forged cursor (well-formed, naming any partition, sort key or attribute): only ever this list's key.
        #[test]
        fn forged_cursors_never_reach_another_partition(fields in prop::collection::hash_map(
            prop_oneof![Just(PK.to_owned()), Just(SK.to_owned()), Just(GSI1_PK.to_owned()), "[a-z_#]{1,8}"],
            prop_oneof![Just(TENANT.to_owned()), Just("TENANT#ten_2".to_owned()), "EMP#[A-Za-z0-9_#:.-]{0,20}", "EMP#\\PC{0,20}", "\\PC{0,20}"],
            0..5,
        )) {
            let cursor = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&fields).expect("a map of strings"));
            let key: Item = fields.iter().map(|(k, v)| (k.clone(), s(v))).collect();
            // Taken exactly when it is one of this list's keys; then it is that key.
            prop_assert_eq!(decode(&cursor, FIXED, SORT).ok(), of_this_list(&key).then_some(key));
        }

        /// Every key of the list comes back from its cursor as it was.
        #[test]
        fn a_lists_own_keys_come_back(rest in "[A-Za-z0-9_#:.-]{1,60}") {
            let key: Item = [(PK.to_owned(), s(TENANT)), (SK.to_owned(), s(format!("EMP#{rest}")))].into();
            prop_assert_eq!(decode(&encode(&key), FIXED, SORT).ok(), Some(key));
        }
    }
}
