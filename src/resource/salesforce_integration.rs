//! Resource `siro_salesforce_integration`: an organisation's Salesforce connection.
//!
//! Create and Update both send the upsert `PUT /v1/core/integrations/salesforce`, keyed
//! by namespace and org id; Read and Delete use `/v1/core/integrations/connections/{id}`.
//! The API never returns the configured fields, so state keeps them as applied.
//!
//! # Sections
//! Schema, validation, plan, apply, read, import, state upgrade, then the request model.

use crate::client::SalesforceUpsert;
use crate::diag::Diagnostics;
use crate::resource::validation::{instance_url_problem, org_id_problem};
use crate::resource::{Api, CallError};
use crate::schema::{Attribute, Block, Kind, Presence};
use crate::value::{Type, Value};

/// The resource type name Terraform uses.
pub const TYPE_NAME: &str = "siro_salesforce_integration";

/// The platform name the API gives Salesforce connections.
const SALESFORCE_PLATFORM: &str = "SALESFORCE";

/// Configured attributes, sent in the upsert under the same names.
const CONFIGURED: [&str; 7] = [
    "namespace",
    "org_id",
    "instance_url",
    "username",
    "refresh_token",
    "is_prod",
    "use_prod_eca",
];

/// Attributes whose change makes the upsert address another connection.
const CONNECTION_KEY: [&str; 2] = ["namespace", "org_id"];

const fn attribute(
    name: &'static str,
    kind: Kind,
    presence: Presence,
    description: &'static str,
) -> Attribute {
    Attribute {
        name,
        kind,
        presence,
        description,
        sensitive: false,
        deprecated: false,
    }
}

/// The resource's schema.
pub const SCHEMA: Block = Block {
    version: 0,
    description: "Connects the organisation's Salesforce org to Siro. Create and update \
        both send Siro's upsert; changing any argument updates the connection in place.",
    attributes: &[
        attribute(
            "id",
            Kind::String,
            Presence::Computed,
            "The integration connection id; the same as `integration_connection_id`.",
        ),
        attribute(
            "namespace",
            Kind::String,
            Presence::Required,
            "Namespace of the Siro managed package installed in the Salesforce org.",
        ),
        attribute(
            "org_id",
            Kind::String,
            Presence::Required,
            "Salesforce organisation id: 15 or 18 letters and digits starting with `00D`.",
        ),
        attribute(
            "instance_url",
            Kind::String,
            Presence::Required,
            "The org's instance URL, an absolute https URL such as \
            `https://acme.my.salesforce.com`.",
        ),
        attribute(
            "username",
            Kind::String,
            Presence::Optional,
            "Salesforce username for the JWT bearer OAuth flow.",
        ),
        Attribute {
            name: "refresh_token",
            kind: Kind::String,
            presence: Presence::Optional,
            description: "Salesforce OAuth refresh token. Deprecated: use `username` and \
                the JWT bearer flow instead.",
            sensitive: true,
            deprecated: true,
        },
        attribute(
            "is_prod",
            Kind::Bool,
            Presence::Optional,
            "Whether the org is a production org rather than a sandbox.",
        ),
        attribute(
            "use_prod_eca",
            Kind::Bool,
            Presence::Optional,
            "Whether to use the production external client app for authentication.",
        ),
        attribute(
            "integration_connection_id",
            Kind::String,
            Presence::Computed,
            "Id of the integration connection the upsert created or updated.",
        ),
        attribute(
            "is_active",
            Kind::Bool,
            Presence::Computed,
            "Whether Siro reports the connection as actively syncing.",
        ),
    ],
};

/// The resource's value type.
pub fn value_type() -> Type {
    SCHEMA.value_type()
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

/// A check of one string attribute: its name, the problem finder, the diagnostic's
/// summary, and the advice that follows the problem.
type StringCheck = (
    &'static str,
    fn(&str) -> Option<String>,
    &'static str,
    &'static str,
);

const STRING_CHECKS: [StringCheck; 3] = [
    (
        "namespace",
        namespace_problem,
        "Invalid Namespace",
        "Give the namespace of the Siro package installed in Salesforce.",
    ),
    (
        "org_id",
        org_id_problem,
        "Invalid Salesforce Organisation ID",
        "Find the organisation id in Salesforce Setup under Company Information, e.g. \
         00D5g000004XyZa.",
    ),
    (
        "instance_url",
        instance_url_problem,
        "Invalid Salesforce Instance URL",
        "Use the org's https address, such as https://acme.my.salesforce.com.",
    ),
];

fn namespace_problem(namespace: &str) -> Option<String> {
    namespace
        .trim()
        .is_empty()
        .then(|| "must not be empty".to_string())
}

/// Checks the configuration at `terraform validate`; unknown and null values pass.
pub fn validate(config: &Value, diagnostics: &mut Diagnostics) {
    for (name, find_problem, summary, advice) in STRING_CHECKS {
        let value = config.get(name).and_then(Value::as_str);
        if let Some(problem) = value.and_then(find_problem) {
            let detail = format!("The {name} {problem}.\n\n{advice}");
            diagnostics.attribute_error(name, summary, detail);
        }
    }

    // Terraform prints nothing for a deprecated attribute; the warning must come from us.
    // It names the attribute in words but carries no attribute path: Terraform quotes
    // the configuration line under a diagnostic's path, and that line may hold the
    // refresh token as a literal.
    if config
        .get("refresh_token")
        .is_some_and(|token| !token.is_null())
    {
        diagnostics.warning(
            "Deprecated Attribute: refresh_token",
            "refresh_token is deprecated by Siro. Set `username` to use the JWT bearer OAuth \
             flow instead, then remove refresh_token.",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------------

/// Plans a change: Terraform's proposed state with the computed values it cannot know.
///
/// On create all three computed values are unknown. On update `is_active` is unknown and
/// the connection id stays unless `namespace` or `org_id` changes, since the upsert is
/// keyed by those two. A destroy (null proposal) is planned as null.
pub fn plan(prior: &Value, proposed: &Value) -> Value {
    if proposed.is_null() {
        return Value::Null;
    }
    let mut planned = proposed.clone();
    if prior.is_null() {
        set_connection_unknown(&mut planned);
        planned.set("is_active", Value::unknown());
        return planned;
    }

    let changed = |name: &str| prior.get(name) != proposed.get(name);
    if CONFIGURED.iter().any(|name| changed(name)) {
        planned.set("is_active", Value::unknown());
    }
    if CONNECTION_KEY.iter().any(|name| changed(name)) {
        set_connection_unknown(&mut planned);
    }
    planned
}

fn set_connection_unknown(state: &mut Value) {
    state.set("id", Value::unknown());
    state.set("integration_connection_id", Value::unknown());
}

// ---------------------------------------------------------------------------------------
// Apply
// ---------------------------------------------------------------------------------------

/// Applies a planned change and returns the new state (null after a destroy).
///
/// On error the returned state is what Terraform should keep: the prior state when
/// nothing changed, the new state when the API did act.
pub async fn apply(api: Api<'_>, prior: &Value, planned: &Value, d: &mut Diagnostics) -> Value {
    if planned.is_null() {
        return delete(api, prior, d).await;
    }
    let action = if prior.is_null() { "Create" } else { "Update" };
    let summary = format!("Unable to {action} Salesforce Integration");

    let body = match upsert_body(planned) {
        Ok(body) => body,
        Err(missing) => {
            let detail = format!(
                "The planned value of {missing} is not known at apply time. This is a bug in \
                 the provider; please report it."
            );
            d.error(&summary, detail);
            return prior.clone();
        }
    };

    let result = match api.call(api.client.upsert_salesforce(&body)).await {
        Ok(result) => result,
        Err(error) => {
            error.report(&summary, d);
            return prior.clone();
        }
    };

    let connection_id = Value::String(result.integration_connection_id.clone());
    let planned_id = planned.get("id").filter(|id| id.is_known());
    if let Some(planned_id) = planned_id.filter(|id| **id != connection_id) {
        let planned_id = planned_id.as_str().unwrap_or_default();
        let detail = format!(
            "The upsert answered with connection {}, but this resource manages connection \
             {planned_id}. The connection was probably deleted and recreated outside \
             Terraform.\n\nThe new connection is now in state; run `terraform plan` to \
             review it.",
            result.integration_connection_id
        );
        d.error(&summary, detail);
    }

    // The upsert addressed another connection than the one in state.
    let prior_id = prior.get("id").and_then(Value::as_str);
    if let Some(prior_id) = prior_id.filter(|id| *id != result.integration_connection_id) {
        if planned_id.is_none() && applied_key(prior) {
            // A changed namespace or org id: the old connection would be left unmanaged.
            retire_replaced_connection(api, prior_id, d).await;
        } else if planned_id.is_none() {
            // Imported, never applied: we cannot tell what the imported one was for.
            d.warning(
                "Imported Connection Not Used",
                format!(
                    "The upsert for this namespace and org_id answered with connection {}, \
                     not the imported connection {prior_id}. State now tracks the new one; \
                     the imported connection was left as it is.",
                    result.integration_connection_id
                ),
            );
        }
    }

    let mut state = planned.clone();
    state.set("id", connection_id.clone());
    state.set("integration_connection_id", connection_id);
    state.set("is_active", Value::Bool(result.is_active));
    state
}

/// Whether state holds the namespace and org id of an applied upsert (not an import).
fn applied_key(state: &Value) -> bool {
    CONNECTION_KEY
        .iter()
        .all(|name| state.get(name).and_then(Value::as_str).is_some())
}

/// Deletes the connection an update moved away from; a failure is only a warning, since
/// the new connection exists and is what state must now track.
async fn retire_replaced_connection(api: Api<'_>, id: &str, d: &mut Diagnostics) {
    match api.call(api.client.delete_connection(id)).await {
        Ok(()) => tracing::info!(connection_id = id, "deleted the replaced connection"),
        Err(CallError::Api(error)) if error.is_not_found() => {}
        Err(error) => {
            let reason = error.detail();
            d.warning(
                "Replaced Salesforce Connection Not Deleted",
                format!(
                    "The new namespace or org_id made Siro create connection anew, and the \
                     previous connection {id} could not be deleted. Delete it in Siro by \
                     hand.\n\n{reason}"
                ),
            );
        }
    }
}

async fn delete(api: Api<'_>, prior: &Value, d: &mut Diagnostics) -> Value {
    const SUMMARY: &str = "Unable to Delete Salesforce Integration";
    let Some(id) = prior.get("id").and_then(Value::as_str) else {
        // Nothing was ever created under this resource.
        return Value::Null;
    };
    match api.call(api.client.delete_connection(id)).await {
        Ok(()) => Value::Null,
        Err(CallError::Api(error)) if error.is_not_found() => {
            tracing::debug!(connection_id = id, "connection already gone");
            Value::Null
        }
        Err(error) => {
            error.report(SUMMARY, d);
            prior.clone()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Read
// ---------------------------------------------------------------------------------------

/// Refreshes state from the API; null when the connection no longer exists.
///
/// Any failure other than 404 keeps the state as it was, with an error: removing a
/// resource from state because of a transient failure would make Terraform recreate it.
pub async fn read(api: Api<'_>, state: &Value, d: &mut Diagnostics) -> Value {
    const SUMMARY: &str = "Unable to Read Salesforce Integration";
    if state.is_null() {
        return Value::Null;
    }
    let Some(id) = state.get("id").and_then(Value::as_str) else {
        d.error(
            SUMMARY,
            "The state has no connection id. Remove the resource from state \
            with `terraform state rm` and import it again.",
        );
        return state.clone();
    };

    let connection = match api.call(api.client.get_connection(id)).await {
        Ok(connection) => connection,
        Err(CallError::Api(error)) if error.is_not_found() => {
            // Said out loud: a token of another organisation or a base_url without its
            // path prefix also answers 404, and then "gone" is the wrong conclusion.
            d.warning(
                "Salesforce Integration Not Found",
                format!(
                    "Siro answered 404 for connection {id}, so it is removed from state \
                     and the next apply creates it again.\n\nIf the connection still \
                     exists, check that the provider's token belongs to its organisation \
                     and that base_url includes the API's path prefix."
                ),
            );
            return Value::Null;
        }
        Err(error) => {
            error.report(SUMMARY, d);
            return state.clone();
        }
    };
    if !is_salesforce(&connection.integration_platform) {
        d.error(
            SUMMARY,
            wrong_platform_detail(id, &connection.integration_platform),
        );
        return state.clone();
    }

    if !connection.is_active {
        d.warning(
            "Salesforce Integration Inactive",
            format!(
                "Siro reports connection {id} as not active, so it is not syncing. \
                 Reactivate it in Siro; Terraform records the flag in `is_active` but \
                 does not change it."
            ),
        );
    }

    // The ids stay as in state: the connection was fetched by that id, and the answer's
    // own id field is not trusted to replace it.
    let mut refreshed = state.clone();
    refreshed.set("is_active", Value::Bool(connection.is_active));
    refreshed
}

fn is_salesforce(platform: &str) -> bool {
    platform.eq_ignore_ascii_case(SALESFORCE_PLATFORM)
}

fn wrong_platform_detail(id: &str, platform: &str) -> String {
    let platform: String = platform.chars().take(64).collect();
    format!(
        "Connection {id} is a {platform} connection, not a Salesforce one, so \
         siro_salesforce_integration cannot manage it.\n\nCheck the connection id: list \
         the organisation's Salesforce connections with GET \
         /v1/core/integrations/connections?integrationPlatform=SALESFORCE."
    )
}

// ---------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------

/// Builds state for `terraform import` or an `import` block from a connection id.
///
/// Only the id and active flag are known; the configured fields stay null until the
/// next apply sends them, so the first plan after an import is an in-place update.
pub async fn import(api: Api<'_>, id: &str, d: &mut Diagnostics) -> Option<Value> {
    const SUMMARY: &str = "Unable to Import Salesforce Integration";
    if id.trim().is_empty() {
        d.error(
            SUMMARY,
            "The import id is empty. Give the integration connection id, \
            e.g. `terraform import siro_salesforce_integration.main <connection-id>`.",
        );
        return None;
    }

    let connection = match api.call(api.client.get_connection(id)).await {
        Ok(connection) => connection,
        Err(error) => {
            error.report(SUMMARY, d);
            return None;
        }
    };
    if !is_salesforce(&connection.integration_platform) {
        d.error(
            SUMMARY,
            wrong_platform_detail(id, &connection.integration_platform),
        );
        return None;
    }

    let mut state = Value::Object(Default::default());
    for attribute in SCHEMA.attributes {
        state.set(attribute.name, Value::Null);
    }
    state.set("id", Value::String(connection.id.clone()));
    state.set("integration_connection_id", Value::String(connection.id));
    state.set("is_active", Value::Bool(connection.is_active));
    Some(state)
}

// ---------------------------------------------------------------------------------------
// State upgrade
// ---------------------------------------------------------------------------------------

/// Reads stored JSON state written by this provider (schema version 0 is the only one).
pub fn upgrade(version: i64, json: &[u8], d: &mut Diagnostics) -> Option<Value> {
    const SUMMARY: &str = "Unable to Read Stored State";
    if version != SCHEMA.version {
        let detail = format!(
            "The state was written with schema version {version} of {TYPE_NAME}, but this \
             provider knows only version {}. Use the provider version that wrote it.",
            SCHEMA.version
        );
        d.error(SUMMARY, detail);
        return None;
    }
    match Value::decode_json(json, &value_type()) {
        Ok(value) => Some(value),
        Err(error) => {
            d.error(
                SUMMARY,
                format!("The stored state of {TYPE_NAME} cannot be read: {error}."),
            );
            None
        }
    }
}

// ---------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------

/// The upsert body from a planned state; Err names the first field not yet known.
fn upsert_body(state: &Value) -> Result<SalesforceUpsert, &'static str> {
    let is_known = |name: &&str| state.get(name).is_none_or(Value::is_known);
    if let Some(name) = CONFIGURED.iter().find(|name| !is_known(name)) {
        return Err(name);
    }
    let text = |name: &str| state.get(name).and_then(Value::as_str).map(str::to_string);
    let flag = |name: &str| state.get(name).and_then(Value::as_bool);
    let required = |name: &'static str| text(name).ok_or(name);
    Ok(SalesforceUpsert {
        namespace: required("namespace")?,
        org_id: required("org_id")?,
        instance_url: required("instance_url")?,
        username: text("username"),
        refresh_token: text("refresh_token"),
        is_prod: flag("is_prod"),
        use_prod_eca: flag("use_prod_eca"),
    })
}

#[cfg(test)]
mod tests;
