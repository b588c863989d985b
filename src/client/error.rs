//! [`ApiError`]: a failed call to the Siro API, classified so callers never match on text.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

/// Longest API message kept, in characters; longer ones are cut and end with `…`.
const MESSAGE_LIMIT: usize = 300;

/// What went wrong, as far as callers need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The API answered with a status that is not a success.
    Status,
    /// No connection could be made (refused, DNS, TLS handshake, connect timeout).
    Connect,
    /// The request or the answer took longer than the client's timeout.
    Timeout,
    /// The answer was a success but its body is not what the contract says.
    Decode,
    /// The connection broke in another way (reset, closed mid-answer).
    Transport,
    /// The connection id cannot be put in a URL path (empty, `.` or `..`).
    InvalidId,
}

/// A failed call to the Siro API.
///
/// It records what was called (`operation()`, method and path template, never the
/// URL), the HTTP status if one came back, the API's own message (cut to 300 characters,
/// with any token or refresh token that was sent replaced by `***`), and the
/// `x-request-id` header if present. Classify it with the `is_*` predicates. `Display`
/// is a short phrase; the underlying reqwest or serde error is the `source()`, stripped
/// of its URL.
pub struct ApiError {
    inner: Box<Inner>,
}

struct Inner {
    operation: &'static str,
    kind: Kind,
    status: Option<StatusCode>,
    message: Option<String>,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl ApiError {
    fn new(operation: &'static str, kind: Kind) -> ApiError {
        ApiError {
            inner: Box::new(Inner {
                operation,
                kind,
                status: None,
                message: None,
                request_id: None,
                retry_after: None,
                source: None,
            }),
        }
    }

    /// An answer with a non-success status; `body` is read for the API's message.
    pub(crate) fn from_status(
        operation: &'static str,
        status: StatusCode,
        request_id: Option<&str>,
        body: &[u8],
        secrets: &[&str],
    ) -> ApiError {
        let mut e = ApiError::new(operation, Kind::Status);
        e.inner.status = Some(status);
        e.inner.message = api_message(body).map(|m| cut(&scrub(&m, secrets)));
        e.inner.request_id = request_id.map(|id| cut(&scrub(id, secrets)));
        e
    }

    /// A transport failure from reqwest; its URL is dropped.
    pub(crate) fn from_reqwest(operation: &'static str, error: reqwest::Error) -> ApiError {
        let kind = if error.is_timeout() {
            Kind::Timeout
        } else if error.is_connect() {
            Kind::Connect
        } else if error.is_decode() {
            Kind::Decode
        } else {
            Kind::Transport
        };
        let mut e = ApiError::new(operation, kind);
        e.inner.status = error.status();
        e.inner.source = Some(Box::new(error.without_url()));
        e
    }

    /// A success answer whose body did not decode. serde's text can quote values from
    /// the body, so it is scrubbed like the API message.
    pub(crate) fn from_decode(
        operation: &'static str,
        status: StatusCode,
        request_id: Option<&str>,
        error: &serde_json::Error,
        secrets: &[&str],
    ) -> ApiError {
        let mut e = ApiError::new(operation, Kind::Decode);
        e.inner.status = Some(status);
        e.inner.request_id = request_id.map(|id| cut(&scrub(id, secrets)));
        e.inner.source = Some(Box::new(Scrubbed(cut(&scrub(&error.to_string(), secrets)))));
        e
    }

    /// The error and its sources, outermost first, joined by ": ". Like `Display`, it
    /// holds no URL and no secret: sources are stripped and scrubbed when recorded.
    pub fn chain(&self) -> String {
        let mut chain = self.to_string();
        let mut source = StdError::source(self);
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        chain
    }

    /// A connection id that cannot be sent as one path segment.
    pub(crate) fn invalid_id(operation: &'static str) -> ApiError {
        ApiError::new(operation, Kind::InvalidId)
    }

    /// Records the answer's `Retry-After` delay.
    pub(crate) fn with_retry_after(mut self, delay: Option<Duration>) -> ApiError {
        self.inner.retry_after = delay;
        self
    }

    /// The `Retry-After` delay the answer asked for, if any.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Whether another attempt may succeed: connect errors, timeouts, 429, 502, 503, 504.
    pub(crate) fn is_retryable(&self) -> bool {
        match self.inner.kind {
            Kind::Connect | Kind::Timeout => true,
            Kind::Status => matches!(
                self.inner.status.map(|s| s.as_u16()),
                Some(429 | 502 | 503 | 504)
            ),
            Kind::Decode | Kind::Transport | Kind::InvalidId => false,
        }
    }

    /// What was called: method and path template, e.g.
    /// `GET /v1/core/integrations/connections/{id}`.
    pub fn operation(&self) -> &str {
        self.inner.operation
    }

    /// The HTTP status of the answer, if one came back.
    pub fn status(&self) -> Option<u16> {
        self.inner.status.map(|s| s.as_u16())
    }

    /// The API's own message: the `message` or `error` string of a JSON body, else the
    /// text body; cut to 300 characters and with secrets replaced by `***`.
    pub fn api_message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    /// The answer's `x-request-id` header, if present; quote it to Siro support.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// The API answered 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        self.is_status(404)
    }

    /// The API refused the token: 401 Unauthorized or 403 Forbidden.
    pub fn is_auth(&self) -> bool {
        self.is_status(401) || self.is_status(403)
    }

    /// The request or the answer took longer than the client's timeout.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == Kind::Timeout
    }

    /// No connection to the API could be made.
    pub fn is_connect(&self) -> bool {
        self.inner.kind == Kind::Connect
    }

    /// A success answer whose body is not what the contract says (empty, HTML,
    /// truncated JSON, a missing field, a wrong type).
    pub fn is_decode(&self) -> bool {
        self.inner.kind == Kind::Decode
    }

    fn is_status(&self, code: u16) -> bool {
        self.inner.kind == Kind::Status && self.status() == Some(code)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.inner.kind {
            Kind::Status => match self.inner.status {
                Some(s) => match s.canonical_reason() {
                    Some(reason) => write!(f, "siro api answered {} {reason}", s.as_u16()),
                    None => write!(f, "siro api answered {}", s.as_u16()),
                },
                None => f.write_str("siro api answered with an error"),
            },
            Kind::Connect => f.write_str("could not reach siro api"),
            Kind::Timeout => f.write_str("siro api did not answer in time"),
            Kind::Decode => f.write_str("siro api answer could not be read"),
            Kind::Transport => f.write_str("request to siro api failed"),
            Kind::InvalidId => f.write_str("connection id cannot be used in a url path"),
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("operation", &self.inner.operation)
            .field("kind", &self.inner.kind)
            .field("status", &self.inner.status)
            .field("api_message", &self.inner.message)
            .field("request_id", &self.inner.request_id)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl StdError for ApiError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

/// An error text that was already scrubbed of secrets.
#[derive(Debug)]
struct Scrubbed(String);

impl fmt::Display for Scrubbed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Scrubbed {}

/// Picks the API's message out of an error body: a JSON object's `message` or `error`
/// string (also `error.message`), else the whole body as text. Whitespace runs become
/// one space so HTML and multi-line bodies read as one line.
fn api_message(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text) {
        let nested = map.get("error").and_then(|e| e.get("message"));
        let found = [map.get("message"), map.get("error"), nested]
            .into_iter()
            .flatten()
            .find_map(|v| v.as_str());
        if let Some(message) = found {
            return Some(collapse(message));
        }
    }
    Some(collapse(text))
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Replaces every non-empty secret in `text` with `***`.
pub(crate) fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        out = out.replace(secret, "***");
    }
    out
}

/// Cuts `text` to [`MESSAGE_LIMIT`] characters (never inside a character), adding `…`.
fn cut(text: &str) -> String {
    match text.char_indices().nth(MESSAGE_LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OP: &str = "GET /v1/core/integrations/connections/{id}";

    fn status(code: u16, body: &str) -> ApiError {
        let status = StatusCode::from_u16(code).expect("valid test status");
        ApiError::from_status(OP, status, Some("req-1"), body.as_bytes(), &["tok-secret"])
    }

    #[test]
    fn message_comes_from_json_fields_or_text() {
        assert_eq!(
            status(400, r#"{"message":"bad org_id"}"#).api_message(),
            Some("bad org_id")
        );
        assert_eq!(
            status(400, r#"{"error":"nope"}"#).api_message(),
            Some("nope")
        );
        assert_eq!(
            status(400, r#"{"error":{"message":"deep"}}"#).api_message(),
            Some("deep")
        );
        assert_eq!(
            status(400, r#"{"code":7}"#).api_message(),
            Some(r#"{"code":7}"#)
        );
        assert_eq!(
            status(404, "Integration connection not found\n").api_message(),
            Some("Integration connection not found")
        );
        assert_eq!(
            status(502, "<html>\n  <b>Bad</b>\n</html>").api_message(),
            Some("<html> <b>Bad</b> </html>")
        );
        assert_eq!(status(500, "  ").api_message(), None);
        assert_eq!(status(500, "").api_message(), None);
    }

    #[test]
    fn message_is_cut_on_a_char_boundary() {
        let long = "é".repeat(400);
        let e = status(500, &long);
        let message = e.api_message().expect("a message");
        assert_eq!(message.chars().count(), 301);
        assert!(message.ends_with("é…"));
        let exact = "x".repeat(300);
        assert_eq!(status(500, &exact).api_message(), Some(exact.as_str()));
    }

    #[test]
    fn secrets_in_the_message_are_replaced() {
        let e = status(401, r#"{"message":"token tok-secret is not valid"}"#);
        assert_eq!(e.api_message(), Some("token *** is not valid"));
        // Scrubbed before the cut, so no prefix of a secret survives at the edge.
        let body = format!("{}tok-secret", "x".repeat(295));
        assert!(
            !status(500, &body)
                .api_message()
                .unwrap_or("")
                .contains("tok-")
        );
        assert_eq!(scrub("a b", &["", "b"]), "a ***");
    }

    #[test]
    fn statuses_classify() {
        let not_found = status(404, "");
        assert!(not_found.is_not_found() && !not_found.is_auth() && !not_found.is_decode());
        assert!(status(401, "").is_auth() && status(403, "").is_auth());
        assert!(!status(400, "").is_auth());
        assert_eq!(not_found.status(), Some(404));
        assert_eq!(not_found.request_id(), Some("req-1"));
        assert_eq!(not_found.operation(), OP);
        for retryable in [429, 502, 503, 504] {
            assert!(status(retryable, "").is_retryable(), "{retryable}");
        }
        for not_retryable in [400, 401, 404, 409, 422, 500] {
            assert!(!status(not_retryable, "").is_retryable(), "{not_retryable}");
        }
    }

    #[test]
    fn display_is_a_short_phrase() {
        assert_eq!(
            status(404, "x").to_string(),
            "siro api answered 404 Not Found"
        );
        assert_eq!(status(599, "x").to_string(), "siro api answered 599");
        assert_eq!(
            ApiError::invalid_id(OP).to_string(),
            "connection id cannot be used in a url path"
        );
        assert!(!ApiError::invalid_id(OP).is_retryable());
    }

    #[test]
    fn decode_errors_scrub_serde_text() {
        let serde = serde_json::from_str::<bool>(r#""tok-secret""#).expect_err("not a bool");
        assert!(
            serde.to_string().contains("tok-secret"),
            "serde quotes the value"
        );
        let e = ApiError::from_decode(OP, StatusCode::OK, None, &serde, &["tok-secret"]);
        assert!(e.is_decode() && !e.is_retryable());
        assert_eq!(e.to_string(), "siro api answer could not be read");
        let shown = format!(
            "{e:?} {}",
            e.source().map(|s| s.to_string()).unwrap_or_default()
        );
        assert!(!shown.contains("tok-secret"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}
