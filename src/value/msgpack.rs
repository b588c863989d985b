//! cty's msgpack encoding of values, as Terraform puts it in `DynamicValue.msgpack`.
//!
//! The encoding, as cty defines it: null is msgpack nil; an unknown value is extension
//! type 0 (Terraform writes fixext1 with one zero byte); an unknown value with refinements
//! is extension type 12 whose payload is a msgpack map of refinements; a bool is a msgpack
//! bool; a string is a msgpack str; an object is a map from attribute name to value.

use std::collections::BTreeMap;

use super::{DecodeError, EncodeError, Path, Type, Value};

/// cty's extension type for an unknown value.
const UNKNOWN_EXT: i8 = 0;

/// cty's extension type for an unknown value with refinements (cty 1.13 and later).
const REFINED_UNKNOWN_EXT: i8 = 12;

/// Nesting limit for reading msgpack. This provider's values nest a few levels at most
/// (rmpv counts a string or extension as one more level), so anything deeper is garbage;
/// a low limit keeps the recursion far from the stack's end.
const MAX_DEPTH: usize = 32;

impl Value {
    /// Decodes cty msgpack bytes (`DynamicValue.msgpack`) as a value of type `ty`.
    ///
    /// An object must not have attributes outside its type; an attribute of the type that
    /// is absent decodes as [`Value::Null`] (Terraform always sends every attribute).
    /// Null and unknown (plain or refined) are accepted at any level.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the bytes are not exactly one msgpack value or do not fit
    /// `ty`; the error names the attribute path.
    pub fn decode_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
        let mut rest = bytes;
        let raw = rmpv::decode::read_value_with_max_depth(&mut rest, MAX_DEPTH)
            .map_err(DecodeError::Msgpack)?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes { count: rest.len() });
        }
        from_msgpack(raw, ty, &mut Path::root())
    }

    /// Encodes the value as cty msgpack bytes (`DynamicValue.msgpack`) of type `ty`.
    ///
    /// Object attributes are written in name order, as cty does, and an attribute of the
    /// type that the value lacks is written as null. A plain unknown becomes fixext1 type 0
    /// with a zero byte; a refined unknown becomes extension 12 with its kept payload.
    ///
    /// # Errors
    ///
    /// [`EncodeError`] when the value does not fit `ty`, naming the attribute path.
    pub fn encode_msgpack(&self, ty: &Type) -> Result<Vec<u8>, EncodeError> {
        let raw = to_msgpack(self, ty, &mut Path::root())?;
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &raw).map_err(EncodeError::Msgpack)?;
        Ok(out)
    }
}

/// Converts one decoded msgpack value at `path` to a value of type `ty`.
fn from_msgpack(raw: rmpv::Value, ty: &Type, path: &mut Path) -> Result<Value, DecodeError> {
    match (raw, ty) {
        // TODO: rmpv reads the reserved byte 0xc1 as nil, so it decodes as null instead
        // of being refused. Harmless (null fits every type) but not strict.
        (rmpv::Value::Nil, _) => Ok(Value::Null),
        (rmpv::Value::Ext(UNKNOWN_EXT, _), _) => Ok(Value::Unknown(None)),
        (rmpv::Value::Ext(REFINED_UNKNOWN_EXT, payload), _) => Ok(Value::Unknown(Some(payload))),
        (rmpv::Value::Ext(code, _), _) => Err(DecodeError::UnsupportedExtension {
            path: path.clone(),
            code,
        }),
        (rmpv::Value::Boolean(b), Type::Bool) => Ok(Value::Bool(b)),
        (rmpv::Value::String(s), Type::String) => match s.into_str() {
            Some(s) => Ok(Value::String(s)),
            None => Err(DecodeError::InvalidUtf8 { path: path.clone() }),
        },
        (rmpv::Value::Map(entries), Type::Object(attributes)) => {
            object_from_msgpack(entries, attributes, path)
        }
        (raw, ty) => Err(DecodeError::WrongKind {
            path: path.clone(),
            expected: ty.kind(),
            found: msgpack_kind(&raw),
        }),
    }
}

/// Converts the entries of a msgpack map at `path` to an object with `attributes`.
fn object_from_msgpack(
    entries: Vec<(rmpv::Value, rmpv::Value)>,
    attributes: &[(String, Type)],
    path: &mut Path,
) -> Result<Value, DecodeError> {
    let mut object = BTreeMap::new();
    for (key, raw) in entries {
        let name = match key {
            rmpv::Value::String(s) => s
                .into_str()
                .ok_or_else(|| DecodeError::InvalidUtf8 { path: path.clone() })?,
            _ => return Err(DecodeError::NonStringKey { path: path.clone() }),
        };
        let Some((_, attribute_ty)) = attributes.iter().find(|(n, _)| *n == name) else {
            let path = path.attribute(&name);
            return Err(DecodeError::UnsupportedAttribute { path });
        };
        if object.contains_key(&name) {
            let path = path.attribute(&name);
            return Err(DecodeError::DuplicateAttribute { path });
        }
        path.push(&name);
        let value = from_msgpack(raw, attribute_ty, path)?;
        path.pop();
        object.insert(name, value);
    }
    for (name, _) in attributes {
        object.entry(name.clone()).or_insert(Value::Null);
    }
    Ok(Value::Object(object))
}

/// Short name of a msgpack value's kind for error text.
fn msgpack_kind(raw: &rmpv::Value) -> &'static str {
    match raw {
        rmpv::Value::Nil => "null",
        rmpv::Value::Boolean(_) => "bool",
        rmpv::Value::Integer(_) => "integer",
        rmpv::Value::F32(_) | rmpv::Value::F64(_) => "float",
        rmpv::Value::String(_) => "string",
        rmpv::Value::Binary(_) => "binary",
        rmpv::Value::Array(_) => "array",
        rmpv::Value::Map(_) => "map",
        rmpv::Value::Ext(..) => "extension",
    }
}

/// Converts `value` at `path` to the msgpack value for type `ty`.
fn to_msgpack(value: &Value, ty: &Type, path: &mut Path) -> Result<rmpv::Value, EncodeError> {
    match (value, ty) {
        (Value::Null, _) => Ok(rmpv::Value::Nil),
        (Value::Unknown(None), _) => Ok(rmpv::Value::Ext(UNKNOWN_EXT, vec![0])),
        (Value::Unknown(Some(payload)), _) => {
            Ok(rmpv::Value::Ext(REFINED_UNKNOWN_EXT, payload.clone()))
        }
        (Value::Bool(b), Type::Bool) => Ok(rmpv::Value::Boolean(*b)),
        (Value::String(s), Type::String) => Ok(rmpv::Value::from(s.as_str())),
        (Value::Object(object), Type::Object(attributes)) => {
            if let Some(name) = object
                .keys()
                .find(|name| !attributes.iter().any(|(n, _)| n == *name))
            {
                let path = path.attribute(name);
                return Err(EncodeError::UnsupportedAttribute { path });
            }
            // cty writes attributes sorted by name; doing the same keeps our bytes equal
            // to Terraform's for the same value.
            let mut sorted: Vec<&(String, Type)> = attributes.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let mut entries = Vec::with_capacity(sorted.len());
            for (name, attribute_ty) in sorted {
                let value = object.get(name).unwrap_or(&Value::Null);
                path.push(name);
                let raw = to_msgpack(value, attribute_ty, path)?;
                path.pop();
                entries.push((rmpv::Value::from(name.as_str()), raw));
            }
            Ok(rmpv::Value::Map(entries))
        }
        (value, ty) => Err(EncodeError::WrongKind {
            path: path.clone(),
            expected: ty.kind(),
            found: value.kind(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource_type() -> Type {
        Type::Object(vec![
            ("org_id".into(), Type::String),
            ("is_prod".into(), Type::Bool),
            (
                "nested".into(),
                Type::Object(vec![("flag".into(), Type::Bool)]),
            ),
        ])
    }

    fn round_trip(value: &Value, ty: &Type) -> Value {
        let bytes = value
            .encode_msgpack(ty)
            .expect("test values fit their types");
        Value::decode_msgpack(&bytes, ty).expect("our own encoding decodes")
    }

    /// msgpack bytes of a raw rmpv value, for building inputs by hand.
    fn raw_bytes(raw: &rmpv::Value) -> Vec<u8> {
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, raw).expect("writing to a Vec cannot fail");
        out
    }

    /// Refinement payload "definitely not null" (cty refinement key 1 = true).
    fn not_null_refinement() -> Vec<u8> {
        raw_bytes(&rmpv::Value::Map(vec![(1.into(), true.into())]))
    }

    #[test]
    fn primitives_have_cty_bytes() {
        assert_eq!(
            Value::from(true).encode_msgpack(&Type::Bool).ok(),
            Some(vec![0xc3])
        );
        assert_eq!(
            Value::from(false).encode_msgpack(&Type::Bool).ok(),
            Some(vec![0xc2])
        );
        let abc = Value::from("abc").encode_msgpack(&Type::String).ok();
        assert_eq!(abc, Some(vec![0xa3, b'a', b'b', b'c']));
        assert_eq!(
            Value::Null.encode_msgpack(&Type::String).ok(),
            Some(vec![0xc0])
        );
    }

    #[test]
    fn primitives_round_trip() {
        for value in [Value::from(true), Value::from(false), Value::Null] {
            assert_eq!(round_trip(&value, &Type::Bool), value);
        }
        let long = "x".repeat(70_000);
        for value in [Value::from(""), Value::from("héllo"), Value::from(long)] {
            assert_eq!(round_trip(&value, &Type::String), value);
        }
    }

    #[test]
    fn plain_unknown_is_terraforms_fixext1() {
        let bytes = [0xd4, 0x00, 0x00];
        let value = Value::decode_msgpack(&bytes, &Type::String).ok();
        assert_eq!(value, Some(Value::unknown()));
        let encoded = Value::unknown().encode_msgpack(&Type::String).ok();
        assert_eq!(encoded.as_deref(), Some(&bytes[..]));
    }

    #[test]
    fn any_ext0_payload_is_plain_unknown() {
        let bytes = raw_bytes(&rmpv::Value::Ext(0, vec![1, 2, 3]));
        let value = Value::decode_msgpack(&bytes, &resource_type()).ok();
        assert_eq!(value, Some(Value::unknown()));
    }

    #[test]
    fn refined_unknown_round_trips_byte_for_byte() {
        let payload = not_null_refinement();
        // ext 12 with a 3-byte payload {1: true}: ext8 header, length, type, then the map.
        let bytes = [0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc3];
        assert_eq!(raw_bytes(&rmpv::Value::Ext(12, payload.clone())), bytes);

        let value = Value::decode_msgpack(&bytes, &Type::String).ok();
        assert_eq!(value, Some(Value::Unknown(Some(payload))));
        let encoded = value.map(|v| v.encode_msgpack(&Type::String).ok());
        assert_eq!(encoded.flatten().as_deref(), Some(&bytes[..]));
    }

    #[test]
    fn refined_unknown_with_prefix_round_trips() {
        // {1: true, 2: "https://"}: not null, string prefix.
        let payload = raw_bytes(&rmpv::Value::Map(vec![
            (1.into(), true.into()),
            (2.into(), "https://".into()),
        ]));
        let bytes = raw_bytes(&rmpv::Value::Map(vec![(
            "org_id".into(),
            rmpv::Value::Ext(12, payload.clone()),
        )]));
        let ty = Type::Object(vec![("org_id".into(), Type::String)]);
        let value = Value::decode_msgpack(&bytes, &ty).ok();
        let expected = Value::object([("org_id", Value::Unknown(Some(payload)))]);
        assert_eq!(value.as_ref(), Some(&expected));
        assert_eq!(expected.encode_msgpack(&ty).ok(), Some(bytes));
    }

    #[test]
    fn object_round_trips() {
        let value = Value::object([
            ("org_id", Value::from("00D000000000001")),
            ("is_prod", Value::unknown()),
            ("nested", Value::object([("flag", Value::from(true))])),
        ]);
        assert_eq!(round_trip(&value, &resource_type()), value);
    }

    #[test]
    fn null_object_and_null_nested_object() {
        assert_eq!(round_trip(&Value::Null, &resource_type()), Value::Null);
        let value = Value::object([
            ("org_id", Value::Null),
            ("is_prod", Value::Null),
            ("nested", Value::Null),
        ]);
        assert_eq!(round_trip(&value, &resource_type()), value);
    }

    #[test]
    fn object_attributes_are_written_sorted_by_name() {
        let ty = Type::Object(vec![("b".into(), Type::Bool), ("a".into(), Type::Bool)]);
        let value = Value::object([("a", Value::from(true)), ("b", Value::from(false))]);
        let expected = [0x82, 0xa1, b'a', 0xc3, 0xa1, b'b', 0xc2];
        assert_eq!(
            value.encode_msgpack(&ty).ok().as_deref(),
            Some(&expected[..])
        );
    }

    #[test]
    fn attribute_missing_from_value_is_written_as_null() {
        let ty = Type::Object(vec![("a".into(), Type::Bool)]);
        let bytes = Value::object::<_, String>([]).encode_msgpack(&ty).ok();
        assert_eq!(bytes.as_deref(), Some(&[0x81, 0xa1, b'a', 0xc0][..]));
    }

    #[test]
    fn attribute_missing_from_bytes_decodes_as_null() {
        let bytes = raw_bytes(&rmpv::Value::Map(vec![("org_id".into(), "x".into())]));
        let value = Value::decode_msgpack(&bytes, &resource_type()).ok();
        let expected = Value::object([
            ("org_id", Value::from("x")),
            ("is_prod", Value::Null),
            ("nested", Value::Null),
        ]);
        assert_eq!(value, Some(expected));
    }

    #[test]
    fn wrong_kind_names_the_path() {
        let bytes = raw_bytes(&rmpv::Value::Map(vec![("org_id".into(), 42.into())]));
        let err = Value::decode_msgpack(&bytes, &resource_type()).err();
        let text = err.map(|e| e.to_string());
        assert_eq!(
            text.as_deref(),
            Some("at .org_id: expected string, found integer")
        );

        let bytes = raw_bytes(&rmpv::Value::Map(vec![(
            "nested".into(),
            rmpv::Value::Map(vec![("flag".into(), "secret-value".into())]),
        )]));
        let err = Value::decode_msgpack(&bytes, &resource_type()).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(text, "at .nested.flag: expected bool, found string");
        assert!(!text.contains("secret-value"));
    }

    #[test]
    fn wrong_kind_at_the_root() {
        let err = Value::decode_msgpack(&[0xa1, b'x'], &resource_type()).err();
        let text = err.map(|e| e.to_string());
        assert_eq!(
            text.as_deref(),
            Some("at (root): expected object, found string")
        );
        let err = Value::decode_msgpack(&[0x90], &Type::Bool).err();
        assert!(matches!(
            err,
            Some(DecodeError::WrongKind { found: "array", .. })
        ));
    }

    #[test]
    fn extra_attribute_is_named() {
        let bytes = raw_bytes(&rmpv::Value::Map(vec![("surprise".into(), true.into())]));
        let err = Value::decode_msgpack(&bytes, &resource_type()).err();
        let text = err.map(|e| e.to_string());
        assert_eq!(text.as_deref(), Some("at .surprise: unsupported attribute"));
    }

    #[test]
    fn duplicate_and_non_string_keys_are_refused() {
        let bytes = raw_bytes(&rmpv::Value::Map(vec![
            ("is_prod".into(), true.into()),
            ("is_prod".into(), false.into()),
        ]));
        let err = Value::decode_msgpack(&bytes, &resource_type()).err();
        assert!(matches!(err, Some(DecodeError::DuplicateAttribute { .. })));

        let bytes = raw_bytes(&rmpv::Value::Map(vec![(1.into(), true.into())]));
        let err = Value::decode_msgpack(&bytes, &resource_type()).err();
        assert!(matches!(err, Some(DecodeError::NonStringKey { .. })));
    }

    #[test]
    fn other_extension_types_are_refused() {
        let bytes = raw_bytes(&rmpv::Value::Ext(5, vec![0]));
        let err = Value::decode_msgpack(&bytes, &Type::String).err();
        assert!(matches!(
            err,
            Some(DecodeError::UnsupportedExtension { code: 5, .. })
        ));
    }

    #[test]
    fn non_utf8_strings_are_refused() {
        let err = Value::decode_msgpack(&[0xa2, 0xff, 0xfe], &Type::String).err();
        assert!(matches!(err, Some(DecodeError::InvalidUtf8 { .. })));
        let key = [0x81, 0xa1, 0xff, 0xc0];
        let err = Value::decode_msgpack(&key, &resource_type()).err();
        assert!(matches!(err, Some(DecodeError::InvalidUtf8 { .. })));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let err = Value::decode_msgpack(&[0xc3, 0xc0], &Type::Bool).err();
        assert!(matches!(err, Some(DecodeError::TrailingBytes { count: 1 })));
    }

    #[test]
    fn truncated_input_is_refused() {
        let value = Value::object([
            ("org_id", Value::from("00D000000000001")),
            ("is_prod", Value::from(true)),
            ("nested", Value::Unknown(Some(not_null_refinement()))),
        ]);
        let bytes = value.encode_msgpack(&resource_type()).unwrap_or_default();
        assert!(bytes.len() > 10);
        for len in 0..bytes.len() {
            let result = Value::decode_msgpack(&bytes[..len], &resource_type());
            assert!(result.is_err(), "a prefix of {len} bytes decoded");
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = vec![0x91; 100_000];
        let err = Value::decode_msgpack(&deep, &resource_type()).err();
        assert!(matches!(err, Some(DecodeError::Msgpack(_))));
        let mut maps = Vec::new();
        for _ in 0..50_000 {
            maps.extend_from_slice(&[0x81, 0xa1, b'a']);
        }
        let err = Value::decode_msgpack(&maps, &resource_type()).err();
        assert!(matches!(err, Some(DecodeError::Msgpack(_))));
    }

    #[test]
    fn huge_declared_lengths_do_not_allocate_or_panic() {
        // map32 / str32 / ext32 claiming 4 GiB with almost nothing behind them.
        for bytes in [
            &[0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0][..],
            &[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'][..],
            &[0xc9, 0xff, 0xff, 0xff, 0xff, 0x0c, 0x00][..],
        ] {
            assert!(Value::decode_msgpack(bytes, &resource_type()).is_err());
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        // A fixed linear congruential generator (Knuth's MMIX constants): the same inputs
        // on every run.
        let mut state: u64 = 0x5eed;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u8
        };
        let types = [resource_type(), Type::String, Type::Bool];
        let mut errors = 0;
        for round in 0..2_000 {
            let len = usize::from(next() % 48);
            let mut bytes: Vec<u8> = (0..len).map(|_| next()).collect();
            if round % 3 == 0 && !bytes.is_empty() {
                // Start with a map header so object decoding gets exercised too.
                bytes[0] = 0x80 | (bytes[0] & 0x0f);
            }
            let ty = &types[round % types.len()];
            match Value::decode_msgpack(&bytes, ty) {
                Err(_) => errors += 1,
                // Anything that does decode must survive our own encoding unchanged.
                Ok(value) => assert_eq!(round_trip(&value, ty), value, "input {bytes:02x?}"),
            }
        }
        assert!(
            errors > 1_500,
            "only {errors} of 2000 random inputs were refused"
        );
    }

    #[test]
    fn encoding_checks_kinds() {
        let err = Value::from("yes").encode_msgpack(&Type::Bool).err();
        let text = err.map(|e| e.to_string());
        assert_eq!(
            text.as_deref(),
            Some("at (root): expected bool, found string")
        );

        let value = Value::object([("nested", Value::object([("flag", Value::from("no"))]))]);
        let err = value.encode_msgpack(&resource_type()).err();
        assert_eq!(
            err.as_ref()
                .and_then(EncodeError::path)
                .map(Path::to_string)
                .as_deref(),
            Some(".nested.flag")
        );
        let err = Value::object([("bogus", Value::Null)])
            .encode_msgpack(&resource_type())
            .err();
        let text = err.map(|e| e.to_string());
        assert_eq!(text.as_deref(), Some("at .bogus: unsupported attribute"));
        assert!(Value::from(true).encode_msgpack(&resource_type()).is_err());
    }
}
