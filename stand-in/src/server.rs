//! Request handling: authentication, routing, contract checks, the in-memory store.
//!
//! All decisions are made by [`Shared::answer`], a plain synchronous function, so the
//! unit tests can drive it without a socket; the axum handler only moves bytes.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::contract::{Contract, Operation, violations};
use crate::{RecordedRequest, StoredConnection};

/// Path prefix the API is mounted under, like the real server URL.
pub(crate) const PREFIX: &str = "/api-externalApi";

/// Largest request body read; the upsert body is a few hundred bytes.
const BODY_LIMIT: usize = 1 << 20;

const UPSERT: &str = "/v1/core/integrations/salesforce";
const CONNECTION: &str = "/v1/core/integrations/connections/{id}";
const NOT_FOUND_TEXT: &str = "Integration connection not found";

/// A failure injected by [`crate::StandIn::fail_next`].
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) method: String,
    pub(crate) path_prefix: String,
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) times: usize,
}

/// Mutable state behind one lock.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) connections: Vec<StoredConnection>,
    pub(crate) next_id: u64,
    pub(crate) next_request: u64,
    pub(crate) failures: Vec<Failure>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) violations: Vec<String>,
}

/// Everything a request handler needs.
#[derive(Debug)]
pub(crate) struct Shared {
    token: String,
    contract: Contract,
    log_requests: bool,
    state: Mutex<State>,
}

/// One answer: status, content type, body, extra headers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: &'static str,
    pub(crate) body: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: body.to_string(),
            headers: Vec::new(),
        }
    }

    fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_owned(),
            headers: Vec::new(),
        }
    }

    fn message(status: u16, message: &str) -> Reply {
        Reply::json(status, &json!({ "message": message }))
    }
}

impl Shared {
    pub(crate) fn new(token: &str, log_requests: bool) -> Result<Shared, String> {
        Ok(Shared {
            token: token.to_owned(),
            contract: Contract::load()?,
            log_requests,
            state: Mutex::new(State::default()),
        })
    }

    /// Locks the state; a panic elsewhere while holding the lock leaves data that is
    /// still consistent enough for a test double, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers one request. `path` is the raw (percent-encoded) path without query.
    pub(crate) fn answer(
        &self,
        method: &str,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Reply {
        let relative = path.strip_prefix(PREFIX).filter(|p| p.starts_with('/'));
        let shown_path = relative.unwrap_or(path).to_owned();
        let parsed_body = serde_json::from_slice::<Value>(body).ok();

        let mut state = self.lock();
        let reply = self.decide(&mut state, method, relative, headers, body, &parsed_body);
        state.next_request += 1;
        let mut reply = reply;
        reply.headers.push((
            "x-request-id".into(),
            format!("standin-{}", state.next_request),
        ));
        state.requests.push(RecordedRequest {
            method: method.to_owned(),
            path: shown_path.clone(),
            body: parsed_body,
            status: reply.status,
        });
        drop(state);

        if self.log_requests {
            // Method, path and status only: never the Authorization header or a body.
            eprintln!("{method} {shown_path} {}", reply.status);
        }
        reply
    }

    fn decide(
        &self,
        state: &mut State,
        method: &str,
        relative: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
        parsed: &Option<Value>,
    ) -> Reply {
        // 1. The bearer token, before anything else is revealed.
        let expected = format!("Bearer {}", self.token);
        let authorised = headers
            .get(header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == expected.as_bytes());
        if !authorised {
            return Reply::message(401, "Unauthorized");
        }

        // 2. One of the contract's operations.
        let Some((op, params)) = relative.and_then(|p| self.contract.find(method, p)) else {
            return Reply::text(404, "Not Found");
        };
        let context = format!("{} {}", op.method, op.template);

        // 3. The request body against the operation's schema.
        if let Some(problem) = check_body(op, headers, body, parsed) {
            state.violations.push(format!("{context}: {problem}"));
            return Reply::message(400, &problem);
        }

        // 4. Failures the test asked for.
        if let Some(relative) = relative
            && let Some(reply) = injected(state, &op.method, relative)
        {
            return reply;
        }

        // 5. The operation itself, then its answer against the documented response.
        let reply = match (op.method.as_str(), op.template.as_str()) {
            ("PUT", UPSERT) => upsert(state, parsed.as_ref()),
            ("GET", CONNECTION) => match find_param(state, &params) {
                Some(i) => Reply::json(200, &connection_json(&state.connections[i])),
                None => Reply::text(404, NOT_FOUND_TEXT),
            },
            ("DELETE", CONNECTION) => match find_param(state, &params) {
                Some(i) => Reply::json(200, &connection_json(&state.connections.remove(i))),
                None => Reply::text(404, NOT_FOUND_TEXT),
            },
            _ => Reply::text(501, "operation not served by the stand-in"),
        };
        if let Some(problem) = check_response(op, &reply) {
            state
                .violations
                .push(format!("{context} answered {}: {problem}", reply.status));
        }
        reply
    }

    /// Serves the API until `shutdown` resolves.
    pub(crate) async fn serve(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        shutdown: tokio::sync::oneshot::Receiver<()>,
    ) -> std::io::Result<()> {
        let app = Router::new().fallback(handle).with_state(self);
        tokio::select! {
            served = axum::serve(listener, app) => served,
            _ = shutdown => Ok(()),
        }
    }
}

/// Returns what is wrong with the request body, if anything.
fn check_body(
    op: &Operation,
    headers: &HeaderMap,
    body: &[u8],
    parsed: &Option<Value>,
) -> Option<String> {
    let Some(schema) = &op.request else {
        return (!body.is_empty()).then(|| "this operation takes no request body".to_owned());
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/json") {
        return Some(format!(
            "content type must be application/json, got {content_type:?}"
        ));
    }
    let Some(value) = parsed else {
        return Some("request body is not JSON".to_owned());
    };
    let found = violations(schema, value);
    (!found.is_empty()).then(|| found.join("; "))
}

/// Returns what is wrong with the stand-in's own answer, if anything. Statuses the
/// document does not list for the operation are not checked.
fn check_response(op: &Operation, reply: &Reply) -> Option<String> {
    let schema = op.responses.get(&reply.status)?;
    let value = if schema.json {
        match serde_json::from_str::<Value>(&reply.body) {
            Ok(v) => v,
            Err(_) => return Some("answer is not JSON".to_owned()),
        }
    } else {
        Value::String(reply.body.clone())
    };
    let found = violations(&schema.validator, &value);
    (!found.is_empty()).then(|| found.join("; "))
}

fn injected(state: &mut State, method: &str, relative: &str) -> Option<Reply> {
    let index = state.failures.iter().position(|f| {
        f.times > 0 && f.method.eq_ignore_ascii_case(method) && relative.starts_with(&f.path_prefix)
    })?;
    let failure = &mut state.failures[index];
    failure.times -= 1;
    let trimmed = failure.body.trim_start();
    let content_type = if serde_json::from_str::<Value>(&failure.body).is_ok() {
        "application/json"
    } else if trimmed.starts_with('<') {
        "text/html; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    let reply = Reply {
        status: failure.status,
        content_type,
        body: failure.body.clone(),
        headers: failure.headers.clone(),
    };
    if failure.times == 0 {
        state.failures.remove(index);
    }
    Some(reply)
}

fn upsert(state: &mut State, body: Option<&Value>) -> Reply {
    // check_body has proven the body is an object with the required strings.
    let body = body.cloned().unwrap_or(Value::Null);
    let key = |b: &Value| (b.get("namespace").cloned(), b.get("org_id").cloned());
    let now = now();
    let id = match state
        .connections
        .iter_mut()
        .find(|c| key(&c.body) == key(&body))
    {
        Some(existing) => {
            existing.body = body;
            existing.is_active = true;
            existing.updated_at = now;
            existing.id.clone()
        }
        None => {
            let id = next_id(state);
            state.connections.push(StoredConnection {
                id: id.clone(),
                platform: "SALESFORCE".into(),
                is_active: true,
                body,
                created_at: now.clone(),
                updated_at: now,
            });
            id
        }
    };
    Reply::json(
        200,
        &json!({ "integrationConnectionId": id, "isActive": true }),
    )
}

fn find_param(state: &State, params: &[String]) -> Option<usize> {
    let id = percent_decode(params.first()?)?;
    state.connections.iter().position(|c| c.id == id)
}

/// The connection as the document's connection schema describes it.
fn connection_json(c: &StoredConnection) -> Value {
    let org_id = c.body.get("org_id").and_then(Value::as_str).unwrap_or("");
    json!({
        "id": c.id,
        "name": format!("{} connection", c.platform.to_lowercase()),
        "externalAccountId": org_id,
        "organizationId": "org_stand_in",
        "integrationPlatform": c.platform,
        "createdAt": c.created_at,
        "updatedAt": c.updated_at,
        "isActive": c.is_active,
        "syncStatus": [],
        "syncTranscript": false,
    })
}

pub(crate) fn next_id(state: &mut State) -> String {
    state.next_id += 1;
    format!("conn_{}", state.next_id)
}

/// Current time as an RFC 3339 string, as the document's "ISO 8601 date string".
pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// Decodes `%XX` escapes; None for a bad escape or non-UTF-8 result.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn handle(AxumState(shared): AxumState<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response(),
    };
    let reply = shared.answer(
        parts.method.as_str(),
        parts.uri.path(),
        &parts.headers,
        &body,
    );

    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    for (name, value) in reply.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.insert(n, v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact;

    const TOKEN: &str = "stand-in-token";

    fn shared() -> Shared {
        Shared::new(TOKEN, false).expect("the fixture compiles")
    }

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let bearer = HeaderValue::try_from(format!("Bearer {token}")).expect("ascii token");
        h.insert(header::AUTHORIZATION, bearer);
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h
    }

    fn put(s: &Shared, body: Value) -> Reply {
        let body = body.to_string();
        s.answer(
            "PUT",
            "/api-externalApi/v1/core/integrations/salesforce",
            &headers(TOKEN),
            body.as_bytes(),
        )
    }

    fn body(reply: &Reply) -> Value {
        serde_json::from_str(&reply.body).expect("json answer")
    }

    fn valid() -> Value {
        json!({"namespace": "acme", "org_id": "00D000000000001", "instance_url": "https://acme.my.salesforce.com"})
    }

    #[test]
    fn missing_required_field_is_a_400_and_a_violation() {
        let s = shared();
        let mut b = valid();
        b.as_object_mut().expect("object").remove("org_id");
        let reply = put(&s, b);
        assert_eq!(reply.status, 400);
        assert!(
            body(&reply)["message"]
                .as_str()
                .expect("message")
                .contains("org_id")
        );
        let found = s.lock().violations.clone();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("PUT /v1/core/integrations/salesforce: "),
            "{found:?}"
        );
        assert!(s.lock().connections.is_empty());
    }

    #[test]
    fn unknown_field_is_a_violation() {
        let s = shared();
        let mut b = valid();
        b["isProd"] = json!(true);
        assert_eq!(put(&s, b).status, 400);
        let found = s.lock().violations.clone();
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("isProd"), "{found:?}");
    }

    #[test]
    fn null_is_prod_is_accepted() {
        let s = shared();
        let mut b = valid();
        b["is_prod"] = Value::Null;
        b["use_prod_eca"] = json!(false);
        let reply = put(&s, b);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert!(s.lock().violations.is_empty());
    }

    #[test]
    fn wrong_token_is_a_401_before_routing() {
        let s = shared();
        for path in [
            "/api-externalApi/v1/core/integrations/salesforce",
            "/nowhere",
        ] {
            let reply = s.answer("PUT", path, &headers("other"), b"{}");
            assert_eq!(reply.status, 401);
            assert_eq!(body(&reply), json!({"message": "Unauthorized"}));
        }
        let reply = s.answer(
            "GET",
            "/api-externalApi/v1/core/integrations/connections/x",
            &HeaderMap::new(),
            b"",
        );
        assert_eq!(reply.status, 401);
        assert!(s.lock().violations.is_empty());
    }

    #[test]
    fn paths_outside_the_prefix_or_contract_are_404() {
        let s = shared();
        let h = headers(TOKEN);
        for (method, path) in [
            ("PUT", "/v1/core/integrations/salesforce"),
            ("GET", "/api-externalApi/v1/core/integrations/connections"),
            (
                "GET",
                "/api-externalApi//v1/core/integrations/connections/x",
            ),
            (
                "PATCH",
                "/api-externalApi/v1/core/integrations/connections/x",
            ),
        ] {
            assert_eq!(
                s.answer(method, path, &h, b"").status,
                404,
                "{method} {path}"
            );
        }
    }

    #[test]
    fn upsert_same_pair_updates_new_pair_creates() {
        let s = shared();
        let first = body(&put(&s, valid()));
        assert_eq!(first["isActive"], json!(true));
        let mut changed = valid();
        changed["username"] = json!("integration@acme.test");
        let second = body(&put(&s, changed));
        assert_eq!(
            first["integrationConnectionId"],
            second["integrationConnectionId"]
        );
        let mut other = valid();
        other["namespace"] = json!("beta");
        let third = body(&put(&s, other));
        assert_ne!(
            first["integrationConnectionId"],
            third["integrationConnectionId"]
        );

        let state = s.lock();
        assert_eq!(state.connections.len(), 2);
        assert_eq!(
            state.connections[0].body["username"],
            json!("integration@acme.test")
        );
        assert!(state.violations.is_empty(), "{:?}", state.violations);
    }

    #[test]
    fn get_and_delete_follow_the_document() {
        let s = shared();
        let id = body(&put(&s, valid()))["integrationConnectionId"]
            .as_str()
            .map(str::to_owned);
        let id = id.expect("an id");
        let path = format!("/api-externalApi/v1/core/integrations/connections/{id}");
        let h = headers(TOKEN);

        let got = s.answer("GET", &path, &h, b"");
        assert_eq!(got.status, 200);
        assert_eq!(body(&got)["integrationPlatform"], json!("SALESFORCE"));
        assert_eq!(body(&got)["externalAccountId"], json!("00D000000000001"));

        assert_eq!(s.answer("DELETE", &path, &h, b"").status, 200);
        let gone = s.answer("GET", &path, &h, b"");
        assert_eq!((gone.status, gone.body.as_str()), (404, NOT_FOUND_TEXT));
        assert_eq!(s.answer("DELETE", &path, &h, b"").status, 404);
        assert!(s.lock().violations.is_empty(), "{:?}", s.lock().violations);
    }

    #[test]
    fn body_on_get_is_a_violation() {
        let s = shared();
        let path = "/api-externalApi/v1/core/integrations/connections/x";
        assert_eq!(s.answer("GET", path, &headers(TOKEN), b"{}").status, 400);
        assert_eq!(s.lock().violations.len(), 1);
    }

    #[test]
    fn injected_failures_run_out() {
        let s = shared();
        s.lock().failures.push(Failure {
            method: "put".into(),
            path_prefix: "/v1/core/integrations/".into(),
            status: 503,
            body: "<html>busy</html>".into(),
            headers: vec![("retry-after".into(), "0".into())],
            times: 2,
        });
        let first = put(&s, valid());
        assert_eq!(
            (first.status, first.content_type),
            (503, "text/html; charset=utf-8")
        );
        assert!(first.headers.contains(&("retry-after".into(), "0".into())));
        assert_eq!(put(&s, valid()).status, 503);
        assert_eq!(put(&s, valid()).status, 200);
        let statuses: Vec<u16> = s.lock().requests.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [503, 503, 200]);
    }

    #[test]
    fn escaped_ids_are_decoded() {
        assert_eq!(percent_decode("a%2Fb%20c").as_deref(), Some("a/b c"));
        assert_eq!(percent_decode("%E2%82%AC").as_deref(), Some("€"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%2"), None);
    }

    #[test]
    fn recorded_bodies_hide_refresh_tokens_in_debug() {
        let s = shared();
        let mut b = valid();
        b["refresh_token"] = json!("very-secret-refresh");
        assert_eq!(put(&s, b).status, 200);
        let state = s.lock();
        let shown = format!("{:?} {:?}", state.requests, state.connections);
        assert!(!shown.contains("very-secret-refresh"), "{shown}");
        assert!(shown.contains("***"));
        assert_eq!(redact(&json!({"a": 1})), json!({"a": 1}));
    }
}
