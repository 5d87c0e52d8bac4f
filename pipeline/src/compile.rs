//! The compiler: document → KFP v2 `PipelineSpec`, written the way `kfp.compiler` writes it.
//!
//! Each node becomes a task running a `comp-<name>` component with an `exec-<name>` executor (a
//! sub-pipeline node runs a DAG component instead). Each group becomes a task running a sub-DAG
//! (`condition-N`, `condition-branches-N`, `for-loop-N`, `exit-handler-N`); the values its
//! members need are passed in as `pipelinechannel--…` inputs, and values leaving it (collected
//! from a loop, or one of several branches) are passed out as DAG outputs.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap as HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::condition::{Expr, Operand};
use crate::diagnostic::Diagnostic;
use crate::document::{Document, GroupKind, LoopItems, PortType};
use crate::ir::*;
use crate::map::Map;
use crate::model::{analyze, Elem, Model, Scope, Source};
use crate::names::{field_selector, output_channel, param_channel};

/// The result of compiling: the spec when there are no errors, and every diagnostic.
#[derive(Debug, Clone, Serialize)]
pub struct Compiled {
    /// The spec; `None` when any diagnostic is an error.
    pub spec: Option<PipelineSpec>,
    /// Every problem found.
    pub diagnostics: Vec<Diagnostic>,
    /// Where each node and group of the document lands in the spec: its id → the path of its
    /// task, the DAG task names from the pipeline's DAG down joined by `/` (`condition-1/train`),
    /// as the local engine names tasks. A loop group maps to its loop task (`for-loop-2`);
    /// the engine runs each iteration as `for-loop-2[i]`, so a task inside the loop appears as
    /// `for-loop-2[i]/train` for the mapped `for-loop-2/train`. Empty when the spec is `None`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub task_paths: Map<String>,
    /// The Kubernetes platform spec: the document's own ([`Document::platform_spec`]) with each
    /// task's settings ([`crate::Node::kubernetes`]) under its executor's label, as KFP writes
    /// it beside the spec (see [`crate::OutputFormat::write`]). `None` when nothing sets any, and
    /// when the spec is `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_spec: Option<Value>,
}

/// The version string written to `sdkVersion`.
pub const SDK_VERSION: &str = concat!("pipeline-canvas-", env!("CARGO_PKG_VERSION"));

/// Compiles `doc`. Never panics on any document.
pub fn compile(doc: &Document) -> Compiled {
    let (model, diagnostics) = analyze(doc);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Compiled {
            spec: None,
            diagnostics,
            task_paths: Map::new(),
            platform_spec: None,
        };
    }
    let mut out = Out::default();
    let root = build_pipeline(&model, &mut out, &BTreeSet::new());
    let spec = PipelineSpec {
        components: std::mem::take(&mut out.components),
        default_pipeline_root: doc.pipeline_root.clone().filter(|r| !r.is_empty()),
        deployment_spec: Some(DeploymentSpec {
            executors: std::mem::take(&mut out.executors),
        }),
        pipeline_info: PipelineInfo {
            name: doc.name.clone(),
            display_name: doc.display_name.clone(),
            description: doc.description.clone().filter(|d| !d.is_empty()),
        },
        root,
        schema_version: SCHEMA_VERSION.to_string(),
        sdk_version: SDK_VERSION.to_string(),
    };
    Compiled {
        spec: Some(spec),
        diagnostics,
        task_paths: task_paths(&model),
        platform_spec: platform_spec(doc.platform_spec.as_ref(), out.platform_executors),
    }
}

/// The path of the tasks' settings in a platform spec.
pub(crate) const PLATFORM_EXECUTORS: [&str; 4] =
    ["platforms", "kubernetes", "deploymentSpec", "executors"];

/// The document's platform spec with the tasks' settings put in, by executor label.
fn platform_spec(own: Option<&Value>, executors: Map<Value>) -> Option<Value> {
    if executors.is_empty() {
        return own.cloned();
    }
    let mut spec = own
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    let mut at = &mut spec;
    for key in PLATFORM_EXECUTORS {
        // Validation refuses a document whose platform spec is not objects along the path.
        if !at.is_object() {
            *at = Value::Object(Default::default());
        }
        at = at
            .as_object_mut()?
            .entry(key)
            .or_insert_with(|| Value::Object(Default::default()));
    }
    if !at.is_object() {
        *at = Value::Object(Default::default());
    }
    let map = at.as_object_mut()?;
    for (label, settings) in executors {
        map.insert(label, settings);
    }
    Some(spec)
}

/// The task path of every node and group (see [`Compiled::task_paths`]).
fn task_paths(m: &Model<'_>) -> Map<String> {
    let path = |e: Elem| {
        let mut parts: Vec<&str> = m
            .chain(m.container(e))
            .into_iter()
            .map(|g| m.group_task[g].as_str())
            .collect();
        parts.reverse();
        parts.push(m.task_name(e));
        parts.join("/")
    };
    let doc = m.doc;
    let nodes = doc
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.clone(), path(Elem::Node(i))));
    let groups = doc
        .groups
        .iter()
        .enumerate()
        .map(|(g, grp)| (grp.id.clone(), path(Elem::Group(g))));
    nodes.chain(groups).collect()
}

/// Turns protobuf-`Value` numbers into doubles, as the KFP SDK's JSON printer writes them.
pub(crate) fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| v.clone(), Value::Number),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        _ => v.clone(),
    }
}

/// Components and executors collected across the pipeline and its sub-pipelines.
#[derive(Default)]
struct Out {
    components: Map<ComponentSpec>,
    executors: Map<ExecutorSpec>,
    /// The tasks' Kubernetes settings by executor label.
    platform_executors: Map<Value>,
}

/// A value passed into a group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Channel {
    /// A pipeline input.
    Param(String),
    /// An output of a node.
    Output(usize, String),
    /// The item of a loop group.
    LoopItem(usize),
    /// A field of the item of a loop group (a `-subvar-` input, as KFP passes it to conditions).
    LoopField(usize, String),
    /// The values of a node's output collected by loop group `.0`, passed down from the DAG
    /// holding the loop into groups beside it (`pipelinechannel--for-loop-2-pipelinechannel--…`).
    Collected(usize, usize, String),
}

/// A value a group passes out of its DAG.
#[derive(Debug, Clone)]
enum Export {
    /// From one sub-task output.
    Single {
        from: Elem,
        key: String,
        ty: PortType,
    },
    /// From whichever branch ran.
    OneOf {
        from: Vec<(Elem, String)>,
        ty: PortType,
    },
}

struct Builder<'a, 'd> {
    m: &'a Model<'d>,
    needs: BTreeMap<usize, BTreeSet<Channel>>,
    exports: BTreeMap<usize, Map<Export>>,
    one_of_keys: HashMap<(usize, Vec<(usize, String)>), String>,
    deps: HashMap<Elem, BTreeSet<String>>,
    /// How the pipeline's DAG selects each pipeline output.
    root_exports: Map<Export>,
    /// The spec component key (`comp-…`) of each node.
    comp_keys: Vec<String>,
    /// The trigger condition of each group (see [`Builder::effective_condition`]).
    conditions: Vec<Option<Expr>>,
    /// The tasks of each DAG.
    members: HashMap<Scope, Vec<Elem>>,
    /// The component name of each group (`comp-<task>`, suffixed when taken).
    group_keys: Vec<String>,
}

/// Builds the components of the pipeline `m` into `out`. Control-flow component names in
/// `reserved` belong to enclosing pipelines: as when the KFP SDK merges a sub-pipeline, the
/// enclosing pipeline keeps `comp-for-loop-2` and the sub-pipeline's gets `comp-for-loop-2-2`.
fn build_pipeline(m: &Model<'_>, out: &mut Out, reserved: &BTreeSet<String>) -> ComponentSpec {
    let doc = m.doc;
    let own_groups: BTreeSet<String> = m.group_task.iter().map(|t| format!("comp-{t}")).collect();
    let inner_reserved: BTreeSet<String> = reserved.union(&own_groups).cloned().collect();
    let mut deps: HashMap<Elem, BTreeSet<String>> = HashMap::default();
    for &(from, to) in &m.edges {
        deps.entry(to)
            .or_default()
            .insert(m.task_name(from).to_string());
    }
    // Components first: a name already taken by a different component (in a sub-pipeline)
    // gets the next free `-N` suffix, as the KFP SDK does.
    let mut comp_keys = Vec::with_capacity(doc.nodes.len());
    let mut inner_dags: HashMap<String, Option<DagSpec>> = HashMap::default();
    for n in &doc.nodes {
        let Some(def) = doc.component_of(n) else {
            comp_keys.push(String::new());
            continue;
        };
        let base = n.spec_component_name().to_string();
        let mut comp = ComponentSpec {
            input_definitions: non_empty_inputs(normalized_inputs(&def.input_definitions)),
            output_definitions: non_empty_outputs(def.output_definitions.clone()),
            ..ComponentSpec::default()
        };
        if let Some(inner) = &def.pipeline {
            // Built once per component: a sub-pipeline used twice shares its components.
            comp.dag = match inner_dags.get(&n.component) {
                Some(dag) => dag.clone(),
                None => {
                    let (inner_model, _) = analyze(inner);
                    let dag = build_pipeline(&inner_model, out, &inner_reserved).dag;
                    inner_dags.insert(n.component.clone(), dag.clone());
                    dag
                }
            };
        }
        let mut name = base.clone();
        let mut suffix = 1;
        let key = loop {
            let key = format!("comp-{name}");
            let label = format!("exec-{name}");
            let mut candidate = comp.clone();
            if def.executor.is_some() {
                candidate.executor_label = Some(label.clone());
            }
            match out.components.get(&key) {
                None => {
                    if let Some(exec) = &def.executor {
                        out.executors.insert(label.clone(), exec.clone());
                        if let Some(k8s) = &n.kubernetes {
                            out.platform_executors.insert(label, k8s.clone());
                        }
                    }
                    out.components.insert(key.clone(), candidate);
                    break key;
                }
                // Tasks share a component (and its executor's settings) only when all agree.
                Some(existing)
                    if *existing == candidate
                        && def.executor.as_ref() == out.executors.get(&label)
                        && n.kubernetes.as_ref() == out.platform_executors.get(&label) =>
                {
                    break key
                }
                Some(_) => {
                    suffix += 1;
                    name = format!("{base}-{suffix}");
                }
            }
        };
        comp_keys.push(key);
    }
    let group_keys: Vec<String> = m
        .group_task
        .iter()
        .map(|t| {
            let base = format!("comp-{t}");
            (1..)
                .map(|i| {
                    if i == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{i}")
                    }
                })
                .find(|k| !reserved.contains(k) && !out.components.contains_key(k))
                .unwrap_or(base)
        })
        .collect();
    let mut b = Builder {
        m,
        group_keys,
        needs: BTreeMap::new(),
        exports: BTreeMap::new(),
        one_of_keys: HashMap::default(),
        deps,
        root_exports: Map::new(),
        comp_keys,
        conditions: Vec::new(),
        members: HashMap::default(),
    };
    b.conditions = (0..doc.groups.len())
        .map(|g| b.effective_condition(g))
        .collect();
    for e in (0..doc.nodes.len())
        .map(Elem::Node)
        .chain((0..doc.groups.len()).map(Elem::Group))
    {
        b.members.entry(m.container(e)).or_default().push(e);
    }
    b.collect_needs();
    b.collect_exports();

    for &g in &m.group_order {
        let dag = b.dag(Some(g));
        let comp = ComponentSpec {
            dag: Some(dag),
            input_definitions: non_empty_inputs(b.group_inputs(g)),
            output_definitions: b
                .exports
                .get(&g)
                .and_then(|e| non_empty_outputs(output_definitions(e))),
            ..ComponentSpec::default()
        };
        out.components.insert(b.group_keys[g].clone(), comp);
    }

    let mut inputs = InputDefinitions::default();
    for p in &doc.parameters {
        inputs.parameters.insert(
            p.name.clone(),
            ParameterSpec {
                default_value: p.default.as_ref().map(normalize),
                description: p.description.clone(),
                is_optional: p.is_optional(),
                literals: Vec::new(),
                parameter_type: p.ty,
            },
        );
    }
    for a in &doc.artifact_inputs {
        inputs.artifacts.insert(
            a.name.clone(),
            ArtifactSpec {
                artifact_type: a.artifact_type.clone(),
                description: a.description.clone(),
                is_artifact_list: a.is_artifact_list,
                is_optional: a.optional,
                ..ArtifactSpec::default()
            },
        );
    }
    let mut dag = b.dag(None);
    let root_exports = std::mem::take(&mut b.root_exports);
    let mut outputs = output_definitions(&root_exports);
    for o in &doc.outputs {
        if let Some(d) = &o.description {
            if let Some(p) = outputs.parameters.get_mut(&o.name) {
                p.description = Some(d.clone());
            }
            if let Some(a) = outputs.artifacts.get_mut(&o.name) {
                a.description = Some(d.clone());
            }
        }
    }
    if !root_exports.is_empty() {
        dag.outputs = Some(b.dag_outputs(&root_exports));
    }
    ComponentSpec {
        dag: Some(dag),
        input_definitions: non_empty_inputs(inputs),
        output_definitions: non_empty_outputs(outputs),
        ..ComponentSpec::default()
    }
}

fn output_definitions(exports: &Map<Export>) -> OutputDefinitions {
    let mut defs = OutputDefinitions::default();
    for (key, e) in exports {
        let ty = match e {
            Export::Single { ty, .. } | Export::OneOf { ty, .. } => ty,
        };
        match ty {
            PortType::Parameter(p) => {
                defs.parameters.insert(key.clone(), ParameterSpec::of(*p));
            }
            PortType::Artifact(title, list) => {
                defs.artifacts.insert(
                    key.clone(),
                    ArtifactSpec {
                        artifact_type: ArtifactTypeSchema::titled(title),
                        is_artifact_list: *list,
                        ..ArtifactSpec::default()
                    },
                );
            }
        }
    }
    defs
}

fn normalized_inputs(defs: &InputDefinitions) -> InputDefinitions {
    let mut defs = defs.clone();
    for p in defs.parameters.values_mut() {
        p.default_value = p.default_value.as_ref().map(normalize);
    }
    defs
}

fn non_empty_inputs(i: InputDefinitions) -> Option<InputDefinitions> {
    (!i.is_empty()).then_some(i)
}

fn non_empty_outputs(o: OutputDefinitions) -> Option<OutputDefinitions> {
    (!o.is_empty()).then_some(o)
}

fn listify(t: PortType) -> PortType {
    match t {
        PortType::Parameter(_) => PortType::Parameter(ParameterType::List),
        PortType::Artifact(s, _) => PortType::Artifact(s, true),
    }
}

impl Builder<'_, '_> {
    fn doc(&self) -> &Document {
        self.m.doc
    }

    /// The condition a group's trigger checks: its own, after the negation of every earlier
    /// branch of its if/elif/else.
    fn effective_condition(&self, g: usize) -> Option<Expr> {
        let m = self.m;
        let own = m.conditions.get(&g).cloned();
        let Some(parent) =
            m.parent[g].filter(|p| matches!(self.doc().groups[*p].kind, GroupKind::Branches))
        else {
            return own;
        };
        let mut acc: Option<Expr> = None;
        let join = |acc: Option<Expr>, e: Expr| match acc {
            None => e,
            Some(a) => Expr::And(Box::new(a), Box::new(e)),
        };
        for &sib in &m.children[parent] {
            if sib == g {
                return match own {
                    Some(e) => Some(join(acc, e)),
                    None => acc,
                };
            }
            if let Some(e) = m.conditions.get(&sib) {
                acc = Some(join(acc, Expr::Not(Box::new(e.clone()))));
            }
        }
        own
    }

    fn operand_channel(&self, o: &Operand) -> Option<Channel> {
        match o {
            Operand::Parameter(p) => Some(Channel::Param(p.clone())),
            Operand::Output { task, output } => self
                .m
                .node_by_name
                .get(task.as_str())
                .map(|&n| Channel::Output(n, output.clone())),
            // The validator has put the loop's id in.
            Operand::LoopItem { group, field } => {
                let g = *self.m.group_by_id.get(group.as_deref()?)?;
                Some(match field {
                    None => Channel::LoopItem(g),
                    Some(f) => Channel::LoopField(g, f.clone()),
                })
            }
            _ => None,
        }
    }

    /// The DAG where a channel's value is available without being passed in.
    fn origin(&self, ch: &Channel) -> Scope {
        match ch {
            Channel::Param(_) => None,
            Channel::Output(n, _) => self.m.container(Elem::Node(*n)),
            Channel::LoopItem(g) | Channel::LoopField(g, _) => Some(*g),
            Channel::Collected(g, ..) => self.m.parent[*g],
        }
    }

    /// How a node output that leaves its DAG reaches DAG `scope`: collected by the loop that
    /// [`crate::model::collected_from`] names, passed down when `scope` is below the DAG
    /// holding that loop (`None` when `scope` is that DAG itself: the loop's output is read).
    fn collected_channel(&self, p: usize, port: &str, scope: Scope) -> Option<Channel> {
        let m = self.m;
        let lca = m.lca(m.container(Elem::Node(p)), scope);
        if lca == scope {
            return None;
        }
        crate::model::collected_from(m, Elem::Node(p), lca)
            .map(|g| Channel::Collected(g, p, port.to_string()))
    }

    fn need(&mut self, from: Scope, ch: Channel) {
        if let Channel::LoopField(outer, _) = ch {
            if !self.over_raw_items(outer) {
                // As KFP does, only the whole item travels down to the groups inside the loop;
                // the field is picked from it by the task of the group that uses it.
                let outer = Channel::LoopItem(outer);
                return self.need(from, outer);
            }
        }
        let stop = self.origin(&ch);
        for g in self.m.chain(from) {
            if Some(g) == stop {
                break;
            }
            self.needs.entry(g).or_default().insert(ch.clone());
        }
    }

    /// Group `g` uses a field of an enclosing loop's item itself (in its condition, or as the
    /// list it loops over): it receives the field (a `-subvar-` input picked from the item by
    /// its task), the groups between it and the loop receive the whole item.
    fn need_field(&mut self, g: usize, ch: Channel) {
        match ch {
            Channel::LoopField(outer, _) if !self.over_raw_items(outer) => {
                self.need(self.m.parent[g], Channel::LoopItem(outer));
                self.needs.entry(g).or_default().insert(ch);
            }
            ch => self.need(Some(g), ch),
        }
    }

    /// Whether loop `g` iterates a list written in the pipeline (or a field of the item of such
    /// a loop). KFP passes the fields of those items down as they are (a `-subvar-` input
    /// through every group), and the whole item of any other loop.
    fn over_raw_items(&self, g: usize) -> bool {
        let mut g = g;
        for _ in 0..=crate::document::MAX_NESTING {
            match &self.doc().groups[g].kind {
                GroupKind::Loop {
                    items: LoopItems::Raw(_),
                    ..
                } => return true,
                GroupKind::Loop {
                    items: LoopItems::LoopItem { .. },
                    ..
                } => match self.m.loop_item_sources.get(&g) {
                    Some(&(outer, _)) => g = outer,
                    None => return false,
                },
                _ => return false,
            }
        }
        false
    }

    /// Records, for every group, the outside values used by its members, its condition and
    /// its loop items.
    fn collect_needs(&mut self) {
        let m = self.m;
        let doc = m.doc;
        for (i, srcs) in m.sources.iter().enumerate() {
            let scope = m.container(Elem::Node(i));
            for s in srcs.values() {
                match s {
                    Source::Param(p) => self.need(scope, Channel::Param(p.clone())),
                    Source::Output(p, port) if m.encloses(m.container(Elem::Node(*p)), scope) => {
                        self.need(scope, Channel::Output(*p, port.clone()))
                    }
                    Source::Output(p, port) => {
                        if let Some(ch) = self.collected_channel(*p, port, scope) {
                            self.need(scope, ch);
                        }
                    }
                    Source::LoopItem(g, _) => self.need(scope, Channel::LoopItem(*g)),
                    _ => {}
                }
            }
        }
        // Like KFP, every group between a task and an enclosing condition also receives that
        // condition's operands, and so does the condition itself.
        let mut users: Vec<(Scope, usize)> = Vec::new();
        for i in 0..doc.nodes.len() {
            let scope = m.container(Elem::Node(i));
            for g in m.chain(scope) {
                users.push((scope, g));
            }
        }
        for (from, g) in users {
            let channels: Vec<Channel> = self.conditions[g]
                .iter()
                .flat_map(|e| e.operands())
                .filter_map(|o| self.operand_channel(o))
                .collect();
            for ch in channels {
                self.need(from, ch);
            }
        }
        for g in 0..doc.groups.len() {
            let channels: Vec<Channel> = self.conditions[g]
                .iter()
                .flat_map(|e| e.operands())
                .filter_map(|o| self.operand_channel(o))
                .collect();
            for ch in channels {
                self.need_field(g, ch);
            }
        }
        for (g, group) in doc.groups.iter().enumerate() {
            if let GroupKind::Loop { items, .. } = &group.kind {
                match items {
                    LoopItems::Parameter(p) => self.need(Some(g), Channel::Param(p.clone())),
                    LoopItems::Output(_) => {
                        if let Some((n, port)) = m.loop_sources.get(&g) {
                            self.need(Some(g), Channel::Output(*n, port.clone()));
                        }
                    }
                    LoopItems::LoopItem { .. } => {
                        if let Some((outer, field)) = m.loop_item_sources.get(&g) {
                            // KFP passes the outer item in, and the field picked from it.
                            self.need(Some(g), Channel::LoopItem(*outer));
                            if let Some(f) = field {
                                self.need_field(g, Channel::LoopField(*outer, f.clone()));
                            }
                        }
                    }
                    LoopItems::Raw(_) => {}
                }
            }
        }
    }

    /// Records the DAG outputs of groups that values leave (collected and one-of values).
    fn collect_exports(&mut self) {
        let m = self.m;
        for (i, srcs) in m.sources.iter().enumerate() {
            let scope = m.container(Elem::Node(i));
            for s in srcs.values() {
                match s {
                    Source::Output(p, port) if !m.encloses(m.container(Elem::Node(*p)), scope) => {
                        let lca = m.lca(m.container(Elem::Node(*p)), scope);
                        self.export_to(&[(*p, port.clone())], lca, false);
                    }
                    Source::OneOf(ps) => {
                        self.export_to(ps, scope, false);
                    }
                    _ => {}
                }
            }
        }
        for (o, sources) in m.doc.outputs.iter().zip(&m.outputs) {
            if let Some(e) = self.export_to(sources, None, o.collected) {
                self.root_exports.insert(o.name.clone(), e);
            }
        }
    }

    /// Makes the value of `sources` (one output, or one of several branch outputs) available
    /// in DAG `target`, adding DAG outputs to the groups it leaves; `collected` types it as a
    /// list (`dsl.Collected`). Returns how `target`'s DAG selects it.
    fn export_to(
        &mut self,
        sources: &[(usize, String)],
        target: Scope,
        collected: bool,
    ) -> Option<Export> {
        let m = self.m;
        if let [(p, port)] = sources {
            let pe = Elem::Node(*p);
            let mut ty = m.output_type(*p, port)?;
            // A value collected out of a loop is a list in every group it leaves, as KFP types
            // it (a condition inside the loop included).
            if collected || crate::model::crossed_loop(m, pe, target) {
                ty = listify(ty);
            }
            let key = output_channel(&m.doc.nodes[*p].name, port);
            let mut from = pe;
            let mut from_key = port.clone();
            for g in m.chain(m.container(pe)) {
                if Some(g) == target {
                    break;
                }
                self.exports.entry(g).or_default().insert(
                    key.clone(),
                    Export::Single {
                        from,
                        key: from_key.clone(),
                        ty: ty.clone(),
                    },
                );
                from = Elem::Group(g);
                from_key = key.clone();
            }
            return Some(Export::Single {
                from,
                key: from_key,
                ty,
            });
        }
        // One of several branches: each branch exports its value, the if/elif/else picks.
        let b = crate::model::one_of_group(m, sources, target).ok()?;
        let mut selectors = Vec::new();
        let mut ty = None;
        for s in sources {
            if let Some(Export::Single { from, key, ty: t }) =
                self.export_to(std::slice::from_ref(s), Some(b), false)
            {
                selectors.push((from, key));
                ty.get_or_insert(t);
            }
        }
        let ty = ty?;
        let set_key = (b, sources.to_vec());
        let key = match self.one_of_keys.get(&set_key) {
            Some(k) => k.clone(),
            None => {
                let count = self.one_of_keys.keys().filter(|(g, _)| *g == b).count();
                let k = format!("pipelinechannel--{}-oneof-{}", m.group_task[b], count + 1);
                self.one_of_keys.insert(set_key, k.clone());
                k
            }
        };
        self.exports.entry(b).or_default().insert(
            key.clone(),
            Export::OneOf {
                from: selectors,
                ty: ty.clone(),
            },
        );
        Some(Export::Single {
            from: Elem::Group(b),
            key,
            ty,
        })
    }

    fn dag_outputs(&self, exports: &Map<Export>) -> DagOutputsSpec {
        let m = self.m;
        let mut out = DagOutputsSpec::default();
        for (key, e) in exports {
            let (selectors, ty): (Vec<(Elem, String)>, &PortType) = match e {
                Export::Single { from, key, ty } => (vec![(*from, key.clone())], ty),
                Export::OneOf { from, ty } => (from.clone(), ty),
            };
            match ty {
                PortType::Artifact(..) => {
                    out.artifacts.insert(
                        key.clone(),
                        DagOutputArtifactSpec {
                            artifact_selectors: selectors
                                .iter()
                                .map(|(f, k)| ArtifactSelector {
                                    output_artifact_key: k.clone(),
                                    producer_subtask: m.task_name(*f).to_string(),
                                })
                                .collect(),
                        },
                    );
                }
                PortType::Parameter(_) => {
                    let sel: Vec<ParameterSelector> = selectors
                        .iter()
                        .map(|(f, k)| ParameterSelector {
                            output_parameter_key: k.clone(),
                            producer_subtask: m.task_name(*f).to_string(),
                        })
                        .collect();
                    let spec = if matches!(e, Export::OneOf { .. }) {
                        DagOutputParameterSpec {
                            value_from_oneof: Some(ParameterSelectors {
                                parameter_selectors: sel,
                            }),
                            ..Default::default()
                        }
                    } else {
                        DagOutputParameterSpec {
                            value_from_parameter: sel.into_iter().next(),
                            ..Default::default()
                        }
                    };
                    out.parameters.insert(key.clone(), spec);
                }
            }
        }
        out
    }

    fn channel_name(&self, ch: &Channel) -> String {
        match ch {
            Channel::Param(p) => param_channel(p),
            Channel::Output(n, port) => output_channel(&self.doc().nodes[*n].name, port),
            Channel::LoopItem(g) => self
                .m
                .loop_items
                .get(g)
                .map(|(n, _)| n.clone())
                .unwrap_or_default(),
            Channel::LoopField(g, f) => {
                format!("{}-subvar-{f}", self.channel_name(&Channel::LoopItem(*g)))
            }
            Channel::Collected(g, n, port) => param_channel(&format!(
                "{}-{}",
                self.m.group_task[*g],
                output_channel(&self.doc().nodes[*n].name, port)
            )),
        }
    }

    fn channel_type(&self, ch: &Channel) -> Option<PortType> {
        match ch {
            Channel::Param(p) => self.doc().input_type(p),
            Channel::Output(n, port) => self.m.output_type(*n, port),
            Channel::LoopItem(g) => self.m.loop_items.get(g).map(|(_, t)| t.clone()),
            Channel::LoopField(g, f) => self.m.loop_operand_type(*g, Some(f)),
            Channel::Collected(_, n, port) => self.m.output_type(*n, port).map(listify),
        }
    }

    /// The declared artifact type (schema title and version) of an artifact channel.
    fn artifact_type(&self, ch: &Channel) -> Option<ArtifactTypeSchema> {
        let doc = self.doc();
        match ch {
            Channel::Output(n, port) => doc
                .component_of(&doc.nodes[*n])
                .and_then(|c| c.output_definitions.artifacts.get(port))
                .map(|a| a.artifact_type.clone()),
            Channel::Param(p) => doc
                .artifact_inputs
                .iter()
                .find(|a| &a.name == p)
                .map(|a| a.artifact_type.clone()),
            // One artifact of the list the loop iterates.
            Channel::LoopItem(g) => self
                .loop_list(*g)
                .and_then(|list| self.artifact_type(&list)),
            Channel::LoopField(..) => None,
            Channel::Collected(_, n, port) => {
                self.artifact_type(&Channel::Output(*n, port.clone()))
            }
        }
    }

    /// The list a loop iterates, when it comes from a pipeline input or a task output.
    fn loop_list(&self, g: usize) -> Option<Channel> {
        match &self.doc().groups[g].kind {
            GroupKind::Loop {
                items: LoopItems::Parameter(p),
                ..
            } => Some(Channel::Param(p.clone())),
            GroupKind::Loop {
                items: LoopItems::Output(_),
                ..
            } => self
                .m
                .loop_sources
                .get(&g)
                .map(|(n, port)| Channel::Output(*n, port.clone())),
            _ => None,
        }
    }

    /// The input definitions of a group: one per channel it needs, plus a loop's item.
    fn group_inputs(&self, g: usize) -> InputDefinitions {
        let mut defs = InputDefinitions::default();
        let own_item = self
            .m
            .loop_items
            .contains_key(&g)
            .then_some(Channel::LoopItem(g));
        for ch in self
            .needs
            .get(&g)
            .into_iter()
            .flatten()
            .chain(own_item.as_ref())
        {
            let name = self.channel_name(ch);
            match self.channel_type(ch) {
                Some(PortType::Parameter(t)) => {
                    defs.parameters.insert(name, ParameterSpec::of(t));
                }
                Some(PortType::Artifact(title, list)) => {
                    let artifact_type = self
                        .artifact_type(ch)
                        .unwrap_or_else(|| ArtifactTypeSchema::titled(&title));
                    defs.artifacts.insert(
                        name,
                        ArtifactSpec {
                            artifact_type,
                            is_artifact_list: list,
                            ..ArtifactSpec::default()
                        },
                    );
                }
                None => {}
            }
        }
        defs
    }

    /// Binds `ch`, as seen from inside DAG `scope`, to input `key` of a task.
    fn bind(&self, inputs: &mut TaskInputsSpec, key: &str, ch: &Channel, scope: Scope) {
        let is_artifact = matches!(self.channel_type(ch), Some(PortType::Artifact(..)));
        let mut selector = None;
        let (component_input, task_output) = match ch {
            Channel::Param(p) => (
                Some(if scope.is_none() {
                    p.clone()
                } else {
                    param_channel(p)
                }),
                None,
            ),
            Channel::Output(n, port) => {
                let producer = &self.doc().nodes[*n];
                if self.m.container(Elem::Node(*n)) == scope {
                    (None, Some((producer.name.clone(), port.clone())))
                } else {
                    (Some(self.channel_name(ch)), None)
                }
            }
            Channel::LoopItem(_) => (Some(self.channel_name(ch)), None),
            // Picked from the item, which the loop has, or which the groups inside the loop
            // pass down (unless the loop iterates a written list, see `over_raw_items`).
            Channel::LoopField(g, f) if scope == Some(*g) || !self.over_raw_items(*g) => {
                selector = Some(field_selector(f));
                (Some(self.channel_name(&Channel::LoopItem(*g))), None)
            }
            Channel::LoopField(..) => (Some(self.channel_name(ch)), None),
            // Read from the loop's output beside it, passed down below.
            Channel::Collected(g, n, port) if scope == self.m.parent[*g] => (
                None,
                Some((
                    self.m.group_task[*g].clone(),
                    output_channel(&self.doc().nodes[*n].name, port),
                )),
            ),
            Channel::Collected(..) => (Some(self.channel_name(ch)), None),
        };
        if is_artifact {
            inputs.artifacts.insert(
                key.to_string(),
                InputArtifactSpec {
                    component_input_artifact: component_input,
                    task_output_artifact: task_output.map(|(t, k)| TaskOutputArtifact {
                        output_artifact_key: k,
                        producer_task: t,
                    }),
                },
            );
        } else {
            inputs.parameters.insert(
                key.to_string(),
                InputParameterSpec {
                    component_input_parameter: component_input,
                    task_output_parameter: task_output.map(|(t, k)| TaskOutputParameter {
                        output_parameter_key: k,
                        producer_task: t,
                    }),
                    parameter_expression_selector: selector,
                    ..Default::default()
                },
            );
        }
    }

    fn bind_export(&mut self, inputs: &mut TaskInputsSpec, key: &str, e: Export) {
        let Export::Single {
            from,
            key: out_key,
            ty,
        } = e
        else {
            return;
        };
        let producer_task = self.m.task_name(from).to_string();
        if matches!(ty, PortType::Artifact(..)) {
            inputs.artifacts.insert(
                key.to_string(),
                InputArtifactSpec {
                    task_output_artifact: Some(TaskOutputArtifact {
                        output_artifact_key: out_key,
                        producer_task,
                    }),
                    ..Default::default()
                },
            );
        } else {
            inputs.parameters.insert(
                key.to_string(),
                InputParameterSpec {
                    task_output_parameter: Some(TaskOutputParameter {
                        output_parameter_key: out_key,
                        producer_task,
                    }),
                    ..Default::default()
                },
            );
        }
    }

    fn dependent_tasks(&self, e: Elem) -> Vec<String> {
        self.deps
            .get(&e)
            .map(|d| d.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The DAG of the pipeline (`None`) or of a group.
    fn dag(&mut self, scope: Scope) -> DagSpec {
        let m = self.m;
        let doc = m.doc;
        let mut tasks = Map::new();
        let exit_nodes: BTreeSet<usize> = m.exit_nodes.values().copied().collect();
        let members = self.members.get(&scope).cloned().unwrap_or_default();
        for &e in &members {
            let Elem::Node(i) = e else { continue };
            let n = &doc.nodes[i];
            let mut inputs = TaskInputsSpec::default();
            for (port, src) in &m.sources[i] {
                match src {
                    Source::Value(v) => {
                        inputs.parameters.insert(
                            port.clone(),
                            InputParameterSpec {
                                runtime_value: Some(ValueOrRuntimeParameter::constant(normalize(
                                    v,
                                ))),
                                ..Default::default()
                            },
                        );
                    }
                    Source::Param(p) => {
                        self.bind(&mut inputs, port, &Channel::Param(p.clone()), scope)
                    }
                    Source::Output(p, out) if m.encloses(m.container(Elem::Node(*p)), scope) => {
                        self.bind(&mut inputs, port, &Channel::Output(*p, out.clone()), scope)
                    }
                    Source::Output(p, out) => match self.collected_channel(*p, out, scope) {
                        Some(ch) => self.bind(&mut inputs, port, &ch, scope),
                        None => {
                            if let Some(e) = self.export_to(&[(*p, out.clone())], scope, false) {
                                self.bind_export(&mut inputs, port, e);
                            }
                        }
                    },
                    Source::OneOf(ps) => {
                        if let Some(e) = self.export_to(ps, scope, false) {
                            self.bind_export(&mut inputs, port, e);
                        }
                    }
                    Source::LoopItem(g, field) => {
                        self.bind(&mut inputs, port, &Channel::LoopItem(*g), scope);
                        if let (Some(field), Some(p)) = (field, inputs.parameters.get_mut(port)) {
                            p.parameter_expression_selector = Some(field_selector(field));
                        }
                    }
                    Source::FinalStatus(g) => {
                        inputs.parameters.insert(
                            port.clone(),
                            InputParameterSpec {
                                task_final_status: Some(TaskFinalStatus {
                                    producer_task: m.group_task[*g].clone(),
                                }),
                                ..Default::default()
                            },
                        );
                    }
                }
            }
            let after_failures = n.run_after_failures || exit_nodes.contains(&i);
            tasks.insert(
                n.name.clone(),
                PipelineTaskSpec {
                    caching_options: Some(CachingOptions {
                        enable_cache: n.caching,
                        cache_key: n.cache_key.clone(),
                    }),
                    component_ref: ComponentRef {
                        name: self.comp_keys[i].clone(),
                    },
                    dependent_tasks: self.dependent_tasks(Elem::Node(i)),
                    inputs: (!inputs.is_empty()).then_some(inputs),
                    task_info: TaskInfo {
                        name: n.shown_name().to_string(),
                    },
                    trigger_policy: after_failures.then(|| TriggerPolicy {
                        condition: None,
                        strategy: Some("ALL_UPSTREAM_TASKS_COMPLETED".into()),
                    }),
                    retry_policy: n.retry.clone(),
                    ..Default::default()
                },
            );
        }
        for &e in &members {
            let Elem::Group(g) = e else { continue };
            let group = &doc.groups[g];
            let task = m.group_task[g].clone();
            let mut inputs = TaskInputsSpec::default();
            let needs: Vec<Channel> = self.needs.get(&g).into_iter().flatten().cloned().collect();
            for ch in &needs {
                let key = self.channel_name(ch);
                self.bind(&mut inputs, &key, ch, scope);
            }
            let mut spec = PipelineTaskSpec {
                component_ref: ComponentRef {
                    name: self.group_keys[g].clone(),
                },
                dependent_tasks: self.dependent_tasks(Elem::Group(g)),
                inputs: (!inputs.is_empty()).then_some(inputs),
                task_info: TaskInfo {
                    name: group.display_name.clone().unwrap_or_else(|| task.clone()),
                },
                ..Default::default()
            };
            match &group.kind {
                GroupKind::Condition { .. } | GroupKind::Else => {
                    spec.trigger_policy = self.conditions[g].as_ref().map(|expr| TriggerPolicy {
                        condition: Some(expr.to_cel(&|o| self.operand_cel(o))),
                        strategy: None,
                    });
                }
                GroupKind::Loop {
                    items, parallelism, ..
                } => {
                    let item_input = self.channel_name(&Channel::LoopItem(g));
                    let over_artifacts =
                        matches!(self.m.loop_items.get(&g), Some((_, PortType::Artifact(..))));
                    let items = match items {
                        LoopItems::Raw(text) => ParameterItems {
                            raw: Some(text.clone()),
                            input_parameter: None,
                        },
                        LoopItems::Parameter(p) => ParameterItems {
                            raw: None,
                            input_parameter: Some(param_channel(p)),
                        },
                        LoopItems::Output(_) => ParameterItems {
                            raw: None,
                            input_parameter: m
                                .loop_sources
                                .get(&g)
                                .map(|(n, port)| output_channel(&doc.nodes[*n].name, port)),
                        },
                        LoopItems::LoopItem { .. } => ParameterItems {
                            raw: None,
                            input_parameter: m.loop_item_sources.get(&g).map(|(outer, field)| {
                                self.channel_name(&match field {
                                    Some(f) => Channel::LoopField(*outer, f.clone()),
                                    None => Channel::LoopItem(*outer),
                                })
                            }),
                        },
                    };
                    match (over_artifacts, items.input_parameter) {
                        (true, Some(list)) => {
                            spec.artifact_iterator = Some(ArtifactIterator {
                                item_input,
                                items: ArtifactItems {
                                    input_artifact: list,
                                },
                            })
                        }
                        (_, input_parameter) => {
                            spec.parameter_iterator = Some(ParameterIterator {
                                item_input,
                                items: ParameterItems {
                                    input_parameter,
                                    ..items
                                },
                            })
                        }
                    }
                    spec.iterator_policy = parallelism.map(|p| IteratorPolicy {
                        parallelism_limit: Some(p),
                    });
                }
                GroupKind::Branches | GroupKind::ExitHandler { .. } => {}
            }
            tasks.insert(task, spec);
        }
        let outputs = scope
            .and_then(|g| self.exports.get(&g))
            .filter(|e| !e.is_empty())
            .map(|e| self.dag_outputs(e));
        DagSpec { outputs, tasks }
    }

    /// The input name a condition operand is read from, and whether it is an integer.
    fn operand_cel(&self, o: &Operand) -> (String, bool) {
        match self.operand_channel(o) {
            Some(ch) => {
                let int = self.channel_type(&ch)
                    == Some(PortType::Parameter(ParameterType::NumberInteger));
                (self.channel_name(&ch), int)
            }
            None => (String::new(), false),
        }
    }
}
