//! Diagnostics: the only code that builds the protocol's Diagnostic messages.
//!
//! Summaries are short Title Case labels naming what failed; details say what the
//! provider tried, what came back, and what to do, in blank-line separated parts.

use crate::client::ApiError;
use crate::proto::tfplugin6 as proto;

/// Diagnostics collected while serving one RPC.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<proto::Diagnostic>,
}

impl Diagnostics {
    /// An empty collection.
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    /// Adds an error about the configuration or operation as a whole.
    pub fn error(&mut self, summary: &str, detail: impl Into<String>) {
        self.push(
            proto::diagnostic::Severity::Error,
            summary,
            detail.into(),
            None,
        );
    }

    /// Adds a warning about the configuration or operation as a whole.
    pub fn warning(&mut self, summary: &str, detail: impl Into<String>) {
        self.push(
            proto::diagnostic::Severity::Warning,
            summary,
            detail.into(),
            None,
        );
    }

    /// Adds an error that Terraform shows at one top-level attribute of the block.
    pub fn attribute_error(&mut self, attribute: &str, summary: &str, detail: impl Into<String>) {
        let severity = proto::diagnostic::Severity::Error;
        self.push(severity, summary, detail.into(), Some(attribute));
    }

    /// Whether any error (not warning) was added.
    pub fn has_errors(&self) -> bool {
        let error = proto::diagnostic::Severity::Error as i32;
        self.items
            .iter()
            .any(|diagnostic| diagnostic.severity == error)
    }

    /// The number of errors and of warnings, for logs.
    pub fn counts(&self) -> (usize, usize) {
        count(&self.items)
    }

    /// The diagnostics as the protocol carries them.
    pub fn into_proto(self) -> Vec<proto::Diagnostic> {
        self.items
    }

    fn push(
        &mut self,
        severity: proto::diagnostic::Severity,
        summary: &str,
        detail: String,
        attribute: Option<&str>,
    ) {
        let attribute = attribute.map(|name| proto::AttributePath {
            steps: vec![proto::attribute_path::Step {
                selector: Some(proto::attribute_path::step::Selector::AttributeName(
                    name.to_string(),
                )),
            }],
        });
        self.items.push(proto::Diagnostic {
            severity: severity.into(),
            summary: summary.to_string(),
            detail,
            attribute,
        });
    }
}

/// Counts errors and warnings in protocol diagnostics.
pub fn count(diagnostics: &[proto::Diagnostic]) -> (usize, usize) {
    let error = proto::diagnostic::Severity::Error as i32;
    let errors = diagnostics.iter().filter(|d| d.severity == error).count();
    (errors, diagnostics.len() - errors)
}

/// The detail text for a failed API call: what was called, what came back, what to do,
/// and the cause chain on its own line.
///
/// Built only from the operation, status, the API's (already scrubbed and shortened)
/// message, request id and the error chain, which the client strips of URLs and
/// secrets, so neither the token nor a request body can appear in it.
pub fn api_error_detail(error: &ApiError) -> String {
    let tried = format!("The provider called the Siro API: {}.", error.operation());

    let mut answered = match error.status() {
        Some(status) => format!("The API answered with HTTP status {status}"),
        None => "No usable answer was received".to_string(),
    };
    match error.api_message() {
        Some(message) => answered.push_str(&format!(": {message}.")),
        None => answered.push('.'),
    }
    if let Some(request_id) = error.request_id() {
        answered.push_str(&format!(" Request id: {request_id}."));
    }

    format!(
        "{tried}\n\n{answered}\n\n{}\n\nCause: {}",
        api_error_advice(error),
        error.chain()
    )
}

/// What the user can do about a failed call.
fn api_error_advice(error: &ApiError) -> &'static str {
    let status = error.status().unwrap_or(0);
    if error.is_auth() {
        "Check the API token: set `api_token` in the provider block or the SIRO_API_TOKEN \
         environment variable to an organisation API token from Siro (Person icon, API \
         Tokens) that is allowed to manage integrations."
    } else if error.is_not_found() && error.operation().starts_with("PUT") {
        "The API has no such operation at this address: check the provider's `base_url`, \
         which must include the API's path prefix (the default ends in /api-externalApi)."
    } else if error.is_not_found() {
        "The connection does not exist, or the token's organisation cannot see it."
    } else if error.is_timeout() || error.is_connect() {
        "Check the network path to the API (proxy, firewall, TLS certificates) and the \
         provider's `base_url`, then retry."
    } else if error.is_decode() {
        "The answer did not match Siro's published API. Retry; if it persists, report it."
    } else if (300..400).contains(&status) {
        "The API answered with a redirect, which the provider does not follow: check the \
         provider's `base_url`."
    } else if matches!(status, 429 | 502 | 503 | 504) {
        "The API is busy or unavailable; the provider already retried. Try again later."
    } else if status >= 500 {
        "The API failed on its side. Try again later; if it persists, report it to Siro."
    } else {
        "Check the resource's arguments and the provider configuration."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_diagnostics_point_at_the_attribute() {
        let mut diagnostics = Diagnostics::new();
        diagnostics.attribute_error("org_id", "Invalid Organisation ID", "detail");
        diagnostics.warning("Deprecated Attribute", "detail");
        assert!(diagnostics.has_errors());
        assert_eq!(diagnostics.counts(), (1, 1));

        let items = diagnostics.into_proto();
        let steps = &items[0].attribute.as_ref().expect("path set").steps;
        let selector = steps[0].selector.as_ref().expect("selector set");
        assert_eq!(
            selector,
            &proto::attribute_path::step::Selector::AttributeName("org_id".into())
        );
        assert_eq!(
            items[1].severity,
            proto::diagnostic::Severity::Warning as i32
        );
        assert!(items[1].attribute.is_none());
    }

    #[test]
    fn warnings_alone_are_not_errors() {
        let mut diagnostics = Diagnostics::new();
        diagnostics.warning("Careful", "detail");
        assert!(!diagnostics.has_errors());
        assert_eq!(diagnostics.counts(), (0, 1));
    }
}
