//! Field-level validation: every problem with a request, each naming the field it is about, so that a client can
//! show the error beside the field.

use serde::Serialize;

/// One field's problem. `field` is a dotted path into the request (`settings.company_domain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

/// The problems found so far.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Records `reason` against `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, reason: &str) {
        if !ok {
            self.0.push(FieldError { field: field.to_owned(), reason: reason.to_owned() });
        }
    }

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() { Ok(()) } else { Err(self.0) }
    }
}

/// Letters, digits, dashes and underscores, 1 to `max` of them: what an id at a provider may be.
pub fn is_slug(value: &str, max: usize) -> bool {
    (1..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The JSON Schema pattern of a text that must not be all white space: one character that no regular-expression
/// engine a client may use counts as white space. `\s` alone differs between engines: ECMA-262 (what JSON Schema
/// names) counts U+FEFF but not U+0085, Python counts U+001C to U+001F and U+0085 but not U+FEFF, Rust's `regex`
/// counts U+0085 but neither of the others; the class names every one of them, so a text matches it under any engine exactly when
/// [`has_text`] accepts it.
pub const TEXT_PATTERN: &str = "[^\\s\\u0085\\u001c-\\u001f\\ufeff]";

/// Whether `value` has something in it besides white space, counted as widely as [`TEXT_PATTERN`] counts it.
pub fn has_text(value: &str) -> bool {
    value.chars().any(|c| !(c.is_whitespace() || c == '\u{feff}' || ('\u{1c}'..='\u{1f}').contains(&c)))
}

/// Where a JSON document could not be read, without what it said there: serde's own message can quote a value
/// (personal data, in an HR record), so logs and run records get the error's class and position only.
pub fn json_error_position(error: &serde_json::Error) -> String {
    format!("{:?} at line {} column {}", error.classify(), error.line(), error.column())
}

/// serde's reason for refusing a request body, without the value it quotes: `invalid type: string "s3cr3t",
/// expected a map` (a credential sent in the wrong shape) becomes `invalid type: expected a map`, and `unknown
/// variant `x`, expected …` becomes `unknown value, expected …`. Field names and positions are kept.
pub fn public_reason(message: &str) -> String {
    for (kind, said) in [
        ("invalid type: ", "invalid type: "),
        ("invalid value: ", "invalid value: "),
        ("invalid length ", "invalid length: "),
        ("unknown variant ", "unknown value, "),
    ] {
        if let Some(start) = message.find(kind)
            && let Some(at) = message[start..].rfind(", expected ")
        {
            let expected = &message[start + at + 2..];
            return format!("{}{said}{expected}", &message[..start]);
        }
    }
    message.to_owned()
}

/// A whole number from JSON, where `3.0` is as good as `3` (JSON Schema's `integer` allows both).
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    use serde::Deserialize;
    let Some(value) = Option::<f64>::deserialize(deserializer)? else { return Ok(None) };
    if value.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&value) {
        return Err(serde::de::Error::custom(format!("expected a whole number from 0 to {}, got {value}", u32::MAX)));
    }
    Ok(Some(value as u32))
}

/// A whole number from a query string (`limit=20`, or `limit=20.0`).
pub fn whole_query_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<i32>, D::Error> {
    use serde::Deserialize;
    let Some(raw) = Option::<String>::deserialize(deserializer)? else { return Ok(None) };
    let value: f64 = raw.trim().parse().map_err(|_| serde::de::Error::custom(format!("{raw:?} is not a number")))?;
    if value.fract() != 0.0 || !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&value) {
        return Err(serde::de::Error::custom(format!("{raw:?} is not a whole number")));
    }
    Ok(Some(value as i32))
}

/// A JSON object and only an object: serde's derived structs would also take an array of their fields' values,
/// which no schema of ours allows.
pub fn object<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(
    deserializer: D,
) -> Result<T, D::Error> {
    use serde::Deserialize;
    let map = serde_json::Map::deserialize(deserializer)?;
    T::deserialize(serde_json::Value::Object(map)).map_err(serde::de::Error::custom)
}

/// A JSON array of objects (see [`object`]).
pub fn objects<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    use serde::Deserialize;
    let maps = Vec::<serde_json::Map<String, serde_json::Value>>::deserialize(deserializer)?;
    maps.into_iter().map(|m| T::deserialize(serde_json::Value::Object(m)).map_err(serde::de::Error::custom)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_reason_names_what_was_expected_and_not_the_value_sent() {
        let sent = |json: &str| serde_json::from_str::<std::collections::HashMap<String, u8>>(json).unwrap_err();
        let reason = public_reason(&sent(r#""s3cr3t-key""#).to_string());
        assert_eq!(reason, "invalid type: expected a map at line 1 column 12");
        let reason = public_reason(&sent(r#"{"a": 300}"#).to_string());
        assert!(!reason.contains("300") && reason.starts_with("invalid value: expected u8"), "{reason}");
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        enum Kind {
            Known,
        }
        let reason = public_reason(&serde_json::from_str::<Kind>(r#""ada@example.com""#).unwrap_err().to_string());
        assert!(!reason.contains("ada") && reason.starts_with("unknown value, expected"), "{reason}");
        let reason = public_reason(&serde_json::from_str::<Kind>(r#"{"Known": 1}"#).unwrap_err().to_string());
        assert!(reason.contains("Known") || reason.contains("unit"), "{reason}");
        assert_eq!(public_reason("missing field `name`"), "missing field `name`");
        let reason = public_reason(&sent(r#""a, expected SECRET""#).to_string());
        assert!(!reason.contains("SECRET"), "{reason}");
    }

    #[test]
    fn the_text_pattern_accepts_a_character_exactly_when_has_text_does() {
        let pattern = regex::Regex::new(TEXT_PATTERN).unwrap();
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            let text = c.to_string();
            assert_eq!(pattern.is_match(&text), has_text(&text), "U+{:04X}", c as u32);
        }
        for blank in ["\u{85}", "\u{feff}", "\u{1c} \u{3000}", "\t\r\n"] {
            assert!(!has_text(blank) && !pattern.is_match(blank));
        }
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Inner {
        a: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Outer {
        #[serde(deserialize_with = "object")]
        inner: Inner,
        #[serde(default, deserialize_with = "whole_number")]
        n: Option<u32>,
    }

    #[test]
    fn objects_only_and_whole_numbers_in_either_spelling() {
        let ok: Outer = serde_json::from_str(r#"{"inner": {"a": 1}, "n": 3.0}"#).unwrap();
        assert_eq!((ok.inner, ok.n), (Inner { a: 1 }, Some(3)));
        assert!(serde_json::from_str::<Outer>(r#"{"inner": [1]}"#).is_err(), "an array is not an object");
        assert!(serde_json::from_str::<Outer>(r#"{"inner": {"a": 1}, "n": 2.5}"#).is_err());
        assert!(serde_json::from_str::<Outer>(r#"{"inner": {"a": 1}, "n": -1}"#).is_err());
    }
}
