//! The contract fixture and the JSON Schema validators compiled from it.
//!
//! The fixture (`tests/fixtures/siro-contract.json`) is a verbatim extract of Siro's
//! OpenAPI 3.0 document made by `scripts/derive-contract`. OpenAPI 3.0 schemas are close to
//! JSON Schema draft 4 but not equal, so each schema is translated before it is compiled:
//!
//! - `nullable: true` becomes an extra `"null"` type (draft 4 has no `nullable`);
//! - objects with `properties` and no `additionalProperties` get `additionalProperties:
//!   false`: the document allows unknown fields, but a provider that sends one has a bug;
//! - an `integrationPlatform` enum gains `SALESFORCE`: the document's connection schema
//!   lacks it although its list filter has it, and the real API answers with it.

use std::collections::BTreeMap;

use jsonschema::Validator;
use serde_json::{Map, Value};

/// The fixture text, embedded so the stand-in needs no file at run time.
pub(crate) const FIXTURE: &str = include_str!("../../tests/fixtures/siro-contract.json");

/// The platform the document's connection enum leaves out.
const SALESFORCE: &str = "SALESFORCE";

/// One operation of the fixture with its compiled schemas.
#[derive(Debug)]
pub(crate) struct Operation {
    /// Upper-case HTTP method.
    pub(crate) method: String,
    /// Path template relative to the API root, e.g. `/v1/core/integrations/connections/{id}`.
    pub(crate) template: String,
    /// Validator for the JSON request body, when the operation has one.
    pub(crate) request: Option<Validator>,
    /// Validators for documented responses, keyed by status code.
    pub(crate) responses: BTreeMap<u16, ResponseSchema>,
}

/// How a documented response body is checked.
#[derive(Debug)]
pub(crate) struct ResponseSchema {
    /// True for `application/json`, false for `text/plain` (validated as a JSON string).
    pub(crate) json: bool,
    /// The compiled schema.
    pub(crate) validator: Validator,
}

/// The compiled contract: every operation of the fixture.
#[derive(Debug)]
pub(crate) struct Contract {
    pub(crate) operations: Vec<Operation>,
}

impl Contract {
    /// Compiles the embedded fixture.
    pub(crate) fn load() -> Result<Contract, String> {
        let document: Value =
            serde_json::from_str(FIXTURE).map_err(|e| format!("contract fixture: {e}"))?;
        Contract::from_document(&document)
    }

    fn from_document(document: &Value) -> Result<Contract, String> {
        let paths = document
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("contract fixture has no paths")?;
        let mut operations = Vec::new();
        for (template, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                if method == "parameters" {
                    continue;
                }
                operations.push(Operation::compile(template, method, op)?);
            }
        }
        Ok(Contract { operations })
    }

    /// Finds the operation for a method and a path relative to the API root.
    /// Returns the operation and the values of its path parameters, still percent-encoded.
    pub(crate) fn find(&self, method: &str, path: &str) -> Option<(&Operation, Vec<String>)> {
        self.operations.iter().find_map(|op| {
            if !op.method.eq_ignore_ascii_case(method) {
                return None;
            }
            match_template(&op.template, path).map(|params| (op, params))
        })
    }
}

impl Operation {
    fn compile(template: &str, method: &str, op: &Value) -> Result<Operation, String> {
        let context = |what: &str| format!("{} {template} {what}", method.to_uppercase());
        let request = match op.pointer("/requestBody/content/application~1json/schema") {
            Some(schema) => Some(compile(schema).map_err(|e| format!("{}: {e}", context("body")))?),
            None => None,
        };
        let mut responses = BTreeMap::new();
        if let Some(documented) = op.get("responses").and_then(Value::as_object) {
            for (status, response) in documented {
                let Ok(code) = status.parse::<u16>() else {
                    continue;
                };
                let content = response.get("content");
                let (json, schema) = match content {
                    Some(c) if c.pointer("/application~1json/schema").is_some() => {
                        (true, c.pointer("/application~1json/schema"))
                    }
                    Some(c) => (false, c.pointer("/text~1plain/schema")),
                    None => (false, None),
                };
                let Some(schema) = schema else {
                    continue;
                };
                let validator = compile(schema).map_err(|e| format!("{}: {e}", context(status)))?;
                responses.insert(code, ResponseSchema { json, validator });
            }
        }
        Ok(Operation {
            method: method.to_uppercase(),
            template: template.to_owned(),
            request,
            responses,
        })
    }
}

/// Translates an OpenAPI 3.0 schema and compiles it as JSON Schema draft 4.
fn compile(schema: &Value) -> Result<Validator, String> {
    jsonschema::draft4::new(&translate(schema)).map_err(|e| e.to_string())
}

/// Applies the translations listed in the module docs, recursively.
pub(crate) fn translate(schema: &Value) -> Value {
    let Some(object) = schema.as_object() else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in object {
        let value = match key.as_str() {
            "properties" => match value.as_object() {
                Some(props) => Value::Object(
                    props
                        .iter()
                        .map(|(name, s)| (name.clone(), translate_property(name, s)))
                        .collect(),
                ),
                None => value.clone(),
            },
            "items" | "additionalProperties" | "not" => translate(value),
            "allOf" | "anyOf" | "oneOf" => match value.as_array() {
                Some(list) => Value::Array(list.iter().map(translate).collect()),
                None => value.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }

    if out.remove("nullable") == Some(Value::Bool(true)) {
        match out.get_mut("type") {
            Some(Value::String(t)) => {
                let t = std::mem::take(t);
                out.insert("type".into(), Value::Array(vec![t.into(), "null".into()]));
            }
            Some(Value::Array(types)) => types.push("null".into()),
            _ => {}
        }
        if let Some(Value::Array(values)) = out.get_mut("enum") {
            values.push(Value::Null);
        }
    }
    if out.contains_key("properties") && !out.contains_key("additionalProperties") {
        out.insert("additionalProperties".into(), Value::Bool(false));
    }
    Value::Object(out)
}

fn translate_property(name: &str, schema: &Value) -> Value {
    let mut translated = translate(schema);
    if name == "integrationPlatform"
        && let Some(Value::Array(values)) = translated.get_mut("enum")
        && !values.iter().any(|v| v == SALESFORCE)
    {
        values.push(SALESFORCE.into());
    }
    translated
}

/// Matches a path against a template such as `/a/{id}`; each `{..}` takes exactly one
/// non-empty segment. Returns the parameter values in order.
fn match_template(template: &str, path: &str) -> Option<Vec<String>> {
    let wanted: Vec<&str> = template.split('/').collect();
    let got: Vec<&str> = path.split('/').collect();
    if wanted.len() != got.len() {
        return None;
    }
    let mut params = Vec::new();
    for (w, g) in wanted.iter().zip(&got) {
        if w.starts_with('{') && w.ends_with('}') {
            if g.is_empty() {
                return None;
            }
            params.push((*g).to_owned());
        } else if w != g {
            return None;
        }
    }
    Some(params)
}

/// Validates `instance` and returns one message per violation. Instance values are
/// masked in the messages: a request body may carry a refresh token.
pub(crate) fn violations(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { "/".to_owned() } else { at };
            format!("{at}: {}", e.masked())
        })
        .collect()
}

/// Rebuilds the fixture from the full OpenAPI document, the same way
/// `scripts/derive-contract` does; used by the test that keeps the two in step.
#[cfg(test)]
pub(crate) fn derive(document: &Value) -> Option<Value> {
    const OPERATIONS: [(&str, &str); 3] = [
        ("/v1/core/integrations/salesforce", "put"),
        ("/v1/core/integrations/connections/{id}", "get"),
        ("/v1/core/integrations/connections/{id}", "delete"),
    ];
    let mut paths = Map::new();
    for (path, method) in OPERATIONS {
        let item = document.get("paths")?.get(path)?;
        let out = paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()?;
        if let Some(params) = item.get("parameters") {
            out.insert("parameters".into(), params.clone());
        }
        out.insert(method.into(), item.get(method)?.clone());
    }
    let title = document.pointer("/info/title")?.as_str()?;
    Some(serde_json::json!({
        "openapi": document.get("openapi")?,
        "info": {
            "title": format!("{title} (operations used by terraform-provider-siro)"),
            "version": document.pointer("/info/version")?,
        },
        "servers": document.get("servers")?,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": document.pointer("/components/securitySchemes/bearerAuth")?,
            }
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn upsert(contract: &Contract) -> &Operation {
        let (op, _) = contract
            .find("PUT", "/v1/core/integrations/salesforce")
            .expect("the fixture has the upsert operation");
        op
    }

    #[test]
    fn fixture_has_exactly_the_three_operations() {
        let contract = Contract::load().expect("fixture compiles");
        let mut ops: Vec<String> = contract
            .operations
            .iter()
            .map(|o| format!("{} {}", o.method, o.template))
            .collect();
        ops.sort();
        assert_eq!(
            ops,
            [
                "DELETE /v1/core/integrations/connections/{id}",
                "GET /v1/core/integrations/connections/{id}",
                "PUT /v1/core/integrations/salesforce",
            ]
        );
    }

    #[test]
    fn path_parameters_take_one_non_empty_segment() {
        let contract = Contract::load().expect("fixture compiles");
        let found = contract.find("get", "/v1/core/integrations/connections/a%2Fb");
        assert_eq!(found.map(|(_, p)| p), Some(vec!["a%2Fb".to_owned()]));
        assert!(
            contract
                .find("GET", "/v1/core/integrations/connections/a/b")
                .is_none()
        );
        assert!(
            contract
                .find("GET", "/v1/core/integrations/connections/")
                .is_none()
        );
        assert!(
            contract
                .find("PATCH", "/v1/core/integrations/connections/x")
                .is_none()
        );
    }

    #[test]
    fn nullable_allows_null_and_unknown_fields_are_refused() {
        let contract = Contract::load().expect("fixture compiles");
        let schema = upsert(&contract)
            .request
            .as_ref()
            .expect("upsert has a body");
        let base = json!({"namespace": "n", "org_id": "00D", "instance_url": "https://x"});

        let mut with_null = base.clone();
        with_null["is_prod"] = Value::Null;
        assert!(violations(schema, &with_null).is_empty());

        let mut unknown = base.clone();
        unknown["extra"] = json!(1);
        assert_eq!(violations(schema, &unknown).len(), 1);

        // refresh_token is not nullable in the document.
        let mut null_token = base;
        null_token["refresh_token"] = Value::Null;
        assert_eq!(violations(schema, &null_token).len(), 1);
    }

    #[test]
    fn violation_messages_mask_values() {
        let contract = Contract::load().expect("fixture compiles");
        let schema = upsert(&contract)
            .request
            .as_ref()
            .expect("upsert has a body");
        let body = json!({"namespace": "n", "org_id": "00D", "instance_url": "https://x",
            "refresh_token": 12345678});
        let found = violations(schema, &body);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("/refresh_token: "), "{found:?}");
        assert!(!found[0].contains("12345678"), "{found:?}");
    }

    #[test]
    fn connection_response_accepts_salesforce_platform() {
        let contract = Contract::load().expect("fixture compiles");
        let (op, _) = contract
            .find("GET", "/v1/core/integrations/connections/x")
            .expect("fixture has get");
        let schema = &op.responses[&200];
        assert!(schema.json);
        let mut connection = json!({"id": "x", "name": "n", "externalAccountId": "e",
            "organizationId": "o", "integrationPlatform": "SALESFORCE", "createdAt": "t",
            "updatedAt": "t", "isActive": true, "syncStatus": []});
        assert!(violations(&schema.validator, &connection).is_empty());
        connection["integrationPlatform"] = json!("SOMETHING_ELSE");
        assert_eq!(violations(&schema.validator, &connection).len(), 1);
        assert!(!op.responses[&404].json);
    }

    /// The shared OpenAPI document sits beside the checkout: `<workspace>/../shared`.
    fn shared_document() -> PathBuf {
        let stand_in = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let workspace = stand_in.parent().unwrap_or(&stand_in).to_path_buf();
        workspace.join("../shared/siro-api/openapi-external.json")
    }

    #[test]
    fn fixture_matches_the_published_document() {
        let source = shared_document();
        let Ok(text) = std::fs::read_to_string(&source) else {
            eprintln!(
                "note: {} not found; the fixture was not re-derived",
                source.display()
            );
            return;
        };
        let document: Value = serde_json::from_str(&text).expect("the OpenAPI document is JSON");
        let fixture: Value = serde_json::from_str(FIXTURE).expect("the fixture is JSON");
        let derived = derive(&document).expect("the document has the three operations");
        assert!(
            derived == fixture,
            "tests/fixtures/siro-contract.json is out of date: run scripts/derive-contract"
        );
    }

    #[test]
    fn derive_script_reproduces_the_fixture_byte_for_byte() {
        let source = shared_document();
        if !source.exists() {
            eprintln!("note: {} not found; script not run", source.display());
            return;
        }
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/derive-contract");
        let output = std::process::Command::new("python3")
            .arg(&script)
            .arg(&source)
            .args(["-o", "-"])
            .output();
        match output {
            Ok(out) if out.status.success() => {
                assert!(
                    out.stdout == FIXTURE.as_bytes(),
                    "scripts/derive-contract output differs from the committed fixture"
                );
            }
            Ok(out) => panic!(
                "scripts/derive-contract failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => eprintln!("note: python3 not runnable ({e}); script not run"),
        }
    }
}
