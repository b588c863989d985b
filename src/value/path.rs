//! Attribute paths: where inside a value something is, for error text and diagnostics.

use std::fmt;

/// A path from the top of a value to one of its nested attributes, such as `.org_id`.
///
/// This provider's types are objects of objects, so a path is a list of attribute names.
/// It displays as the names joined with dots (`.a.b`); the top-level value itself, the
/// empty path, displays as `(root)`. Diagnostics turn [`Path::steps`] into Terraform's
/// attribute path so Terraform can point at the offending line of configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Path {
    steps: Vec<String>,
}

impl Path {
    /// The empty path: the top-level value.
    pub fn root() -> Path {
        Path::default()
    }

    /// This path extended by one attribute name.
    pub fn attribute(&self, name: &str) -> Path {
        let mut steps = self.steps.clone();
        steps.push(name.to_owned());
        Path { steps }
    }

    /// The attribute names from the top of the value down, outermost first.
    pub fn steps(&self) -> &[String] {
        &self.steps
    }

    /// Whether this is the top-level value itself.
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// Steps into attribute `name`; [`Path::pop`] undoes it. Used while walking a value.
    pub(crate) fn push(&mut self, name: &str) {
        self.steps.push(name.to_owned());
    }

    /// Steps back out of the innermost attribute; does nothing at the root.
    pub(crate) fn pop(&mut self) {
        self.steps.pop();
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
            return f.write_str("(root)");
        }
        for step in &self.steps {
            write!(f, ".{step}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_displays_as_root() {
        assert_eq!(Path::root().to_string(), "(root)");
        assert!(Path::root().is_root());
    }

    #[test]
    fn nested_attributes_display_with_dots() {
        let path = Path::root().attribute("timeouts").attribute("create");
        assert_eq!(path.to_string(), ".timeouts.create");
        assert_eq!(path.steps(), ["timeouts", "create"]);
        assert!(!path.is_root());
    }

    #[test]
    fn push_and_pop_walk_in_and_out() {
        let mut path = Path::root();
        path.push("org_id");
        assert_eq!(path, Path::root().attribute("org_id"));
        path.pop();
        path.pop();
        assert!(path.is_root());
    }
}
