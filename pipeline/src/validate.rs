//! Validation: every problem in a document, each pointing at its node, port, wire, group or
//! parameter. The compiler builds on the same analysis ([`Model`]).

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use petgraph::graphmap::DiGraphMap;
use serde_json::Value;

use crate::condition::{self, Expr, Operand};
use crate::diagnostic::Diagnostic;
use crate::document::{
    Binding, Document, GroupKind, LoopItems, Node, PortRef, PortType, MAX_NESTING,
};
use crate::ir::ParameterType;
use crate::map::Map;
use crate::names;

/// A task of a DAG: a node or a group, by index into `doc.nodes` / `doc.groups`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Elem {
    /// `doc.nodes[i]`.
    Node(usize),
    /// `doc.groups[i]`.
    Group(usize),
}

/// A DAG: the pipeline's own (`None`) or a group's.
pub(crate) type Scope = Option<usize>;

/// Where a node input gets its value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// A constant.
    Value(Value),
    /// A pipeline input (parameter or artifact).
    Param(String),
    /// An output of another node.
    Output(usize, String),
    /// Whichever of several outputs ran (several wires into one input, from the branches of one
    /// if/elif/else).
    OneOf(Vec<(usize, String)>),
    /// The item of an enclosing loop group (or a field of it).
    LoopItem(usize, Option<String>),
    /// The final status of an exit-handler group.
    FinalStatus(usize),
}

/// What validation learned, for the compiler.
pub(crate) struct Model<'a> {
    pub doc: &'a Document,
    /// Node index by id.
    pub node_by_id: HashMap<&'a str, usize>,
    /// Node index by task name.
    pub node_by_name: HashMap<&'a str, usize>,
    /// Group index by id.
    pub group_by_id: HashMap<&'a str, usize>,
    /// The enclosing group of each group (cycles broken, at most [`MAX_NESTING`] deep).
    pub parent: Vec<Scope>,
    /// The groups directly inside each group, in document order.
    pub children: Vec<Vec<usize>>,
    /// The group holding each node.
    pub node_scope: Vec<Scope>,
    /// Task name of each group (`condition-1`, `for-loop-2`, …).
    pub group_task: Vec<String>,
    /// Groups in pre-order (parents before children, document order among siblings).
    pub group_order: Vec<usize>,
    /// Per node: input name → source.
    pub sources: Vec<Map<Source>>,
    /// Per node: tasks it must run after, beyond data.
    pub after: Vec<Vec<Elem>>,
    /// The own expression of each condition group (branches: without earlier branches).
    pub conditions: HashMap<usize, Expr>,
    /// Loop item input name and type of each loop group.
    /// Each loop's item input name and the item's type (a parameter, or one artifact of a list).
    pub loop_items: HashMap<usize, (String, PortType)>,
    /// Producer (node, port) of each loop's items, when they come from a task.
    pub loop_sources: HashMap<usize, (usize, String)>,
    /// Exit node index of each exit-handler group.
    pub exit_nodes: HashMap<usize, usize>,
    /// Sources of each pipeline output: single (node, port) or several (one-of).
    pub outputs: Vec<Vec<(usize, String)>>,
    /// Dependency edges lifted into the DAG where they apply (producer → consumer).
    pub edges: BTreeSet<(Elem, Elem)>,
}

impl Model<'_> {
    /// The DAG an element sits in.
    pub fn container(&self, e: Elem) -> Scope {
        match e {
            Elem::Node(n) => self.node_scope[n],
            Elem::Group(g) => self.parent[g],
        }
    }

    /// `[scope, parent, grandparent, …]`, without the pipeline's own DAG: at most
    /// [`MAX_NESTING`] groups, as the validator breaks cycles and cuts deeper nesting.
    pub fn chain(&self, scope: Scope) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = scope;
        while let Some(g) = cur.filter(|_| out.len() < MAX_NESTING) {
            out.push(g);
            cur = self.parent[g];
        }
        out
    }

    /// Whether `outer` is `inner` or one of its enclosing DAGs.
    pub fn encloses(&self, outer: Scope, inner: Scope) -> bool {
        match outer {
            None => true,
            Some(o) => self.chain(inner).contains(&o),
        }
    }

    /// The innermost DAG enclosing both.
    pub fn lca(&self, a: Scope, b: Scope) -> Scope {
        let cb = self.chain(b);
        self.chain(a).into_iter().find(|g| cb.contains(g))
    }

    /// The task of DAG `scope` that is or contains `e`; `None` if `e` is not inside `scope`.
    pub fn rep(&self, e: Elem, scope: Scope) -> Option<Elem> {
        let mut cur = e;
        loop {
            let c = self.container(cur);
            if c == scope {
                return Some(cur);
            }
            cur = Elem::Group(c?);
        }
    }

    /// The task name of an element.
    /// The dependency of `c` on `p`, lifted into the innermost DAG holding both (how KFP writes
    /// `dependentTasks`); `None` when one encloses the other.
    pub fn lifted_edge(&self, p: Elem, c: Elem) -> Option<(Elem, Elem)> {
        let lca = self.lca(self.container(p), self.container(c));
        let (a, b) = (self.rep(p, lca)?, self.rep(c, lca)?);
        (a != b || p == c).then_some((a, b))
    }

    pub fn task_name(&self, e: Elem) -> &str {
        match e {
            Elem::Node(n) => &self.doc.nodes[n].name,
            Elem::Group(g) => &self.group_task[g],
        }
    }

    /// The type of a loop's item, or of a field of it: a field of raw items has the type its
    /// values share; a field of items from a parameter or task output is a string, as in KFP.
    pub fn loop_operand_type(&self, g: usize, field: Option<&str>) -> Option<PortType> {
        let (_, item) = self.loop_items.get(&g)?;
        let Some(field) = field else {
            return Some(item.clone());
        };
        Some(PortType::Parameter(match &self.doc.groups[g].kind {
            GroupKind::Loop {
                items: LoopItems::Raw(text),
                ..
            } => raw_field_type(text, field),
            _ => ParameterType::String,
        }))
    }

    /// The type of a node's output port.
    pub fn output_type(&self, n: usize, port: &str) -> Option<PortType> {
        self.doc.component_of(&self.doc.nodes[n])?.output_port(port)
    }
}

/// Every problem in `doc`. Empty when the document compiles.
pub fn validate(doc: &Document) -> Vec<Diagnostic> {
    analyze(doc).1
}

fn describe_node(n: &Node) -> String {
    format!("{:?}", n.name)
}

fn group_prefix(kind: &GroupKind) -> &'static str {
    match kind {
        GroupKind::Condition { .. } | GroupKind::Else => "condition",
        GroupKind::Branches => "condition-branches",
        GroupKind::Loop { .. } => "for-loop",
        GroupKind::ExitHandler { .. } => "exit-handler",
    }
}

/// The element type of a literal JSON list, the way KFP types a loop item.
fn raw_item_type(items: &[Value]) -> ParameterType {
    let all = |f: fn(&Value) -> bool| !items.is_empty() && items.iter().all(f);
    if all(|v| v.is_i64() || v.is_u64()) {
        ParameterType::NumberInteger
    } else if all(Value::is_number) {
        ParameterType::NumberDouble
    } else if all(Value::is_boolean) {
        ParameterType::Boolean
    } else if all(Value::is_object) {
        ParameterType::Struct
    } else if all(Value::is_array) {
        ParameterType::List
    } else {
        ParameterType::String
    }
}

/// The type of one item of a list a loop iterates: an artifact of an artifact list, or the
/// declared item type of a parameter list (a string when undeclared, as KFP types items of
/// untyped lists).
fn item_type(list: Option<PortType>, declared: Option<ParameterType>) -> PortType {
    match list {
        Some(PortType::Artifact(title, _)) => PortType::Artifact(title, false),
        _ => PortType::Parameter(declared.unwrap_or(ParameterType::String)),
    }
}

/// The type of field `field` of the items of a raw list (`item.a` in the SDK): what its values
/// have in common, as for the items themselves. KFP takes the type of the first value of the
/// first item, which agrees whenever its conditions work.
fn raw_field_type(text: &str, field: &str) -> ParameterType {
    let values: Vec<Value> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .filter_map(|mut i| i.get_mut(field).map(Value::take))
            .collect(),
        _ => Vec::new(),
    };
    raw_item_type(&values)
}

/// Breaks every cycle of enclosing groups (a group inside itself, or inside a group inside it, …)
/// where it closes, reporting each once. Linear: each group is walked once.
fn break_parent_cycles(doc: &Document, parent: &mut [Scope], diags: &mut Vec<Diagnostic>) {
    // 0: not walked; w + 1: on the path walked from group w; usize::MAX: done.
    const DONE: usize = usize::MAX;
    let mut mark = vec![0; parent.len()];
    let mut path = Vec::new();
    for start in 0..parent.len() {
        if mark[start] != 0 {
            continue;
        }
        path.clear();
        let mut cur = Some(start);
        while let Some(g) = cur {
            if mark[g] == start + 1 {
                // Back at a group of this walk: the path from `g` on is a cycle.
                let at = path.iter().position(|&p| p == g).unwrap_or(0);
                let cycle: Vec<&str> = path[at..]
                    .iter()
                    .chain([&g])
                    .map(|&c| doc.groups[c].id.as_str())
                    .collect();
                let message = if cycle.len() == 2 {
                    "group is its own enclosing group".to_string()
                } else {
                    format!(
                        "groups enclose each other in a cycle: {}",
                        cycle.join(" → ")
                    )
                };
                diags.push(Diagnostic::error(message).at_group(&doc.groups[g].id));
                parent[g] = None;
                break;
            }
            if mark[g] != 0 {
                break;
            }
            mark[g] = start + 1;
            path.push(g);
            cur = parent[g];
        }
        for &g in &path {
            mark[g] = DONE;
        }
    }
}

/// Cuts groups loose that nest deeper than [`MAX_NESTING`], reporting each cut. Needs a parent
/// forest without cycles; linear.
fn limit_group_depth(doc: &Document, parent: &mut [Scope], diags: &mut Vec<Diagnostic>) {
    // The depth of each group (1 at the top level), 0 while unknown.
    let mut depth = vec![0usize; parent.len()];
    let mut path = Vec::new();
    for start in 0..parent.len() {
        let mut cur = Some(start);
        while let Some(g) = cur.filter(|&g| depth[g] == 0) {
            path.push(g);
            cur = parent[g];
        }
        let mut above = cur.map_or(0, |g| depth[g]);
        while let Some(g) = path.pop() {
            if above >= MAX_NESTING {
                diags.push(
                    Diagnostic::error(format!("groups nest deeper than {MAX_NESTING} levels here"))
                        .at_group(&doc.groups[g].id),
                );
                parent[g] = None;
                above = 0;
            }
            depth[g] = above + 1;
            above += 1;
        }
    }
}

/// The groups directly inside each group, in document order.
fn children_of(parent: &[Scope]) -> Vec<Vec<usize>> {
    let mut children = vec![Vec::new(); parent.len()];
    for (g, p) in parent.iter().enumerate() {
        if let Some(p) = p {
            children[*p].push(g);
        }
    }
    children
}

/// Groups in pre-order: parents before children, document order among siblings. Iterative;
/// with the parent cycles broken first, every group appears once.
fn preorder(children: &[Vec<usize>]) -> Vec<usize> {
    let mut has_parent = vec![false; children.len()];
    for &c in children.iter().flatten() {
        has_parent[c] = true;
    }
    let mut out = Vec::with_capacity(children.len());
    let mut stack: Vec<usize> = (0..children.len())
        .rev()
        .filter(|&g| !has_parent[g])
        .collect();
    while let Some(g) = stack.pop() {
        out.push(g);
        stack.extend(children[g].iter().rev());
    }
    out
}

/// Validates `doc`, returning what the compiler needs and every diagnostic.
pub(crate) fn analyze(doc: &Document) -> (Model<'_>, Vec<Diagnostic>) {
    analyze_at(doc, 0)
}

/// [`analyze`] for a document `level` sub-pipelines deep (0: the pipeline itself, 1: one of its
/// sub-pipelines, …).
fn analyze_at(doc: &Document, level: usize) -> (Model<'_>, Vec<Diagnostic>) {
    let mut diags = Vec::new();

    if doc.format != crate::FORMAT {
        diags.push(Diagnostic::error(format!(
            "unsupported document format {:?}; expected {:?}",
            doc.format,
            crate::FORMAT
        )));
    }
    if !names::is_valid_task_name(&doc.name) {
        diags.push(Diagnostic::error(format!(
            "pipeline name {:?} must be lowercase letters, digits and dashes, starting and ending with a letter or digit (for example {:?})",
            doc.name,
            names::sanitize(&doc.name)
        )));
    }

    // Pipeline inputs.
    let mut seen = HashSet::default();
    let input_names = doc
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .chain(doc.artifact_inputs.iter().map(|a| a.name.as_str()));
    for name in input_names {
        if !names::is_valid_identifier(name) {
            diags.push(
                Diagnostic::error(format!(
                    "parameter name {name:?} must be a Python identifier (letters, digits, _)"
                ))
                .at_parameter(name),
            );
        }
        if !seen.insert(name) {
            diags.push(
                Diagnostic::error(format!("parameter {name:?} is declared twice"))
                    .at_parameter(name),
            );
        }
    }
    for p in &doc.parameters {
        if p.ty == ParameterType::TaskFinalStatus {
            diags.push(
                Diagnostic::error("a pipeline parameter cannot be a task final status")
                    .at_parameter(&p.name),
            );
        }
        if let Some(d) = &p.default {
            if !p.ty.accepts(d) {
                diags.push(
                    Diagnostic::error(format!(
                        "default {d} is not {}",
                        names::with_article(p.ty.python_name())
                    ))
                    .at_parameter(&p.name),
                );
            }
        }
    }

    // Components.
    for (key, def) in &doc.components {
        match (&def.executor, &def.pipeline) {
            (Some(_), None) => {}
            (None, Some(_)) if level >= MAX_NESTING => diags.push(Diagnostic::error(format!(
                "sub-pipelines nest deeper than {MAX_NESTING} levels here (sub-pipeline {key:?})"
            ))),
            (None, Some(inner)) => {
                for d in analyze_at(inner, level + 1).1 {
                    diags.push(Diagnostic {
                        message: format!("in sub-pipeline {key:?}: {}", d.message),
                        ..d
                    });
                }
            }
            _ => diags.push(Diagnostic::error(format!(
                "component {key:?} must have either an executor or a pipeline body"
            ))),
        }
    }

    // Groups: ids, parents, names.
    let mut group_by_id: HashMap<&str, usize> = HashMap::default();
    for (i, g) in doc.groups.iter().enumerate() {
        if group_by_id.insert(&g.id, i).is_some() {
            diags.push(
                Diagnostic::error(format!("group id {:?} is used twice", g.id)).at_group(&g.id),
            );
        }
    }
    let mut parent: Vec<Scope> = doc
        .groups
        .iter()
        .map(|g| {
            let p = g.parent.as_deref()?;
            let found = group_by_id.get(p).copied();
            if found.is_none() {
                diags.push(
                    Diagnostic::error(format!("enclosing group {p:?} does not exist"))
                        .at_group(&g.id),
                );
            }
            found
        })
        .collect();
    break_parent_cycles(doc, &mut parent, &mut diags);
    limit_group_depth(doc, &mut parent, &mut diags);
    let children = children_of(&parent);
    let group_order = preorder(&children);
    // KFP numbers groups (and raw loop items) with one counter, in definition order.
    let mut group_task = vec![String::new(); doc.groups.len()];
    let mut loop_items: HashMap<usize, (String, PortType)> = HashMap::default();
    let mut counter = 0;
    for &g in &group_order {
        let group = &doc.groups[g];
        if let GroupKind::Loop {
            items: LoopItems::Raw(_),
            ..
        } = &group.kind
        {
            counter += 1;
        }
        counter += 1;
        group_task[g] = group
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-{counter}", group_prefix(&group.kind)));
        if let GroupKind::Loop {
            items,
            item_input,
            item_type: declared,
            ..
        } = &group.kind
        {
            let item_type = |list| item_type(list, *declared);
            let (default_name, ty) = match items {
                LoopItems::Raw(text) => {
                    let ty = match serde_json::from_str::<Value>(text) {
                        Ok(Value::Array(a)) => raw_item_type(&a),
                        _ => {
                            diags.push(
                                Diagnostic::error(format!(
                                    "loop items {text:?} are not a JSON list such as [1, 2, 3]"
                                ))
                                .at_group(&group.id),
                            );
                            ParameterType::String
                        }
                    };
                    (
                        format!("pipelinechannel--loop-item-param-{}", counter - 1),
                        PortType::Parameter(ty),
                    )
                }
                LoopItems::Parameter(p) => (
                    format!("{}-loop-item", names::param_channel(p)),
                    item_type(doc.input_type(p)),
                ),
                LoopItems::Output(port) => {
                    let node = doc.node(&port.node);
                    let task = node.map_or("", |n| n.name.as_str());
                    let list = node
                        .and_then(|n| doc.component_of(n))
                        .and_then(|c| c.output_port(&port.port));
                    (
                        format!("{}-loop-item", names::output_channel(task, &port.port)),
                        item_type(list),
                    )
                }
            };
            loop_items.insert(g, (item_input.clone().unwrap_or(default_name), ty));
        }
    }
    let mut task_names: HashMap<&str, String> = HashMap::default();
    for (i, g) in doc.groups.iter().enumerate() {
        if let Some(other) = task_names.insert(group_task[i].as_str(), g.id.clone()) {
            diags.push(
                Diagnostic::error(format!(
                    "group task name {:?} is also used by {other}",
                    group_task[i]
                ))
                .at_group(&g.id),
            );
        }
    }

    // Nodes.
    let mut node_by_id: HashMap<&str, usize> = HashMap::default();
    let mut node_by_name: HashMap<&str, usize> = HashMap::default();
    for (i, n) in doc.nodes.iter().enumerate() {
        if node_by_id.insert(&n.id, i).is_some() || group_by_id.contains_key(n.id.as_str()) {
            diags.push(Diagnostic::error(format!("id {:?} is used twice", n.id)).at_node(&n.id));
        }
        if !names::is_valid_task_name(&n.name) {
            diags.push(
                Diagnostic::error(format!(
                    "task name {:?} must be lowercase letters, digits and dashes (for example {:?})",
                    n.name,
                    names::sanitize(&n.name)
                ))
                .at_node(&n.id),
            );
        }
        if let Some(other) = node_by_name.insert(&n.name, i) {
            diags.push(
                Diagnostic::error(format!(
                    "task name {:?} is also used by node {}; task names must be unique",
                    n.name, doc.nodes[other].id
                ))
                .at_node(&n.id),
            );
        }
        if task_names.contains_key(n.name.as_str()) {
            diags.push(
                Diagnostic::error(format!(
                    "task name {:?} is taken by a group; rename the task",
                    n.name
                ))
                .at_node(&n.id),
            );
        }
        if !doc.components.contains_key(&n.component) {
            diags.push(
                Diagnostic::error(format!(
                    "component {:?} is not in the document",
                    n.component
                ))
                .at_node(&n.id),
            );
        }
        if let Some(g) = &n.group {
            if !group_by_id.contains_key(g.as_str()) {
                diags.push(Diagnostic::error(format!("group {g:?} does not exist")).at_node(&n.id));
            }
        }
    }
    // Nodes sharing a spec component name must run the same component.
    let mut spec_names: HashMap<&str, &str> = HashMap::default();
    for n in &doc.nodes {
        if let Some(prev) = spec_names.insert(n.spec_component_name(), &n.component) {
            if prev != n.component && doc.components.get(prev) != doc.components.get(&n.component) {
                diags.push(
                    Diagnostic::error(format!(
                        "component name {:?} is used for two different components",
                        n.spec_component_name()
                    ))
                    .at_node(&n.id),
                );
            }
        }
    }

    let node_scope = doc
        .nodes
        .iter()
        .map(|n| n.group.as_deref().and_then(|g| group_by_id.get(g).copied()))
        .collect();
    let mut model = Model {
        doc,
        node_by_id,
        node_by_name,
        group_by_id,
        parent,
        children,
        node_scope,
        group_task,
        group_order,
        sources: vec![Map::new(); doc.nodes.len()],
        after: vec![Vec::new(); doc.nodes.len()],
        conditions: HashMap::default(),
        loop_items,
        loop_sources: HashMap::default(),
        exit_nodes: HashMap::default(),
        outputs: Vec::new(),
        edges: BTreeSet::new(),
    };

    check_bindings(&mut model, &mut diags);
    check_wires(&mut model, &mut diags);
    check_required(&model, &mut diags);
    check_after(&mut model, &mut diags);
    check_groups(&mut model, &mut diags);
    check_outputs(&mut model, &mut diags);
    model.edges = dependency_edges(&model);
    check_cycles(&model, &mut diags);
    (model, diags)
}

fn check_bindings(m: &mut Model<'_>, diags: &mut Vec<Diagnostic>) {
    let doc = m.doc;
    for (i, n) in doc.nodes.iter().enumerate() {
        let Some(comp) = doc.component_of(n) else {
            continue;
        };
        let scope = m.container(Elem::Node(i));
        for (port, binding) in &n.inputs {
            let declared = comp.input_port(port);
            let interpolation = declared.is_none() && port.starts_with("pipelinechannel--");
            let ty = match (declared, binding) {
                (Some(t), _) => Some(t),
                // An extra input carrying a value into a `{{$.inputs.parameters[...]}}`
                // placeholder inside a constant (KFP's f-string inputs): any type.
                (None, Binding::Parameter(name)) if interpolation => doc.input_type(name),
                (None, Binding::LoopItem { .. }) if interpolation => {
                    Some(PortType::Parameter(ParameterType::String))
                }
                _ => None,
            };
            let Some(ty) = ty else {
                diags.push(
                    Diagnostic::error(format!("{} has no input {port:?}", describe_node(n)))
                        .at_port(&n.id, port),
                );
                continue;
            };
            let source = match binding {
                Binding::Value(v) => match &ty {
                    PortType::Parameter(pt) => {
                        if !pt.accepts(v) {
                            diags.push(
                                Diagnostic::error(format!(
                                    "{v} is not {}",
                                    names::with_article(pt.python_name())
                                ))
                                .at_port(&n.id, port),
                            );
                        }
                        Source::Value(v.clone())
                    }
                    PortType::Artifact(t, _) => {
                        diags.push(
                            Diagnostic::error(format!(
                                "input {port:?} takes a {t} artifact: connect it with a wire, it cannot hold a value"
                            ))
                            .at_port(&n.id, port),
                        );
                        continue;
                    }
                },
                Binding::Parameter(name) => match doc.input_type(name) {
                    None => {
                        diags.push(
                            Diagnostic::error(format!(
                                "pipeline parameter {name:?} does not exist"
                            ))
                            .at_port(&n.id, port),
                        );
                        continue;
                    }
                    Some(pty) => {
                        if let Err(why) = pty.can_feed(&ty) {
                            diags.push(
                                Diagnostic::error(format!(
                                    "parameter {name:?} cannot feed input {port:?}: {why}"
                                ))
                                .at_port(&n.id, port),
                            );
                        }
                        Source::Param(name.clone())
                    }
                },
                Binding::LoopItem { group, field } => {
                    let g = m.group_by_id.get(group.as_str()).copied();
                    match g {
                        Some(g) if m.loop_items.contains_key(&g) && m.encloses(Some(g), scope) => {
                            Source::LoopItem(g, field.clone())
                        }
                        _ => {
                            diags.push(
                                Diagnostic::error(format!(
                                    "input {port:?} reads the item of loop {group:?}, which does not enclose this task"
                                ))
                                .at_port(&n.id, port),
                            );
                            continue;
                        }
                    }
                }
                Binding::FinalStatus(group) => {
                    let g = m.group_by_id.get(group.as_str()).copied();
                    match g {
                        Some(g)
                            if matches!(doc.groups[g].kind, GroupKind::ExitHandler { .. })
                                && m.parent[g] == scope =>
                        {
                            Source::FinalStatus(g)
                        }
                        _ => {
                            diags.push(
                                Diagnostic::error(format!(
                                    "input {port:?} reads the final status of {group:?}, which is not an exit handler next to this task"
                                ))
                                .at_port(&n.id, port),
                            );
                            continue;
                        }
                    }
                }
            };
            m.sources[i].insert(port.clone(), source);
        }
    }
}

fn check_wires(m: &mut Model<'_>, diags: &mut Vec<Diagnostic>) {
    let doc = m.doc;
    let mut wire_ids = HashSet::default();
    // (target node, input port) → every (wire index, source node, source port) feeding it.
    type Incoming<'a> = BTreeMap<(usize, &'a str), Vec<(usize, &'a str, &'a str)>>;
    let mut incoming: Incoming<'_> = BTreeMap::new();
    for w in &doc.wires {
        if !wire_ids.insert(w.id.as_str()) {
            diags.push(
                Diagnostic::error(format!("wire id {:?} is used twice", w.id)).at_wire(&w.id),
            );
        }
        let from = m.node_by_id.get(w.from.node.as_str()).copied();
        let to = m.node_by_id.get(w.to.node.as_str()).copied();
        let (Some(from), Some(to)) = (from, to) else {
            let missing = if from.is_none() {
                &w.from.node
            } else {
                &w.to.node
            };
            diags.push(
                Diagnostic::error(format!("wire is dangling: node {missing:?} does not exist"))
                    .at_wire(&w.id),
            );
            continue;
        };
        let (pn, cn) = (&doc.nodes[from], &doc.nodes[to]);
        let (Some(pc), Some(cc)) = (doc.component_of(pn), doc.component_of(cn)) else {
            continue;
        };
        let Some(out_ty) = pc.output_port(&w.from.port) else {
            diags.push(
                Diagnostic::error(format!(
                    "wire is dangling: {} has no output {:?}",
                    describe_node(pn),
                    w.from.port
                ))
                .at_wire(&w.id),
            );
            continue;
        };
        let in_ty = cc.input_port(&w.to.port).or_else(|| {
            // An f-string placeholder input takes any type.
            w.to.port
                .starts_with("pipelinechannel--")
                .then(|| out_ty.clone())
        });
        let Some(in_ty) = in_ty else {
            diags.push(
                Diagnostic::error(format!(
                    "wire is dangling: {} has no input {:?}",
                    describe_node(cn),
                    w.to.port
                ))
                .at_wire(&w.id),
            );
            continue;
        };
        // A wire out of a loop carries the list of every iteration's value.
        let collected = crossed_loop(m, Elem::Node(from), m.container(Elem::Node(to)));
        let out_ty = if collected { listify(&out_ty) } else { out_ty };
        if let Err(why) = out_ty.can_feed(&in_ty) {
            diags.push(
                Diagnostic::error(format!(
                    "type mismatch: {}.{} ({}) → {}.{} ({}): {why}",
                    pn.name,
                    w.from.port,
                    out_ty.label(),
                    cn.name,
                    w.to.port,
                    in_ty.label()
                ))
                .at_wire(&w.id)
                .at_port(&cn.id, &w.to.port),
            );
        }
        if m.sources[to].contains_key(&w.to.port) {
            diags.push(
                Diagnostic::error(format!(
                    "input {:?} of {} has a wire and a value; remove one",
                    w.to.port,
                    describe_node(cn)
                ))
                .at_port(&cn.id, &w.to.port)
                .at_wire(&w.id),
            );
            continue;
        }
        incoming.entry((to, w.to.port.as_str())).or_default().push((
            from,
            w.from.port.as_str(),
            w.id.as_str(),
        ));
    }
    for ((to, port), wires) in incoming {
        let cn = &doc.nodes[to];
        let consumer = m.container(Elem::Node(to));
        let sources: Vec<(usize, String)> =
            wires.iter().map(|(f, p, _)| (*f, p.to_string())).collect();
        let ok = if sources.len() == 1 {
            reachable(m, Elem::Node(sources[0].0), consumer).map_err(|why| (why, wires[0].2))
        } else {
            one_of_group(m, &sources, consumer)
                .map(|_| ())
                .map_err(|why| (why, wires[0].2))
        };
        match ok {
            Ok(()) => {
                let src = if sources.len() == 1 {
                    Source::Output(sources[0].0, sources[0].1.clone())
                } else {
                    Source::OneOf(sources)
                };
                m.sources[to].insert(port.to_string(), src);
            }
            Err((why, wire)) => diags.push(
                Diagnostic::error(format!("input {port:?} of {}: {why}", describe_node(cn)))
                    .at_port(&cn.id, port)
                    .at_wire(wire),
            ),
        }
    }
}

/// `List[T]` for an artifact, `list` for a parameter.
fn listify(t: &PortType) -> PortType {
    match t {
        PortType::Parameter(_) => PortType::Parameter(ParameterType::List),
        PortType::Artifact(s, _) => PortType::Artifact(s.clone(), true),
    }
}

/// Whether a value produced by `producer` crosses a loop on its way to DAG `consumer`.
pub(crate) fn crossed_loop(m: &Model<'_>, producer: Elem, consumer: Scope) -> bool {
    let lca = m.lca(m.container(producer), consumer);
    m.chain(m.container(producer))
        .into_iter()
        .take_while(|g| Some(*g) != lca)
        .any(|g| matches!(m.doc.groups[g].kind, GroupKind::Loop { .. }))
}

/// Checks that an output of `producer` can be read in DAG `consumer`: from an enclosing DAG, or
/// out of loops (collected) into the DAG enclosing them.
fn reachable(m: &Model<'_>, producer: Elem, consumer: Scope) -> Result<(), String> {
    let pscope = m.container(producer);
    if m.encloses(pscope, consumer) {
        return Ok(());
    }
    let lca = m.lca(pscope, consumer);
    if lca != consumer {
        return Err(format!(
            "{:?} is inside a group that does not enclose this task; its outputs can be used inside that group, or collected from a loop by a task right next to the loop",
            m.task_name(producer)
        ));
    }
    for g in m.chain(pscope).into_iter().take_while(|g| Some(*g) != lca) {
        if !matches!(m.doc.groups[g].kind, GroupKind::Loop { .. }) {
            return Err(format!(
                "{:?} is inside {:?}, which does not enclose this task; to use a value from one of several branches, wire one task of each branch of an if/elif/else into this input",
                m.task_name(producer),
                m.group_task[g]
            ));
        }
    }
    Ok(())
}

/// For several wires into one input: the if/elif/else group whose branches hold the sources.
pub(crate) fn one_of_group(
    m: &Model<'_>,
    sources: &[(usize, String)],
    consumer: Scope,
) -> Result<usize, String> {
    let branch_of = |n: usize| -> Option<(usize, usize)> {
        // (branches group, branch) that hold node n, innermost first.
        let chain = m.chain(m.container(Elem::Node(n)));
        chain.windows(2).find_map(|w| {
            matches!(m.doc.groups[w[1]].kind, GroupKind::Branches).then_some((w[1], w[0]))
        })
    };
    let mut group = None;
    let mut branches = BTreeSet::new();
    for (n, _) in sources {
        let Some((b, branch)) = branch_of(*n) else {
            return Err(format!(
                "has several wires, but {:?} is not inside a branch of an if/elif/else; an input takes one wire, or one wire per branch",
                m.doc.nodes[*n].name
            ));
        };
        if group.is_some_and(|g| g != b) {
            return Err("has wires from different if/elif/else groups; all must come from branches of the same one".into());
        }
        if !branches.insert(branch) {
            return Err("has two wires from the same branch; each branch gives at most one".into());
        }
        group = Some(b);
    }
    let b = group.ok_or_else(|| "has no wire".to_string())?;
    if m.parent[b] != consumer {
        return Err(format!(
            "takes one of several branch outputs, so it must sit right next to {:?}",
            m.group_task[b]
        ));
    }
    Ok(b)
}

fn check_required(m: &Model<'_>, diags: &mut Vec<Diagnostic>) {
    let doc = m.doc;
    for (i, n) in doc.nodes.iter().enumerate() {
        let Some(comp) = doc.component_of(n) else {
            continue;
        };
        let ports = comp
            .input_definitions
            .parameters
            .keys()
            .chain(comp.input_definitions.artifacts.keys());
        for port in ports {
            if comp.input_required(port) && !m.sources[i].contains_key(port) {
                let what = match comp.input_port(port) {
                    Some(PortType::Artifact(..)) => "connect a wire",
                    _ => "set a value, bind a pipeline parameter or connect a wire",
                };
                diags.push(
                    Diagnostic::error(format!("required input {port:?} is not set: {what}"))
                        .at_port(&n.id, port),
                );
            }
        }
    }
}

fn check_after(m: &mut Model<'_>, diags: &mut Vec<Diagnostic>) {
    let doc = m.doc;
    for (i, n) in doc.nodes.iter().enumerate() {
        for a in &n.after {
            let target = m
                .node_by_id
                .get(a.as_str())
                .map(|&j| Elem::Node(j))
                .or_else(|| m.group_by_id.get(a.as_str()).map(|&g| Elem::Group(g)));
            let Some(target) = target else {
                diags.push(
                    Diagnostic::error(format!("runs after {a:?}, which does not exist"))
                        .at_node(&n.id),
                );
                continue;
            };
            if target == Elem::Node(i) {
                diags.push(Diagnostic::error("a task cannot run after itself").at_node(&n.id));
                continue;
            }
            let consumer = m.container(Elem::Node(i));
            let tscope = m.container(target);
            if !m.encloses(tscope, consumer) && !crossed_loop(m, target, consumer) {
                diags.push(
                    Diagnostic::error(format!(
                        "cannot run after {:?}: it is inside a group that does not enclose this task",
                        m.task_name(target)
                    ))
                    .at_node(&n.id),
                );
                continue;
            }
            m.after[i].push(target);
        }
    }
}

fn check_groups(m: &mut Model<'_>, diags: &mut Vec<Diagnostic>) {
    let doc = m.doc;
    let mut holds_tasks = vec![false; doc.groups.len()];
    for &g in m.node_scope.iter().flatten() {
        holds_tasks[g] = true;
    }
    for (gi, g) in doc.groups.iter().enumerate() {
        let in_branches =
            m.parent[gi].is_some_and(|p| matches!(doc.groups[p].kind, GroupKind::Branches));
        match &g.kind {
            GroupKind::Condition { expression } => match condition::parse(expression) {
                Ok(mut expr) => {
                    if check_operands(m, gi, &mut expr, diags) {
                        m.conditions.insert(gi, expr);
                    }
                }
                Err(e) => diags.push(Diagnostic::error(format!("condition: {e}")).at_group(&g.id)),
            },
            GroupKind::Else => {
                if !in_branches {
                    diags.push(
                        Diagnostic::error("an else branch must sit inside an if/elif/else group")
                            .at_group(&g.id),
                    );
                }
            }
            GroupKind::Branches => {
                let kinds: Vec<&GroupKind> = m.children[gi]
                    .iter()
                    .map(|&c| &doc.groups[c].kind)
                    .collect();
                let conds = kinds
                    .iter()
                    .filter(|k| matches!(k, GroupKind::Condition { .. }))
                    .count();
                let elses = kinds
                    .iter()
                    .filter(|k| matches!(k, GroupKind::Else))
                    .count();
                if conds == 0
                    || conds + elses != kinds.len()
                    || elses > 1
                    || (elses == 1 && !matches!(kinds.last(), Some(GroupKind::Else)))
                {
                    diags.push(
                        Diagnostic::error("an if/elif/else holds condition branches, then at most one else branch, last")
                            .at_group(&g.id),
                    );
                }
                if holds_tasks[gi] {
                    diags.push(
                        Diagnostic::error(
                            "put tasks inside the branches of an if/elif/else, not directly in it",
                        )
                        .at_group(&g.id),
                    );
                }
            }
            GroupKind::Loop {
                items, parallelism, ..
            } => {
                if parallelism.is_some_and(|p| p < 1) {
                    diags.push(
                        Diagnostic::error("loop parallelism must be at least 1").at_group(&g.id),
                    );
                }
                match items {
                    LoopItems::Raw(_) => {}
                    LoopItems::Parameter(p) => match doc.input_type(p) {
                        Some(PortType::Parameter(ParameterType::List))
                        | Some(PortType::Artifact(_, true)) => {}
                        Some(t) => diags.push(
                            Diagnostic::error(format!(
                                "loop over parameter {p:?}, which is {} — a loop needs a list",
                                names::with_article(&t.label())
                            ))
                            .at_group(&g.id),
                        ),
                        None => diags.push(
                            Diagnostic::error(format!(
                                "loop over {p:?}, which is not a pipeline parameter"
                            ))
                            .at_group(&g.id),
                        ),
                    },
                    LoopItems::Output(PortRef { node, port }) => {
                        match m.node_by_id.get(node.as_str()).copied() {
                            None => diags.push(
                                Diagnostic::error(format!(
                                    "loop over an output of {node:?}, which does not exist"
                                ))
                                .at_group(&g.id),
                            ),
                            Some(n) => match m.output_type(n, port) {
                                Some(PortType::Parameter(ParameterType::List))
                                | Some(PortType::Artifact(_, true)) => {
                                    if m.encloses(m.container(Elem::Node(n)), m.parent[gi]) {
                                        m.loop_sources.insert(gi, (n, port.clone()));
                                    } else {
                                        diags.push(
                                            Diagnostic::error(format!(
                                                "loop over {}.{port}, which is not visible here",
                                                doc.nodes[n].name
                                            ))
                                            .at_group(&g.id),
                                        );
                                    }
                                }
                                _ => diags.push(
                                    Diagnostic::error(format!(
                                        "loop over {}.{port}, which is not a list output",
                                        doc.nodes[n].name
                                    ))
                                    .at_group(&g.id),
                                ),
                            },
                        }
                    }
                }
            }
            GroupKind::ExitHandler { exit_node } => {
                match m.node_by_id.get(exit_node.as_str()).copied() {
                    Some(n) if m.container(Elem::Node(n)) == m.parent[gi] => {
                        m.exit_nodes.insert(gi, n);
                    }
                    Some(_) => diags.push(
                        Diagnostic::error(
                            "the exit task must sit next to its exit handler, not inside it",
                        )
                        .at_group(&g.id),
                    ),
                    None if exit_node.is_empty() => diags.push(
                        Diagnostic::error(
                            "choose the exit task: the task beside this exit handler that runs \
                             after its tasks",
                        )
                        .at_group(&g.id),
                    ),
                    None => diags.push(
                        Diagnostic::error(format!("exit task {exit_node:?} does not exist"))
                            .at_group(&g.id),
                    ),
                }
            }
        }
    }
    check_trigger_depth(m, diags);
}

/// Checks that the trigger of each branch of an if/elif/else, which is its own condition after
/// the negations of every earlier branch (`!(a) && !(b) && c`), stays within
/// [`condition::MAX_DEPTH`]; reports the first branch of each if/elif/else that does not.
fn check_trigger_depth(m: &Model<'_>, diags: &mut Vec<Diagnostic>) {
    let doc = m.doc;
    for (gi, g) in doc.groups.iter().enumerate() {
        if !matches!(g.kind, GroupKind::Branches) {
            continue;
        }
        // The depth of the conjunction of the negated earlier branches, as the compiler joins it.
        let mut earlier: Option<usize> = None;
        for (n, &b) in m.children[gi].iter().enumerate() {
            let own = m.conditions.get(&b).map(Expr::depth);
            let trigger = match (earlier, own) {
                (Some(e), Some(o)) => Some(e.max(o) + 1),
                (e, o) => e.or(o),
            };
            if trigger.is_some_and(|d| d > condition::MAX_DEPTH) {
                diags.push(
                    Diagnostic::error(format!(
                        "with the negations of the {n} branches before it, the trigger of this branch nests deeper than {} levels; use fewer branches or simpler conditions",
                        condition::MAX_DEPTH
                    ))
                    .at_group(&doc.groups[b].id),
                );
                break;
            }
            if let Some(o) = own {
                earlier = Some(earlier.map_or(o + 1, |e| e.max(o + 1) + 1));
            }
        }
    }
}

/// Checks a condition's operands; true when all are fine. Loop items get the id of their loop.
fn check_operands(m: &Model<'_>, gi: usize, expr: &mut Expr, diags: &mut Vec<Diagnostic>) -> bool {
    let doc = m.doc;
    let g = &doc.groups[gi];
    let mut ok = true;
    let mut err = |msg: String| {
        diags.push(Diagnostic::error(format!("condition: {msg}")).at_group(&g.id));
    };
    for o in expr.operands_mut() {
        match o {
            Operand::Parameter(p) => match doc.parameter(p) {
                None => {
                    ok = false;
                    err(format!(
                        "{p:?} is not a pipeline parameter (write task.output for a task output)"
                    ));
                }
                Some(param) if matches!(param.ty, ParameterType::List | ParameterType::Struct) => {
                    ok = false;
                    err(format!(
                        "parameter {p:?} is {}; conditions compare numbers, strings and booleans",
                        names::with_article(param.ty.python_name())
                    ));
                }
                Some(_) => {}
            },
            Operand::Output { task, output } => {
                let Some(&n) = m.node_by_name.get(task.as_str()) else {
                    ok = false;
                    if task == "item" {
                        err(format!("there is no task \"item\"; to read a field of the loop item, write item['{output}']"));
                    } else {
                        err(format!("there is no task {task:?}"));
                    }
                    continue;
                };
                match m.output_type(n, output) {
                    None => {
                        ok = false;
                        err(format!("task {task:?} has no output {output:?}"));
                    }
                    Some(PortType::Artifact(t, _)) => {
                        ok = false;
                        err(format!(
                            "{task}.{output} is a {t} artifact; conditions read parameters"
                        ));
                    }
                    Some(PortType::Parameter(ParameterType::List | ParameterType::Struct)) => {
                        ok = false;
                        err(format!("{task}.{output} is a list or dict; conditions compare numbers, strings and booleans"));
                    }
                    Some(_) => {
                        if !m.encloses(m.container(Elem::Node(n)), m.parent[gi]) {
                            ok = false;
                            err(format!("task {task:?} is not visible here (it is inside this condition or another group)"));
                        }
                    }
                }
            }
            Operand::LoopItem { group, field } => {
                let shown = o_text(group.as_deref(), field.as_deref());
                let loops: Vec<usize> = m
                    .chain(m.parent[gi])
                    .into_iter()
                    .filter(|g| m.loop_items.contains_key(g))
                    .collect();
                let found = match group.as_deref() {
                    None => loops.first().copied(),
                    Some(name) => loops
                        .iter()
                        .copied()
                        .find(|&l| doc.groups[l].id == name || m.group_task[l] == name),
                };
                let Some(l) = found else {
                    ok = false;
                    err(match group.as_deref() {
                        None => format!("{shown} reads the item of a loop, but the condition is not inside a loop"),
                        Some(name) => format!("{shown}: {name:?} is not a loop around this condition"),
                    });
                    continue;
                };
                let item = m.loop_items.get(&l).map(|(_, t)| t);
                let dict_items = item == Some(&PortType::Parameter(ParameterType::Struct));
                let raw_items = matches!(
                    doc.groups[l].kind,
                    GroupKind::Loop {
                        items: LoopItems::Raw(_),
                        ..
                    }
                );
                match (m.loop_operand_type(l, field.as_deref()), field) {
                    (Some(PortType::Artifact(..)), _) => {
                        ok = false;
                        err(format!(
                            "{shown} is an artifact; conditions read parameters"
                        ));
                    }
                    (_, Some(_)) if raw_items && !dict_items => {
                        ok = false;
                        err(format!(
                            "{shown} reads a field, but the items of the loop are not dicts"
                        ));
                    }
                    (Some(PortType::Parameter(ParameterType::Struct)), None) => {
                        ok = false;
                        err(format!(
                            "{shown} is a dict; compare one of its fields, as in item['name']"
                        ));
                    }
                    (Some(PortType::Parameter(ParameterType::List | ParameterType::Struct)), _) => {
                        ok = false;
                        err(format!("{shown} is a list or dict; conditions compare numbers, strings and booleans"));
                    }
                    _ => *group = Some(doc.groups[l].id.clone()),
                }
            }
            _ => {}
        }
    }
    ok
}

/// How a loop item operand reads in messages.
fn o_text(group: Option<&str>, field: Option<&str>) -> String {
    Operand::LoopItem {
        group: group.map(str::to_string),
        field: field.map(str::to_string),
    }
    .to_string()
}

fn check_outputs(m: &mut Model<'_>, diags: &mut Vec<Diagnostic>) {
    let doc = m.doc;
    let mut names_seen = HashSet::default();
    for o in &doc.outputs {
        if !names_seen.insert(o.name.as_str()) {
            diags.push(Diagnostic::error(format!(
                "pipeline output {:?} is declared twice",
                o.name
            )));
        }
        let mut sources = Vec::new();
        for p in &o.from {
            match m.node_by_id.get(p.node.as_str()).copied() {
                Some(n) if m.output_type(n, &p.port).is_some() => sources.push((n, p.port.clone())),
                _ => diags.push(Diagnostic::error(format!(
                    "pipeline output {:?} comes from {}.{}, which does not exist",
                    o.name, p.node, p.port
                ))),
            }
        }
        let check = match sources.len() {
            0 => Err("has no source".to_string()),
            1 => reachable(m, Elem::Node(sources[0].0), None),
            _ => one_of_group(m, &sources, None).map(|_| ()),
        };
        if let Err(why) = check {
            diags.push(Diagnostic::error(format!(
                "pipeline output {:?}: {why}",
                o.name
            )));
        }
        m.outputs.push(sources);
    }
}

/// Dependency edges (producer → consumer), each lifted into the innermost DAG holding both,
/// as KFP writes `dependentTasks`.
pub(crate) fn dependency_edges(m: &Model<'_>) -> BTreeSet<(Elem, Elem)> {
    let mut edges = BTreeSet::new();
    let mut add = |p: Elem, c: Elem| {
        if let Some(e) = m.lifted_edge(p, c) {
            edges.insert(e);
        }
    };
    for (i, srcs) in m.sources.iter().enumerate() {
        for s in srcs.values() {
            match s {
                Source::Output(p, _) => add(Elem::Node(*p), Elem::Node(i)),
                Source::OneOf(ps) => {
                    for (p, _) in ps {
                        add(Elem::Node(*p), Elem::Node(i));
                    }
                }
                Source::FinalStatus(g) => add(Elem::Group(*g), Elem::Node(i)),
                _ => {}
            }
        }
        for &a in &m.after[i] {
            add(a, Elem::Node(i));
        }
    }
    for (&g, expr) in &m.conditions {
        for o in expr.operands() {
            if let Operand::Output { task, .. } = o {
                if let Some(&n) = m.node_by_name.get(task.as_str()) {
                    add(Elem::Node(n), Elem::Group(g));
                }
            }
        }
    }
    for (&g, (n, _)) in &m.loop_sources {
        add(Elem::Node(*n), Elem::Group(g));
    }
    for (&g, &n) in &m.exit_nodes {
        add(Elem::Group(g), Elem::Node(n));
    }
    edges
}

fn check_cycles(m: &Model<'_>, diags: &mut Vec<Diagnostic>) {
    let mut graph: DiGraphMap<Elem, ()> = DiGraphMap::new();
    for &(a, b) in &m.edges {
        graph.add_edge(a, b, ());
    }
    for scc in petgraph::algo::tarjan_scc(&graph) {
        let cyclic = scc.len() > 1 || scc.iter().any(|&v| graph.contains_edge(v, v));
        if !cyclic {
            continue;
        }
        let shown: Vec<String> = scc
            .iter()
            .rev()
            .map(|&e| match e {
                Elem::Node(_) => m.task_name(e).to_string(),
                Elem::Group(g) => m.doc.groups[g]
                    .display_name
                    .clone()
                    .unwrap_or_else(|| m.group_task[g].clone()),
            })
            .collect();
        let mut path = shown.join(" → ");
        if let Some(first) = shown.first() {
            path = format!("{path} → {first}");
        }
        for &e in scc.iter().rev() {
            let d = Diagnostic::error(format!(
                "these tasks depend on each other in a cycle: {path}"
            ));
            diags.push(match e {
                Elem::Node(n) => d.at_node(&m.doc.nodes[n].id),
                Elem::Group(g) => d.at_group(&m.doc.groups[g].id),
            });
        }
    }
}
