//! The resource's API-facing steps against the local Siro stand-in, below Terraform:
//! the cases an end-to-end run cannot set up precisely (failures, cancellation).

use siro_stand_in::StandIn;
use terraform_provider_siro::client::{ApiToken, Client};
use terraform_provider_siro::diag::Diagnostics;
use terraform_provider_siro::proto::tfplugin6::Diagnostic;
use terraform_provider_siro::resource::Api;
use terraform_provider_siro::resource::salesforce_integration::{self as integration, SCHEMA};
use terraform_provider_siro::value::Value;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "lifecycle-test-token-4f1c";

/// A stand-in and a client for it, with a stop token nobody cancels.
struct Harness {
    stand_in: StandIn,
    client: Client,
    stop: CancellationToken,
}

impl Harness {
    fn start() -> Harness {
        let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
        let token = ApiToken::new(TOKEN.to_string());
        let client = Client::new(&stand_in.base_url(), token).expect("loopback http");
        Harness {
            stand_in,
            client,
            stop: CancellationToken::new(),
        }
    }

    fn api(&self) -> Api<'_> {
        Api::new(&self.client, &self.stop)
    }
}

/// The connection id in a state.
fn id_of(state: &Value) -> String {
    state
        .get("id")
        .and_then(Value::as_str)
        .expect("state has an id")
        .to_string()
}

fn planned_create() -> Value {
    let mut state = Value::Object(Default::default());
    for attribute in SCHEMA.attributes {
        state.set(attribute.name, Value::Null);
    }
    state.set("namespace", Value::from("siro"));
    state.set("org_id", Value::from("00D000000000001"));
    state.set(
        "instance_url",
        Value::from("https://acme.my.salesforce.com"),
    );
    integration::plan(&Value::Null, &state)
}

fn errors(diagnostics: Diagnostics) -> Vec<Diagnostic> {
    diagnostics.into_proto()
}

/// Creates a connection through the resource and returns its state.
async fn created(api: Api<'_>) -> Value {
    let mut d = Diagnostics::new();
    let state = integration::apply(api, &Value::Null, &planned_create(), &mut d).await;
    assert!(!d.has_errors(), "{:?}", errors(d));
    state
}

#[tokio::test]
async fn create_stores_the_connection_id_and_sends_only_configured_fields() {
    let harness = Harness::start();
    let (stand_in, api) = (&harness.stand_in, harness.api());
    let state = created(api).await;

    let id = id_of(&state);
    assert_eq!(
        state.get("integration_connection_id"),
        Some(&Value::from(id.as_str()))
    );
    assert_eq!(state.get("is_active"), Some(&Value::Bool(true)));
    let stored = stand_in
        .connection(&id)
        .expect("the stand-in holds the connection");
    let body = stored.body.as_object().expect("JSON object body");
    let mut keys: Vec<_> = body.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["instance_url", "namespace", "org_id"]);
    assert!(stand_in.contract_violations().is_empty());
}

#[tokio::test]
async fn read_drops_state_when_api_returns_404() {
    let harness = Harness::start();
    let (stand_in, api) = (&harness.stand_in, harness.api());
    let state = created(api).await;
    let id = id_of(&state);
    assert!(stand_in.remove_connection(&id));

    let mut d = Diagnostics::new();
    assert_eq!(integration::read(api, &state, &mut d).await, Value::Null);
    let items = d.into_proto();
    assert_eq!(
        items.len(),
        1,
        "one warning says why the resource left the state"
    );
    assert_eq!(items[0].summary, "Salesforce Integration Not Found");
}

#[tokio::test]
async fn read_keeps_state_with_an_error_on_any_other_failure() {
    let harness = Harness::start();
    let (stand_in, api) = (&harness.stand_in, harness.api());
    let state = created(api).await;

    stand_in.fail_next(
        "GET",
        "/v1/core/integrations/connections/",
        500,
        "{\"message\":\"boom\"}",
        10,
    );
    let mut d = Diagnostics::new();
    assert_eq!(integration::read(api, &state, &mut d).await, state);
    let items = errors(d);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].summary, "Unable to Read Salesforce Integration");
    assert!(items[0].detail.contains("500") && items[0].detail.contains("boom"));
    assert!(
        items[0]
            .detail
            .contains("GET /v1/core/integrations/connections/{id}")
    );
}

#[tokio::test]
async fn read_picks_up_deactivation() {
    let harness = Harness::start();
    let (stand_in, api) = (&harness.stand_in, harness.api());
    let state = created(api).await;
    let id = id_of(&state);
    stand_in.set_active(&id, false);

    let mut d = Diagnostics::new();
    let refreshed = integration::read(api, &state, &mut d).await;
    assert_eq!(refreshed.get("is_active"), Some(&Value::Bool(false)));
    let items = d.into_proto();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].summary, "Salesforce Integration Inactive");
    assert_eq!(refreshed.get("org_id"), state.get("org_id"));
}

#[tokio::test]
async fn delete_treats_404_as_already_deleted() {
    let harness = Harness::start();
    let (stand_in, api) = (&harness.stand_in, harness.api());
    let state = created(api).await;
    let id = id_of(&state);
    assert!(stand_in.remove_connection(&id));

    let mut d = Diagnostics::new();
    assert_eq!(
        integration::apply(api, &state, &Value::Null, &mut d).await,
        Value::Null
    );
    assert!(!d.has_errors(), "{:?}", errors(d));
    assert!(
        stand_in
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" && r.status == 404)
    );
}

#[tokio::test]
async fn import_refuses_a_connection_of_another_platform() {
    let harness = Harness::start();
    let (stand_in, api) = (&harness.stand_in, harness.api());
    let id = stand_in.insert_connection("MERGE", true);

    let mut d = Diagnostics::new();
    assert!(integration::import(api, &id, &mut d).await.is_none());
    let items = errors(d);
    assert!(items[0].detail.contains("MERGE"), "{}", items[0].detail);
    assert!(items[0].detail.contains("not a Salesforce one"));
}

#[tokio::test]
async fn import_reads_id_and_active_flag() {
    let harness = Harness::start();
    let (stand_in, api) = (&harness.stand_in, harness.api());
    let id = stand_in.insert_connection("SALESFORCE", false);

    let mut d = Diagnostics::new();
    let state = integration::import(api, &id, &mut d)
        .await
        .expect("imported");
    assert_eq!(state.get("id"), Some(&Value::from(id.as_str())));
    assert_eq!(state.get("is_active"), Some(&Value::Bool(false)));
    assert_eq!(state.get("org_id"), Some(&Value::Null));
}

#[tokio::test]
async fn stop_cancels_a_call_in_flight_with_a_diagnostic() {
    // A server that accepts connections and never answers keeps the upsert in flight.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/api", silent.local_addr().expect("address"));
    let (connected, mut request_arrived) = tokio::sync::mpsc::channel(8);
    let accepting = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
            let _ = connected.send(()).await;
        }
    });
    let client = Client::new(&url, ApiToken::new(TOKEN.to_string())).expect("loopback http");
    let stop = CancellationToken::new();

    let apply = {
        let (client, stop) = (client.clone(), stop.clone());
        tokio::spawn(async move {
            let api = Api::new(&client, &stop);
            let mut d = Diagnostics::new();
            let state = integration::apply(api, &Value::Null, &planned_create(), &mut d).await;
            (state, d)
        })
    };
    // Cancel only once the request reached the server: the call is really in flight.
    request_arrived.recv().await.expect("the client connects");
    stop.cancel();
    let (state, d) = apply.await.expect("apply task finishes");
    assert_eq!(
        state,
        Value::Null,
        "nothing was created, so the prior (null) state stays"
    );
    let items = errors(d);
    assert_eq!(items[0].summary, "Unable to Create Salesforce Integration");
    assert!(items[0].detail.contains("asked the provider to stop"));
    accepting.abort();
}

#[tokio::test]
async fn wrong_token_reports_401_without_any_secret() {
    let stand_in = StandIn::start(TOKEN).expect("stand-in starts");
    let wrong = "wrong-token-9d2e";
    let client =
        Client::new(&stand_in.base_url(), ApiToken::new(wrong.to_string())).expect("loopback http");
    let stop = CancellationToken::new();
    let mut planned = planned_create();
    planned.set("refresh_token", Value::from("refresh-secret-77aa"));

    let mut d = Diagnostics::new();
    let api = Api::new(&client, &stop);
    integration::apply(api, &Value::Null, &planned, &mut d).await;
    let text = format!("{:?}", errors(d));
    assert!(text.contains("401"), "{text}");
    assert!(text.contains("Check the API token"), "{text}");
    for secret in [TOKEN, wrong, "refresh-secret-77aa"] {
        assert!(!text.contains(secret), "a secret leaked into diagnostics");
    }
}

#[tokio::test]
async fn changing_org_id_moves_to_a_new_connection_and_deletes_the_old_one() {
    let harness = Harness::start();
    let (stand_in, api) = (&harness.stand_in, harness.api());
    let prior = created(api).await;
    let old_id = id_of(&prior);

    let mut proposed = prior.clone();
    proposed.set("org_id", Value::from("00D000000000002"));
    let planned = integration::plan(&prior, &proposed);
    let mut d = Diagnostics::new();
    let state = integration::apply(api, &prior, &planned, &mut d).await;
    assert!(d.into_proto().is_empty());

    let new_id = state.get("id").and_then(Value::as_str).expect("id");
    assert_ne!(new_id, old_id);
    assert!(stand_in.connection(new_id).is_some());
    assert!(
        stand_in.connection(&old_id).is_none(),
        "the replaced connection is deleted"
    );
}

#[tokio::test]
async fn first_apply_after_import_never_deletes_the_imported_connection() {
    let harness = Harness::start();
    let (stand_in, api) = (&harness.stand_in, harness.api());
    let imported_id = stand_in.insert_connection("SALESFORCE", true);
    let mut d = Diagnostics::new();
    let imported = integration::import(api, &imported_id, &mut d)
        .await
        .expect("imported");

    let mut proposed = planned_create();
    proposed.set("id", Value::from(imported_id.as_str()));
    proposed.set(
        "integration_connection_id",
        Value::from(imported_id.as_str()),
    );
    proposed.set("is_active", Value::Bool(true));
    let planned = integration::plan(&imported, &proposed);
    let state = integration::apply(api, &imported, &planned, &mut d).await;

    let items = d.into_proto();
    assert!(!items.is_empty() && items[0].summary == "Imported Connection Not Used");
    assert_ne!(state.get("id"), Some(&Value::from(imported_id.as_str())));
    assert!(
        stand_in.connection(&imported_id).is_some(),
        "the imported one stays"
    );
}
