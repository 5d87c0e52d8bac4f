//! Where each node input gets its value (a constant, a pipeline input, a task output or one of
//! several, a loop item, an exit handler's final status), what each node runs after, where the
//! pipeline outputs come from, and the dependencies all of it makes, lifted into their DAGs.
//! What does not resolve, or does not fit the input's type, is reported where it is found.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashSet as HashSet;

use super::{Elem, Model, Scope, Source};
use crate::condition::Operand;
use crate::diagnostic::Diagnostic;
use crate::document::{Binding, GroupKind, Node, PortType};
use crate::ir::ParameterType;
use crate::names;

/// How a node reads in messages: its task name, quoted.
fn describe_node(n: &Node) -> String {
    format!("{:?}", n.name)
}

/// Resolves the input bindings of every node (constants, pipeline inputs, loop items, final
/// statuses), checking each against the input's type.
pub(super) fn resolve_bindings(m: &mut Model<'_>, diags: &mut Vec<Diagnostic>) {
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
                // A resource field set from a value: the placeholder that reads it.
                (None, Binding::Value(_)) if names::TASK_CONFIG_INPUTS.contains(&port.as_str()) => {
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

/// Resolves the wires into node inputs: one wire, or one per branch of an if/elif/else, from
/// a task whose output is visible there, of a type the input takes.
pub(super) fn resolve_wires(m: &mut Model<'_>, diags: &mut Vec<Diagnostic>) {
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
/// out of a loop (collected) into the DAG enclosing it, also from conditions inside the loop.
fn reachable(m: &Model<'_>, producer: Elem, consumer: Scope) -> Result<(), String> {
    let pscope = m.container(producer);
    if m.encloses(pscope, consumer) {
        return Ok(());
    }
    let lca = m.lca(pscope, consumer);
    // As in KFP, the outermost group left must be a loop (its iterations' values are collected,
    // then passed down to the consumer if it sits in other groups); inside it, conditions may
    // have skipped the producer in some iterations.
    match collected_from(m, producer, lca) {
        Some(g) if matches!(m.doc.groups[g].kind, GroupKind::Loop { .. }) => Ok(()),
        Some(g) if lca == consumer => Err(format!(
            "{:?} is inside {:?}, which does not enclose this task; to use a value from one of several branches, wire one task of each branch of an if/elif/else into this input",
            m.task_name(producer),
            m.group_task[g]
        )),
        _ => Err(format!(
            "{:?} is inside a group that does not enclose this task; its outputs can be used inside that group, or collected from a loop",
            m.task_name(producer)
        )),
    }
}

/// Checks that the output of `producer` can be surfaced as a collected pipeline output
/// (`dsl.Collected`): from the pipeline's own DAG, or out of loops and conditions, not out of an
/// exit handler's group.
fn collectable(m: &Model<'_>, producer: Elem) -> Result<(), String> {
    match m
        .chain(m.container(producer))
        .into_iter()
        .find(|&g| matches!(m.doc.groups[g].kind, GroupKind::ExitHandler { .. }))
    {
        Some(g) => Err(format!(
            "{:?} is inside the exit handler {:?}; a collected output can leave loops and conditions only",
            m.task_name(producer),
            m.group_task[g]
        )),
        None => Ok(()),
    }
}

/// The outermost group holding `producer` below DAG `lca` (the loop a collected value leaves).
pub(crate) fn collected_from(m: &Model<'_>, producer: Elem, lca: Scope) -> Option<usize> {
    m.chain(m.container(producer))
        .into_iter()
        .take_while(|g| Some(*g) != lca)
        .last()
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

/// Resolves what each node runs after beyond its data (`after`).
pub(super) fn resolve_after(m: &mut Model<'_>, diags: &mut Vec<Diagnostic>) {
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

/// Resolves the sources of the pipeline outputs.
pub(super) fn resolve_outputs(m: &mut Model<'_>, diags: &mut Vec<Diagnostic>) {
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
            1 if o.collected => collectable(m, Elem::Node(sources[0].0)),
            1 => reachable(m, Elem::Node(sources[0].0), None).map_err(|why| {
                format!(
                    "{why}; or make the output collected: the list of what ran (`dsl.Collected`)"
                )
            }),
            _ if o.collected => Err(
                "is collected, which takes one wire (one task's output, as a list of what ran)"
                    .to_string(),
            ),
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

/// The `pipelinechannel--…` inputs of a node that only its resource fields read (through the
/// placeholders of [`names::TASK_CONFIG_INPUTS`]): the KFP SDK adds them after it has worked out
/// the task's dependencies, so they make none.
fn config_only_channels(n: &Node) -> HashSet<String> {
    let placeholder_of = |v: &serde_json::Value| -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = v.as_str().unwrap_or("");
        while let Some(at) = rest.find("{{$.inputs.parameters['") {
            rest = &rest[at + "{{$.inputs.parameters['".len()..];
            if let Some(end) = rest.find("']}}") {
                out.push(rest[..end].to_string());
                rest = &rest[end..];
            } else {
                break;
            }
        }
        out
    };
    let mut config: HashSet<String> = HashSet::default();
    let mut other: HashSet<String> = HashSet::default();
    for (port, b) in &n.inputs {
        if let Binding::Value(v) = b {
            let names = placeholder_of(v);
            if names::TASK_CONFIG_INPUTS.contains(&port.as_str()) {
                config.extend(names);
            } else {
                other.extend(names);
            }
        }
    }
    config.retain(|c| !other.contains(c));
    config
}

/// Dependency edges (producer → consumer), each lifted into the innermost DAG holding both,
/// as KFP writes `dependentTasks`.
pub(super) fn dependency_edges(m: &Model<'_>) -> BTreeSet<(Elem, Elem)> {
    let mut edges = BTreeSet::new();
    let mut add = |p: Elem, c: Elem| {
        if let Some(e) = m.lifted_edge(p, c) {
            edges.insert(e);
        }
    };
    for (i, srcs) in m.sources.iter().enumerate() {
        let config_only = config_only_channels(&m.doc.nodes[i]);
        for (port, s) in srcs {
            match s {
                // KFP adds no dependency for a value only a resource field reads.
                Source::Output(..) if config_only.contains(port) => {}
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
