//! Request and answer bodies of the Siro API operations the provider uses, mirroring
//! `openapi-external.json` (fixture: `tests/fixtures/siro-contract.json`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Body of `PUT /v1/core/integrations/salesforce`. Fields keep their API names; a
/// `None` field is left out of the JSON (never sent as `""` or `null`).
#[derive(Serialize, Clone, PartialEq)]
pub struct SalesforceUpsert {
    /// Salesforce managed package namespace.
    pub namespace: String,
    /// Salesforce organisation id (`00D…`).
    pub org_id: String,
    /// Salesforce instance URL, e.g. `https://acme.my.salesforce.com`.
    pub instance_url: String,
    /// User for the JWT bearer OAuth flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// OAuth refresh token; deprecated by the API in favour of `username`. Secret: Debug
    /// prints `***`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Whether the org is a production org (as opposed to a sandbox).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_prod: Option<bool>,
    /// Whether to use the production external client app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_prod_eca: Option<bool>,
}

impl fmt::Debug for SalesforceUpsert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesforceUpsert")
            .field("namespace", &self.namespace)
            .field("org_id", &self.org_id)
            .field("instance_url", &self.instance_url)
            .field("username", &self.username)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "***"))
            .field("is_prod", &self.is_prod)
            .field("use_prod_eca", &self.use_prod_eca)
            .finish()
    }
}

/// Answer of the upsert: `{"integrationConnectionId": "...", "isActive": true}`.
/// Both fields are required.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UpsertResult {
    /// Id of the connection the upsert created or updated.
    #[serde(deserialize_with = "connection_id")]
    pub integration_connection_id: String,
    /// Whether the connection is active.
    pub is_active: bool,
}

/// An integration connection, as `GET` and `DELETE
/// /v1/core/integrations/connections/{id}` answer it. Only `id`, `integrationPlatform`
/// and `isActive` are required; fields the provider does not use are ignored.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    /// Connection id.
    #[serde(deserialize_with = "connection_id")]
    pub id: String,
    /// Platform name such as `SALESFORCE` or `MERGE`. An open string: the document's
    /// enum for this field lacks `SALESFORCE`, which the API nonetheless returns.
    pub integration_platform: String,
    /// Whether the integration is actively syncing data.
    pub is_active: bool,
    /// Display name of the connection.
    pub name: Option<String>,
    /// Siro organisation that owns the connection.
    pub organization_id: Option<String>,
    /// Account id on the integrated platform.
    pub external_account_id: Option<String>,
}

/// Reads a connection id, refusing one that could not address the connection later:
/// empty, or `.`/`..` (URL paths drop those segments). Stored in state, such an id would
/// make every later read and delete fail.
fn connection_id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let id = String::deserialize(deserializer)?;
    if matches!(id.trim(), "" | "." | "..") {
        return Err(serde::de::Error::custom(
            "connection id is empty or unusable",
        ));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unusable_connection_ids_are_refused() {
        for id in ["", " ", ".", ".."] {
            let answer = json!({"integrationConnectionId": id, "isActive": true});
            assert!(
                serde_json::from_value::<UpsertResult>(answer).is_err(),
                "{id:?}"
            );
            let answer = json!({"id": id, "integrationPlatform": "SALESFORCE", "isActive": true});
            assert!(
                serde_json::from_value::<Connection>(answer).is_err(),
                "{id:?}"
            );
        }
    }

    fn minimal() -> SalesforceUpsert {
        SalesforceUpsert {
            namespace: "acme".into(),
            org_id: "00D000000000001".into(),
            instance_url: "https://acme.my.salesforce.com".into(),
            username: None,
            refresh_token: None,
            is_prod: None,
            use_prod_eca: None,
        }
    }

    #[test]
    fn unset_fields_are_left_out() {
        let body = serde_json::to_value(minimal()).expect("serializes");
        assert_eq!(
            body,
            json!({"namespace": "acme", "org_id": "00D000000000001",
                "instance_url": "https://acme.my.salesforce.com"})
        );
    }

    #[test]
    fn set_fields_keep_their_api_names() {
        let body = SalesforceUpsert {
            username: Some("u@acme.test".into()),
            refresh_token: Some("rt".into()),
            is_prod: Some(false),
            use_prod_eca: Some(true),
            ..minimal()
        };
        let value = serde_json::to_value(body).expect("serializes");
        assert_eq!(value["username"], json!("u@acme.test"));
        assert_eq!(value["refresh_token"], json!("rt"));
        assert_eq!(value["is_prod"], json!(false));
        assert_eq!(value["use_prod_eca"], json!(true));
    }

    #[test]
    fn debug_hides_the_refresh_token() {
        let body = SalesforceUpsert {
            refresh_token: Some("secret-refresh".into()),
            ..minimal()
        };
        let shown = format!("{body:?}");
        assert!(!shown.contains("secret-refresh"), "{shown}");
        assert!(shown.contains(r#"refresh_token: Some("***")"#), "{shown}");
        assert!(format!("{:?}", minimal()).contains("refresh_token: None"));
    }

    #[test]
    fn connection_needs_only_the_fields_the_provider_uses() {
        let c: Connection = serde_json::from_value(json!({
            "id": "conn_1", "integrationPlatform": "SALESFORCE", "isActive": false,
            "syncStatus": [], "somethingNew": {"a": 1}, "name": null
        }))
        .expect("lenient on other fields");
        assert_eq!(
            (c.id.as_str(), c.is_active, c.name),
            ("conn_1", false, None)
        );

        for missing in ["id", "integrationPlatform", "isActive"] {
            let mut v = json!({"id": "c", "integrationPlatform": "MERGE", "isActive": true});
            v.as_object_mut().map(|o| o.remove(missing));
            assert!(
                serde_json::from_value::<Connection>(v).is_err(),
                "{missing}"
            );
        }
        let wrong = json!({"id": "c", "integrationPlatform": "MERGE", "isActive": "yes"});
        assert!(serde_json::from_value::<Connection>(wrong).is_err());
    }

    #[test]
    fn upsert_result_needs_both_fields() {
        let ok: UpsertResult =
            serde_json::from_str(r#"{"integrationConnectionId":"c","isActive":true}"#)
                .expect("decodes");
        assert_eq!(ok.integration_connection_id, "c");
        assert!(serde_json::from_str::<UpsertResult>(r#"{"isActive":true}"#).is_err());
        assert!(
            serde_json::from_str::<UpsertResult>(r#"{"integrationConnectionId":"c"}"#).is_err()
        );
    }
}
