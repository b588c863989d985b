//! The API client against the local stand-in of the Siro API: success paths, error
//! classification, retries, undecodable answers, and secrets kept out of errors and logs.
//!
//! The client never uses a proxy for loopback hosts, so these tests pass whatever the
//! proxy environment variables say.

use std::error::Error as _;
use std::io::Write;
use std::sync::{Arc, Mutex};

use siro_stand_in::StandIn;
use terraform_provider_siro::client::{ApiError, ApiToken, Client, SalesforceUpsert};

const TOKEN: &str = "tok_api_client_7f3a9c";
const REFRESH: &str = "rt_refresh_client_5e1b2d";
const CONNECTIONS: &str = "/v1/core/integrations/connections/";
const UPSERT_PATH: &str = "/v1/core/integrations/salesforce";

fn client(stand_in: &StandIn, token: &str) -> Client {
    Client::new(&stand_in.base_url(), ApiToken::new(token.to_owned()))
        .expect("the stand-in's loopback http url is accepted")
}

fn upsert_body() -> SalesforceUpsert {
    SalesforceUpsert {
        namespace: "acme".into(),
        org_id: "00D5g000004abcdEAA".into(),
        instance_url: "https://acme.my.salesforce.com".into(),
        username: None,
        refresh_token: None,
        is_prod: None,
        use_prod_eca: None,
    }
}

/// Display, Debug and every source's Display of an error, joined.
fn everything_shown(e: &ApiError) -> String {
    let mut shown = format!("{e} {e:?}");
    let mut source = e.source();
    while let Some(s) = source {
        shown.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    shown
}

fn assert_no_violations(stand_in: &StandIn) {
    let found = stand_in.contract_violations();
    assert!(found.is_empty(), "contract violations: {found:?}");
}

#[tokio::test]
async fn upsert_get_delete_round_trip() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let api = client(&stand_in, TOKEN);

    let created = api
        .upsert_salesforce(&upsert_body())
        .await
        .expect("upsert succeeds");
    assert!(created.is_active);
    let stored = stand_in
        .connection(&created.integration_connection_id)
        .expect("the stand-in stored the connection");
    // Unset optional fields are left out of the body, not sent as "" or null.
    assert_eq!(
        stored.body,
        serde_json::json!({"namespace": "acme", "org_id": "00D5g000004abcdEAA",
            "instance_url": "https://acme.my.salesforce.com"})
    );

    let read = api
        .get_connection(&created.integration_connection_id)
        .await
        .expect("get succeeds");
    assert_eq!(read.id, created.integration_connection_id);
    assert_eq!(read.integration_platform, "SALESFORCE");
    assert!(read.is_active);
    assert_eq!(
        read.external_account_id.as_deref(),
        Some("00D5g000004abcdEAA")
    );

    api.delete_connection(&created.integration_connection_id)
        .await
        .expect("delete succeeds");
    assert!(stand_in.connections().is_empty());

    let calls: Vec<(String, String, u16)> = stand_in
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.status))
        .collect();
    let path = format!("{CONNECTIONS}{}", created.integration_connection_id);
    assert_eq!(
        calls,
        [
            ("PUT".to_owned(), UPSERT_PATH.to_owned(), 200),
            ("GET".to_owned(), path.clone(), 200),
            ("DELETE".to_owned(), path, 200),
        ]
    );
    assert_no_violations(&stand_in);
}

#[tokio::test]
async fn all_fields_are_sent_and_the_same_pair_keeps_its_id() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    // A trailing slash on the base URL must not double the slash.
    let base = format!("{}/", stand_in.base_url());
    let api = Client::new(&base, ApiToken::new(TOKEN.into())).expect("loopback url accepted");

    let first = api
        .upsert_salesforce(&upsert_body())
        .await
        .expect("first upsert");
    let full = SalesforceUpsert {
        username: Some("integration@acme.test".into()),
        refresh_token: Some(REFRESH.into()),
        is_prod: Some(true),
        use_prod_eca: Some(false),
        ..upsert_body()
    };
    let second = api.upsert_salesforce(&full).await.expect("second upsert");
    assert_eq!(
        first.integration_connection_id,
        second.integration_connection_id
    );

    let stored = stand_in.connections();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body["username"], "integration@acme.test");
    assert_eq!(stored[0].body["refresh_token"], REFRESH);
    assert_eq!(stored[0].body["is_prod"], true);
    assert_eq!(stored[0].body["use_prod_eca"], false);
    assert!(stand_in.requests().iter().all(|r| r.path == UPSERT_PATH));
    assert_no_violations(&stand_in);
}

#[tokio::test]
async fn get_of_a_missing_connection_is_not_found() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let api = client(&stand_in, TOKEN);

    let e = api.get_connection("conn_missing").await.expect_err("404");
    assert!(e.is_not_found() && !e.is_auth() && !e.is_decode());
    assert_eq!(e.status(), Some(404));
    assert_eq!(e.operation(), "GET /v1/core/integrations/connections/{id}");
    assert_eq!(e.api_message(), Some("Integration connection not found"));
    assert!(e.request_id().is_some_and(|id| id.starts_with("standin-")));
    assert_eq!(e.to_string(), "siro api answered 404 Not Found");

    let e = api
        .delete_connection("conn_missing")
        .await
        .expect_err("404");
    assert!(e.is_not_found());
    // 404 is final: one request each, no retries.
    assert_eq!(stand_in.requests().len(), 2);
}

#[tokio::test]
async fn connection_ids_travel_as_one_escaped_segment() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let api = client(&stand_in, TOKEN);

    for id in ["a/b c", "../conn_1", "é%2F?#"] {
        let e = api
            .get_connection(id)
            .await
            .expect_err("no such connection");
        assert!(e.is_not_found(), "{id}: {e:?}");
    }
    let paths: Vec<String> = stand_in.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            format!("{CONNECTIONS}a%2Fb%20c"),
            format!("{CONNECTIONS}..%2Fconn_1"),
            format!("{CONNECTIONS}%C3%A9%252F%3F%23"),
        ]
    );
    assert_no_violations(&stand_in);
}

#[tokio::test]
async fn a_wrong_token_is_an_auth_error_without_secrets() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let wrong = "tok_wrong_0b8e44d1";
    let api = client(&stand_in, wrong);
    let body = SalesforceUpsert {
        refresh_token: Some(REFRESH.into()),
        ..upsert_body()
    };

    let e = api.upsert_salesforce(&body).await.expect_err("401");
    assert!(e.is_auth() && !e.is_not_found());
    assert_eq!(e.status(), Some(401));
    assert_eq!(e.api_message(), Some("Unauthorized"));
    assert_eq!(e.operation(), "PUT /v1/core/integrations/salesforce");
    let shown = everything_shown(&e);
    for secret in [wrong, TOKEN, REFRESH] {
        assert!(!shown.contains(secret), "secret in {shown}");
    }
    assert!(stand_in.connections().is_empty());
}

#[tokio::test]
async fn an_api_echoing_secrets_is_scrubbed() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let api = client(&stand_in, TOKEN);
    let echo = format!(r#"{{"message":"bad token {TOKEN} or refresh token {REFRESH}"}}"#);
    stand_in.fail_next("PUT", UPSERT_PATH, 403, &echo, 1);
    let body = SalesforceUpsert {
        refresh_token: Some(REFRESH.into()),
        ..upsert_body()
    };

    let e = api.upsert_salesforce(&body).await.expect_err("403");
    assert!(e.is_auth());
    assert_eq!(e.api_message(), Some("bad token *** or refresh token ***"));
    let shown = everything_shown(&e);
    assert!(
        !shown.contains(TOKEN) && !shown.contains(REFRESH),
        "{shown}"
    );
}

#[tokio::test]
async fn a_503_is_retried_then_succeeds() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let api = client(&stand_in, TOKEN);
    let id = stand_in.insert_connection("SALESFORCE", false);
    stand_in.fail_next("GET", CONNECTIONS, 503, "<html>busy</html>", 1);

    let read = api
        .get_connection(&id)
        .await
        .expect("second attempt succeeds");
    assert!(!read.is_active);
    let statuses: Vec<u16> = stand_in.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200]);
}

#[tokio::test]
async fn a_429_with_retry_after_zero_is_retried_then_succeeds() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let api = client(&stand_in, TOKEN);
    let busy = r#"{"message":"Too many requests"}"#;
    stand_in.fail_next_with_headers("PUT", UPSERT_PATH, 429, busy, &[("retry-after", "0")], 2);

    api.upsert_salesforce(&upsert_body())
        .await
        .expect("third attempt succeeds");
    let statuses: Vec<u16> = stand_in.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
    assert_no_violations(&stand_in);
}

#[tokio::test]
async fn retries_stop_after_three() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let api = client(&stand_in, TOKEN);
    let busy = r#"{"message":"Too many requests"}"#;
    stand_in.fail_next_with_headers(
        "DELETE",
        CONNECTIONS,
        429,
        busy,
        &[("retry-after", "0")],
        10,
    );

    let e = api
        .delete_connection("conn_1")
        .await
        .expect_err("still 429");
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.api_message(), Some("Too many requests"));
    assert_eq!(
        stand_in.requests().len(),
        4,
        "one attempt and three retries"
    );
}

#[tokio::test]
async fn other_errors_are_not_retried() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let api = client(&stand_in, TOKEN);
    stand_in.fail_next("PUT", UPSERT_PATH, 500, "internal error", 1);
    stand_in.fail_next("PUT", UPSERT_PATH, 422, r#"{"error":"org_id unknown"}"#, 1);

    let e = api
        .upsert_salesforce(&upsert_body())
        .await
        .expect_err("500");
    assert_eq!(
        (e.status(), e.api_message()),
        (Some(500), Some("internal error"))
    );
    let e = api
        .upsert_salesforce(&upsert_body())
        .await
        .expect_err("422");
    assert_eq!(
        (e.status(), e.api_message()),
        (Some(422), Some("org_id unknown"))
    );
    assert_eq!(stand_in.requests().len(), 2);
}

#[tokio::test]
async fn garbage_answers_are_decode_errors() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let api = client(&stand_in, TOKEN);
    let connection_bodies = [
        "",
        "<html><body>Service Unavailable</body></html>",
        r#"{"id":"conn_1","integrationPlatform":"SALES"#,
        r#"{"id":"conn_1","isActive":true}"#,
        r#"{"id":"conn_1","integrationPlatform":"SALESFORCE","isActive":"yes"}"#,
        r#"["not","an","object"]"#,
    ];
    for body in connection_bodies {
        stand_in.fail_next("GET", CONNECTIONS, 200, body, 1);
        let e = api.get_connection("conn_1").await.expect_err("undecodable");
        assert!(e.is_decode(), "{body:?}: {e:?}");
        assert_eq!(e.status(), Some(200));
        assert_eq!(e.to_string(), "siro api answer could not be read");
        assert!(e.source().is_some(), "the serde error is the source");
    }
    for body in [
        "",
        r#"{"isActive":true}"#,
        r#"{"integrationConnectionId":7,"isActive":true}"#,
        // An id that could never address the connection again must not reach state.
        r#"{"integrationConnectionId":"","isActive":true}"#,
        r#"{"integrationConnectionId":"..","isActive":true}"#,
    ] {
        stand_in.fail_next("PUT", UPSERT_PATH, 200, body, 1);
        let e = api
            .upsert_salesforce(&upsert_body())
            .await
            .expect_err("undecodable");
        assert!(e.is_decode(), "{body:?}: {e:?}");
    }
    // Decode errors are not retried.
    assert_eq!(stand_in.requests().len(), connection_bodies.len() + 5);
}

#[tokio::test]
async fn an_unreachable_api_is_a_connect_error() {
    // Bind and drop to find a loopback port with nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let base = format!("http://127.0.0.1:{port}/api-externalApi");
    let api = Client::new(&base, ApiToken::new(TOKEN.into())).expect("loopback url accepted");

    let e = api
        .get_connection("conn_1")
        .await
        .expect_err("nothing listens");
    assert!(e.is_connect(), "{e:?}");
    assert_eq!(e.status(), None);
    assert_eq!(e.to_string(), "could not reach siro api");
    let shown = everything_shown(&e);
    assert!(!shown.contains(TOKEN), "{shown}");
    // reqwest's URL is stripped (the socket address in hyper's error may stay).
    assert!(
        !shown.contains("api-externalApi"),
        "the url is stripped: {shown}"
    );
    // The chain names the real cause, so a user can tell a refusal from DNS or TLS.
    let chain = e.chain();
    assert!(chain.to_lowercase().contains("refused"), "{chain}");
    assert!(
        !chain.contains(TOKEN) && !chain.contains("api-externalApi"),
        "{chain}"
    );
}

/// Collects everything a tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

#[tokio::test]
async fn logs_say_what_was_called_and_never_a_secret() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let api = client(&stand_in, TOKEN);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // A current-thread runtime polls on this thread, so the thread default applies.
    let _guard = tracing::subscriber::set_default(subscriber);

    let body = SalesforceUpsert {
        refresh_token: Some(REFRESH.into()),
        ..upsert_body()
    };
    let created = api.upsert_salesforce(&body).await.expect("upsert succeeds");
    stand_in.fail_next("GET", CONNECTIONS, 503, &format!("echo {TOKEN}"), 1);
    api.get_connection(&created.integration_connection_id)
        .await
        .expect("get succeeds on retry");
    api.delete_connection(&created.integration_connection_id)
        .await
        .expect("delete succeeds");

    let logs = captured.text();
    for secret in [TOKEN, REFRESH, "acme.my.salesforce.com", "Bearer"] {
        assert!(!logs.contains(secret), "{secret:?} in logs:\n{logs}");
    }
    assert!(
        logs.contains("method=PUT path=\"/v1/core/integrations/salesforce\""),
        "{logs}"
    );
    assert!(
        logs.contains("status=503") && logs.contains("attempt=2"),
        "{logs}"
    );
    assert!(logs.contains("upserted salesforce integration"), "{logs}");
    assert!(logs.contains("deleted integration connection"), "{logs}");
    assert!(logs.contains(&format!(
        "connection_id={}",
        created.integration_connection_id
    )));
}
