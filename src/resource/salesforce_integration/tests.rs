use std::collections::BTreeMap;

use super::*;

fn text(value: &str) -> Value {
    Value::String(value.to_string())
}

/// A full resource value: every attribute null except those given.
fn state(set: &[(&str, Value)]) -> Value {
    let mut attributes: BTreeMap<String, Value> = SCHEMA
        .attributes
        .iter()
        .map(|a| (a.name.to_string(), Value::Null))
        .collect();
    for (name, value) in set {
        attributes.insert(name.to_string(), value.clone());
    }
    Value::Object(attributes)
}

fn configured() -> Vec<(&'static str, Value)> {
    vec![
        ("namespace", text("siro")),
        ("org_id", text("00D000000000001")),
        ("instance_url", text("https://acme.my.salesforce.com")),
    ]
}

fn applied() -> Value {
    let mut set = configured();
    set.push(("id", text("conn_1")));
    set.push(("integration_connection_id", text("conn_1")));
    set.push(("is_active", Value::Bool(true)));
    state(&set)
}

fn summaries(diagnostics: Diagnostics) -> Vec<(String, Option<String>)> {
    use crate::proto::tfplugin6::attribute_path::step::Selector;
    let items = diagnostics.into_proto();
    items
        .into_iter()
        .map(|d| {
            let attribute = d
                .attribute
                .and_then(|path| match path.steps[0].selector.clone() {
                    Some(Selector::AttributeName(name)) => Some(name),
                    _ => None,
                });
            (d.summary, attribute)
        })
        .collect()
}

#[test]
fn create_plans_all_computed_values_unknown() {
    let planned = plan(&Value::Null, &state(&configured()));
    for name in ["id", "integration_connection_id", "is_active"] {
        assert_eq!(planned.get(name), Some(&Value::unknown()), "{name}");
    }
    assert_eq!(planned.get("org_id"), Some(&text("00D000000000001")));
}

#[test]
fn unchanged_configuration_plans_no_change() {
    let prior = applied();
    assert_eq!(plan(&prior, &prior), prior);
}

#[test]
fn changing_username_keeps_the_connection_id() {
    let prior = applied();
    let mut proposed = prior.clone();
    proposed.set("username", text("integration@acme.com"));
    let planned = plan(&prior, &proposed);
    assert_eq!(planned.get("id"), Some(&text("conn_1")));
    assert_eq!(
        planned.get("integration_connection_id"),
        Some(&text("conn_1"))
    );
    assert_eq!(planned.get("is_active"), Some(&Value::unknown()));
}

#[test]
fn changing_org_id_or_namespace_makes_the_id_unknown() {
    for (name, value) in [("org_id", "00D000000000002"), ("namespace", "other")] {
        let prior = applied();
        let mut proposed = prior.clone();
        proposed.set(name, text(value));
        let planned = plan(&prior, &proposed);
        assert_eq!(planned.get("id"), Some(&Value::unknown()), "{name}");
        assert_eq!(
            planned.get("integration_connection_id"),
            Some(&Value::unknown())
        );
    }
}

#[test]
fn unknown_configuration_plans_unknown_id() {
    let prior = applied();
    let mut proposed = prior.clone();
    proposed.set("org_id", Value::unknown());
    let planned = plan(&prior, &proposed);
    assert_eq!(planned.get("id"), Some(&Value::unknown()));
    assert_eq!(planned.get("org_id"), Some(&Value::unknown()));
}

#[test]
fn destroy_plans_null() {
    assert_eq!(plan(&applied(), &Value::Null), Value::Null);
}

#[test]
fn valid_configuration_has_no_diagnostics() {
    let mut d = Diagnostics::new();
    validate(&state(&configured()), &mut d);
    assert!(summaries(d).is_empty());
}

#[test]
fn each_invalid_attribute_gets_its_own_diagnostic() {
    let config = state(&[
        ("namespace", text(" ")),
        ("org_id", text("001000000000001")),
        ("instance_url", text("http://acme.my.salesforce.com")),
    ]);
    let mut d = Diagnostics::new();
    validate(&config, &mut d);
    let attributes: Vec<_> = summaries(d).into_iter().filter_map(|(_, a)| a).collect();
    assert_eq!(attributes, ["namespace", "org_id", "instance_url"]);
}

#[test]
fn unknown_and_null_values_are_not_validated() {
    let config = state(&[
        ("org_id", Value::unknown()),
        ("instance_url", Value::unknown()),
    ]);
    let mut d = Diagnostics::new();
    validate(&config, &mut d);
    assert!(summaries(d).is_empty());
}

#[test]
fn refresh_token_warns_and_points_to_username() {
    let mut set = configured();
    set.push(("refresh_token", text("secret-refresh")));
    let mut d = Diagnostics::new();
    validate(&state(&set), &mut d);
    assert!(!d.has_errors());
    let items = d.into_proto();
    assert_eq!(items.len(), 1);
    assert!(items[0].detail.contains("username"));
    assert!(items[0].summary.contains("refresh_token"));
    assert!(
        items[0].attribute.is_none(),
        "a path would make Terraform quote the secret"
    );
    assert!(!items[0].detail.contains("secret-refresh"));
}

#[test]
fn upsert_body_leaves_unset_fields_out() {
    let mut set = configured();
    set.push(("is_prod", Value::Bool(false)));
    let body = upsert_body(&state(&set)).expect("all fields are known");
    assert_eq!(body.org_id, "00D000000000001");
    assert_eq!(body.is_prod, Some(false));
    assert_eq!(body.username, None);
    assert_eq!(body.refresh_token, None);
    assert_eq!(body.use_prod_eca, None);
}

#[test]
fn upsert_body_names_an_unknown_field() {
    let mut set = configured();
    set.push(("username", Value::unknown()));
    assert_eq!(upsert_body(&state(&set)).err(), Some("username"));
}

#[test]
fn stored_state_of_version_0_is_read_and_others_refused() {
    let json = br#"{"id":"conn_1","namespace":"siro","org_id":"00D000000000001",
        "instance_url":"https://acme.my.salesforce.com","username":null,
        "refresh_token":null,"is_prod":null,"use_prod_eca":null,
        "integration_connection_id":"conn_1","is_active":true}"#;
    let mut d = Diagnostics::new();
    assert_eq!(upgrade(0, json, &mut d), Some(applied()));
    assert!(!d.has_errors());

    let mut d = Diagnostics::new();
    assert_eq!(upgrade(1, json, &mut d), None);
    assert!(d.has_errors());

    let mut d = Diagnostics::new();
    assert_eq!(upgrade(0, b"{\"id\":", &mut d), None);
    assert!(d.has_errors());
}
