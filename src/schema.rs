//! Schemas as plain data, and their protocol form.
//!
//! Descriptions written here are the only source of attribute text: the docs in `docs/`
//! repeat them, and a test keeps the two in step.

use crate::proto::tfplugin6 as proto;
use crate::value::Type;

/// The Terraform type of an attribute; this provider needs only these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `string`
    String,
    /// `bool`
    Bool,
}

impl Kind {
    fn value_type(self) -> Type {
        match self {
            Kind::String => Type::String,
            Kind::Bool => Type::Bool,
        }
    }
}

/// Who sets an attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// The configuration must set it.
    Required,
    /// The configuration may set it; otherwise it is null.
    Optional,
    /// Only the provider sets it.
    Computed,
}

/// One attribute of a provider or resource block.
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    /// The name used in configuration and state.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Who sets it.
    pub presence: Presence,
    /// Markdown shown in the docs and by language servers.
    pub description: &'static str,
    /// Terraform hides the value in plan output.
    pub sensitive: bool,
    /// Terraform marks it deprecated (it prints no warning itself; validation does).
    pub deprecated: bool,
}

/// A provider or resource schema: one block of attributes.
#[derive(Debug, Clone, Copy)]
pub struct Block {
    /// The state format version; bumped when stored state needs an upgrade.
    pub version: i64,
    /// Markdown describing the whole block.
    pub description: &'static str,
    /// Its attributes, in documentation order.
    pub attributes: &'static [Attribute],
}

impl Block {
    /// The object type of a value of this block, for decoding and encoding values.
    pub fn value_type(&self) -> Type {
        let attributes = self.attributes.iter();
        Type::Object(
            attributes
                .map(|a| (a.name.to_string(), a.kind.value_type()))
                .collect(),
        )
    }

    /// Looks up an attribute by name.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
    }

    /// The schema as Terraform receives it from GetProviderSchema.
    pub fn to_proto(&self) -> proto::Schema {
        let attributes = self
            .attributes
            .iter()
            .map(|attribute| proto::schema::Attribute {
                name: attribute.name.to_string(),
                r#type: attribute.kind.value_type().to_json(),
                description: attribute.description.to_string(),
                description_kind: proto::StringKind::Markdown.into(),
                required: attribute.presence == Presence::Required,
                optional: attribute.presence == Presence::Optional,
                computed: attribute.presence == Presence::Computed,
                sensitive: attribute.sensitive,
                deprecated: attribute.deprecated,
                write_only: false,
            });
        proto::Schema {
            version: self.version,
            block: Some(proto::schema::Block {
                version: self.version,
                attributes: attributes.collect(),
                block_types: Vec::new(),
                description: self.description.to_string(),
                description_kind: proto::StringKind::Markdown.into(),
                deprecated: false,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: Block = Block {
        version: 2,
        description: "An example.",
        attributes: &[
            Attribute {
                name: "name",
                kind: Kind::String,
                presence: Presence::Required,
                description: "The name.",
                sensitive: false,
                deprecated: false,
            },
            Attribute {
                name: "secret",
                kind: Kind::String,
                presence: Presence::Optional,
                description: "A secret.",
                sensitive: true,
                deprecated: true,
            },
            Attribute {
                name: "ready",
                kind: Kind::Bool,
                presence: Presence::Computed,
                description: "Whether it is ready.",
                sensitive: false,
                deprecated: false,
            },
        ],
    };

    #[test]
    fn proto_schema_carries_every_flag() {
        let schema = EXAMPLE.to_proto();
        assert_eq!(schema.version, 2);
        let block = schema.block.expect("a block is always set");
        let names: Vec<_> = block.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["name", "secret", "ready"]);

        let [name, secret, ready] = &block.attributes[..] else {
            panic!("three attributes expected");
        };
        assert!(name.required && !name.optional && !name.computed);
        assert_eq!(name.r#type, b"\"string\"");
        assert!(secret.optional && secret.sensitive && secret.deprecated);
        assert!(ready.computed && !ready.optional && !ready.required);
        assert_eq!(ready.r#type, b"\"bool\"");
    }

    #[test]
    fn value_type_lists_attributes_in_order() {
        let Type::Object(attributes) = EXAMPLE.value_type() else {
            panic!("a block's type is an object");
        };
        let names: Vec<_> = attributes.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["name", "secret", "ready"]);
        assert!(EXAMPLE.attribute("secret").is_some());
        assert!(EXAMPLE.attribute("missing").is_none());
    }
}
