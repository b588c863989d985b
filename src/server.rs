//! The `tfplugin6.Provider` gRPC service: one handler per RPC, all of the same shape.
//!
//! Each handler opens a span (`tf_rpc`, `tf_resource_type`, `tf_req_id`), decodes the
//! request's values, calls the provider or resource logic, and encodes the answer. A
//! request whose values cannot be decoded is answered with a gRPC error status; every
//! other problem travels back as diagnostics.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::client::Client;
use crate::diag::{self, Diagnostics};
use crate::proto::tfplugin6 as proto;
use crate::proto::tfplugin6::provider_server::Provider;
use crate::provider::{self, Configuration};
use crate::resource::Api;
use crate::resource::salesforce_integration as integration;
use crate::value::{Type, Value};

/// Serves the Terraform provider protocol for this provider.
#[derive(Debug, Clone, Default)]
pub struct ProviderService {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Set by ConfigureProvider; Terraform calls it before any RPC that needs the API.
    configuration: RwLock<Option<Configuration>>,
    /// Cancelled by StopProvider; in-flight API calls end with a diagnostic.
    stop: CancellationToken,
    /// Numbers requests for the `tf_req_id` log field.
    requests: AtomicU64,
}

impl ProviderService {
    /// A provider not configured yet.
    pub fn new() -> ProviderService {
        ProviderService::default()
    }

    /// Runs `work` inside the RPC's log span, logging receipt, outcome and duration.
    async fn serve<R: HasDiagnostics>(
        &self,
        rpc: &'static str,
        resource_type: &str,
        work: impl Future<Output = Result<R, Status>>,
    ) -> Result<Response<R>, Status> {
        let request_id = self.shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
        // At info level, so API log lines carry the RPC fields at TF_LOG_PROVIDER=INFO too.
        let span = tracing::info_span!(
            "rpc",
            tf_rpc = rpc,
            tf_resource_type = resource_type,
            tf_req_id = request_id
        );
        async move {
            tracing::trace!("received request");
            let started = Instant::now();
            let result = work.await;
            let duration_ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok(response) => {
                    let (errors, warnings) = diag::count(response.diagnostics());
                    tracing::trace!(errors, warnings, duration_ms, "served request");
                }
                Err(status) => {
                    tracing::error!(code = ?status.code(), duration_ms, "request refused")
                }
            }
            result.map(Response::new)
        }
        .instrument(span)
        .await
    }

    /// The API client and stop token, or why the API cannot be called yet.
    fn api(&self) -> Result<(Client, CancellationToken), Unavailable> {
        let configuration = match self.shared.configuration.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        match configuration {
            Some(Configuration::Ready(client)) => Ok((client, self.shared.stop.clone())),
            Some(Configuration::Unknown) => Err(Unavailable::Unknown),
            None => Err(Unavailable::NotConfigured),
        }
    }
}

/// Why an RPC cannot call the Siro API.
#[derive(Debug)]
enum Unavailable {
    /// The provider block holds values not known until apply.
    Unknown,
    /// ConfigureProvider never ran: a bug in Terraform or here.
    NotConfigured,
}

impl Unavailable {
    /// Adds the error for an RPC that cannot go on without the API.
    fn report(&self, summary: &str, d: &mut Diagnostics) {
        let detail = match self {
            Unavailable::Unknown => {
                "The provider configuration depends on values not known until apply, so \
                 the Siro API cannot be called yet.\n\nApply the resources the provider \
                 block depends on first, e.g. with `terraform apply -target`."
            }
            Unavailable::NotConfigured => {
                "The provider was not configured before it was asked to call the Siro API. \
                 This is a bug in Terraform or the provider; please report it."
            }
        };
        d.error(summary, detail);
    }
}

#[tonic::async_trait]
impl Provider for ProviderService {
    async fn get_metadata(
        &self,
        _request: Request<proto::get_metadata::Request>,
    ) -> Result<Response<proto::get_metadata::Response>, Status> {
        self.serve("GetMetadata", "", async {
            Ok(proto::get_metadata::Response {
                server_capabilities: Some(capabilities()),
                diagnostics: Vec::new(),
                resources: vec![proto::get_metadata::ResourceMetadata {
                    type_name: integration::TYPE_NAME.to_string(),
                }],
            })
        })
        .await
    }

    async fn get_provider_schema(
        &self,
        _request: Request<proto::get_provider_schema::Request>,
    ) -> Result<Response<proto::get_provider_schema::Response>, Status> {
        self.serve("GetProviderSchema", "", async {
            let resources = [(
                integration::TYPE_NAME.to_string(),
                integration::SCHEMA.to_proto(),
            )];
            Ok(proto::get_provider_schema::Response {
                provider: Some(provider::SCHEMA.to_proto()),
                resource_schemas: resources.into_iter().collect(),
                server_capabilities: Some(capabilities()),
                ..Default::default()
            })
        })
        .await
    }

    async fn validate_provider_config(
        &self,
        request: Request<proto::validate_provider_config::Request>,
    ) -> Result<Response<proto::validate_provider_config::Response>, Status> {
        let request = request.into_inner();
        self.serve("ValidateProviderConfig", "", async {
            let config = decode(request.config, &provider::SCHEMA.value_type(), "config")?;
            let mut d = Diagnostics::new();
            provider::validate(&config, &mut d);
            Ok(proto::validate_provider_config::Response {
                diagnostics: d.into_proto(),
            })
        })
        .await
    }

    async fn validate_resource_config(
        &self,
        request: Request<proto::validate_resource_config::Request>,
    ) -> Result<Response<proto::validate_resource_config::Response>, Status> {
        let request = request.into_inner();
        self.serve("ValidateResourceConfig", &request.type_name, async {
            let ty = resource_type(&request.type_name)?;
            let config = decode(request.config, &ty, "config")?;
            let mut d = Diagnostics::new();
            integration::validate(&config, &mut d);
            Ok(proto::validate_resource_config::Response {
                diagnostics: d.into_proto(),
            })
        })
        .await
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<proto::upgrade_resource_state::Request>,
    ) -> Result<Response<proto::upgrade_resource_state::Response>, Status> {
        let request = request.into_inner();
        self.serve("UpgradeResourceState", &request.type_name, async {
            let ty = resource_type(&request.type_name)?;
            let mut d = Diagnostics::new();
            let raw = request.raw_state.unwrap_or_default();
            let upgraded = if raw.json.is_empty() {
                d.error(
                    "Unable to Read Stored State",
                    "The state holds no JSON (only the legacy flatmap format, which this \
                     provider never wrote). Remove the resource from state and import it.",
                );
                None
            } else {
                integration::upgrade(request.version, &raw.json, &mut d)
            };
            let upgraded_state = upgraded.map(|value| encode(&value, &ty)).transpose()?;
            Ok(proto::upgrade_resource_state::Response {
                upgraded_state,
                diagnostics: d.into_proto(),
            })
        })
        .await
    }

    async fn get_resource_identity_schemas(
        &self,
        _request: Request<proto::get_resource_identity_schemas::Request>,
    ) -> Result<Response<proto::get_resource_identity_schemas::Response>, Status> {
        self.serve("GetResourceIdentitySchemas", "", async {
            Ok(proto::get_resource_identity_schemas::Response::default())
        })
        .await
    }

    async fn configure_provider(
        &self,
        request: Request<proto::configure_provider::Request>,
    ) -> Result<Response<proto::configure_provider::Response>, Status> {
        let request = request.into_inner();
        self.serve("ConfigureProvider", "", async {
            let config = decode(request.config, &provider::SCHEMA.value_type(), "config")?;
            let mut d = Diagnostics::new();
            let configuration = provider::configure(&config, |key| std::env::var(key).ok(), &mut d);
            match self.shared.configuration.write() {
                Ok(mut slot) => *slot = configuration,
                Err(poisoned) => *poisoned.into_inner() = configuration,
            }
            Ok(proto::configure_provider::Response {
                diagnostics: d.into_proto(),
            })
        })
        .await
    }

    async fn read_resource(
        &self,
        request: Request<proto::read_resource::Request>,
    ) -> Result<Response<proto::read_resource::Response>, Status> {
        let request = request.into_inner();
        self.serve("ReadResource", &request.type_name, async {
            let ty = resource_type(&request.type_name)?;
            let state = decode(request.current_state, &ty, "current_state")?;
            let mut d = Diagnostics::new();
            let new_state = match self.api() {
                Ok((client, stop)) => {
                    integration::read(Api::new(&client, &stop), &state, &mut d).await
                }
                Err(Unavailable::Unknown) => {
                    // Planning with a provider configured from values known only after
                    // apply: keep the state as it is rather than fail the plan.
                    d.warning(
                        "Salesforce Integration Not Refreshed",
                        "The provider configuration depends on values not known until \
                         apply, so the connection was not read from the Siro API; the plan \
                         uses the state as it was. The next plan or apply with a known \
                         configuration refreshes it.",
                    );
                    state
                }
                Err(unavailable) => {
                    unavailable.report("Unable to Read Salesforce Integration", &mut d);
                    state
                }
            };
            Ok(proto::read_resource::Response {
                new_state: Some(encode(&new_state, &ty)?),
                diagnostics: d.into_proto(),
                private: request.private,
            })
        })
        .await
    }

    async fn plan_resource_change(
        &self,
        request: Request<proto::plan_resource_change::Request>,
    ) -> Result<Response<proto::plan_resource_change::Response>, Status> {
        let request = request.into_inner();
        self.serve("PlanResourceChange", &request.type_name, async {
            let ty = resource_type(&request.type_name)?;
            let prior = decode(request.prior_state, &ty, "prior_state")?;
            let proposed = decode(request.proposed_new_state, &ty, "proposed_new_state")?;
            let planned = integration::plan(&prior, &proposed);
            Ok(proto::plan_resource_change::Response {
                planned_state: Some(encode(&planned, &ty)?),
                requires_replace: Vec::new(),
                planned_private: request.prior_private,
                diagnostics: Vec::new(),
            })
        })
        .await
    }

    async fn apply_resource_change(
        &self,
        request: Request<proto::apply_resource_change::Request>,
    ) -> Result<Response<proto::apply_resource_change::Response>, Status> {
        let request = request.into_inner();
        self.serve("ApplyResourceChange", &request.type_name, async {
            let ty = resource_type(&request.type_name)?;
            let prior = decode(request.prior_state, &ty, "prior_state")?;
            let planned = decode(request.planned_state, &ty, "planned_state")?;
            let mut d = Diagnostics::new();
            let new_state = match self.api() {
                Ok((client, stop)) => {
                    let api = Api::new(&client, &stop);
                    integration::apply(api, &prior, &planned, &mut d).await
                }
                Err(unavailable) => {
                    unavailable.report("Unable to Apply Salesforce Integration", &mut d);
                    prior
                }
            };
            Ok(proto::apply_resource_change::Response {
                new_state: Some(encode(&new_state, &ty)?),
                private: request.planned_private,
                diagnostics: d.into_proto(),
            })
        })
        .await
    }

    async fn import_resource_state(
        &self,
        request: Request<proto::import_resource_state::Request>,
    ) -> Result<Response<proto::import_resource_state::Response>, Status> {
        let request = request.into_inner();
        self.serve("ImportResourceState", &request.type_name, async {
            let ty = resource_type(&request.type_name)?;
            let mut d = Diagnostics::new();
            let imported = match self.api() {
                Ok((client, stop)) => {
                    integration::import(Api::new(&client, &stop), &request.id, &mut d).await
                }
                Err(unavailable) => {
                    unavailable.report("Unable to Import Salesforce Integration", &mut d);
                    None
                }
            };
            let imported_resources = match imported {
                Some(state) => vec![proto::import_resource_state::ImportedResource {
                    type_name: request.type_name.clone(),
                    state: Some(encode(&state, &ty)?),
                    private: Vec::new(),
                }],
                None => Vec::new(),
            };
            Ok(proto::import_resource_state::Response {
                imported_resources,
                diagnostics: d.into_proto(),
            })
        })
        .await
    }

    async fn get_functions(
        &self,
        _request: Request<proto::get_functions::Request>,
    ) -> Result<Response<proto::get_functions::Response>, Status> {
        self.serve("GetFunctions", "", async {
            Ok(proto::get_functions::Response::default())
        })
        .await
    }

    async fn stop_provider(
        &self,
        _request: Request<proto::stop_provider::Request>,
    ) -> Result<Response<proto::stop_provider::Response>, Status> {
        self.serve("StopProvider", "", async {
            // Stays cancelled: Terraform shuts a stopped provider down rather than reuse it.
            self.shared.stop.cancel();
            Ok(proto::stop_provider::Response::default())
        })
        .await
    }
}

/// What this provider tells Terraform it supports beyond the protocol's base.
fn capabilities() -> proto::ServerCapabilities {
    proto::ServerCapabilities {
        // The schema is static, so Terraform may cache it.
        get_provider_schema_optional: true,
        ..Default::default()
    }
}

/// The value type of a managed resource, or an error status for a type we do not serve.
fn resource_type(type_name: &str) -> Result<Type, Status> {
    if type_name == integration::TYPE_NAME {
        Ok(integration::value_type())
    } else {
        Err(Status::invalid_argument(format!(
            "unknown resource type {type_name:?}"
        )))
    }
}

/// Decodes a DynamicValue: msgpack when present, else JSON; an absent value is null.
fn decode(value: Option<proto::DynamicValue>, ty: &Type, field: &str) -> Result<Value, Status> {
    let Some(value) = value else {
        return Ok(Value::Null);
    };
    let decoded = if !value.msgpack.is_empty() {
        Value::decode_msgpack(&value.msgpack, ty)
    } else if !value.json.is_empty() {
        Value::decode_json(&value.json, ty)
    } else {
        return Ok(Value::Null);
    };
    decoded.map_err(|error| Status::invalid_argument(format!("cannot decode {field}: {error}")))
}

fn encode(value: &Value, ty: &Type) -> Result<proto::DynamicValue, Status> {
    let msgpack = value
        .encode_msgpack(ty)
        .map_err(|error| Status::internal(format!("provider bug: cannot encode state: {error}")))?;
    Ok(proto::DynamicValue {
        msgpack,
        json: Vec::new(),
    })
}

/// Responses that carry diagnostics, so the shared handler can log their counts.
trait HasDiagnostics {
    fn diagnostics(&self) -> &[proto::Diagnostic];
}

macro_rules! has_diagnostics {
    ($($response:ty),* $(,)?) => {
        $(impl HasDiagnostics for $response {
            fn diagnostics(&self) -> &[proto::Diagnostic] {
                &self.diagnostics
            }
        })*
    };
}

has_diagnostics!(
    proto::get_metadata::Response,
    proto::get_provider_schema::Response,
    proto::validate_provider_config::Response,
    proto::validate_resource_config::Response,
    proto::upgrade_resource_state::Response,
    proto::get_resource_identity_schemas::Response,
    proto::configure_provider::Response,
    proto::read_resource::Response,
    proto::plan_resource_change::Response,
    proto::apply_resource_change::Response,
    proto::import_resource_state::Response,
    proto::get_functions::Response,
);

impl HasDiagnostics for proto::stop_provider::Response {
    fn diagnostics(&self) -> &[proto::Diagnostic] {
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dynamic(msgpack: Vec<u8>) -> Option<proto::DynamicValue> {
        Some(proto::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
    }

    fn resource(set: &[(&str, Value)]) -> Value {
        let mut value = Value::Object(Default::default());
        for attribute in integration::SCHEMA.attributes {
            value.set(attribute.name, Value::Null);
        }
        for (name, v) in set {
            value.set(name, v.clone());
        }
        value
    }

    fn encoded(value: &Value) -> Option<proto::DynamicValue> {
        let bytes = value
            .encode_msgpack(&integration::value_type())
            .expect("test values fit the schema");
        dynamic(bytes)
    }

    #[tokio::test]
    async fn garbage_on_the_wire_is_an_invalid_argument_not_a_panic() {
        let service = ProviderService::new();
        for garbage in [
            vec![0x81, 0xa1],
            vec![0xd4, 0x05, 0x00],
            b"not msgpack".to_vec(),
        ] {
            let request = proto::validate_resource_config::Request {
                type_name: integration::TYPE_NAME.to_string(),
                config: dynamic(garbage),
                client_capabilities: None,
            };
            let result = service
                .validate_resource_config(Request::new(request))
                .await;
            let status = result.expect_err("garbage must be refused");
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
        }
    }

    #[tokio::test]
    async fn an_unknown_resource_type_is_refused() {
        let service = ProviderService::new();
        let request = proto::plan_resource_change::Request {
            type_name: "siro_nothing".to_string(),
            ..Default::default()
        };
        let result = service.plan_resource_change(Request::new(request)).await;
        let status = result.expect_err("unknown type must be refused");
        assert!(status.message().contains("siro_nothing"));
    }

    #[tokio::test]
    async fn plan_returns_a_refined_unknown_byte_for_byte() {
        // ext 12 with refinements {1: true} ("not null"), as Terraform sends it.
        let refined = Value::Unknown(Some(vec![0x81, 0x01, 0xc3]));
        let proposed = resource(&[
            ("namespace", Value::from("siro")),
            ("org_id", refined.clone()),
            (
                "instance_url",
                Value::from("https://acme.my.salesforce.com"),
            ),
        ]);
        let request = proto::plan_resource_change::Request {
            type_name: integration::TYPE_NAME.to_string(),
            prior_state: encoded(&Value::Null),
            proposed_new_state: encoded(&proposed),
            config: encoded(&proposed),
            ..Default::default()
        };
        let response = service_plan(request).await;
        let planned = Value::decode_msgpack(
            &response.planned_state.expect("planned state").msgpack,
            &integration::value_type(),
        )
        .expect("planned state decodes");
        assert_eq!(planned.get("org_id"), Some(&refined));
        assert_eq!(planned.get("id"), Some(&Value::unknown()));
    }

    async fn service_plan(
        request: proto::plan_resource_change::Request,
    ) -> proto::plan_resource_change::Response {
        let service = ProviderService::new();
        let response = service.plan_resource_change(Request::new(request)).await;
        response.expect("plan succeeds").into_inner()
    }

    #[tokio::test]
    async fn read_before_configure_keeps_state_and_says_why() {
        let service = ProviderService::new();
        let state = resource(&[("id", Value::from("conn_1"))]);
        let request = proto::read_resource::Request {
            type_name: integration::TYPE_NAME.to_string(),
            current_state: encoded(&state),
            ..Default::default()
        };
        let response = service.read_resource(Request::new(request)).await;
        let response = response.expect("read answers").into_inner();
        assert_eq!(diag::count(&response.diagnostics), (1, 0));
        assert_eq!(response.new_state, encoded(&state));
    }

    #[tokio::test]
    async fn stop_provider_answers_without_error() {
        let service = ProviderService::new();
        let request = Request::new(proto::stop_provider::Request {});
        let response = service.stop_provider(request).await.expect("stop answers");
        assert!(response.into_inner().error.is_empty());
        assert!(service.shared.stop.is_cancelled());
    }
}
