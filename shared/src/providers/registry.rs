//! The connector registry macro. The one list of HR systems IT Hub can connect to is its invocation in
//! `providers/mod.rs`: each line names a connector module (see [`super::Connector`], declared beside it with a
//! plain `mod` line, so rustfmt formats it like any other file); everything
//! else (the provider enum, typed settings and credentials, the request that creates a connection, its OpenAPI
//! schema, dispatch) is derived from the list.

macro_rules! registry {
    ($($variant:ident($module:ident)),+ $(,)?) => {

        /// An HR system IT Hub can connect to. Its name in the API is the variant's name in lower case, which is
        /// also its connector's `NAME` (a test holds them equal).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "lowercase")]
        pub enum ProviderKind {
            $($variant),+
        }

        impl ProviderKind {
            pub const ALL: &'static [ProviderKind] = &[$(Self::$variant),+];

            /// The name in the API and in stored records (`bamboohr`).
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => <$module::Connector as Connector>::NAME),+ }
            }

            /// The name people know it by (`BambooHR`).
            pub fn display_name(self) -> &'static str {
                match self { $(Self::$variant => <$module::Connector as Connector>::DISPLAY_NAME),+ }
            }

            pub fn capabilities(self) -> Capabilities {
                match self { $(Self::$variant => <$module::Connector as Connector>::CAPABILITIES),+ }
            }

            /// Whether the HR system issues the connection's webhook secret, which the admin pastes (on creating
            /// the connection, or by rotating its secret), rather than IT Hub making one.
            pub fn vendor_issues_webhook_secret(self) -> bool {
                match self { $(Self::$variant => <$module::Connector as Connector>::VENDOR_ISSUES_WEBHOOK_SECRET),+ }
            }

            /// This provider's settings, read from an admin's JSON object (an edit of a connection names no
            /// provider: the connection's own says whose settings they are).
            pub fn parse_settings(self, value: serde_json::Value) -> Result<Settings, serde_json::Error> {
                match self { $(Self::$variant => serde_json::from_value(value).map(Settings::$variant)),+ }
            }

            /// This provider's credentials, read from an admin's JSON object (as [`Self::parse_settings`]).
            pub fn parse_credentials(self, value: serde_json::Value) -> Result<Credentials, serde_json::Error> {
                match self { $(Self::$variant => serde_json::from_value(value).map(Credentials::$variant)),+ }
            }

            /// Verifies a webhook delivery against any of the connection's current secrets (two are valid during a
            /// rotation) and reads the employees it names.
            pub fn verify_webhook(
                self,
                secrets: &[String],
                headers: &::http::HeaderMap,
                body: &[u8],
                now: DateTime<Utc>,
            ) -> Result<WebhookDelivery, WebhookError> {
                match self {
                    $(Self::$variant => <$module::Connector as Connector>::verify_webhook(secrets, headers, body, now)),+
                }
            }
        }

        /// How to reach a connection's HR system, by provider. Never holds a credential.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "provider", rename_all = "lowercase")]
        pub enum Settings {
            $($variant($module::Settings)),+
        }

        impl Settings {
            pub fn kind(&self) -> ProviderKind {
                match self { $(Self::$variant(_) => ProviderKind::$variant),+ }
            }

            /// The provider's own settings, without the tag (the API shows `provider` beside them).
            pub fn untagged(&self) -> ProviderSettings {
                match self { $(Self::$variant(s) => ProviderSettings::$variant(s.clone())),+ }
            }
        }

        /// A provider's own settings, as the API shows them.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum ProviderSettings {
            $($variant($module::Settings)),+
        }

        /// Any one provider's settings (`provider` beside them says which): `anyOf`, since settings made only of
        /// optional fields (an empty object, say) fit several providers' schemas at once.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for ProviderSettings {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{AnyOfBuilder, Ref};
                let mut any_of = AnyOfBuilder::new();
                $(
                    any_of = any_of.item(Ref::from_schema_name(<$module::Settings as utoipa::ToSchema>::name()));
                )+
                any_of.description(Some("The provider's own settings; `provider` says whose.")).into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for ProviderSettings {
            fn name() -> std::borrow::Cow<'static, str> {
                "ProviderSettings".into()
            }
        }

        /// What a connection signs in to its HR system with, by provider. Kept in Secrets Manager only; it has no
        /// `Debug`, so it cannot reach a log.
        #[derive(Clone, Serialize, Deserialize)]
        #[serde(tag = "provider", rename_all = "lowercase")]
        pub enum Credentials {
            $($variant($module::Credentials)),+
        }

        impl Credentials {
            /// Takes out the webhook secret an admin pasted with the credentials, if the provider has one.
            pub fn take_webhook_secret(&mut self) -> Option<String> {
                match self { $(Self::$variant(c) => <$module::Connector as Connector>::take_webhook_secret(c)),+ }
            }
        }

        /// What an admin sends to connect an HR system: the provider, its settings and credentials, and the
        /// schedule.
        #[derive(Deserialize)]
        #[serde(tag = "provider", rename_all = "lowercase", deny_unknown_fields)]
        pub enum NewConnection {
            $(
                $variant {
                    #[serde(deserialize_with = "crate::validation::object")]
                    settings: $module::Settings,
                    #[serde(deserialize_with = "crate::validation::object")]
                    credentials: $module::Credentials,
                    #[serde(default, deserialize_with = "crate::validation::object")]
                    schedule: Schedule,
                }
            ),+
        }

        impl NewConnection {
            /// Checks every field, the `base_url` against what this deployment may call; all problems at once,
            /// each naming its field.
            pub fn validate(self, egress: Egress) -> Result<(Settings, Credentials, Schedule), Vec<FieldError>> {
                let mut errors = FieldErrors::default();
                let parts = match self {
                    $(Self::$variant { settings, credentials, schedule } => {
                        (Settings::$variant(settings), Credentials::$variant(credentials), schedule)
                    }),+
                };
                validate_connection(&parts.0, &parts.1, egress, &mut errors);
                parts.2.validate(&mut errors);
                errors.into_result().map(|()| parts)
            }
        }

        /// Checks a connection's settings and credentials together, as its connector does, and the `base_url`
        /// against what this deployment may call: the checks of a new connection, and of an edited one.
        pub fn validate_connection(settings: &Settings, credentials: &Credentials, egress: Egress, errors: &mut FieldErrors) {
            match (settings, credentials) {
                $((Settings::$variant(settings), Credentials::$variant(credentials)) => {
                    <$module::Connector as Connector>::validate(settings, credentials, errors);
                    let base_url = <$module::Connector as Connector>::base_url(settings);
                    egress.check_base_url(base_url, "settings.base_url", errors);
                })+
                #[allow(unreachable_patterns)]
                _ => errors.check(false, "credentials", "these credentials are for another HR system"),
            }
        }

        /// Any one provider's credentials (the connection's provider says which): `anyOf`, as
        /// [`ProviderSettings`]. Only a schema: credentials are read with [`ProviderKind::parse_credentials`].
        #[cfg(feature = "openapi")]
        pub struct ProviderCredentials;

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for ProviderCredentials {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{AnyOfBuilder, Ref};
                let mut any_of = AnyOfBuilder::new();
                $(
                    any_of = any_of.item(Ref::from_schema_name(<$module::Credentials as utoipa::ToSchema>::name()));
                )+
                any_of.description(Some("The connection's provider's own credentials.")).into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for ProviderCredentials {
            fn name() -> std::borrow::Cow<'static, str> {
                "ProviderCredentials".into()
            }
        }

        /// One object per provider: `provider` says which, and nothing but the four fields is allowed (utoipa's
        /// derive would leave `additionalProperties` open on the variants of a tagged enum).
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for NewConnection {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Ref, Type};
                let mut one_of = OneOfBuilder::new();
                $(
                    let name = <$module::Connector as Connector>::NAME;
                    let settings = <$module::Settings as utoipa::ToSchema>::name();
                    let credentials = <$module::Credentials as utoipa::ToSchema>::name();
                    one_of = one_of.item(
                        ObjectBuilder::new()
                            .title(Some(<$module::Connector as Connector>::DISPLAY_NAME))
                            .property("provider", ObjectBuilder::new().schema_type(Type::String).enum_values(Some([name])))
                            .property("settings", Ref::from_schema_name(settings))
                            .property("credentials", Ref::from_schema_name(credentials))
                            .property("schedule", Ref::from_schema_name("Schedule"))
                            .required("provider")
                            .required("settings")
                            .required("credentials")
                            .additional_properties(Some(AdditionalProperties::FreeForm(false))),
                    );
                )+
                let description = "What an admin sends to connect an HR system: the provider, its settings and \
                    credentials, and optionally the schedule.";
                one_of.description(Some(description)).into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for NewConnection {
            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                use utoipa::PartialSchema;
                $(
                    schemas.push((<$module::Settings as utoipa::ToSchema>::name().into(), <$module::Settings>::schema()));
                    schemas.push((<$module::Credentials as utoipa::ToSchema>::name().into(), <$module::Credentials>::schema()));
                )+
                schemas.push(("Schedule".into(), <Schedule>::schema()));
            }
        }

        /// The HR system of a connection, signed in with its credentials. `None` when the credentials are for
        /// another provider than the settings (a corrupt secret).
        pub fn connect(settings: &Settings, credentials: &Credentials, link: Link) -> Option<Box<dyn HrProvider>> {
            match (settings, credentials) {
                $((Settings::$variant(s), Credentials::$variant(c)) => {
                    Some(<$module::Connector as Connector>::connect(s, c, link))
                })+
                #[allow(unreachable_patterns)]
                _ => None,
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::super::ProviderKind;

    #[test]
    fn every_provider_is_named_as_its_connector_says() {
        for kind in ProviderKind::ALL {
            let serialised = serde_json::to_value(kind).unwrap();
            assert_eq!(serialised.as_str(), Some(kind.name()), "{kind:?}");
            assert!(!kind.display_name().is_empty());
        }
    }
}
