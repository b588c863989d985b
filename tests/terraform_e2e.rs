//! End-to-end tests: a real `terraform` drives the built provider against a local
//! stand-in of the Siro API.
//!
//! Terraform comes from `TF_ACC_TERRAFORM_PATH` or `PATH` (scripts/test provides one);
//! each test has its own stand-in, token, working directory and CLI configuration, so the
//! tests run in parallel. Every run checks that no token reached Terraform's output, and
//! every fixture checks on drop that the provider kept to the API contract.

mod support;

use serde_json::{Value, json};
use siro_stand_in::RecordedRequest;
use support::{Fixture, Terraform, line_of, random_suffix, random_token};

/// The resource address every configuration here uses.
const ADDRESS: &str = "siro_salesforce_integration.x";
const NAMESPACE: &str = "acme";
const ORG_ID: &str = "00D000000000001";
const INSTANCE_URL: &str = "https://example.my.salesforce.com";
const UPSERT_PATH: &str = "/v1/core/integrations/salesforce";
const CONNECTIONS_PATH: &str = "/v1/core/integrations/connections/";

/// A configuration with the three required attributes plus `extra` lines in the block.
/// It names the provider's source: without it Terraform would look for `hashicorp/siro`.
fn config(extra: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    siro = {{
      source = "siro/siro"
    }}
  }}
}}

resource "siro_salesforce_integration" "x" {{
  namespace    = "{NAMESPACE}"
  org_id       = "{ORG_ID}"
  instance_url = "{INSTANCE_URL}"
{extra}
}}
"#
    )
}

/// The `main.tf` last written for `tf`.
fn fs_config(tf: &Terraform) -> String {
    std::fs::read_to_string(tf.workdir().join("main.tf")).expect("main.tf was written")
}

/// The bodies of the upserts the stand-in received, oldest first.
fn upsert_bodies(requests: &[RecordedRequest]) -> Vec<Value> {
    requests
        .iter()
        .filter(|r| r.method == "PUT" && r.path == UPSERT_PATH)
        .map(|r| r.body.clone().unwrap_or(Value::Null))
        .collect()
}

/// The connection id Terraform holds for the resource, checking that `id` and
/// `integration_connection_id` agree.
#[track_caller]
fn state_id(tf: &Terraform) -> String {
    let values = tf.resource_values(ADDRESS);
    assert_eq!(
        values["id"], values["integration_connection_id"],
        "id and integration_connection_id differ: {values:#}"
    );
    values["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no string id in the state: {values:#}"))
        .to_owned()
}

#[test]
fn create_sends_only_configured_fields_and_next_plan_is_empty() {
    let fx = Fixture::new("create");
    fx.tf.write_config(&config(
        "  username     = \"sync@example.com\"\n  is_prod      = false",
    ));

    fx.tf
        .run(&["apply", "-auto-approve"])
        .success()
        .contains("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");

    // Unset optional fields are absent, not "" or null; a false bool is still sent.
    let bodies = upsert_bodies(&fx.api.requests());
    assert_eq!(
        bodies,
        vec![json!({
            "namespace": NAMESPACE,
            "org_id": ORG_ID,
            "instance_url": INSTANCE_URL,
            "username": "sync@example.com",
            "is_prod": false,
        })]
    );

    let id = state_id(&fx.tf);
    let stored = fx
        .api
        .connection(&id)
        .expect("the state's id is a stored connection");
    assert!(stored.is_active);
    assert_eq!(fx.tf.resource_values(ADDRESS)["is_active"], json!(true));

    fx.tf
        .run(&["plan", "-detailed-exitcode"])
        .code(0)
        .contains("No changes.");
    assert_eq!(
        upsert_bodies(&fx.api.requests()).len(),
        1,
        "the plan sent an upsert"
    );
    assert!(
        fx.calls()
            .contains(&("GET".to_owned(), format!("{CONNECTIONS_PATH}{id}"))),
        "the plan did not read the connection: {:?}",
        fx.calls()
    );
}

#[test]
fn changing_username_updates_in_place_and_keeps_the_connection() {
    let fx = Fixture::new("update");
    fx.tf
        .write_config(&config("  username     = \"first@example.com\""));
    fx.tf.run(&["apply", "-auto-approve"]).success();
    let id = state_id(&fx.tf);

    fx.tf
        .write_config(&config("  username     = \"second@example.com\""));
    fx.tf
        .run(&["plan", "-detailed-exitcode"])
        .code(2)
        .contains(&format!("# {ADDRESS} will be updated in-place"))
        .contains("\"first@example.com\" -> \"second@example.com\"")
        .contains("Plan: 0 to add, 1 to change, 0 to destroy.")
        .lacks("must be replaced")
        .lacks("forces replacement");

    fx.tf
        .run(&["apply", "-auto-approve"])
        .success()
        .contains("Resources: 0 added, 1 changed, 0 destroyed.");
    let bodies = upsert_bodies(&fx.api.requests());
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[1]["username"], json!("second@example.com"));
    assert_eq!(state_id(&fx.tf), id, "the update changed the connection id");
    assert_eq!(fx.api.connections().len(), 1);

    fx.tf.run(&["plan", "-detailed-exitcode"]).code(0);
}

#[test]
fn connection_deleted_outside_terraform_is_planned_for_creation() {
    let fx = Fixture::new("gone");
    fx.tf.write_config(&config(""));
    fx.tf.run(&["apply", "-auto-approve"]).success();
    let id = state_id(&fx.tf);
    assert!(fx.api.remove_connection(&id));

    fx.tf
        .run(&["plan", "-detailed-exitcode"])
        .code(2)
        .contains(&format!("# {ADDRESS} will be created"))
        .contains("Plan: 1 to add, 0 to change, 0 to destroy.")
        .contains("Warning: Salesforce Integration Not Found");

    fx.tf
        .run(&["apply", "-auto-approve"])
        .success()
        .contains("Resources: 1 added, 0 changed, 0 destroyed.");
    let new_id = state_id(&fx.tf);
    assert!(fx.api.connection(&new_id).is_some());
    fx.tf.run(&["plan", "-detailed-exitcode"]).code(0);
}

#[test]
fn deactivated_connection_shows_as_drift() {
    let fx = Fixture::new("drift");
    fx.tf.write_config(&config(""));
    fx.tf.run(&["apply", "-auto-approve"]).success();
    let id = state_id(&fx.tf);
    fx.api.set_active(&id, false);

    // A refresh-only plan reports what changed outside Terraform, and exits 2 for it.
    fx.tf
        .run(&["plan", "-refresh-only", "-detailed-exitcode"])
        .code(2)
        .contains("changed outside of Terraform")
        .contains("is_active")
        .contains("true -> false");

    fx.tf
        .run(&["apply", "-refresh-only", "-auto-approve"])
        .success();
    assert_eq!(fx.tf.resource_values(ADDRESS)["is_active"], json!(false));
    assert_eq!(state_id(&fx.tf), id);

    // A normal plan has nothing to change, but says the connection is not syncing.
    fx.tf
        .run(&["plan", "-detailed-exitcode"])
        .code(0)
        .contains("Warning: Salesforce Integration Inactive")
        .contains(&id);
}

#[test]
fn literal_refresh_token_never_reaches_any_output() {
    let mut fx = Fixture::new("literal-refresh-token");
    let refresh_token = format!("rt-literal-{}", random_suffix());
    fx.tf.secret(&refresh_token);
    fx.tf
        .write_config(&config(&format!("  refresh_token = \"{refresh_token}\"")));

    // Each run fails if the secret appears in its output (see Terraform::secret).
    fx.tf
        .run(&["validate"])
        .success()
        .contains("Deprecated Attribute");
    fx.tf.run(&["plan"]).success().contains("(sensitive value)");
    fx.tf.run(&["apply", "-auto-approve"]).success();
    fx.tf.run(&["destroy", "-auto-approve"]).success();
}

#[test]
fn provider_configured_from_unknown_values_still_plans() {
    let fx = Fixture::new("unknown-provider-config");
    // base_url comes from a resource created in the same apply, so it is unknown at plan
    // time; the block wins over the SIRO_BASE_URL the fixture also sets.
    let hcl = format!(
        r#"variable "generation" {{
  type    = number
  default = 1
}}

resource "terraform_data" "api" {{
  input            = "{}"
  triggers_replace = var.generation
}}

provider "siro" {{
  base_url = terraform_data.api.output
}}

{}"#,
        fx.api.base_url(),
        config("")
    );
    fx.tf.write_config(&hcl);

    fx.tf
        .run(&["plan", "-detailed-exitcode"])
        .code(2)
        .contains("Plan: 2 to add, 0 to change, 0 to destroy.");
    fx.tf.run(&["apply", "-auto-approve"]).success();
    assert_eq!(fx.api.connections().len(), 1);

    // Replacing base_url's source makes the configuration unknown again while the
    // integration exists: its refresh is skipped with a warning, and the plan goes on.
    fx.tf
        .run(&["plan", "-detailed-exitcode", "-var", "generation=2"])
        .code(2)
        .contains("Warning: Salesforce Integration Not Refreshed");
    fx.tf
        .run(&["apply", "-auto-approve", "-var", "generation=2"])
        .success();
}

#[test]
fn import_by_cli_then_apply_sends_configured_fields() {
    let fx = Fixture::new("import-cli");
    let id = fx.api.insert_salesforce_connection(NAMESPACE, ORG_ID);
    fx.tf
        .write_config(&config("  username     = \"sync@example.com\""));

    fx.tf
        .run(&["import", ADDRESS, &id])
        .success()
        .contains("Import successful!");
    assert_eq!(state_id(&fx.tf), id);
    assert!(
        upsert_bodies(&fx.api.requests()).is_empty(),
        "import sent an upsert"
    );

    fx.tf
        .run(&["plan", "-detailed-exitcode"])
        .code(2)
        .contains(&format!("# {ADDRESS} will be updated in-place"))
        .contains("Plan: 0 to add, 1 to change, 0 to destroy.")
        .lacks("must be replaced");

    fx.tf.run(&["apply", "-auto-approve"]).success();
    assert_eq!(
        upsert_bodies(&fx.api.requests()),
        vec![json!({
            "namespace": NAMESPACE,
            "org_id": ORG_ID,
            "instance_url": INSTANCE_URL,
            "username": "sync@example.com",
        })]
    );
    assert_eq!(
        state_id(&fx.tf),
        id,
        "the upsert after import made a new connection"
    );
    fx.tf.run(&["plan", "-detailed-exitcode"]).code(0);
}

#[test]
fn import_block_imports_and_updates_in_one_apply() {
    let fx = Fixture::new("import-block");
    let id = fx.api.insert_salesforce_connection(NAMESPACE, ORG_ID);
    fx.tf.write_config(&format!(
        "import {{\n  to = {ADDRESS}\n  id = \"{id}\"\n}}\n\n{}",
        config("")
    ));

    fx.tf
        .run(&["plan", "-detailed-exitcode"])
        .code(2)
        .contains("Plan: 1 to import, 0 to add, 1 to change, 0 to destroy.");

    fx.tf
        .run(&["apply", "-auto-approve"])
        .success()
        .contains("Resources: 1 imported, 0 added, 1 changed, 0 destroyed.");
    assert_eq!(
        upsert_bodies(&fx.api.requests()),
        vec![json!({"namespace": NAMESPACE, "org_id": ORG_ID, "instance_url": INSTANCE_URL})]
    );
    assert_eq!(state_id(&fx.tf), id);
    fx.tf.run(&["plan", "-detailed-exitcode"]).code(0);
}

#[test]
fn importing_a_connection_of_another_platform_fails_clearly() {
    let fx = Fixture::new("import-merge");
    let id = fx.api.insert_connection("MERGE", true);
    fx.tf.write_config(&config(""));

    fx.tf
        .run(&["import", ADDRESS, &id])
        .failure()
        .contains("Error:")
        .contains("MERGE")
        .contains_ignoring_case("salesforce");

    assert!(
        fx.tf.state_is_empty(),
        "the refused import left a state entry"
    );
    assert!(fx.api.connection(&id).is_some());
    assert!(
        fx.api.requests().iter().all(|r| r.method == "GET"),
        "the refused import changed something: {:?}",
        fx.api.requests()
    );
}

#[test]
fn destroy_deletes_the_connection() {
    let fx = Fixture::new("destroy");
    fx.tf.write_config(&config(""));
    fx.tf.run(&["apply", "-auto-approve"]).success();
    let id = state_id(&fx.tf);

    fx.tf
        .run(&["destroy", "-auto-approve"])
        .success()
        .contains("Destroy complete! Resources: 1 destroyed.");

    let deletes: Vec<RecordedRequest> = fx
        .api
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!(deletes[0].path, format!("{CONNECTIONS_PATH}{id}"));
    assert!(fx.api.connection(&id).is_none());
    assert!(fx.tf.state_is_empty());
}

#[test]
fn destroy_succeeds_when_delete_answers_404() {
    let fx = Fixture::new("destroy-404");
    fx.tf.write_config(&config(""));
    fx.tf.run(&["apply", "-auto-approve"]).success();
    let id = state_id(&fx.tf);
    // The same text the documented 404 answer carries, as text/plain.
    fx.api.fail_next(
        "DELETE",
        CONNECTIONS_PATH,
        404,
        "Integration connection not found or you do not have permission to view it.",
        1,
    );

    fx.tf
        .run(&["destroy", "-auto-approve"])
        .success()
        .contains("Destroy complete! Resources: 1 destroyed.")
        .lacks("Error:");

    assert!(
        fx.api.requests().iter().any(|r| r.method == "DELETE"
            && r.path == format!("{CONNECTIONS_PATH}{id}")
            && r.status == 404),
        "no DELETE answered 404: {:?}",
        fx.api.requests()
    );
    assert!(fx.tf.state_is_empty());
}

/// Drops the source lines Terraform quotes under a diagnostic (`  3:   org_id = …`), so
/// what remains is the provider's own summary and detail.
fn without_source_snippets(text: &str) -> String {
    text.lines()
        .filter(|line| {
            let line = line.trim_start_matches([' ', '│']);
            !line
                .split_once(':')
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase()
}

#[test]
fn validate_points_at_each_invalid_attribute() {
    let fx = Fixture::new("validate");

    // A valid 18-character id. Its case suffix has a bit per upper-case letter in each
    // 5-character chunk: only the "D" of "00D", third in the first chunk, so "EAA".
    fx.tf
        .write_config(&config("").replace(&format!("\"{ORG_ID}\""), &format!("\"{ORG_ID}EAA\"")));
    fx.tf.run(&["validate"]).success();

    let cases = [
        ("org_id", format!("\"{ORG_ID}\""), "\"12345\"".to_owned()),
        (
            "org_id",
            format!("\"{ORG_ID}\""),
            "\"001000000000001\"".to_owned(),
        ),
        (
            "org_id",
            format!("\"{ORG_ID}\""),
            format!("\"{ORG_ID}AAA\""),
        ),
        ("namespace", format!("\"{NAMESPACE}\""), "\"\"".to_owned()),
        (
            "instance_url",
            format!("\"{INSTANCE_URL}\""),
            "\"http://example.my.salesforce.com\"".to_owned(),
        ),
        (
            "instance_url",
            format!("\"{INSTANCE_URL}\""),
            "\"not a url\"".to_owned(),
        ),
    ];
    for (attribute, good, bad) in cases {
        let hcl = config("").replace(&good, &bad);
        let line = line_of(&hcl, &bad);
        fx.tf.write_config(&hcl);
        let output = fx.tf.run(&["validate"]);
        output
            .code(1)
            .contains("Error:")
            .contains(&format!("with {ADDRESS},"))
            .contains(&format!("on main.tf line {line}"));
        assert!(
            without_source_snippets(&output.combined()).contains(attribute),
            "the diagnostic for {attribute} = {bad} does not name the attribute\n{}",
            output.describe()
        );
    }
    assert!(fx.api.requests().is_empty(), "validate called the API");
}

/// The boxed diagnostics (`╷ … ╵`) in Terraform's output, one string each.
fn diagnostics(output: &support::Output) -> Vec<String> {
    output
        .combined()
        .split('╷')
        .skip(1)
        .map(|block| block.split('╵').next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn refresh_token_is_sensitive_and_deprecated() {
    let mut fx = Fixture::new("refresh-token");
    let refresh_token = format!("rt-{}", random_suffix());
    fx.tf.secret(&refresh_token);
    // Through a sensitive variable, as a user would: Terraform quotes the configuration
    // line under a diagnostic, so a literal secret would appear in the warning.
    fx.tf.env("TF_VAR_salesforce_refresh_token", &refresh_token);
    let variable = r#"variable "salesforce_refresh_token" {
  type      = string
  sensitive = true
}
"#;
    fx.tf.write_config(&format!(
        "{variable}\n{}",
        config("  refresh_token = var.salesforce_refresh_token")
    ));

    let plan = fx.tf.run(&["plan", "-detailed-exitcode"]);
    plan.code(2);
    assert!(
        plan.combined()
            .lines()
            .any(|l| l.contains("refresh_token") && l.contains("(sensitive value)")),
        "refresh_token is not shown as (sensitive value)\n{}",
        plan.describe()
    );
    let line = line_of(
        &fs_config(&fx.tf),
        "resource \"siro_salesforce_integration\"",
    );
    assert!(
        diagnostics(&plan)
            .iter()
            .any(|d| d.contains("Warning: Deprecated Attribute")
                && d.contains("refresh_token")
                && d.contains(&format!("with {ADDRESS},"))
                && d.contains(&format!("on main.tf line {line}"))
                && without_source_snippets(d).contains("username")),
        "no warning on the resource that names refresh_token and points to username\n{}",
        plan.describe()
    );

    fx.tf.run(&["apply", "-auto-approve"]).success();
    let bodies = upsert_bodies(&fx.api.requests());
    // Compared without printing: a failure message must not show the refresh token.
    assert!(
        bodies.len() == 1 && bodies[0]["refresh_token"] == json!(refresh_token),
        "the upsert did not carry the configured refresh_token"
    );
    fx.tf.run(&["plan", "-detailed-exitcode"]).code(0);
}

#[test]
fn wrong_token_fails_with_401_and_no_secret_in_any_output() {
    let server_token = random_token("server");
    let client_token = random_token("client");
    let mut fx = Fixture::with_tokens(&server_token, &client_token);
    // Trace logs from Terraform and the provider must not carry the token either.
    fx.tf.env("TF_LOG", "trace");
    fx.tf.write_config(&config(""));

    let output = fx.tf.run(&["apply", "-auto-approve"]);
    output
        .failure()
        .contains("Error:")
        .contains("401")
        .contains_ignoring_case("token");
    assert!(
        output.stderr.contains("[TRACE]"),
        "TF_LOG=trace gave no trace log, so the leak check proved little\n{}",
        output.describe()
    );
    assert!(
        fx.api.requests().iter().any(|r| r.status == 401),
        "no request reached the stand-in and was refused: {:?}",
        fx.api.requests()
    );
    assert!(fx.api.connections().is_empty());
}

#[test]
fn example_configuration_applies_plans_clean_and_destroys() {
    let fx = Fixture::new("example");
    let root = env!("CARGO_MANIFEST_DIR");
    let provider = std::fs::read_to_string(format!("{root}/examples/provider/provider.tf"))
        .expect("examples/provider/provider.tf exists");
    let resource = std::fs::read_to_string(format!(
        "{root}/examples/resources/siro_salesforce_integration/resource.tf"
    ))
    .expect("examples/resources/siro_salesforce_integration/resource.tf exists");
    fx.tf.write_config(&format!("{provider}\n{resource}"));

    fx.tf.run(&["apply", "-auto-approve"]).success();
    assert_eq!(fx.api.connections().len(), 1);
    fx.tf.run(&["plan", "-detailed-exitcode"]).code(0);
    fx.tf.run(&["destroy", "-auto-approve"]).success();
    assert!(fx.api.connections().is_empty());
}

#[test]
fn examples_are_terraform_fmt_clean() {
    let tf = Terraform::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("examples/provider/provider.tf").is_file(),
        "no examples to check"
    );
    tf.run_in(root, &["fmt", "-check", "-recursive", "-diff", "examples"])
        .success();
}
