//! Values from JSON, as `UpgradeResourceState` hands over the raw stored state.
//!
//! State as Terraform stores it has no unknown values. An object is a JSON object keyed by
//! attribute name; null may stand for any value.

use std::collections::BTreeMap;

use super::{DecodeError, Path, Type, Value};

impl Value {
    /// Decodes JSON bytes (such as `RawState.json`) as a value of type `ty`.
    ///
    /// Null is accepted at any level, and an attribute of the type that is absent decodes
    /// as [`Value::Null`] (state written by an older schema may lack new attributes). Kinds
    /// must match exactly: a JSON number or a `"true"` string is not a bool.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the bytes are not one JSON value, nest deeper than serde_json's
    /// limit, or do not fit `ty`, including an attribute the type does not have; the error
    /// names the attribute path.
    pub fn decode_json(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
        let raw: serde_json::Value = serde_json::from_slice(bytes).map_err(DecodeError::Json)?;
        from_json(raw, ty, &mut Path::root())
    }
}

/// Converts one parsed JSON value at `path` to a value of type `ty`.
fn from_json(raw: serde_json::Value, ty: &Type, path: &mut Path) -> Result<Value, DecodeError> {
    match (raw, ty) {
        (serde_json::Value::Null, _) => Ok(Value::Null),
        (serde_json::Value::Bool(b), Type::Bool) => Ok(Value::Bool(b)),
        (serde_json::Value::String(s), Type::String) => Ok(Value::String(s)),
        (serde_json::Value::Object(members), Type::Object(attributes)) => {
            let mut object = BTreeMap::new();
            for (name, raw) in members {
                let Some((_, attribute_ty)) = attributes.iter().find(|(n, _)| *n == name) else {
                    let path = path.attribute(&name);
                    return Err(DecodeError::UnsupportedAttribute { path });
                };
                path.push(&name);
                let value = from_json(raw, attribute_ty, path)?;
                path.pop();
                object.insert(name, value);
            }
            for (name, _) in attributes {
                object.entry(name.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(object))
        }
        (raw, ty) => Err(DecodeError::WrongKind {
            path: path.clone(),
            expected: ty.kind(),
            found: json_kind(&raw),
        }),
    }
}

/// Short name of a JSON value's kind for error text.
fn json_kind(raw: &serde_json::Value) -> &'static str {
    match raw {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource_type() -> Type {
        Type::Object(vec![
            ("id".into(), Type::String),
            ("org_id".into(), Type::String),
            ("is_active".into(), Type::Bool),
            ("username".into(), Type::String),
            (
                "nested".into(),
                Type::Object(vec![("flag".into(), Type::Bool)]),
            ),
        ])
    }

    #[test]
    fn state_decodes() {
        let json = br#"{"id":"a0X1","org_id":"00D000000000001","is_active":true,
            "username":null,"nested":{"flag":false}}"#;
        let value = Value::decode_json(json, &resource_type()).ok();
        let expected = Value::object([
            ("id", Value::from("a0X1")),
            ("org_id", Value::from("00D000000000001")),
            ("is_active", Value::from(true)),
            ("username", Value::Null),
            ("nested", Value::object([("flag", Value::from(false))])),
        ]);
        assert_eq!(value, Some(expected));
    }

    #[test]
    fn absent_attributes_are_null() {
        let value = Value::decode_json(br#"{"id":"x"}"#, &resource_type()).ok();
        let value = value.unwrap_or(Value::Null);
        assert_eq!(value.get("id").and_then(Value::as_str), Some("x"));
        assert_eq!(value.get("is_active"), Some(&Value::Null));
        assert_eq!(value.get("nested"), Some(&Value::Null));
        assert!(value.is_wholly_known());
    }

    #[test]
    fn null_state_and_empty_object() {
        assert_eq!(
            Value::decode_json(b"null", &resource_type()).ok(),
            Some(Value::Null)
        );
        let value = Value::decode_json(b" {} ", &Type::Object(vec![])).ok();
        assert_eq!(value, Some(Value::object::<_, String>([])));
    }

    #[test]
    fn unsupported_attribute_is_named() {
        let err = Value::decode_json(br#"{"nested":{"gone":1}}"#, &resource_type()).err();
        let text = err.map(|e| e.to_string());
        assert_eq!(
            text.as_deref(),
            Some("at .nested.gone: unsupported attribute")
        );
    }

    #[test]
    fn wrong_kinds_name_path_not_value() {
        let err = Value::decode_json(br#"{"is_active":"secret-ish"}"#, &resource_type()).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(text, "at .is_active: expected bool, found string");
        assert!(!text.contains("secret-ish"));

        let err = Value::decode_json(br#"{"org_id":15}"#, &resource_type()).err();
        let text = err.map(|e| e.to_string());
        assert_eq!(
            text.as_deref(),
            Some("at .org_id: expected string, found number")
        );

        let err = Value::decode_json(b"[]", &resource_type()).err();
        assert!(matches!(
            err,
            Some(DecodeError::WrongKind { found: "array", .. })
        ));
    }

    #[test]
    fn malformed_json_is_refused() {
        for bytes in [
            &b""[..],
            b"{",
            br#"{"id":"x"} trailing"#,
            br#"{"id":"\xff"}"#,
            b"\x00\x01\x02",
        ] {
            let err = Value::decode_json(bytes, &resource_type()).err();
            assert!(
                matches!(err, Some(DecodeError::Json(_))),
                "{bytes:?} was accepted"
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = "[".repeat(100_000);
        let err = Value::decode_json(deep.as_bytes(), &resource_type()).err();
        assert!(matches!(err, Some(DecodeError::Json(_))));
    }
}
