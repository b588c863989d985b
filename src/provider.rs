//! The provider block: its schema, validation, and ConfigureProvider.

use crate::client::{ApiToken, Client, ConfigError, DEFAULT_BASE_URL, parse_base_url};
use crate::diag::Diagnostics;
use crate::schema::{Attribute, Block, Kind, Presence};
use crate::value::Value;

/// Environment variable read when `api_token` is not set.
pub const TOKEN_ENV: &str = "SIRO_API_TOKEN";

/// Environment variable read when `base_url` is not set.
pub const BASE_URL_ENV: &str = "SIRO_BASE_URL";

/// The provider block's schema.
pub const SCHEMA: Block = Block {
    version: 0,
    description: "The Siro provider manages a Siro organisation's integrations through \
        Siro's external API, authenticated with an organisation API token.",
    attributes: &[
        Attribute {
            name: "api_token",
            kind: Kind::String,
            presence: Presence::Optional,
            description: "Organisation API token from Siro (Person icon, API Tokens). \
                Falls back to the `SIRO_API_TOKEN` environment variable.",
            sensitive: true,
            deprecated: false,
        },
        Attribute {
            name: "base_url",
            kind: Kind::String,
            presence: Presence::Optional,
            description: "Base URL of Siro's external API. Falls back to the \
                `SIRO_BASE_URL` environment variable, then to \
                `https://functions.siro.ai/api-externalApi`. Plain `http` is accepted only \
                for a loopback host, so the token never leaves the machine unencrypted.",
            sensitive: false,
            deprecated: false,
        },
    ],
};

/// What ConfigureProvider produced.
#[derive(Debug, Clone)]
pub enum Configuration {
    /// A client ready to call the API.
    Ready(Client),
    /// Some values are not known yet (the provider is configured from another
    /// resource's output during plan); calls that need the API must wait for apply.
    Unknown,
}

/// Checks the provider block at `terraform validate`, on known values only.
pub fn validate(config: &Value, diagnostics: &mut Diagnostics) {
    let base_url = config.get("base_url").and_then(Value::as_str);
    if let Some(base_url) = base_url.filter(|url| !url.is_empty()) {
        check_base_url(base_url, "base_url", diagnostics);
    }
}

/// Resolves the token and base URL from the block and the environment.
///
/// The block wins over the environment; an empty string in either counts as unset.
/// `env` looks up an environment variable.
pub fn configure(
    config: &Value,
    env: impl Fn(&str) -> Option<String>,
    diagnostics: &mut Diagnostics,
) -> Option<Configuration> {
    let token = config.get("api_token").unwrap_or(&Value::Null);
    let base_url = config.get("base_url").unwrap_or(&Value::Null);
    if !token.is_known() || !base_url.is_known() {
        return Some(Configuration::Unknown);
    }

    let set = |value: &Value| value.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    let env_set = |key: &str| env(key).filter(|s| !s.is_empty());

    let Some(token) = set(token).or_else(|| env_set(TOKEN_ENV)) else {
        diagnostics.attribute_error(
            "api_token",
            "Missing Siro API Token",
            format!(
                "The provider needs an organisation API token to call the Siro API, and \
                 none was found.\n\nSet `api_token` in the provider block or the {TOKEN_ENV} \
                 environment variable. Tokens are made in Siro under Person icon, API Tokens."
            ),
        );
        return None;
    };

    let (base_url, source) = match set(base_url) {
        Some(url) => (url, "base_url"),
        None => match env_set(BASE_URL_ENV) {
            Some(url) => (url, BASE_URL_ENV),
            None => (DEFAULT_BASE_URL.to_string(), "base_url"),
        },
    };
    match Client::new(&base_url, ApiToken::new(token)) {
        Ok(client) => Some(Configuration::Ready(client)),
        Err(error) => {
            report(&error, source, diagnostics);
            None
        }
    }
}

fn check_base_url(base_url: &str, source: &str, diagnostics: &mut Diagnostics) {
    if let Err(error) = parse_base_url(base_url) {
        report(&error, source, diagnostics);
    }
}

/// Reports a configuration the client refused, at the attribute to blame.
fn report(error: &ConfigError, base_url_source: &str, diagnostics: &mut Diagnostics) {
    if let ConfigError::InvalidToken | ConfigError::EmptyToken = error {
        let detail = format!(
            "The API token cannot be used: {error}.\n\nCheck the provider's `api_token` or \
             {TOKEN_ENV} for stray characters such as a trailing newline."
        );
        // No attribute path: Terraform would quote the configuration line, token and all.
        diagnostics.error("Invalid Siro API Token", detail);
        return;
    }
    let detail = format!(
        "The base URL from {base_url_source} cannot be used: {error}.\n\nUse an https URL \
         such as {DEFAULT_BASE_URL}; plain http is accepted only for 127.0.0.1, ::1 or \
         localhost."
    );
    diagnostics.attribute_error("base_url", "Invalid Siro API Base URL", detail);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(api_token: Value, base_url: Value) -> Value {
        let attributes = [("api_token", api_token), ("base_url", base_url)];
        Value::Object(
            attributes
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }

    fn text(value: &str) -> Value {
        Value::String(value.to_string())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn details(diagnostics: Diagnostics) -> String {
        let items = diagnostics.into_proto();
        items
            .iter()
            .map(|d| format!("{} {}", d.summary, d.detail))
            .collect()
    }

    #[test]
    fn missing_token_names_the_attribute_and_the_variable() {
        let mut diagnostics = Diagnostics::new();
        let env = |key: &str| (key == TOKEN_ENV).then(String::new);
        let result = configure(&block(Value::Null, Value::Null), env, &mut diagnostics);
        assert!(result.is_none());
        let text = details(diagnostics);
        assert!(
            text.contains("api_token") && text.contains(TOKEN_ENV),
            "{text}"
        );
    }

    #[test]
    fn the_block_wins_over_the_environment() {
        let mut diagnostics = Diagnostics::new();
        let env = |key: &str| match key {
            TOKEN_ENV => Some("from-env".to_string()),
            BASE_URL_ENV => Some("http://example.com".to_string()),
            _ => None,
        };
        let config = block(text("from-block"), text("https://api.example.com/prefix"));
        let result = configure(&config, env, &mut diagnostics);
        let Some(Configuration::Ready(client)) = result else {
            panic!("configuration should succeed: {}", details(diagnostics));
        };
        assert_eq!(client.base_url().as_str(), "https://api.example.com/prefix");
    }

    #[test]
    fn environment_fills_in_and_default_applies() {
        let mut diagnostics = Diagnostics::new();
        let env = |key: &str| (key == TOKEN_ENV).then(|| "from-env".to_string());
        let result = configure(&block(Value::Null, Value::Null), env, &mut diagnostics);
        let Some(Configuration::Ready(client)) = result else {
            panic!("configuration should succeed");
        };
        assert!(client.base_url().as_str().starts_with(DEFAULT_BASE_URL));
    }

    #[test]
    fn plain_http_to_a_remote_host_is_refused_before_any_request() {
        let mut diagnostics = Diagnostics::new();
        let config = block(text("t"), text("http://api.example.com"));
        assert!(configure(&config, no_env, &mut diagnostics).is_none());
        assert!(details(diagnostics).contains("base_url"));

        let mut diagnostics = Diagnostics::new();
        validate(&config, &mut diagnostics);
        assert!(diagnostics.has_errors());
    }

    #[test]
    fn a_token_with_a_newline_is_blamed_on_api_token_without_showing_it() {
        let mut diagnostics = Diagnostics::new();
        let config = block(text("secret-value\n"), Value::Null);
        assert!(configure(&config, no_env, &mut diagnostics).is_none());
        let items = diagnostics.into_proto();
        assert_eq!(items[0].summary, "Invalid Siro API Token");
        assert!(
            items[0].attribute.is_none(),
            "a path would make Terraform quote the token"
        );
        assert!(!format!("{items:?}").contains("secret-value"));
    }

    #[test]
    fn an_empty_base_url_counts_as_unset_at_validate_too() {
        let mut diagnostics = Diagnostics::new();
        validate(&block(Value::Null, text("")), &mut diagnostics);
        assert!(!diagnostics.has_errors());
    }

    #[test]
    fn unknown_values_do_not_fail_the_plan() {
        let mut diagnostics = Diagnostics::new();
        let config = block(Value::unknown(), Value::Null);
        let result = configure(&config, no_env, &mut diagnostics);
        assert!(matches!(result, Some(Configuration::Unknown)));
        assert!(!diagnostics.has_errors());
    }
}
