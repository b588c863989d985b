//! The Siro external API client: the three calls the provider makes, on reqwest.
//!
//! # Sections
//! - [`ApiToken`] and [`Client::new`]: the token, base URL rules, HTTP settings.
//! - The calls: [`Client::upsert_salesforce`], [`Client::get_connection`],
//!   [`Client::delete_connection`], all idempotent and retried on transient failures.
//! - URL building: the base URL's path prefix is kept; a connection id is one segment.

pub mod error;
pub mod model;

pub use error::ApiError;
pub use model::{Connection, SalesforceUpsert, UpsertResult};

use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use url::{Host, Url};

/// Default base URL: the server of Siro's OpenAPI document.
pub const DEFAULT_BASE_URL: &str = "https://functions.siro.ai/api-externalApi";

/// User-Agent sent with every request.
const USER_AGENT: &str = concat!("terraform-provider-siro/", env!("CARGO_PKG_VERSION"));

/// Time allowed to open a connection (TCP and TLS).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one attempt, from sending to the end of the answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Retries after the first attempt. Siro documents a limit of 1,000 requests per token
/// per minute, answered with 429, and no `Retry-After`; a few spaced retries ride it out.
const MAX_RETRIES: usize = 3;
/// First backoff delay; doubles per retry, plus up to the same again of random jitter.
const FIRST_DELAY: Duration = Duration::from_millis(500);
/// Longest backoff delay before jitter.
const MAX_DELAY: Duration = Duration::from_secs(8);
/// Longest `Retry-After` honoured; a larger one is cut to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// Largest answer body read; the API's answers are a few hundred bytes.
const MAX_BODY: usize = 1 << 20;

/// Header carrying the API's request id, reported in errors.
const REQUEST_ID: &str = "x-request-id";

/// Organisation API token; Debug and Display print `***`.
#[derive(Clone)]
pub struct ApiToken(String);

impl ApiToken {
    /// Wraps a token.
    pub fn new(token: String) -> Self {
        ApiToken(token)
    }

    /// The token text, for the Authorization header and for scrubbing error text.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A problem with the base URL or the token, found before any request. The URL itself
/// is never part of the text: it could hold credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL does not parse.
    #[error("base url is not a valid url")]
    NotAUrl(#[source] url::ParseError),
    /// The scheme is neither https nor http.
    #[error("base url scheme must be https, not {0}")]
    UnsupportedScheme(String),
    /// Plain http to a host that is not loopback would send the token unencrypted.
    #[error("base url uses plain http to {host}, which is not a loopback host; use https")]
    InsecureHttp {
        /// The host that was refused.
        host: String,
    },
    /// The URL has no host.
    #[error("base url has no host")]
    NoHost,
    /// The URL carries a user name or password.
    #[error("base url must not contain credentials")]
    Credentials,
    /// The URL has a query string.
    #[error("base url must not have a query")]
    Query,
    /// The URL has a fragment.
    #[error("base url must not have a fragment")]
    Fragment,
    /// The token is empty.
    #[error("api token is empty")]
    EmptyToken,
    /// The token has characters an HTTP header cannot carry (such as a newline).
    #[error("api token contains characters not allowed in an http header")]
    InvalidToken,
    /// reqwest could not build its client (TLS setup).
    #[error("could not set up the http client")]
    Http(#[source] reqwest::Error),
}

/// Client for Siro's external API. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: ApiToken,
    authorization: HeaderValue,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// One API operation: its method and path template, which is all that is logged.
struct Operation {
    method: Method,
    /// Path template relative to the base URL, e.g. `/v1/core/integrations/salesforce`.
    path: &'static str,
    /// `METHOD /path/{template}`, as reported by [`ApiError::operation`].
    name: &'static str,
}

const UPSERT: Operation = Operation {
    method: Method::PUT,
    path: "/v1/core/integrations/salesforce",
    name: "PUT /v1/core/integrations/salesforce",
};
const GET_CONNECTION: Operation = Operation {
    method: Method::GET,
    path: "/v1/core/integrations/connections/{id}",
    name: "GET /v1/core/integrations/connections/{id}",
};
const DELETE_CONNECTION: Operation = Operation {
    method: Method::DELETE,
    path: "/v1/core/integrations/connections/{id}",
    name: "DELETE /v1/core/integrations/connections/{id}",
};

const UPSERT_PATH: [&str; 4] = ["v1", "core", "integrations", "salesforce"];
const CONNECTIONS_PATH: [&str; 4] = ["v1", "core", "integrations", "connections"];

/// A success answer, read whole.
struct Answer {
    status: StatusCode,
    body: bytes::Bytes,
    request_id: Option<String>,
}

impl Client {
    /// Makes a client for the API at `base_url` (e.g. [`DEFAULT_BASE_URL`]).
    ///
    /// The URL must be https, or plain http to a loopback host (127.0.0.0/8, ::1,
    /// `localhost`) so the token never leaves the machine unencrypted, and must carry no
    /// credentials, query or fragment. Its path is kept as a prefix of every request path.
    /// System proxies (`HTTPS_PROXY` and friends) are used, except for loopback hosts.
    /// Redirects are not followed. Timeouts: 10 s to connect, 60 s per attempt.
    pub fn new(base_url: &str, token: ApiToken) -> Result<Client, ConfigError> {
        let base = parse_base_url(base_url)?;
        if token.expose().is_empty() {
            return Err(ConfigError::EmptyToken);
        }
        let mut authorization = HeaderValue::try_from(format!("Bearer {}", token.expose()))
            .map_err(|_| ConfigError::InvalidToken)?;
        authorization.set_sensitive(true);

        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        // A proxy cannot reach this machine's loopback for us.
        if base.host().is_some_and(|h| is_loopback(&h)) {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| ConfigError::Http(e.without_url()))?;

        Ok(Client {
            http,
            base,
            token,
            authorization,
        })
    }

    /// The base URL requests are made under (trailing slashes removed).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// Creates or updates the organisation's Salesforce connection:
    /// `PUT /v1/core/integrations/salesforce`. The API keys it by namespace and org id.
    pub async fn upsert_salesforce(
        &self,
        body: &SalesforceUpsert,
    ) -> Result<UpsertResult, ApiError> {
        let secrets = [
            self.token.expose(),
            body.refresh_token.as_deref().unwrap_or(""),
        ];
        let url = self.url(&UPSERT_PATH, None);
        let answer = self.send(&UPSERT, url, Some(body), &secrets).await?;
        let result: UpsertResult = decode(&UPSERT, &answer, &secrets)?;
        tracing::info!(
            connection_id = %result.integration_connection_id,
            "upserted salesforce integration"
        );
        Ok(result)
    }

    /// Reads one connection: `GET /v1/core/integrations/connections/{id}`. A connection
    /// that does not exist is an error with [`ApiError::is_not_found`].
    pub async fn get_connection(&self, id: &str) -> Result<Connection, ApiError> {
        let secrets = [self.token.expose()];
        let url = self.connection_url(&GET_CONNECTION, id)?;
        let answer = self.send(&GET_CONNECTION, url, None, &secrets).await?;
        decode(&GET_CONNECTION, &answer, &secrets)
    }

    /// Deletes one connection: `DELETE /v1/core/integrations/connections/{id}`. The
    /// answer's body is not read; a missing connection is an error with
    /// [`ApiError::is_not_found`] (callers usually treat it as done).
    pub async fn delete_connection(&self, id: &str) -> Result<(), ApiError> {
        let secrets = [self.token.expose()];
        let url = self.connection_url(&DELETE_CONNECTION, id)?;
        self.send(&DELETE_CONNECTION, url, None, &secrets).await?;
        tracing::info!(connection_id = %id, "deleted integration connection");
        Ok(())
    }

    /// `<base>/<segments…>[/<id>]`. Each piece is one percent-encoded segment.
    fn url(&self, segments: &[&str], id: Option<&str>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
            if let Some(id) = id {
                // push escapes `/`, `%`, `?`, `#` and spaces, so the id stays one segment
                // and round-trips exactly; the tests pin that down.
                path.push(id);
            }
        }
        url
    }

    fn connection_url(&self, op: &Operation, id: &str) -> Result<Url, ApiError> {
        // url drops "." and ".." segments, and "" would name the list endpoint.
        if matches!(id, "" | "." | "..") {
            return Err(ApiError::invalid_id(op.name));
        }
        Ok(self.url(&CONNECTIONS_PATH, Some(id)))
    }

    /// Sends one operation with retries; returns the success answer or the last error.
    async fn send(
        &self,
        op: &Operation,
        url: Url,
        body: Option<&SalesforceUpsert>,
        secrets: &[&str],
    ) -> Result<Answer, ApiError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(FIRST_DELAY)
            .with_max_delay(MAX_DELAY)
            .with_max_times(MAX_RETRIES)
            .with_jitter();
        let mut attempt = 0u32;
        let once = || {
            attempt += 1;
            self.attempt(op, url.clone(), body, secrets, attempt)
        };
        once.retry(backoff)
            .when(ApiError::is_retryable)
            .adjust(|e, delay| delay.map(|d| e.retry_after().unwrap_or(d)))
            .notify(|e, delay| {
                tracing::debug!(
                    operation = op.name,
                    error = %e.chain(),
                    delay_ms = delay.as_millis() as u64,
                    "retrying siro api request"
                );
            })
            .await
    }

    /// One attempt: send, read the whole answer, classify it.
    async fn attempt(
        &self,
        op: &Operation,
        url: Url,
        body: Option<&SalesforceUpsert>,
        secrets: &[&str],
        attempt: u32,
    ) -> Result<Answer, ApiError> {
        let started = Instant::now();
        let mut request = self
            .http
            .request(op.method.clone(), url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, "application/json");
        if let Some(body) = body {
            request = request.json(body);
        }

        let result = match request.send().await {
            Ok(response) => read_answer(op, response, secrets).await,
            Err(e) => Err(ApiError::from_reqwest(op.name, e)),
        };

        // Method and path template only: never the URL, a header value or a body.
        let status = match &result {
            Ok(a) => Some(a.status.as_u16()),
            Err(e) => e.status(),
        };
        tracing::debug!(
            method = %op.method,
            path = op.path,
            status,
            attempt,
            duration_ms = started.elapsed().as_millis() as u64,
            error = result.as_ref().err().map(|e| e.chain()),
            "siro api request"
        );
        result
    }
}

/// Reads an answer's body (up to [`MAX_BODY`]) and turns a non-success status into an
/// error carrying the API's message, request id and `Retry-After`.
async fn read_answer(
    op: &Operation,
    mut response: reqwest::Response,
    secrets: &[&str],
) -> Result<Answer, ApiError> {
    let status = response.status();
    let headers = response.headers();
    let request_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));

    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ApiError::from_reqwest(op.name, e))?
    {
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY {
            break;
        }
    }

    if status.is_success() {
        return Ok(Answer {
            status,
            body: body.into(),
            request_id,
        });
    }
    let error = ApiError::from_status(op.name, status, request_id.as_deref(), &body, secrets);
    Err(error.with_retry_after(retry_after))
}

/// Decodes a success answer; anything that does not fit is a decode error, never a panic.
fn decode<T: serde::de::DeserializeOwned>(
    op: &Operation,
    answer: &Answer,
    secrets: &[&str],
) -> Result<T, ApiError> {
    serde_json::from_slice(&answer.body).map_err(|e| {
        ApiError::from_decode(
            op.name,
            answer.status,
            answer.request_id.as_deref(),
            &e,
            secrets,
        )
    })
}

/// Parses and checks a base URL; see [`Client::new`] for the rules.
///
/// Public so configuration can be validated without building an HTTP client.
pub fn parse_base_url(base_url: &str) -> Result<Url, ConfigError> {
    let mut url = Url::parse(base_url.trim()).map_err(ConfigError::NotAUrl)?;
    let host = url.host().ok_or(ConfigError::NoHost)?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(ConfigError::InsecureHttp {
                host: host.to_string(),
            });
        }
        other => return Err(ConfigError::UnsupportedScheme(other.to_owned())),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::Credentials);
    }
    if url.query().is_some() {
        return Err(ConfigError::Query);
    }
    if url.fragment().is_some() {
        return Err(ConfigError::Fragment);
    }
    // Keep the path prefix without trailing slashes, so joining adds exactly one.
    let trimmed = url.path().trim_end_matches('/').to_owned();
    url.set_path(&trimmed);
    Ok(url)
}

/// 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and `localhost`.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        // Exactly `localhost`: "localhost." would be resolved through DNS.
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            ip.is_loopback()
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4: Ipv4Addr| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Client {
        Client::new(base, ApiToken::new("test-token".into())).expect("valid base url")
    }

    fn connection(base: &str, id: &str) -> String {
        client(base)
            .connection_url(&GET_CONNECTION, id)
            .expect("usable id")
            .to_string()
    }

    #[test]
    fn joins_with_and_without_trailing_slash() {
        for base in [
            "https://functions.siro.ai/api-externalApi",
            "https://functions.siro.ai/api-externalApi/",
            "https://functions.siro.ai/api-externalApi//",
        ] {
            let c = client(base);
            assert_eq!(
                c.url(&UPSERT_PATH, None).as_str(),
                "https://functions.siro.ai/api-externalApi/v1/core/integrations/salesforce",
                "{base}"
            );
            assert_eq!(
                c.base_url().as_str(),
                "https://functions.siro.ai/api-externalApi"
            );
        }
        for base in ["https://h.example", "https://h.example/"] {
            assert_eq!(
                connection(base, "c1"),
                "https://h.example/v1/core/integrations/connections/c1"
            );
        }
        assert_eq!(
            connection("http://127.0.0.1:8080/a/b/", "c1"),
            "http://127.0.0.1:8080/a/b/v1/core/integrations/connections/c1"
        );
    }

    #[test]
    fn the_id_is_one_escaped_segment() {
        let base = "https://h.example/api";
        let prefix = "https://h.example/api/v1/core/integrations/connections/";
        for (id, sent) in [
            ("a/b", "a%2Fb"),
            ("../x", "..%2Fx"),
            ("...", "..."),
            ("a b", "a%20b"),
            ("a?b#c", "a%3Fb%23c"),
            ("é€", "%C3%A9%E2%82%AC"),
            ("a%2Fb", "a%252Fb"),
            ("%2e%2e", "%252e%252e"),
            ("a\\b", "a%5Cb"),
        ] {
            assert_eq!(connection(base, id), format!("{prefix}{sent}"), "{id}");
        }
    }

    #[test]
    fn ids_that_would_change_the_path_are_refused() {
        let c = client("https://h.example/api");
        for id in ["", ".", ".."] {
            let e = c
                .connection_url(&DELETE_CONNECTION, id)
                .expect_err("refused");
            assert_eq!(
                e.operation(),
                "DELETE /v1/core/integrations/connections/{id}"
            );
            assert_eq!(e.status(), None);
        }
    }

    fn refused(base: &str) -> ConfigError {
        Client::new(base, ApiToken::new("t".into())).expect_err("refused base url")
    }

    #[test]
    fn http_only_to_loopback() {
        for ok in [
            "https://example.com",
            "https://10.0.0.1/api",
            "http://127.0.0.1:1/api",
            "http://127.0.0.2",
            "http://127.255.255.254",
            "http://[::1]:9/x",
            "http://localhost:9",
            "http://LOCALHOST",
            "http://[::ffff:127.0.0.1]",
        ] {
            assert!(
                Client::new(ok, ApiToken::new("t".into())).is_ok(),
                "{ok} should be accepted"
            );
        }
        for insecure in [
            "http://10.0.0.1",
            "http://example.com",
            "http://128.0.0.1",
            "http://[::2]",
            "http://localhost.example.com",
        ] {
            assert!(
                matches!(refused(insecure), ConfigError::InsecureHttp { .. }),
                "{insecure}"
            );
        }
    }

    #[test]
    fn other_base_url_problems() {
        assert!(
            matches!(refused("ftp://example.com"), ConfigError::UnsupportedScheme(s) if s == "ftp")
        );
        assert!(matches!(refused("not a url"), ConfigError::NotAUrl(_)));
        assert!(matches!(refused(""), ConfigError::NotAUrl(_)));
        assert!(matches!(
            refused("https://u:p@example.com"),
            ConfigError::Credentials
        ));
        assert!(matches!(
            refused("https://u@example.com"),
            ConfigError::Credentials
        ));
        assert!(matches!(
            refused("https://example.com/?a=1"),
            ConfigError::Query
        ));
        assert!(matches!(
            refused("https://example.com/#x"),
            ConfigError::Fragment
        ));
        assert!(matches!(
            refused("mailto:a@example.com"),
            ConfigError::NoHost
        ));
        let secret = refused("https://user:hunter2@example.com").to_string();
        assert!(!secret.contains("hunter2"), "{secret}");
    }

    #[test]
    fn token_problems() {
        let empty = Client::new(DEFAULT_BASE_URL, ApiToken::new(String::new()));
        assert!(matches!(empty, Err(ConfigError::EmptyToken)));
        let newline = Client::new(DEFAULT_BASE_URL, ApiToken::new("a\nb".into()));
        assert!(matches!(newline, Err(ConfigError::InvalidToken)));
    }

    #[test]
    fn token_never_shows() {
        let token = ApiToken::new("s3cr3t-token".into());
        assert_eq!(format!("{token} {token:?}"), "*** ***");
        let c = Client::new(DEFAULT_BASE_URL, token).expect("default base url is valid");
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains(DEFAULT_BASE_URL), "{shown}");
        assert!(c.authorization.is_sensitive());
        assert_eq!(c.token.expose(), "s3cr3t-token");
    }

    #[test]
    fn operation_names_match_their_parts() {
        for op in [&UPSERT, &GET_CONNECTION, &DELETE_CONNECTION] {
            assert_eq!(op.name, format!("{} {}", op.method, op.path));
        }
    }

    #[test]
    fn user_agent_names_the_provider() {
        assert_eq!(
            USER_AGENT,
            format!("terraform-provider-siro/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
