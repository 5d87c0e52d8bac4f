//! Problems found in a document, each pointing at the place on the canvas it concerns.

use serde::{Deserialize, Serialize};

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The document cannot be compiled.
    Error,
    /// Compiles, but probably not what was meant.
    Warning,
}

/// One problem and where it is. Every location field is optional; the canvas highlights the most
/// specific one present (a port of a node, a node, a wire, a group, a pipeline parameter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in words a user understands.
    pub message: String,
    /// Node id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Port (input or output name) of `node`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// Wire id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wire: Option<String>,
    /// Group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Pipeline parameter name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

impl Diagnostic {
    /// An error about the pipeline as a whole.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            node: None,
            port: None,
            wire: None,
            group: None,
            parameter: None,
        }
    }

    /// A warning about the pipeline as a whole.
    pub fn warning(message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(message)
        }
    }

    /// Points the diagnostic at a node.
    pub fn at_node(mut self, node: &str) -> Self {
        self.node = Some(node.to_string());
        self
    }

    /// Points the diagnostic at a port of a node.
    pub fn at_port(mut self, node: &str, port: &str) -> Self {
        self.node = Some(node.to_string());
        self.port = Some(port.to_string());
        self
    }

    /// Points the diagnostic at a wire.
    pub fn at_wire(mut self, wire: &str) -> Self {
        self.wire = Some(wire.to_string());
        self
    }

    /// Points the diagnostic at a group.
    pub fn at_group(mut self, group: &str) -> Self {
        self.group = Some(group.to_string());
        self
    }

    /// Points the diagnostic at a pipeline parameter.
    pub fn at_parameter(mut self, name: &str) -> Self {
        self.parameter = Some(name.to_string());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}")?;
        let mut at = Vec::new();
        if let Some(n) = &self.node {
            match &self.port {
                Some(p) => at.push(format!("node {n}, port {p}")),
                None => at.push(format!("node {n}")),
            }
        }
        if let Some(w) = &self.wire {
            at.push(format!("wire {w}"));
        }
        if let Some(g) = &self.group {
            at.push(format!("group {g}"));
        }
        if let Some(p) = &self.parameter {
            at.push(format!("parameter {p}"));
        }
        if !at.is_empty() {
            write!(f, " [{}]", at.join("; "))?;
        }
        write!(f, ": {}", self.message)
    }
}
