//! Lifting a compiled spec into a document: the importer undoes what the compiler does.
//! `pipelinechannel--` inputs are followed back to the pipeline parameter, task output or loop
//! item they carry; DAG outputs of groups are followed back to the task outputs they collect or
//! choose between; control-flow sub-DAGs become groups; other sub-DAGs become sub-pipeline
//! nodes. Names the compiler would generate differently are kept, so that compiling the
//! document reproduces the file.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;

use rustc_hash::FxHashMap as HashMap;

use crate::condition::{self, Expr, Operand};
use crate::document::{
    ArtifactInput, Binding, ComponentDef, Document, Group, GroupKind, LoopItems, Node,
    PipelineOutput, PipelineParameter, PortRef, Wire, MAX_NESTING,
};
use crate::ir::{ComponentSpec, DagSpec, ParameterType, PipelineSpec, PipelineTaskSpec};
use crate::layout::Shape;
use crate::map::Map;
use crate::model::Elem;
use serde_json::Value;

use super::ImportError;

/// Imports a parsed spec as a document (without layout).
pub fn import_spec(spec: &PipelineSpec) -> Result<Document, ImportError> {
    import_shaped(spec, None).map(|(doc, _)| doc)
}

/// Imports a parsed spec and its platform spec, with the shape its layout needs. Each task's
/// Kubernetes settings go to its node ([`Node::kubernetes`]); the rest of the platform spec
/// stays the document's.
pub(super) fn import_shaped(
    spec: &PipelineSpec,
    platform_spec: Option<Value>,
) -> Result<(Document, Shape), ImportError> {
    let executors = platform_spec.as_ref().and_then(platform_executors);
    let importer = Importer::new(spec, executors);
    let (mut doc, shape) = importer.pipeline(&spec.root, &At::root("root"))?;
    doc.name = spec.pipeline_info.name.clone();
    doc.display_name = spec.pipeline_info.display_name.clone();
    doc.description = spec.pipeline_info.description.clone();
    doc.pipeline_root = spec.default_pipeline_root.clone();
    let claimed = importer.claimed.into_inner();
    doc.platform_spec = platform_spec.and_then(|p| without_executors(p, &claimed));
    Ok((doc, shape))
}

/// The tasks' settings of a platform spec, by executor label.
fn platform_executors(platform: &Value) -> Option<&serde_json::Map<String, Value>> {
    crate::compile::PLATFORM_EXECUTORS
        .iter()
        .try_fold(platform, |v, k| v.get(*k))?
        .as_object()
}

/// The platform spec less the executors in `claimed` (now on their nodes), with the mappings
/// that leaves empty removed; `None` when nothing is left.
fn without_executors(mut platform: Value, claimed: &BTreeSet<String>) -> Option<Value> {
    /// Removes the claimed executors under `path` from `v`; true when `v` is left empty.
    fn prune(v: &mut Value, path: &[&str], claimed: &BTreeSet<String>) -> bool {
        let Some(map) = v.as_object_mut() else {
            return false;
        };
        match path.split_first() {
            None => map.retain(|k, _| !claimed.contains(k)),
            Some((key, rest)) => {
                if map.get_mut(*key).is_some_and(|c| prune(c, rest, claimed)) {
                    map.remove(*key);
                }
            }
        }
        map.is_empty()
    }
    if claimed.is_empty() {
        return Some(platform);
    }
    let empty = prune(&mut platform, &crate::compile::PLATFORM_EXECUTORS, claimed);
    (!empty).then_some(platform)
}

/// Where in the file something is (`root.dag.tasks.a→comp-a.dag.tasks.b`): a chain of parts
/// on the stack, written out only when an error names the place.
#[derive(Clone, Copy)]
struct At<'a> {
    up: Option<&'a At<'a>>,
    sep: &'static str,
    name: &'a str,
}

impl<'a> At<'a> {
    /// The top of the file (`root`).
    fn root(name: &'a str) -> Self {
        At {
            up: None,
            sep: "",
            name,
        }
    }

    /// A place inside this one: `sep` then `name` (`.dag.tasks.` `train`).
    fn then(&'a self, sep: &'static str, name: &'a str) -> At<'a> {
        At {
            up: Some(self),
            sep,
            name,
        }
    }
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(up) = self.up {
            up.fmt(f)?;
        }
        f.write_str(self.sep)?;
        f.write_str(self.name)
    }
}

/// What an input carries once its `parameterExpressionSelector` (a field of a loop item) is
/// applied.
fn carry_selected(
    c: &Carried,
    selector: Option<&str>,
    at: &At<'_>,
    key: &str,
) -> Result<Carried, ImportError> {
    match (c, selector) {
        (c, None) => Ok(c.clone()),
        (Carried::LoopItem(g, None), Some(s)) => match crate::names::selector_field(s) {
            Some(f) => Ok(Carried::LoopItem(g.clone(), Some(f.to_string()))),
            None => Err(ImportError::Invalid(format!(
                "{at}.inputs.parameters.{key}: unsupported selector {s:?}"
            ))),
        },
        (_, Some(s)) => Err(ImportError::Invalid(format!(
            "{at}.inputs.parameters.{key}: unsupported selector {s:?} (only a field of a loop item is)"
        ))),
    }
}

/// The loop groups around group `gi`, innermost first.
fn loops_around(doc: &Document, index: &Index, gi: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut cur = doc.groups[gi].parent.as_deref();
    // Parents were set by the importer from the DAG nesting, so the chain ends; the bound only
    // guards against a mistake.
    for _ in 0..doc.groups.len() {
        let Some(&p) = cur.and_then(|id| index.groups.get(id)) else {
            break;
        };
        if matches!(doc.groups[p].kind, GroupKind::Loop { .. }) {
            out.push(p);
        }
        cur = doc.groups[p].parent.as_deref();
    }
    out
}

/// What an input of a DAG carries.
#[derive(Debug, Clone)]
enum Carried {
    /// A pipeline input.
    Param(String),
    /// Output(s) of tasks (several: one of several branches).
    Outputs(Vec<PortRef>),
    /// The item of a loop (group id), or a field of it.
    LoopItem(String, Option<String>),
}

/// The tasks of one DAG, by task name.
#[derive(Default)]
struct DagTasks<'s> {
    /// Task name → node id or group id.
    ids: HashMap<String, String>,
    /// Group id → the group's own DAG tasks and component.
    groups: HashMap<String, (DagTasks<'s>, &'s ComponentSpec)>,
}

/// Where each node and group of a document is, by id (ids are fixed once tasks are created).
struct Index {
    nodes: HashMap<String, usize>,
    groups: HashMap<String, usize>,
}

impl Index {
    fn of(doc: &Document) -> Self {
        Self {
            nodes: doc
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.id.clone(), i))
                .collect(),
            groups: doc
                .groups
                .iter()
                .enumerate()
                .map(|(i, g)| (g.id.clone(), i))
                .collect(),
        }
    }
}

/// The most tasks (nodes and groups, sub-pipelines included) an import creates. A sub-pipeline
/// is copied into each pipeline that uses it, so a small spec whose DAG components use each
/// other several times over could otherwise expand without end; real pipelines stay far below.
pub const MAX_TASKS: usize = 100_000;

struct Importer<'s> {
    spec: &'s PipelineSpec,
    /// The tasks' Kubernetes settings in the platform spec, by executor label.
    platform_executors: Option<&'s serde_json::Map<String, Value>>,
    /// The executor labels whose settings went to nodes.
    claimed: RefCell<BTreeSet<String>>,
    /// The DAG components being imported, outermost first (see [`Importer::nested`]).
    open: RefCell<Vec<&'s str>>,
    /// Nodes and groups created so far, sub-pipelines included (see [`MAX_TASKS`]).
    created: Cell<usize>,
}

fn control_flow_kind(task_name: &str, task: &PipelineTaskSpec) -> Option<&'static str> {
    // `comp-<task>`, or `comp-<task>-<n>` when KFP renamed it apart from a same-named group
    // of another DAG (a sub-pipeline's `for-loop-2` beside the root's).
    let rest = task
        .component_ref
        .name
        .strip_prefix("comp-")?
        .strip_prefix(task_name)?;
    if !(rest.is_empty()
        || rest
            .strip_prefix('-')
            .is_some_and(|n| n.parse::<u32>().is_ok()))
    {
        return None;
    }
    let (prefix, n) = task_name.rsplit_once('-')?;
    n.parse::<u32>().ok()?;
    match prefix {
        "condition" => Some("condition"),
        "condition-branches" => Some("branches"),
        "for-loop" => Some("loop"),
        "exit-handler" => Some("exit"),
        _ => None,
    }
}

impl<'s> Importer<'s> {
    fn new(
        spec: &'s PipelineSpec,
        platform_executors: Option<&'s serde_json::Map<String, Value>>,
    ) -> Self {
        Self {
            spec,
            platform_executors,
            claimed: RefCell::new(BTreeSet::new()),
            open: RefCell::new(Vec::new()),
            created: Cell::new(0),
        }
    }

    /// Imports the DAG of component `name` with `f`: refuses a component that contains itself
    /// (`comp-a` → a task of its DAG → `comp-a`) and DAGs nested deeper than [`MAX_NESTING`].
    fn nested<T>(
        &self,
        name: &'s str,
        at: &At<'_>,
        f: impl FnOnce() -> Result<T, ImportError>,
    ) -> Result<T, ImportError> {
        {
            let open = self.open.borrow();
            if let Some(i) = open.iter().position(|o| *o == name) {
                let cycle: Vec<&str> = open.iter().skip(i).copied().chain([name]).collect();
                return Err(ImportError::Invalid(format!(
                    "{at}: component {name:?} contains itself ({})",
                    cycle.join(" → ")
                )));
            }
            if open.len() >= MAX_NESTING {
                return Err(ImportError::Invalid(format!(
                    "{at}: DAGs (control flow and sub-pipelines) nest deeper than {MAX_NESTING} levels"
                )));
            }
        }
        self.open.borrow_mut().push(name);
        let result = f();
        self.open.borrow_mut().pop();
        result
    }

    /// Counts one more task created, refusing more than [`MAX_TASKS`].
    fn count_task(&self, at: &At<'_>) -> Result<(), ImportError> {
        let n = self.created.get() + 1;
        if n > MAX_TASKS {
            return Err(ImportError::Invalid(format!(
                "{at}: the pipeline has more than {MAX_TASKS} tasks once its sub-pipelines are copied into each pipeline that uses them"
            )));
        }
        self.created.set(n);
        Ok(())
    }

    fn component(&self, name: &str, at: &At<'_>) -> Result<&'s ComponentSpec, ImportError> {
        self.spec.components.get(name).ok_or_else(|| {
            ImportError::Invalid(format!(
                "{at}: refers to component {name:?}, which is not defined in `components`"
            ))
        })
    }

    /// Imports the pipeline whose interface and DAG are `comp`, with its shape for the layout.
    fn pipeline(
        &self,
        comp: &'s ComponentSpec,
        at: &At<'_>,
    ) -> Result<(Document, Shape), ImportError> {
        let mut doc = Document::new("pipeline");
        let inputs = comp.input_definitions.clone().unwrap_or_default();
        for (name, p) in &inputs.parameters {
            doc.parameters.push(PipelineParameter {
                name: name.clone(),
                ty: p.parameter_type,
                default: p.default_value.clone(),
                description: p.description.clone(),
                optional: (p.is_optional != p.default_value.is_some()).then_some(p.is_optional),
            });
        }
        for (name, a) in &inputs.artifacts {
            doc.artifact_inputs.push(ArtifactInput {
                name: name.clone(),
                artifact_type: a.artifact_type.clone(),
                is_artifact_list: a.is_artifact_list,
                optional: a.is_optional,
                description: a.description.clone(),
            });
        }
        let dag = comp
            .dag
            .as_ref()
            .ok_or_else(|| ImportError::Invalid(format!("{at}: the pipeline has no DAG")))?;
        let mut carried: HashMap<String, Carried> = HashMap::default();
        for name in inputs.parameters.keys().chain(inputs.artifacts.keys()) {
            carried.insert(name.clone(), Carried::Param(name.clone()));
        }
        let mut ids = 0usize;
        let tasks = self.create(&mut doc, dag, None, &mut ids, at)?;
        let index = Index::of(&doc);
        self.bind(&mut doc, dag, &tasks, &index, &carried, at)?;

        // Pipeline outputs.
        if let Some(outs) = &dag.outputs {
            let defs = comp.output_definitions.clone().unwrap_or_default();
            let mut add = |name: &str, from: Vec<PortRef>| {
                let description = defs
                    .parameters
                    .get(name)
                    .and_then(|p| p.description.clone())
                    .or_else(|| defs.artifacts.get(name).and_then(|a| a.description.clone()));
                doc.outputs.push(PipelineOutput {
                    name: name.to_string(),
                    from,
                    collected: false,
                    description,
                });
            };
            for name in outs.parameters.keys() {
                add(name, self.dag_output(&tasks, dag, name, at)?);
            }
            for name in outs.artifacts.keys() {
                add(name, self.dag_output(&tasks, dag, name, at)?);
            }
        }
        mark_collected_outputs(&mut doc, comp);
        let shape = self.add_after(&mut doc, dag, &tasks, at)?;
        // Tasks that depend on each other in a cycle can never run: refused here, naming the
        // cycle, rather than imported as a document that cannot compile.
        let (model, _) = crate::model::analyze(&doc);
        if let Some((_, path)) = crate::validate::cycles(&model).first() {
            return Err(ImportError::Invalid(format!(
                "{at}: these tasks depend on each other in a cycle: {path}"
            )));
        }
        drop(model);
        Ok((doc, shape))
    }

    /// Creates the nodes and groups of `dag` (recursively), returning its task map.
    fn create(
        &self,
        doc: &mut Document,
        dag: &'s DagSpec,
        parent: Option<&str>,
        ids: &mut usize,
        at: &At<'_>,
    ) -> Result<DagTasks<'s>, ImportError> {
        let mut out = DagTasks::default();
        for (name, task) in in_definition_order(dag) {
            let tat = at.then(".dag.tasks.", name);
            let comp = self.component(&task.component_ref.name, &tat)?;
            self.count_task(&tat)?;
            *ids += 1;
            let display_name = (task.task_info.name != *name).then(|| task.task_info.name.clone());
            if let Some(kind) = control_flow_kind(name, task) {
                let id = format!("g{ids}");
                let sub = comp.dag.as_ref().ok_or_else(|| {
                    ImportError::Invalid(format!("{tat}: a {kind} group without a DAG"))
                })?;
                let kind = match kind {
                    "condition" => GroupKind::Condition {
                        expression: String::new(),
                    },
                    "branches" => GroupKind::Branches,
                    "loop" => GroupKind::Loop {
                        items: LoopItems::Raw(String::new()),
                        parallelism: task
                            .iterator_policy
                            .as_ref()
                            .and_then(|p| p.parallelism_limit),
                        item_input: None,
                        item_type: None,
                    },
                    _ => GroupKind::ExitHandler {
                        exit_node: String::new(),
                    },
                };
                doc.groups.push(Group {
                    id: id.clone(),
                    kind,
                    name: Some(name.clone()),
                    display_name,
                    parent: parent.map(str::to_string),
                    position: Default::default(),
                    size: Default::default(),
                });
                let inner = self.nested(&task.component_ref.name, &tat, || {
                    self.create(
                        doc,
                        sub,
                        Some(&id),
                        ids,
                        &tat.then("→", &task.component_ref.name),
                    )
                })?;
                out.groups.insert(id.clone(), (inner, comp));
                out.ids.insert(name.clone(), id);
                continue;
            }
            let id = format!("n{ids}");
            let key = task
                .component_ref
                .name
                .strip_prefix("comp-")
                .unwrap_or(&task.component_ref.name)
                .to_string();
            if !doc.components.contains_key(&key) {
                let def = self.component_def(comp, &task.component_ref.name, &key, &tat)?;
                doc.components.insert(key.clone(), def);
            }
            let mut node = Node::new(&id, name, &key);
            node.display_name = display_name;
            node.group = parent.map(str::to_string);
            node.caching = task
                .caching_options
                .as_ref()
                .is_some_and(|c| c.enable_cache);
            node.cache_key = task
                .caching_options
                .as_ref()
                .and_then(|c| c.cache_key.clone());
            node.retry = task.retry_policy.clone();
            node.run_after_failures = task
                .trigger_policy
                .as_ref()
                .and_then(|t| t.strategy.as_deref())
                == Some("ALL_UPSTREAM_TASKS_COMPLETED");
            if key != *name {
                node.component_name = Some(key);
            }
            if let Some(label) = &comp.executor_label {
                node.kubernetes = self.platform_executors.and_then(|e| e.get(label)).cloned();
                if node.kubernetes.is_some() {
                    self.claimed.borrow_mut().insert(label.clone());
                }
            }
            doc.nodes.push(node);
            out.ids.insert(name.clone(), id);
        }
        Ok(out)
    }

    fn component_def(
        &self,
        comp: &'s ComponentSpec,
        name: &'s str,
        key: &str,
        at: &At<'_>,
    ) -> Result<ComponentDef, ImportError> {
        let mut def = ComponentDef {
            name: key.to_string(),
            title: None,
            description: None,
            input_definitions: comp.input_definitions.clone().unwrap_or_default(),
            output_definitions: comp.output_definitions.clone().unwrap_or_default(),
            executor: None,
            pipeline: None,
        };
        if let Some(label) = &comp.executor_label {
            def.executor = Some(
                self.spec
                    .deployment_spec
                    .as_ref()
                    .and_then(|d| d.executors.get(label))
                    .cloned()
                    .ok_or_else(|| {
                        ImportError::Invalid(format!(
                            "{at}: executor {label:?} is not in deploymentSpec.executors"
                        ))
                    })?,
            );
        } else if comp.dag.is_some() {
            let (mut inner, _) =
                self.nested(name, at, || self.pipeline(comp, &at.then("→comp-", key)))?;
            inner.name = key.to_string();
            def.pipeline = Some(Box::new(inner));
        } else {
            return Err(ImportError::Invalid(format!(
                "{at}: component comp-{key} has neither an executor nor a DAG"
            )));
        }
        Ok(def)
    }

    /// Follows a DAG output back to the task outputs it selects.
    fn dag_output(
        &self,
        tasks: &DagTasks,
        dag: &DagSpec,
        key: &str,
        at: &At<'_>,
    ) -> Result<Vec<PortRef>, ImportError> {
        let outs = dag.outputs.as_ref();
        let selectors: Vec<(String, String)> = if let Some(p) =
            outs.and_then(|o| o.parameters.get(key))
        {
            match (&p.value_from_parameter, &p.value_from_oneof) {
                (Some(s), _) => vec![(s.producer_subtask.clone(), s.output_parameter_key.clone())],
                (None, Some(sels)) => sels
                    .parameter_selectors
                    .iter()
                    .map(|s| (s.producer_subtask.clone(), s.output_parameter_key.clone()))
                    .collect(),
                _ => Vec::new(),
            }
        } else if let Some(a) = outs.and_then(|o| o.artifacts.get(key)) {
            a.artifact_selectors
                .iter()
                .map(|s| (s.producer_subtask.clone(), s.output_artifact_key.clone()))
                .collect()
        } else {
            return Err(ImportError::Invalid(format!(
                "{at}: DAG output {key:?} is not defined"
            )));
        };
        let mut out = Vec::new();
        for (task, k) in selectors {
            out.extend(self.task_output(tasks, &task, &k, at)?);
        }
        Ok(out)
    }

    /// The task outputs behind output `key` of task `task` of a DAG.
    fn task_output(
        &self,
        tasks: &DagTasks,
        task: &str,
        key: &str,
        at: &At<'_>,
    ) -> Result<Vec<PortRef>, ImportError> {
        let id = tasks.ids.get(task).ok_or_else(|| {
            ImportError::Invalid(format!(
                "{at}: refers to task {task:?}, which is not in the DAG"
            ))
        })?;
        match tasks.groups.get(id) {
            Some((inner, comp)) => {
                let dag = comp.dag.as_ref().ok_or_else(|| {
                    ImportError::Invalid(format!("{at}: group {task:?} has no DAG"))
                })?;
                self.dag_output(inner, dag, key, &at.then("→", task))
            }
            None => Ok(vec![PortRef {
                node: id.clone(),
                port: key.to_string(),
            }]),
        }
    }

    /// Resolves the inputs of every task of `dag` (recursively).
    fn bind(
        &self,
        doc: &mut Document,
        dag: &DagSpec,
        tasks: &DagTasks,
        index: &Index,
        carried: &HashMap<String, Carried>,
        at: &At<'_>,
    ) -> Result<(), ImportError> {
        for (name, task) in in_definition_order(dag) {
            let tat = at.then(".dag.tasks.", name);
            let id = tasks.ids.get(name).cloned().unwrap_or_default();
            // What each input of the task carries.
            let mut inputs: Map<(Carried, Option<String>)> = Map::new();
            let mut bindings: Map<Binding> = Map::new();
            if let Some(spec) = &task.inputs {
                for (k, p) in &spec.parameters {
                    let kat = tat.then(".inputs.parameters.", k);
                    if let Some(v) = &p.runtime_value {
                        let value = v.constant.clone().ok_or_else(|| {
                            ImportError::Invalid(format!(
                                "{kat}: only `constant` runtime values are supported"
                            ))
                        })?;
                        bindings.insert(k.clone(), Binding::Value(value));
                    } else if let Some(c) = &p.component_input_parameter {
                        let carried = carried.get(c).cloned().ok_or_else(|| {
                            ImportError::Invalid(format!(
                                "{kat}: reads {c:?}, which is not an input of the enclosing DAG"
                            ))
                        })?;
                        inputs.insert(
                            k.clone(),
                            (carried, p.parameter_expression_selector.clone()),
                        );
                    } else if let Some(t) = &p.task_output_parameter {
                        let from = self.task_output(
                            tasks,
                            &t.producer_task,
                            &t.output_parameter_key,
                            &kat,
                        )?;
                        inputs.insert(k.clone(), (Carried::Outputs(from), None));
                    } else if let Some(f) = &p.task_final_status {
                        let gid = tasks.ids.get(&f.producer_task).cloned().ok_or_else(|| {
                            ImportError::Invalid(format!(
                                "{kat}: final status of {:?}, which is not in the DAG",
                                f.producer_task
                            ))
                        })?;
                        bindings.insert(k.clone(), Binding::FinalStatus(gid));
                    } else {
                        return Err(ImportError::Invalid(format!(
                            "{kat}: the input has no source"
                        )));
                    }
                }
                for (k, a) in &spec.artifacts {
                    let kat = tat.then(".inputs.artifacts.", k);
                    if let Some(c) = &a.component_input_artifact {
                        let carried = carried.get(c).cloned().ok_or_else(|| {
                            ImportError::Invalid(format!(
                                "{kat}: reads {c:?}, which is not an input of the enclosing DAG"
                            ))
                        })?;
                        inputs.insert(k.clone(), (carried, None));
                    } else if let Some(t) = &a.task_output_artifact {
                        let from = self.task_output(
                            tasks,
                            &t.producer_task,
                            &t.output_artifact_key,
                            &kat,
                        )?;
                        inputs.insert(k.clone(), (Carried::Outputs(from), None));
                    } else {
                        return Err(ImportError::Invalid(format!(
                            "{kat}: the input has no source"
                        )));
                    }
                }
            }
            if let Some((inner_tasks, comp)) = tasks.groups.get(&id) {
                // A group: its inputs are what its DAG's `pipelinechannel--` inputs carry.
                let mut inner: HashMap<String, Carried> = HashMap::default();
                for (k, (c, selector)) in &inputs {
                    inner.insert(k.clone(), carry_selected(c, selector.as_deref(), &tat, k)?);
                }
                let gi = index.groups.get(&id).copied().unwrap_or_default();
                let iterator = match (&task.parameter_iterator, &task.artifact_iterator) {
                    (Some(it), _) => Some((
                        it.item_input.clone(),
                        it.items.raw.clone(),
                        it.items.input_parameter.clone(),
                    )),
                    (None, Some(it)) => Some((
                        it.item_input.clone(),
                        None,
                        Some(it.items.input_artifact.clone()),
                    )),
                    (None, None) => None,
                };
                if let Some((item_input, raw, list)) = iterator {
                    let items = match (raw, list) {
                        (Some(raw), _) => LoopItems::Raw(raw),
                        (None, Some(p)) => match inner.get(&p) {
                            Some(Carried::Param(name)) => LoopItems::Parameter(name.clone()),
                            Some(Carried::Outputs(from)) if from.len() == 1 => LoopItems::Output(from[0].clone()),
                            Some(Carried::LoopItem(group, field)) => LoopItems::LoopItem { group: group.clone(), field: field.clone() },
                            _ => {
                                return Err(ImportError::Invalid(format!(
                                    "{tat}: loops over {p:?}, which is not a pipeline input or task output"
                                )))
                            }
                        },
                        (None, None) => return Err(ImportError::Invalid(format!("{tat}.parameterIterator: no items"))),
                    };
                    // The spec types the item; a parameter list's `LIST` type does not.
                    let declared = comp
                        .input_definitions
                        .as_ref()
                        .and_then(|d| d.parameters.get(&item_input))
                        .map(|p| p.parameter_type)
                        .filter(|t| {
                            *t != crate::ir::ParameterType::String
                                && !matches!(items, LoopItems::Raw(_))
                        });
                    if let GroupKind::Loop {
                        items: it_items,
                        item_input: it_input,
                        item_type: it_type,
                        ..
                    } = &mut doc.groups[gi].kind
                    {
                        *it_items = items;
                        *it_input = Some(item_input.clone());
                        *it_type = declared;
                    }
                    inner.insert(item_input, Carried::LoopItem(id.clone(), None));
                }
                if let Some(cel) = task
                    .trigger_policy
                    .as_ref()
                    .and_then(|t| t.condition.as_ref())
                {
                    // `item` is the innermost loop around the condition; others are named.
                    let innermost = loops_around(doc, index, gi).into_iter().next();
                    let resolve = |ch: &str| -> Option<Operand> {
                        match inner.get(ch)? {
                            Carried::Param(p) => Some(Operand::Parameter(p.clone())),
                            Carried::LoopItem(g, field) => Some(Operand::LoopItem {
                                group: (innermost != index.groups.get(g).copied())
                                    .then(|| g.clone()),
                                field: field.clone(),
                            }),
                            Carried::Outputs(from) if from.len() == 1 => {
                                let node = &doc.nodes[*index.nodes.get(&from[0].node)?];
                                Some(Operand::Output {
                                    task: node.name.clone(),
                                    output: from[0].port.clone(),
                                })
                            }
                            _ => None,
                        }
                    };
                    let expr = condition::from_cel(cel, &resolve).map_err(|e| {
                        ImportError::Invalid(format!("{tat}.triggerPolicy.condition: {e}"))
                    })?;
                    self.set_condition(doc, gi, expr, &tat)?;
                }
                let empty = DagSpec::default();
                let sub = comp.dag.as_ref().unwrap_or(&empty);
                let sub_at = tat.then("→", &task.component_ref.name);
                self.bind(doc, sub, inner_tasks, index, &inner, &sub_at)?;
                continue;
            }
            // A node.
            for (k, (c, selector)) in inputs {
                match c {
                    Carried::Param(p) => {
                        bindings.insert(k, Binding::Parameter(p));
                    }
                    Carried::LoopItem(..) => {
                        let Carried::LoopItem(g, field) =
                            carry_selected(&c, selector.as_deref(), &tat, &k)?
                        else {
                            continue;
                        };
                        bindings.insert(k, Binding::LoopItem { group: g, field });
                    }
                    Carried::Outputs(from) => {
                        for f in from {
                            let wid = format!("w{}", doc.wires.len() + 1);
                            doc.wires.push(Wire {
                                id: wid,
                                from: f,
                                to: PortRef {
                                    node: id.clone(),
                                    port: k.clone(),
                                },
                            });
                        }
                    }
                }
            }
            if let Some(&i) = index.nodes.get(&id) {
                doc.nodes[i].inputs = bindings;
            }
        }
        // Exit handlers: the exit task runs after the group whatever happens.
        for (name, task) in &dag.tasks {
            let Some(gid) = tasks.ids.get(name) else {
                continue;
            };
            if !matches!(control_flow_kind(name, task), Some("exit")) {
                continue;
            }
            let exit = dag.tasks.iter().find(|(_, t)| {
                t.dependent_tasks.contains(name)
                    && t.trigger_policy
                        .as_ref()
                        .and_then(|p| p.strategy.as_deref())
                        == Some("ALL_UPSTREAM_TASKS_COMPLETED")
            });
            let Some((exit_name, _)) = exit else {
                return Err(ImportError::Invalid(format!(
                    "{at}.dag.tasks.{name}: an exit handler without an exit task"
                )));
            };
            let exit_id = tasks.ids.get(exit_name).cloned().unwrap_or_default();
            if let Some(g) = doc.groups.iter_mut().find(|g| &g.id == gid) {
                g.kind = GroupKind::ExitHandler { exit_node: exit_id };
            }
        }
        Ok(())
    }

    /// Stores a condition group's own expression; inside an if/elif/else, the trigger also
    /// negates the earlier branches, which are peeled off here.
    fn set_condition(
        &self,
        doc: &mut Document,
        gi: usize,
        expr: Expr,
        at: &At<'_>,
    ) -> Result<(), ImportError> {
        let parent = doc.groups[gi].parent.clone();
        let in_branches = parent
            .as_deref()
            .and_then(|p| doc.group(p))
            .is_some_and(|p| matches!(p.kind, GroupKind::Branches));
        if !in_branches {
            doc.groups[gi].kind = GroupKind::Condition {
                expression: expr.to_string(),
            };
            return Ok(());
        }
        let earlier: Vec<Expr> = doc.groups[..gi]
            .iter()
            .filter(|g| g.parent == parent)
            .filter_map(|g| match &g.kind {
                GroupKind::Condition { expression } => condition::parse(expression).ok(),
                _ => None,
            })
            .collect();
        let mut conj = Vec::new();
        flatten_and(expr, &mut conj);
        let n = earlier.len();
        let matches_earlier = conj.len() >= n
            && conj[..n]
                .iter()
                .zip(&earlier)
                .all(|(c, e)| matches!(c, Expr::Not(inner) if **inner == *e));
        if !matches_earlier {
            return Err(ImportError::Invalid(format!(
                "{at}.triggerPolicy.condition: a branch of an if/elif/else whose condition does not start by negating the earlier branches"
            )));
        }
        let rest: Vec<Expr> = conj.into_iter().skip(n).collect();
        doc.groups[gi].kind = match rest
            .into_iter()
            .reduce(|a, b| Expr::And(Box::new(a), Box::new(b)))
        {
            Some(own) => GroupKind::Condition {
                expression: own.to_string(),
            },
            None => GroupKind::Else,
        };
        Ok(())
    }

    /// Adds `after` for the dependencies of each task that its data does not explain; returns
    /// the document's shape (with those dependencies) for the layout.
    fn add_after(
        &self,
        doc: &mut Document,
        dag: &DagSpec,
        tasks: &DagTasks,
        at: &At<'_>,
    ) -> Result<Shape, ImportError> {
        let (model, _) = crate::model::analyze(doc);
        let mut implied: HashMap<&str, Vec<&str>> = HashMap::default();
        for &(from, to) in &model.edges {
            let to_id = match to {
                Elem::Node(n) => doc.nodes[n].id.as_str(),
                Elem::Group(g) => doc.groups[g].id.as_str(),
            };
            implied
                .entry(to_id)
                .or_default()
                .push(model.task_name(from));
        }
        let mut wanted: Vec<(String, Vec<String>, &DagTasks)> = Vec::new();
        collect_deps(dag, tasks, &mut wanted);
        // (node index, the task it must run after).
        let mut added: Vec<(usize, String)> = Vec::new();
        let mut shape = Shape::of(&model);
        for (id, deps, scope_tasks) in wanted {
            for d in deps {
                if implied
                    .get(id.as_str())
                    .is_some_and(|h| h.contains(&d.as_str()))
                {
                    continue;
                }
                let Some(target) = scope_tasks.ids.get(&d).cloned() else {
                    return Err(ImportError::Invalid(format!(
                        "{at}: a task depends on {d:?}, which is not in its DAG"
                    )));
                };
                // A group whose members do not explain a dependency: hang it on the group's
                // first task.
                let node = match model.node_by_id.get(id.as_str()) {
                    Some(&i) => i,
                    None => doc
                        .nodes
                        .iter()
                        .position(|n| n.group.as_deref() == Some(id.as_str()))
                        .ok_or_else(|| {
                            ImportError::Invalid(format!(
                                "{at}: group {id} depends on {d:?} but holds no task to carry that"
                            ))
                        })?,
                };
                let producer = match model.node_by_id.get(target.as_str()) {
                    Some(&n) => Some(Elem::Node(n)),
                    None => model
                        .group_by_id
                        .get(target.as_str())
                        .map(|&g| Elem::Group(g)),
                };
                if let Some(edge) = producer.and_then(|p| model.lifted_edge(p, Elem::Node(node))) {
                    shape.edges.insert(edge);
                }
                added.push((node, target));
            }
        }
        drop(implied);
        drop(model);
        for (node, target) in added {
            doc.nodes[node].after.push(target);
        }
        Ok(shape)
    }
}

fn collect_deps<'t, 's>(
    dag: &DagSpec,
    tasks: &'t DagTasks<'s>,
    out: &mut Vec<(String, Vec<String>, &'t DagTasks<'s>)>,
) {
    for (name, task) in &dag.tasks {
        let Some(id) = tasks.ids.get(name) else {
            continue;
        };
        out.push((id.clone(), task.dependent_tasks.clone(), tasks));
        if let Some((inner, comp)) = tasks.groups.get(id) {
            if let Some(sub) = &comp.dag {
                collect_deps(sub, inner, out);
            }
        }
    }
}

/// The tasks of a DAG in the order the KFP SDK defined them, as far as their names tell: the
/// names sorted with their numbers compared as numbers (`condition-9` before `condition-10`),
/// which puts the branches of an if/elif/else in their order.
fn in_definition_order(dag: &DagSpec) -> Vec<(&String, &PipelineTaskSpec)> {
    let mut tasks: Vec<_> = dag.tasks.iter().collect();
    tasks.sort_by(|(a, _), (b, _)| natural_cmp(a, b));
    tasks
}

/// Compares two names piecewise, runs of digits by their value, the rest as text.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn pieces(s: &str) -> impl Iterator<Item = (bool, &str)> {
        let mut rest = s;
        std::iter::from_fn(move || {
            let first = rest.chars().next()?;
            let digits = first.is_ascii_digit();
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(rest.len());
            let (piece, tail) = rest.split_at(end);
            rest = tail;
            Some((digits, piece))
        })
    }
    // Numbers of any length: fewer significant digits first, then digit by digit.
    fn key((digits, piece): (bool, &str)) -> (bool, usize, &str) {
        let significant = if digits {
            piece.trim_start_matches('0')
        } else {
            piece
        };
        (
            !digits,
            if digits { significant.len() } else { 0 },
            significant,
        )
    }
    pieces(a)
        .map(key)
        .cmp(pieces(b).map(key))
        .then_with(|| a.cmp(b))
}

fn flatten_and(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::And(a, b) => {
            flatten_and(*a, out);
            flatten_and(*b, out);
        }
        other => out.push(other),
    }
}

/// Marks the pipeline outputs the spec types as lists although their one source is a single
/// value that leaves no loop: `dsl.Collected` of a task inside a condition.
fn mark_collected_outputs(doc: &mut Document, comp: &ComponentSpec) {
    let defs = comp.output_definitions.clone().unwrap_or_default();
    let declared_list = |name: &str| {
        defs.parameters
            .get(name)
            .is_some_and(|p| p.parameter_type == ParameterType::List)
            || defs.artifacts.get(name).is_some_and(|a| a.is_artifact_list)
    };
    let marks: Vec<bool> = {
        let (m, _) = crate::model::analyze(doc);
        doc.outputs
            .iter()
            .zip(&m.outputs)
            .map(|(o, sources)| match sources.as_slice() {
                [(n, port)] => {
                    let single = match m.output_type(*n, port) {
                        Some(crate::document::PortType::Parameter(t)) => t != ParameterType::List,
                        Some(crate::document::PortType::Artifact(_, list)) => !list,
                        None => false,
                    };
                    declared_list(&o.name)
                        && single
                        && !crate::model::crossed_loop(&m, Elem::Node(*n), None)
                }
                _ => false,
            })
            .collect()
    };
    for (o, mark) in doc.outputs.iter_mut().zip(marks) {
        o.collected = mark;
    }
}
