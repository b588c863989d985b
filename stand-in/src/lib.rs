//! A local stand-in for Siro's external API, for the provider's tests.
//!
//! It serves the three operations the provider uses under the real server's path
//! prefix (`/api-externalApi`), keeps connections in memory, and checks every request
//! against the contract fixture derived from Siro's OpenAPI document
//! (`tests/fixtures/siro-contract.json`, made by `scripts/derive-contract`). A request
//! that breaks the contract gets a 400 and is recorded in
//! [`StandIn::contract_violations`], which tests assert to be empty.
//!
//! [`StandIn`] is synchronous: the server runs on its own thread with its own tokio
//! runtime, so plain `#[test]` functions and async tests alike can use it.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;

use serde_json::Value;

mod contract;
mod server;

use server::{Failure, Shared};

/// A connection held by the stand-in.
#[derive(Clone, PartialEq)]
pub struct StoredConnection {
    /// Connection id, `conn_<n>`.
    pub id: String,
    /// Integration platform, `SALESFORCE` for upserted connections.
    pub platform: String,
    /// Whether the connection is active; an upsert sets it to true.
    pub is_active: bool,
    /// The last upsert body as received; `Value::Null` for inserted connections.
    pub body: Value,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Time of the last upsert or change, RFC 3339.
    pub updated_at: String,
}

impl fmt::Debug for StoredConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredConnection")
            .field("id", &self.id)
            .field("platform", &self.platform)
            .field("is_active", &self.is_active)
            .field("body", &redact(&self.body))
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// A request the stand-in answered.
#[derive(Clone, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method as sent, e.g. `PUT`.
    pub method: String,
    /// Path relative to the API root as sent (still percent-encoded), without query,
    /// e.g. `/v1/core/integrations/connections/a%2Fb`; the full path if it was outside
    /// the `/api-externalApi` prefix.
    pub path: String,
    /// The body, when it parsed as JSON.
    pub body: Option<Value>,
    /// The status the stand-in answered.
    pub status: u16,
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body", &self.body.as_ref().map(redact))
            .field("status", &self.status)
            .finish()
    }
}

/// Returns `value` with every `refresh_token` field replaced by `"***"`, for Debug output.
pub(crate) fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == "refresh_token" && !v.is_null() {
                        Value::String("***".into())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// A running stand-in. Dropping it stops the server and joins its thread.
pub struct StandIn {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for StandIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandIn")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl StandIn {
    /// Starts a stand-in on `127.0.0.1` with a free port, accepting `token` as the
    /// bearer token. It returns once the listener is bound: requests may be sent at once.
    pub fn start(token: &str) -> io::Result<StandIn> {
        StandIn::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), token, false)
    }

    /// Starts a stand-in on `addr` (port 0 picks a free port). With `log_requests`,
    /// each answer is logged to stderr as method, path and status (never a header or
    /// a body). Fails on an empty token, a bind error, or a fixture that does not compile.
    pub fn start_on(addr: SocketAddr, token: &str, log_requests: bool) -> io::Result<StandIn> {
        if token.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "empty api token",
            ));
        }
        let shared = Shared::new(token, log_requests)
            .map(Arc::new)
            .map_err(io::Error::other)?;
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (shutdown, stopped) = tokio::sync::oneshot::channel();

        let server = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("siro-stand-in".into())
            .spawn(move || {
                let served = runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    server.serve(listener, stopped).await
                });
                if let Err(e) = served {
                    eprintln!("siro-stand-in: server stopped: {e}");
                }
            })?;

        Ok(StandIn {
            shared,
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The API base URL, `http://127.0.0.1:PORT/api-externalApi` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.addr, server::PREFIX)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// All stored connections, oldest first.
    pub fn connections(&self) -> Vec<StoredConnection> {
        self.shared.lock().connections.clone()
    }

    /// The stored connection with this id.
    pub fn connection(&self, id: &str) -> Option<StoredConnection> {
        self.shared
            .lock()
            .connections
            .iter()
            .find(|c| c.id == id)
            .cloned()
    }

    /// Adds a connection of any platform with no upsert body (so no upsert ever
    /// matches it), e.g. a `MERGE` connection for an import test; returns its id.
    pub fn insert_connection(&self, platform: &str, is_active: bool) -> String {
        self.insert(platform, is_active, Value::Null)
    }

    /// Adds a `SALESFORCE` connection as if upserted with this namespace and org id,
    /// so a later upsert of the same pair updates it (keeps its id); returns its id.
    /// For import tests whose configuration then upserts.
    pub fn insert_salesforce_connection(&self, namespace: &str, org_id: &str) -> String {
        let body = serde_json::json!({ "namespace": namespace, "org_id": org_id });
        self.insert("SALESFORCE", true, body)
    }

    fn insert(&self, platform: &str, is_active: bool, body: Value) -> String {
        let mut state = self.shared.lock();
        let id = server::next_id(&mut state);
        let now = server::now();
        state.connections.push(StoredConnection {
            id: id.clone(),
            platform: platform.to_owned(),
            is_active,
            body,
            created_at: now.clone(),
            updated_at: now,
        });
        id
    }

    /// Removes a connection behind the client's back; false if there was none.
    pub fn remove_connection(&self, id: &str) -> bool {
        let mut state = self.shared.lock();
        let before = state.connections.len();
        state.connections.retain(|c| c.id != id);
        state.connections.len() != before
    }

    /// Sets a connection's active flag; does nothing for an unknown id.
    pub fn set_active(&self, id: &str, active: bool) {
        let mut state = self.shared.lock();
        if let Some(c) = state.connections.iter_mut().find(|c| c.id == id) {
            c.is_active = active;
            c.updated_at = server::now();
        }
    }

    /// Makes the next `times` authorised, contract-valid requests whose method matches
    /// (case-insensitive) and whose path relative to the API root starts with
    /// `path_prefix` (e.g. `/v1/core/integrations/connections/`) answer `status` with
    /// `body` instead. The content type follows the body: JSON, HTML (starts with `<`)
    /// or text. Injections queue in order of registration.
    pub fn fail_next(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        body: &str,
        times: usize,
    ) {
        self.fail_next_with_headers(method, path_prefix, status, body, &[], times);
    }

    /// Like [`StandIn::fail_next`], adding response headers, e.g. `("retry-after", "0")`.
    pub fn fail_next_with_headers(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        body: &str,
        headers: &[(&str, &str)],
        times: usize,
    ) {
        if times == 0 {
            return;
        }
        self.shared.lock().failures.push(Failure {
            method: method.to_owned(),
            path_prefix: path_prefix.to_owned(),
            status,
            body: body.to_owned(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            times,
        });
    }

    /// Every request answered so far, in order, including refused ones.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Contract violations seen so far: bad request bodies (each also answered 400) and
    /// stand-in answers that do not match the documented response schema.
    pub fn contract_violations(&self) -> Vec<String> {
        self.shared.lock().violations.clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            // An error means the server thread already ended.
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    /// Sends one HTTP/1.1 request over a plain socket and returns the raw answer.
    fn raw_request(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).expect("the stand-in is listening");
        stream
            .write_all(request.as_bytes())
            .expect("request written");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer read");
        answer
    }

    #[test]
    fn serves_over_tcp_and_stops_on_drop() {
        let stand_in = StandIn::start("tcp-token").expect("stand-in starts");
        let addr = stand_in.local_addr();
        assert_eq!(
            stand_in.base_url(),
            format!("http://{addr}/api-externalApi")
        );
        let id = stand_in.insert_connection("MERGE", false);

        let answer = raw_request(
            addr,
            &format!(
                "GET /api-externalApi/v1/core/integrations/connections/{id} HTTP/1.1\r\n\
                 Host: localhost\r\nAuthorization: Bearer tcp-token\r\nConnection: close\r\n\r\n"
            ),
        );
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            answer.contains("\"integrationPlatform\":\"MERGE\""),
            "{answer}"
        );
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("x-request-id: standin-1"),
            "{answer}"
        );
        assert!(stand_in.contract_violations().is_empty());

        drop(stand_in);
        assert!(
            TcpStream::connect(addr).is_err(),
            "listener closed after drop"
        );
    }

    #[test]
    fn store_helpers_change_what_the_api_answers() {
        let stand_in = StandIn::start("t").expect("stand-in starts");
        let id = stand_in.insert_salesforce_connection("acme", "00D000000000001");
        stand_in.set_active(&id, false);
        let stored = stand_in.connection(&id).expect("stored");
        assert_eq!(
            (stored.platform.as_str(), stored.is_active),
            ("SALESFORCE", false)
        );
        assert!(stand_in.remove_connection(&id));
        assert!(!stand_in.remove_connection(&id));
        assert!(stand_in.connections().is_empty());
    }

    #[test]
    fn empty_token_is_refused() {
        assert!(StandIn::start("").is_err());
    }
}
