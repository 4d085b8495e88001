//! Identifiers. Each is a newtype that can only hold a value safe to embed in a DynamoDB key and a URL path.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A fresh random id.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, uuid::Uuid::new_v4().simple()))
            }

            /// Accepts an id from outside (a path, a message) only if it has this type's shape.
            pub fn parse(raw: &str) -> Option<Self> {
                let rest = raw.strip_prefix($prefix)?;
                let ok = (8..=64).contains(&rest.len())
                    && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
                ok.then(|| Self(raw.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(raw: String) -> Result<Self, String> {
                Self::parse(&raw).ok_or_else(|| format!("not a valid {}: {raw:?}", stringify!($name)))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^", $prefix, "[0-9a-z]{8,64}$")))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}

        #[cfg(feature = "schemas")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "pattern": concat!("^", $prefix, "[0-9a-z]{8,64}$") })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A company using IT Hub. Every key in the table starts with it.
    TenantId,
    "ten_"
);
id_type!(
    /// A tenant's link to one HR system.
    ConnectionId,
    "con_"
);
id_type!(
    /// One sync run of a connection (time-ordered: UUIDv7).
    RunId,
    "run_"
);
id_type!(
    /// The hub's id for a person. Derived from the connection and the HR system's own id, so the same person
    /// observed twice, by webhook or by poll, always lands on the same record.
    EmployeeId,
    "emp_"
);

impl EmployeeId {
    pub fn derive(connection: &ConnectionId, hr_id: &str) -> Self {
        let digest = Sha256::new().chain_update(connection.as_str()).chain_update([0u8]).chain_update(hr_id).finalize();
        Self(format!("emp_{}", hex::encode(&digest[..12])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back() {
        let id = TenantId::generate();
        assert_eq!(TenantId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn parse_refuses_other_shapes() {
        assert!(TenantId::parse("con_0123456789").is_none(), "wrong prefix");
        assert!(TenantId::parse("ten_short").is_none(), "too short");
        assert!(TenantId::parse("ten_0123456789#E#x").is_none(), "key separator");
        assert!(EmployeeId::parse("emp_ABCDEF012345").is_none(), "upper case");
    }

    #[test]
    fn employee_ids_are_stable_per_connection_and_hr_id() {
        let c1 = ConnectionId::parse("con_00000000000000000000000000000001").unwrap();
        let c2 = ConnectionId::parse("con_00000000000000000000000000000002").unwrap();
        assert_eq!(EmployeeId::derive(&c1, "42"), EmployeeId::derive(&c1, "42"));
        assert_ne!(EmployeeId::derive(&c1, "42"), EmployeeId::derive(&c1, "43"));
        assert_ne!(EmployeeId::derive(&c1, "42"), EmployeeId::derive(&c2, "42"));
        let id = EmployeeId::derive(&c1, "42");
        assert_eq!(EmployeeId::parse(id.as_str()), Some(id));
    }
}
