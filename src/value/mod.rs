//! Terraform values as they cross the plugin protocol, and their types.
//!
//! Terraform sends configuration, plans and state in a `DynamicValue` as msgpack bytes in
//! cty's encoding ([`Value::decode_msgpack`], [`Value::encode_msgpack`]). Only
//! `UpgradeResourceState` hands over JSON: the raw state as Terraform stored it
//! ([`Value::decode_json`]).
//!
//! Only the types this provider's schemas use are supported: `string`, `bool` and objects
//! of those (objects may nest). Numbers, lists, sets, maps, tuples and dynamic values are
//! not; meeting one on the wire is a decode error, never a panic.
//!
//! Error text names the attribute path and the kinds involved but never a value: values
//! include secrets such as the API token and the Salesforce refresh token.

mod json;
mod msgpack;
mod path;

use std::collections::BTreeMap;

use thiserror::Error;

pub use path::Path;

/// Terraform type of a value (a cty type), as far as this provider uses them.
///
/// Supported are `bool`, `string` and objects whose attributes have supported types.
/// Attribute names in an object must be unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// cty `bool`.
    Bool,
    /// cty `string`.
    String,
    /// cty object: attribute names with their types, in the order given.
    Object(Vec<(String, Type)>),
}

impl Type {
    /// The type as JSON bytes, as the schema's `Attribute.type` field wants it: `"string"`,
    /// `"bool"`, `["object",{"a":"string"}]`.
    pub fn to_json(&self) -> Vec<u8> {
        // Display of a serde_json::Value cannot fail, unlike serde_json::to_vec.
        self.to_json_value().to_string().into_bytes()
    }

    fn to_json_value(&self) -> serde_json::Value {
        match self {
            Type::Bool => serde_json::Value::from("bool"),
            Type::String => serde_json::Value::from("string"),
            Type::Object(attributes) => {
                let attributes = attributes
                    .iter()
                    .map(|(name, ty)| (name.clone(), ty.to_json_value()))
                    .collect::<serde_json::Map<_, _>>();
                serde_json::Value::Array(vec!["object".into(), attributes.into()])
            }
        }
    }

    /// The type of attribute `name` if this is an object type that has it.
    pub fn attribute(&self, name: &str) -> Option<&Type> {
        match self {
            Type::Object(attributes) => attributes.iter().find(|(n, _)| n == name).map(|(_, t)| t),
            Type::Bool | Type::String => None,
        }
    }

    /// Short name of the kind for error text: `bool`, `string` or `object`.
    fn kind(&self) -> &'static str {
        match self {
            Type::Bool => "bool",
            Type::String => "string",
            Type::Object(_) => "object",
        }
    }
}

/// A Terraform value.
///
/// Any value may be [`Value::Null`] or [`Value::Unknown`] whatever its type; a known value
/// has the variant of its type. Values do not carry their type: the schema supplies it when
/// they are decoded and encoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Null: not set.
    Null,
    /// Not known until apply. Refinements (cty msgpack extension 12) are kept as their raw
    /// payload bytes so a value Terraform sent comes back byte-for-byte; `None` is a plain
    /// unknown.
    Unknown(Option<Vec<u8>>),
    /// A known bool.
    Bool(bool),
    /// A known string.
    String(String),
    /// A known object: attribute name to value. Encoding writes an attribute of the type
    /// that is missing here as null.
    Object(BTreeMap<String, Value>),
}

impl Value {
    /// A plain unknown value, with no refinements.
    pub fn unknown() -> Value {
        Value::Unknown(None)
    }

    /// An object value from attribute names and values.
    pub fn object<I, K>(attributes: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Object(attributes.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Whether the value is null (an unknown value is not).
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether the value itself is known; its attributes may still be unknown.
    pub fn is_known(&self) -> bool {
        !matches!(self, Value::Unknown(_))
    }

    /// Whether the value and everything inside it is known.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Object(attributes) => attributes.values().all(Value::is_wholly_known),
            Value::Null | Value::Bool(_) | Value::String(_) => true,
        }
    }

    /// Attribute `attribute` of an object; `None` for a missing attribute or a value that is
    /// not a known object (null or unknown).
    pub fn get(&self, attribute: &str) -> Option<&Value> {
        match self {
            Value::Object(attributes) => attributes.get(attribute),
            _ => None,
        }
    }

    /// Mutable attribute `attribute` of an object, like [`Value::get`].
    pub fn get_mut(&mut self, attribute: &str) -> Option<&mut Value> {
        match self {
            Value::Object(attributes) => attributes.get_mut(attribute),
            _ => None,
        }
    }

    /// Sets attribute `attribute` of an object to `value`, adding it if missing.
    ///
    /// Does nothing when `self` is not a known object (null, unknown, bool or string):
    /// callers build objects with [`Value::object`] first.
    pub fn set(&mut self, attribute: &str, value: Value) {
        if let Value::Object(attributes) = self {
            attributes.insert(attribute.to_owned(), value);
        }
    }

    /// The string if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The bool if this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Short name of the kind for error text.
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown(_) => "unknown",
            Value::Bool(_) => "bool",
            Value::String(_) => "string",
            Value::Object(_) => "object",
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

/// Bytes from Terraform that do not hold a value of the expected type.
///
/// The text names the attribute path and kinds, never the value.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not one well-formed msgpack value (truncated, too deeply nested…).
    #[error("malformed msgpack")]
    Msgpack(#[source] rmpv::decode::Error),
    /// The bytes are not well-formed JSON, or nest too deeply.
    #[error("malformed json")]
    Json(#[source] serde_json::Error),
    /// Bytes follow the msgpack value.
    #[error("{count} trailing bytes after the value")]
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// A value of another kind than the type wants.
    #[error("at {path}: expected {expected}, found {found}")]
    WrongKind {
        /// Where the value is.
        path: Path,
        /// Kind the type wants.
        expected: &'static str,
        /// Kind found on the wire.
        found: &'static str,
    },
    /// An object attribute the type does not have; the path ends with its name.
    #[error("at {path}: unsupported attribute")]
    UnsupportedAttribute {
        /// Path to the attribute, its name last.
        path: Path,
    },
    /// An object attribute given twice.
    #[error("at {path}: attribute given twice")]
    DuplicateAttribute {
        /// Path to the attribute, its name last.
        path: Path,
    },
    /// An object key that is not a string.
    #[error("at {path}: object key is not a string")]
    NonStringKey {
        /// Path to the object.
        path: Path,
    },
    /// A string (value or object key) that is not valid UTF-8.
    #[error("at {path}: string is not valid utf-8")]
    InvalidUtf8 {
        /// Where the string is.
        path: Path,
    },
    /// A msgpack extension that is neither an unknown (0) nor a refined unknown (12).
    #[error("at {path}: unsupported msgpack extension type {code}")]
    UnsupportedExtension {
        /// Where the value is.
        path: Path,
        /// The extension type code.
        code: i8,
    },
}

impl DecodeError {
    /// Path to the offending value, when one part of the value is to blame.
    pub fn path(&self) -> Option<&Path> {
        match self {
            DecodeError::Msgpack(_) | DecodeError::Json(_) | DecodeError::TrailingBytes { .. } => {
                None
            }
            DecodeError::WrongKind { path, .. }
            | DecodeError::UnsupportedAttribute { path }
            | DecodeError::DuplicateAttribute { path }
            | DecodeError::NonStringKey { path }
            | DecodeError::InvalidUtf8 { path }
            | DecodeError::UnsupportedExtension { path, .. } => Some(path),
        }
    }
}

/// A value that does not fit the type it is to be encoded as: a provider bug.
///
/// The text names the attribute path and kinds, never the value.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A known value of another kind than the type wants.
    #[error("at {path}: expected {expected}, found {found}")]
    WrongKind {
        /// Where the value is.
        path: Path,
        /// Kind the type wants.
        expected: &'static str,
        /// Kind of the value.
        found: &'static str,
    },
    /// An object attribute the type does not have; the path ends with its name.
    #[error("at {path}: unsupported attribute")]
    UnsupportedAttribute {
        /// Path to the attribute, its name last.
        path: Path,
    },
    /// Writing msgpack failed (not expected when writing to memory).
    #[error("could not write msgpack")]
    Msgpack(#[source] rmpv::encode::Error),
}

impl EncodeError {
    /// Path to the offending value, when one part of the value is to blame.
    pub fn path(&self) -> Option<&Path> {
        match self {
            EncodeError::WrongKind { path, .. } | EncodeError::UnsupportedAttribute { path } => {
                Some(path)
            }
            EncodeError::Msgpack(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource_type() -> Type {
        Type::Object(vec![
            ("org_id".into(), Type::String),
            ("is_prod".into(), Type::Bool),
        ])
    }

    #[test]
    fn primitive_types_as_json() {
        assert_eq!(Type::String.to_json(), br#""string""#);
        assert_eq!(Type::Bool.to_json(), br#""bool""#);
    }

    #[test]
    fn object_type_as_json() {
        let json = resource_type().to_json();
        assert_eq!(json, br#"["object",{"is_prod":"bool","org_id":"string"}]"#);
    }

    #[test]
    fn nested_object_type_as_json() {
        let ty = Type::Object(vec![("inner".into(), Type::Object(vec![]))]);
        assert_eq!(ty.to_json(), br#"["object",{"inner":["object",{}]}]"#);
    }

    #[test]
    fn type_attribute_lookup() {
        assert_eq!(resource_type().attribute("is_prod"), Some(&Type::Bool));
        assert_eq!(resource_type().attribute("nope"), None);
        assert_eq!(Type::String.attribute("org_id"), None);
    }

    #[test]
    fn knownness() {
        assert!(Value::Null.is_known());
        assert!(Value::Null.is_null());
        assert!(!Value::unknown().is_known());
        assert!(!Value::unknown().is_null());
        let partly = Value::object([("a", Value::from("x")), ("b", Value::unknown())]);
        assert!(partly.is_known());
        assert!(!partly.is_wholly_known());
        let nested = Value::object([("inner", partly)]);
        assert!(!nested.is_wholly_known());
        let whole = Value::object([("a", Value::from(true)), ("b", Value::Null)]);
        assert!(whole.is_wholly_known());
    }

    #[test]
    fn accessors() {
        let mut value = Value::object([("org_id", Value::from("00D")), ("is_prod", true.into())]);
        assert_eq!(value.get("org_id").and_then(Value::as_str), Some("00D"));
        assert_eq!(value.get("is_prod").and_then(Value::as_bool), Some(true));
        assert_eq!(value.get("org_id").and_then(Value::as_bool), None);
        assert_eq!(value.get("missing"), None);

        value.set("org_id", Value::unknown());
        assert_eq!(value.get("org_id"), Some(&Value::unknown()));
        if let Some(v) = value.get_mut("is_prod") {
            *v = Value::Null;
        }
        assert_eq!(value.get("is_prod"), Some(&Value::Null));
        value.set("added", "y".into());
        assert_eq!(value.get("added").and_then(Value::as_str), Some("y"));
    }

    #[test]
    fn set_on_non_object_does_nothing() {
        let mut value = Value::Null;
        value.set("a", true.into());
        assert_eq!(value, Value::Null);
        assert_eq!(value.get_mut("a"), None);
    }

    #[test]
    fn error_text_names_path_not_value() {
        let err = DecodeError::WrongKind {
            path: Path::root().attribute("org_id"),
            expected: "string",
            found: "integer",
        };
        assert_eq!(
            err.to_string(),
            "at .org_id: expected string, found integer"
        );
        assert_eq!(err.path().map(Path::to_string).as_deref(), Some(".org_id"));
    }
}
