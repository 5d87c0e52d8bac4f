//! The pipeline document: what the canvas edits and what is saved to disk.
//!
//! A document is plain, human-diffable JSON with a format version. Nodes, wires and groups have
//! stable ids that never change once given; names (the KFP task names) may be edited. Each node
//! runs a component embedded in the document, so a document compiles on its own, with no catalog.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ir::{
    ArtifactTypeSchema, ExecutorSpec, InputDefinitions, OutputDefinitions, ParameterType,
    RetryPolicy,
};
use crate::map::Map;
use crate::shared::Shared;

/// The document format this version reads and writes.
pub const FORMAT: &str = "pipeline-canvas/v1";

/// How deep groups may nest inside one another in a pipeline, and how deep sub-pipelines may
/// nest in pipelines; the validator reports deeper nesting and the importer refuses it. Real
/// pipelines nest a few levels; the bound keeps every walk over the nesting short and the
/// recursion over sub-pipelines within the stack.
pub const MAX_NESTING: usize = 64;

/// A pipeline as the canvas shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Document {
    /// Always [`FORMAT`].
    pub format: String,
    /// The pipeline name (`pipelineInfo.name`): lowercase letters, digits and dashes.
    pub name: String,
    /// A human-readable name (`pipelineInfo.displayName`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Free text shown in the UI and written to the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Default pipeline root (`gs://…` or a local path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_root: Option<String>,
    /// Pipeline parameters, in declaration order.
    #[serde(default)]
    pub parameters: Vec<PipelineParameter>,
    /// Artifact inputs (pipelines used as components take artifacts too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artifact_inputs: Vec<ArtifactInput>,
    /// Pipeline outputs, each taken from task outputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<PipelineOutput>,
    /// Components used by nodes, by key. Shared between copies of the document until one is
    /// changed: an edit that leaves them alone neither copies nor compares them.
    #[serde(default)]
    pub components: Shared<Map<ComponentDef>>,
    /// The tasks.
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// Data connections from an output port to an input port.
    #[serde(default)]
    pub wires: Vec<Wire>,
    /// Frames (conditions, branches, loops, exit handlers) holding nodes and other groups.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// The Kubernetes platform spec (the second YAML document of a compiled pipeline) less the
    /// tasks' own settings, which are on their nodes ([`Node::kubernetes`]): what applies to the
    /// whole pipeline (`pipelineConfig`, other platforms), as written. The compiler puts the two
    /// back together ([`crate::Compiled::platform_spec`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_spec: Option<Value>,
    /// Notes on the canvas (Markdown), free or attached to a task. They are the document's
    /// own: nothing of them goes into the compiled spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<Comment>,
}

/// The width a new comment is drawn at.
pub const COMMENT_WIDTH: f64 = 220.0;

fn comment_width() -> f64 {
    COMMENT_WIDTH
}

/// A note on the canvas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Comment {
    /// Stable id (`c1`).
    pub id: String,
    /// The note, in Markdown.
    #[serde(default)]
    pub text: String,
    /// Top-left corner: on the canvas, or from the task's corner when attached to one.
    #[serde(default)]
    pub position: Point,
    /// Width on the canvas; the height follows the text.
    #[serde(default = "comment_width")]
    pub width: f64,
    /// The task (node id) it is attached to: it moves with the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl Document {
    /// An empty pipeline called `name`.
    pub fn new(name: &str) -> Self {
        Self {
            format: FORMAT.to_string(),
            name: name.to_string(),
            display_name: None,
            description: None,
            pipeline_root: None,
            parameters: Vec::new(),
            artifact_inputs: Vec::new(),
            outputs: Vec::new(),
            components: Shared::default(),
            nodes: Vec::new(),
            wires: Vec::new(),
            groups: Vec::new(),
            platform_spec: None,
            comments: Vec::new(),
        }
    }

    /// Parses a document from JSON, naming the line and column of any error.
    pub fn from_json(text: &str) -> Result<Self, crate::DocumentError> {
        let doc: Document = serde_json::from_str(text).map_err(|e| crate::DocumentError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if doc.format != FORMAT {
            return Err(crate::DocumentError::Format(doc.format));
        }
        Ok(doc)
    }

    /// Pretty JSON, the on-disk form.
    pub fn to_json(&self) -> String {
        // Serializing these plain data types cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The node with this id, mutably.
    pub fn node_mut(&mut self, id: &str) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|n| n.id == id)
    }

    /// The node whose task name is `name`.
    pub fn node_by_name(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The group with this id.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The pipeline parameter called `name`.
    pub fn parameter(&self, name: &str) -> Option<&PipelineParameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// The type of the pipeline input (parameter or artifact) called `name`.
    pub fn input_type(&self, name: &str) -> Option<PortType> {
        if let Some(p) = self.parameter(name) {
            return Some(PortType::Parameter(p.ty));
        }
        self.artifact_inputs
            .iter()
            .find(|a| a.name == name)
            .map(|a| PortType::Artifact(a.artifact_type.title().to_string(), a.is_artifact_list))
    }

    /// The component a node runs.
    pub fn component_of(&self, node: &Node) -> Option<&ComponentDef> {
        self.components.get(&node.component)
    }

    /// An id not used by any node, wire or group, starting with `prefix`.
    pub fn fresh_id(&self, prefix: &str) -> String {
        let used: std::collections::HashSet<&str> = self
            .nodes
            .iter()
            .map(|n| n.id.as_str())
            .chain(self.wires.iter().map(|w| w.id.as_str()))
            .chain(self.groups.iter().map(|g| g.id.as_str()))
            .collect();
        (1..)
            .map(|i| format!("{prefix}{i}"))
            .find(|id| !used.contains(id.as_str()))
            .unwrap_or_default()
    }

    /// A task name based on `base` that no node uses yet (`base`, `base-2`, `base-3`, …).
    pub fn fresh_node_name(&self, base: &str) -> String {
        let base = crate::names::sanitize(base);
        let base = if base.is_empty() {
            "task".to_string()
        } else {
            base
        };
        let used: std::collections::HashSet<&str> =
            self.nodes.iter().map(|n| n.name.as_str()).collect();
        if !used.contains(base.as_str()) {
            return base;
        }
        (2..)
            .map(|i| format!("{base}-{i}"))
            .find(|n| !used.contains(n.as_str()))
            .unwrap_or_default()
    }

    /// The groups from `group` outwards to the root: `[group, parent, grandparent, …]`.
    /// Stops on a parent cycle and after [`MAX_NESTING`] groups (validation reports both).
    pub fn group_chain(&self, group: Option<&str>) -> Vec<String> {
        let mut chain: Vec<String> = Vec::new();
        let mut cur = group.map(str::to_string);
        while let Some(g) = cur {
            if chain.contains(&g) || chain.len() >= MAX_NESTING {
                break;
            }
            cur = self.group(&g).and_then(|gr| gr.parent.clone());
            chain.push(g);
        }
        chain
    }

    /// Removes a node and every wire touching it; groups are kept.
    pub fn remove_node(&mut self, id: &str) {
        self.nodes.retain(|n| n.id != id);
        self.wires.retain(|w| w.from.node != id && w.to.node != id);
        for n in &mut self.nodes {
            n.after.retain(|a| a != id);
        }
        for o in &mut self.outputs {
            o.from.retain(|p| p.node != id);
        }
        self.prune_components();
    }

    /// Removes a group, moving its members to its parent.
    pub fn remove_group(&mut self, id: &str) {
        let parent = self.group(id).and_then(|g| g.parent.clone());
        for n in &mut self.nodes {
            if n.group.as_deref() == Some(id) {
                n.group = parent.clone();
            }
        }
        for g in &mut self.groups {
            if g.parent.as_deref() == Some(id) {
                g.parent = parent.clone();
            }
        }
        self.groups.retain(|g| g.id != id);
    }

    /// Drops components no node uses (the components are written, and so copied if shared,
    /// only when one goes).
    pub fn prune_components(&mut self) {
        let used: std::collections::BTreeSet<&str> =
            self.nodes.iter().map(|n| n.component.as_str()).collect();
        if self.components.keys().all(|k| used.contains(k.as_str())) {
            return;
        }
        self.components.retain(|k, _| used.contains(k.as_str()));
    }
}

/// A pipeline parameter (`eval_acc_threshold: float = 0.87`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineParameter {
    /// Python-identifier-style name.
    pub name: String,
    /// The type.
    #[serde(rename = "type")]
    pub ty: ParameterType,
    /// The default; a parameter with a default is optional at run time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the spec marks it optional; unset means "when it has a default", as KFP writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

impl PipelineParameter {
    /// Whether a run may leave it unset.
    pub fn is_optional(&self) -> bool {
        self.optional.unwrap_or(self.default.is_some())
    }
}

/// An artifact input of a pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactInput {
    /// Python-identifier-style name.
    pub name: String,
    /// The artifact type.
    pub artifact_type: ArtifactTypeSchema,
    /// A list of artifacts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_artifact_list: bool,
    /// May be left unset.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A pipeline output: the value of a task output (or, with several sources in different
/// branches of one if/elif/else, of whichever branch ran).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineOutput {
    /// Output name.
    pub name: String,
    /// The task outputs it is taken from.
    pub from: Vec<PortRef>,
    /// The value as a list, as `dsl.Collected` writes it: needed to surface the output of one
    /// task from inside a condition (the list of what ran); implied when the value leaves a
    /// loop.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub collected: bool,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A component as embedded in a document: its interface and how it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentDef {
    /// The component name (`build-custom-train-image`); new tasks are named after it.
    pub name: String,
    /// A short title for palettes (`Build container image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Inputs.
    #[serde(default, skip_serializing_if = "InputDefinitions::is_empty")]
    pub input_definitions: InputDefinitions,
    /// Outputs.
    #[serde(default, skip_serializing_if = "OutputDefinitions::is_empty")]
    pub output_definitions: OutputDefinitions,
    /// How it runs, for a leaf component; exactly one of `executor` and `pipeline` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<ExecutorSpec>,
    /// The body of a pipeline used as a component (a sub-pipeline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Box<Document>>,
}

impl ComponentDef {
    /// The declared type of an input port.
    pub fn input_port(&self, port: &str) -> Option<PortType> {
        if let Some(p) = self.input_definitions.parameters.get(port) {
            return Some(PortType::Parameter(p.parameter_type));
        }
        self.input_definitions
            .artifacts
            .get(port)
            .map(|a| PortType::Artifact(a.artifact_type.title().to_string(), a.is_artifact_list))
    }

    /// The declared type of an output port.
    pub fn output_port(&self, port: &str) -> Option<PortType> {
        if let Some(p) = self.output_definitions.parameters.get(port) {
            return Some(PortType::Parameter(p.parameter_type));
        }
        self.output_definitions
            .artifacts
            .get(port)
            .map(|a| PortType::Artifact(a.artifact_type.title().to_string(), a.is_artifact_list))
    }

    /// Whether an input must be bound: neither optional nor defaulted.
    pub fn input_required(&self, port: &str) -> bool {
        if let Some(p) = self.input_definitions.parameters.get(port) {
            return !p.is_optional && p.default_value.is_none();
        }
        self.input_definitions
            .artifacts
            .get(port)
            .is_some_and(|a| !a.is_optional)
    }
}

/// The type carried by a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortType {
    /// A parameter of this type.
    Parameter(ParameterType),
    /// An artifact with this schema title; `true` for a list of artifacts.
    Artifact(String, bool),
}

impl PortType {
    /// Whether an output of type `self` may feed an input of type `input`.
    /// Err carries the reason, for the message shown when a wire is refused.
    pub fn can_feed(&self, input: &PortType) -> Result<(), String> {
        match (self, input) {
            (PortType::Parameter(a), PortType::Parameter(b)) => {
                // A final status is a dict (`PipelineTaskFinalStatus` is read as one).
                if a == b
                    || (*a == ParameterType::NumberInteger && *b == ParameterType::NumberDouble)
                    || (*a == ParameterType::TaskFinalStatus && *b == ParameterType::Struct)
                {
                    Ok(())
                } else {
                    Err(format!(
                        "{} output cannot feed {} input",
                        crate::names::with_article(a.python_name()),
                        crate::names::with_article(b.python_name())
                    ))
                }
            }
            (PortType::Artifact(a, al), PortType::Artifact(b, bl)) => {
                if al != bl {
                    return Err(if *al {
                        "a list of artifacts cannot feed a single-artifact input".to_string()
                    } else {
                        "a single artifact cannot feed a list-of-artifacts input".to_string()
                    });
                }
                if a == b || a == "system.Artifact" || b == "system.Artifact" {
                    Ok(())
                } else {
                    Err(format!("a {a} artifact cannot feed a {b} input"))
                }
            }
            (PortType::Parameter(a), PortType::Artifact(b, _)) => Err(format!(
                "{} parameter cannot feed an artifact input ({b})",
                crate::names::with_article(a.python_name())
            )),
            (PortType::Artifact(a, _), PortType::Parameter(b)) => Err(format!(
                "an artifact ({a}) cannot feed {} parameter input",
                crate::names::with_article(b.python_name())
            )),
        }
    }

    /// A short label: `float`, `system.Model`, `List[system.Dataset]`.
    pub fn label(&self) -> String {
        match self {
            PortType::Parameter(p) => p.python_name().to_string(),
            PortType::Artifact(t, false) => t.clone(),
            PortType::Artifact(t, true) => format!("List[{t}]"),
        }
    }
}

/// A task on the canvas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Node {
    /// Stable id (`n1`), never reused.
    pub id: String,
    /// The KFP task name: lowercase letters, digits and dashes, unique in the pipeline.
    pub name: String,
    /// The name shown in UIs (`taskInfo.name`); defaults to `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Key into [`Document::components`].
    pub component: String,
    /// Top-left corner on the canvas.
    #[serde(default)]
    pub position: Point,
    /// The innermost group holding the node; `None` for top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Constant values and pipeline-parameter bindings by input name (wires are separate).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub inputs: Map<Binding>,
    /// Ids of nodes that must finish first, beyond data dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Whether KFP may reuse cached results.
    #[serde(default = "default_true")]
    pub caching: bool,
    /// A fixed cache key (`cachingOptions.cacheKey`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_key: Option<String>,
    /// Retries with backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// Run even when upstream tasks failed (`ALL_UPSTREAM_TASKS_COMPLETED`): exit tasks and
    /// `ignore_upstream_failure()`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub run_after_failures: bool,
    /// The spec's component key (`comp-<this>`), when it is not the task name: set by imports
    /// so that compiling reproduces the original names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_name: Option<String>,
    /// The task's Kubernetes settings, as the platform spec holds them for its executor
    /// (`platforms.kubernetes.deploymentSpec.executors.exec-<task>`): `pvcMount`,
    /// `secretAsEnv`, `secretAsVolume`, `configMapAsEnv`, `configMapAsVolume`, `nodeSelector`,
    /// `tolerations`, `podMetadata`, `imagePullSecret`, … in KFP's own (camelCase) form. Kept on
    /// the node, so they follow it through renames and edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<Value>,
    /// Drawn open: a sub-pipeline task shows the tasks inside it. A view setting kept with the
    /// document (like [`Node::position`]); never compiled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expanded: bool,
}

fn default_true() -> bool {
    true
}

impl Node {
    /// A top-level node running `component`, with defaults everywhere else.
    pub fn new(id: &str, name: &str, component: &str) -> Self {
        Self {
            id: id.to_string(),
            name: name.to_string(),
            display_name: None,
            component: component.to_string(),
            position: Point::default(),
            group: None,
            inputs: Map::new(),
            after: Vec::new(),
            caching: true,
            cache_key: None,
            retry: None,
            run_after_failures: false,
            component_name: None,
            kubernetes: None,
            expanded: false,
        }
    }

    /// The spec's component key suffix: `comp-<this>`, `exec-<this>`.
    pub fn spec_component_name(&self) -> &str {
        self.component_name.as_deref().unwrap_or(&self.name)
    }

    /// The name shown on the canvas.
    pub fn shown_name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.name)
    }
}

/// A point on the canvas, in canvas pixels. A coordinate that is not finite is written as 0, so
/// that a document always reads back (JSON has no NaN or infinity).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Horizontal.
    #[serde(serialize_with = "finite")]
    pub x: f64,
    /// Vertical.
    #[serde(serialize_with = "finite")]
    pub y: f64,
}

/// A size on the canvas; written like a [`Point`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Size {
    /// Width.
    #[serde(serialize_with = "finite")]
    pub width: f64,
    /// Height.
    #[serde(serialize_with = "finite")]
    pub height: f64,
}

/// Writes `v`, or 0 when it is NaN or infinite.
fn finite<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(if v.is_finite() { *v } else { 0.0 })
}

/// A node input set without a wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Binding {
    /// A constant (JSON value of the input's type).
    Value(Value),
    /// The value of a pipeline input (parameter or artifact), by name.
    Parameter(String),
    /// The current item of an enclosing loop group (or a field of it).
    LoopItem {
        /// The loop group's id.
        group: String,
        /// A field of the item (`item.a`), when the items are objects.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
    /// The final status of an exit handler group (for its exit task).
    FinalStatus(String),
}

/// A connection from an output port to an input port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wire {
    /// Stable id (`w1`).
    pub id: String,
    /// The producing node's output.
    pub from: PortRef,
    /// The consuming node's input.
    pub to: PortRef,
}

/// A port of a node.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortRef {
    /// Node id.
    pub node: String,
    /// Input or output name.
    pub port: String,
}

/// A frame on the canvas holding nodes and groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Group {
    /// Stable id (`g1`).
    pub id: String,
    /// What the group does.
    pub kind: GroupKind,
    /// The spec's task name (`condition-3`), when imported; generated otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The name shown in UIs (`taskInfo.name`); defaults to the generated task name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The enclosing group; `None` for top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Top-left corner on the canvas.
    #[serde(default)]
    pub position: Point,
    /// Extent on the canvas.
    #[serde(default)]
    pub size: Size,
}

/// The kinds of group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum GroupKind {
    /// Runs its members only when `expression` holds (`dsl.If` / `dsl.Condition`, or an
    /// `Elif` inside a [`GroupKind::Branches`]).
    Condition {
        /// E.g. `get-training-job-details.eval_metric > eval_acc_threshold`; see [`crate::condition`].
        expression: String,
    },
    /// Inside a [`GroupKind::Branches`], runs when no earlier branch ran (`dsl.Else`).
    Else,
    /// An if/elif/else chain: its child groups are the branches, in order.
    Branches,
    /// Runs its members once per item (`dsl.ParallelFor`).
    Loop {
        /// What to iterate over.
        items: LoopItems,
        /// Most iterations at once; unlimited when unset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parallelism: Option<i64>,
        /// The spec's name for the item input, when imported; generated otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item_input: Option<String>,
        /// The type of one item of a parameter or task output list (`List[int]` → `int`), which
        /// the spec's `LIST` type does not say; a string when unset, as in KFP. Raw lists are
        /// typed by their items.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item_type: Option<crate::ir::ParameterType>,
    },
    /// Runs `exit_node` after its members, whether they succeed or fail (`dsl.ExitHandler`).
    ExitHandler {
        /// The exit task's node id; the node sits next to the group, not inside it.
        exit_node: String,
    },
}

/// What a loop iterates over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum LoopItems {
    /// A literal JSON list, as text (`[1, 2, 3]`).
    Raw(String),
    /// A list-typed pipeline parameter.
    Parameter(String),
    /// A list output of a task.
    Output(PortRef),
    /// The item of an enclosing loop, when the items are lists, or a list field of it
    /// (`for a in groups: for b in a.children`).
    LoopItem {
        /// The enclosing loop group's id.
        group: String,
        /// The field of its item to iterate (`children`); the item itself when unset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
}

impl LoopItems {
    /// How the items read on the canvas: the JSON list, the parameter's name, `task.output`,
    /// or `item(<loop id>)['field']` for (a field of) an enclosing loop's item.
    pub fn text(&self, doc: &Document) -> String {
        match self {
            LoopItems::Raw(r) => r.clone(),
            LoopItems::Parameter(p) => p.clone(),
            LoopItems::Output(o) => {
                let task = doc
                    .node(&o.node)
                    .map_or(o.node.as_str(), |n| n.name.as_str());
                format!("{task}.{}", o.port)
            }
            LoopItems::LoopItem { group, field } => crate::condition::Operand::LoopItem {
                group: Some(group.clone()),
                field: field.clone(),
            }
            .to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_that_is_not_finite_is_written_as_zero() {
        let mut doc = Document::new("p");
        let mut node = Node::new("n1", "a", "c");
        node.position = Point {
            x: f64::NAN,
            y: f64::INFINITY,
        };
        doc.nodes.push(node);
        let back = Document::from_json(&doc.to_json()).expect("reads back");
        assert_eq!(back.nodes[0].position, Point { x: 0.0, y: 0.0 });
    }

    #[test]
    fn group_chains_stop_at_cycles_and_the_nesting_limit() {
        let mut doc = Document::new("p");
        let group = |id: String, parent: String| Group {
            id,
            kind: GroupKind::Else,
            name: None,
            display_name: None,
            parent: Some(parent),
            position: Point::default(),
            size: Size::default(),
        };
        doc.groups.push(group("a".into(), "b".into()));
        doc.groups.push(group("b".into(), "a".into()));
        assert_eq!(doc.group_chain(Some("a")), ["a", "b"]);
        for i in 0..1000 {
            doc.groups
                .push(group(format!("g{i}"), format!("g{}", i + 1)));
        }
        assert_eq!(doc.group_chain(Some("g0")).len(), MAX_NESTING);
    }
}

#[cfg(test)]
mod comment_tests {
    use super::*;

    #[test]
    fn comments_are_kept_in_the_document_and_left_out_of_the_spec() {
        let mut doc = crate::synthetic::document(3);
        let plain = doc.to_json();
        assert!(!plain.contains("\"comments\""), "no comments, no field");
        let spec = crate::compile(&doc).spec.expect("compiles");
        doc.comments.push(Comment {
            id: "c1".into(),
            text: "**Why** this threshold: see the *eval* notes".into(),
            position: Point { x: 0.0, y: -96.0 },
            width: COMMENT_WIDTH,
            node: Some(doc.nodes[0].id.clone()),
        });
        let back = Document::from_json(&doc.to_json()).expect("reads back");
        assert_eq!(back, doc);
        assert_eq!(crate::compile(&back).spec.expect("compiles"), spec);
        // The width has a default; unknown fields are refused as everywhere in the document.
        let minimal: Comment =
            serde_json::from_str(r#"{"id": "c2", "text": "x"}"#).expect("minimal comment");
        assert_eq!(minimal.width, COMMENT_WIDTH);
        assert!(serde_json::from_str::<Comment>(r#"{"id": "c3", "colour": "red"}"#).is_err());
    }
}
