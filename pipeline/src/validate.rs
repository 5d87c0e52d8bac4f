//! Validation: every problem in a document, each pointing at its node, port, wire, group or
//! parameter. The checks here read the document and its semantic model (`model.rs`); what does
//! not resolve while the model is built (a dangling wire, an unknown parameter, a type mismatch)
//! is reported by the model's own passes. The model's `analyze` runs both, in one order.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use petgraph::graphmap::DiGraphMap;

use crate::condition::{self, Expr};
use crate::diagnostic::Diagnostic;
use crate::document::{Document, GroupKind, PortType, MAX_NESTING};
use crate::ir::ParameterType;
use crate::model::{analyze, analyze_at, Elem, Model};
use crate::names;

/// Every problem in `doc`. Empty when the document compiles.
pub fn validate(doc: &Document) -> Vec<Diagnostic> {
    analyze(doc).1
}

/// Checks the document's format and the pipeline's name.
pub(crate) fn check_header(doc: &Document, diags: &mut Vec<Diagnostic>) {
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
    if let Some(platform) = &doc.platform_spec {
        // Where the compiler puts the tasks' settings, the platform spec must be objects.
        let path = crate::compile::PLATFORM_EXECUTORS;
        let mut value = Some(platform);
        let mut depth = 0;
        while let Some(v) = value {
            if !v.is_object() {
                let at = path[..depth].join(".");
                diags.push(Diagnostic::error(if at.is_empty() {
                    "the platform spec must be a mapping".to_string()
                } else {
                    format!("the platform spec's {at} must be a mapping")
                }));
                break;
            }
            value = path.get(depth).and_then(|k| v.get(*k));
            depth += 1;
        }
    }
    for n in &doc.nodes {
        if n.kubernetes.as_ref().is_some_and(|k| !k.is_object()) {
            diags.push(
                Diagnostic::error("the task's Kubernetes settings must be a mapping")
                    .at_node(&n.id),
            );
        }
    }
}

/// Checks the names of the pipeline inputs, and the type and default of each parameter.
pub(crate) fn check_inputs(doc: &Document, level: usize, diags: &mut Vec<Diagnostic>) {
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
        // A sub-pipeline used as an exit task reads the final status through its parameter. The
        // KFP SDK compiles such a pipeline on its own too (to be used as an exit task of
        // another), so it compiles here as well, with a warning for a run of it alone.
        if p.ty == ParameterType::TaskFinalStatus && level == 0 {
            diags.push(
                Diagnostic::warning(
                    "a task final status is only set when this pipeline is used as the exit task of another: run on its own, this parameter has no value",
                )
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
}

/// Checks that each component has an executor or a pipeline body, and validates the
/// sub-pipelines of a document `level` sub-pipelines deep, up to [`MAX_NESTING`] levels.
pub(crate) fn check_components(doc: &Document, level: usize, diags: &mut Vec<Diagnostic>) {
    for (key, def) in doc.components.iter() {
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
}

/// Checks that group task names are unique, and each node's id, task name, component and group.
pub(crate) fn check_names(
    doc: &Document,
    group_by_id: &HashMap<&str, usize>,
    group_task: &[String],
    diags: &mut Vec<Diagnostic>,
) {
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
    let mut ids: HashSet<&str> = HashSet::default();
    let mut node_by_name: HashMap<&str, usize> = HashMap::default();
    for (i, n) in doc.nodes.iter().enumerate() {
        if !ids.insert(&n.id) || group_by_id.contains_key(n.id.as_str()) {
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
}

/// Checks that nodes sharing a spec component name run the same component.
pub(crate) fn check_component_names(doc: &Document, diags: &mut Vec<Diagnostic>) {
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
}

/// Checks that every required input of every node has a source.
pub(crate) fn check_required(m: &Model<'_>, diags: &mut Vec<Diagnostic>) {
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

/// Checks that the trigger of each branch of an if/elif/else, which is its own condition after
/// the negations of every earlier branch (`!(a) && !(b) && c`), stays within
/// [`condition::MAX_DEPTH`]; reports the first branch of each if/elif/else that does not.
pub(crate) fn check_trigger_depth(m: &Model<'_>, diags: &mut Vec<Diagnostic>) {
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

/// Checks that no tasks depend on each other in a cycle (through the lifted dependencies).
pub(crate) fn check_cycles(m: &Model<'_>, diags: &mut Vec<Diagnostic>) {
    for (members, path) in cycles(m) {
        for e in members {
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

/// The dependency cycles of the lifted dependencies: each one's members and its path by task
/// (or group) names, `a → b → a`.
pub(crate) fn cycles(m: &Model<'_>) -> Vec<(Vec<Elem>, String)> {
    let mut graph: DiGraphMap<Elem, ()> = DiGraphMap::new();
    for &(a, b) in &m.edges {
        graph.add_edge(a, b, ());
    }
    let mut found = Vec::new();
    for scc in petgraph::algo::tarjan_scc(&graph) {
        let cyclic = scc.len() > 1 || scc.iter().any(|&v| graph.contains_edge(v, v));
        if !cyclic {
            continue;
        }
        let members: Vec<Elem> = scc.into_iter().rev().collect();
        let shown: Vec<String> = members
            .iter()
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
        found.push((members, path));
    }
    found
}
