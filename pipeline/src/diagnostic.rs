//! Problems found in a document, each pointing at the place on the canvas it concerns, and the
//! ways they are written out: by id ([`Diagnostic`]'s `Display`, the golden tests), as a line
//! naming the places as a user knows them ([`Diagnostic::describe`], the command line), and as
//! the canvas's short label of the place ([`Diagnostic::location`], the problems list).

use serde::{Deserialize, Serialize};

use crate::document::Document;

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

    /// `error` or `warning`.
    fn severity_word(&self) -> &'static str {
        match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    /// One line naming where the problem is in words a user recognises, ids with the names of
    /// `doc`: `error [node n3 (get-training-job-details), port job_resource]: …`, a wire with
    /// its ends (`wire w1 (train.model -> eval.model)`), a group with its display name.
    pub fn describe(&self, doc: &Document) -> String {
        let mut at = Vec::new();
        if let Some(n) = &self.node {
            at.push(match doc.node(n) {
                Some(node) => format!("node {n} ({})", node.name),
                None => format!("node {n}"),
            });
            if let Some(p) = &self.port {
                at.push(format!("port {p}"));
            }
        }
        if let Some(w) = &self.wire {
            let ends = doc.wires.iter().find(|x| &x.id == w).map(|x| {
                let end = |node: &str, port: &str| format!("{}.{port}", task_name(doc, node));
                format!(
                    " ({} -> {})",
                    end(&x.from.node, &x.from.port),
                    end(&x.to.node, &x.to.port)
                )
            });
            at.push(format!("wire {w}{}", ends.unwrap_or_default()));
        }
        if let Some(g) = &self.group {
            match doc.group(g).and_then(|x| x.display_name.as_deref()) {
                Some(name) => at.push(format!("group {g} ({name})")),
                None => at.push(format!("group {g}")),
            }
        }
        if let Some(p) = &self.parameter {
            at.push(format!("parameter {p}"));
        }
        let severity = self.severity_word();
        if at.is_empty() {
            format!("{severity}: {}", self.message)
        } else {
            format!("{severity} [{}]: {}", at.join(", "), self.message)
        }
    }

    /// Where the problem is, as the canvas labels it beside the message: `train.model` (a port),
    /// `train` (a node), `condition Big model` (a group, by its display name or id), `wire`,
    /// `parameter lr`; empty for the pipeline as a whole.
    pub fn location(&self, doc: &Document) -> String {
        // Pushed piece by piece: the problems list is in the browser's start chunk.
        let mut out = String::new();
        if let Some(n) = &self.node {
            out.push_str(task_name(doc, n));
            if let Some(p) = &self.port {
                out.push('.');
                out.push_str(p);
            }
        } else if let Some(g) = &self.group {
            out.push_str("condition ");
            out.push_str(
                doc.group(g)
                    .and_then(|x| x.display_name.as_deref())
                    .unwrap_or(g),
            );
        } else if self.wire.is_some() {
            out.push_str("wire");
        }
        if let Some(p) = &self.parameter {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str("parameter ");
            out.push_str(p);
        }
        out
    }
}

/// The task name of node `id`, or the id when there is no such node.
fn task_name<'a>(doc: &'a Document, id: &'a str) -> &'a str {
    doc.node(id).map_or(id, |n| n.name.as_str())
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.severity_word())?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Group, GroupKind, Node, PortRef, Wire};

    fn doc() -> Document {
        let mut doc = Document::new("p");
        doc.nodes
            .push(Node::new("n3", "get-training-job-details", "c"));
        doc.nodes.push(Node::new("n4", "eval", "c"));
        doc.wires.push(Wire {
            id: "w1".into(),
            from: PortRef {
                node: "n3".into(),
                port: "model".into(),
            },
            to: PortRef {
                node: "n4".into(),
                port: "model".into(),
            },
        });
        for (id, display_name) in [("g1", Some("Big model")), ("g2", None)] {
            doc.groups.push(Group {
                id: id.into(),
                kind: GroupKind::Else,
                name: None,
                display_name: display_name.map(str::to_string),
                parent: None,
                position: Default::default(),
                size: Default::default(),
            });
        }
        doc
    }

    /// Each diagnostic as `Display`, [`Diagnostic::describe`] and [`Diagnostic::location`]
    /// write it.
    #[test]
    fn diagnostics_are_written_three_ways() {
        let cases = [
            (
                Diagnostic::error("input job_resource is not set").at_port("n3", "job_resource"),
                "error [node n3, port job_resource]: input job_resource is not set",
                "error [node n3 (get-training-job-details), port job_resource]: input job_resource is not set",
                "get-training-job-details.job_resource",
            ),
            (
                Diagnostic::warning("w").at_node("n9"),
                "warning [node n9]: w",
                "warning [node n9]: w",
                "n9",
            ),
            (
                Diagnostic::error("bad"),
                "error: bad",
                "error: bad",
                "",
            ),
            (
                Diagnostic::error("type mismatch")
                    .at_wire("w1")
                    .at_port("n4", "model"),
                "error [node n4, port model; wire w1]: type mismatch",
                "error [node n4 (eval), port model, wire w1 (get-training-job-details.model -> eval.model)]: type mismatch",
                "eval.model",
            ),
            (
                Diagnostic::error("dangling").at_wire("w9"),
                "error [wire w9]: dangling",
                "error [wire w9]: dangling",
                "wire",
            ),
            (
                Diagnostic::error("c").at_group("g1"),
                "error [group g1]: c",
                "error [group g1 (Big model)]: c",
                "condition Big model",
            ),
            (
                Diagnostic::error("c").at_group("g2"),
                "error [group g2]: c",
                "error [group g2]: c",
                "condition g2",
            ),
            (
                Diagnostic::error("twice").at_parameter("lr"),
                "error [parameter lr]: twice",
                "error [parameter lr]: twice",
                "parameter lr",
            ),
            (
                Diagnostic::error("x").at_group("g1").at_parameter("lr"),
                "error [group g1; parameter lr]: x",
                "error [group g1 (Big model), parameter lr]: x",
                "condition Big model, parameter lr",
            ),
        ];
        let doc = doc();
        for (d, shown, described, location) in cases {
            assert_eq!(d.to_string(), shown);
            assert_eq!(d.describe(&doc), described);
            assert_eq!(d.location(&doc), location, "{d}");
        }
    }
}
