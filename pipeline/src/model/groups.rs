//! The groups' own parts: each condition parsed with its operands resolved (a loop item gets
//! the id of its loop), where each loop's items come from, and each exit handler's exit task.

use super::{Elem, Model};
use crate::condition::{self, Expr, Operand};
use crate::diagnostic::Diagnostic;
use crate::document::{GroupKind, LoopItems, PortRef, PortType};
use crate::ir::ParameterType;
use crate::names;

/// Resolves the conditions, loop sources and exit tasks of the groups, checking each group's
/// kind against its place and members.
pub(super) fn resolve_groups(m: &mut Model<'_>, diags: &mut Vec<Diagnostic>) {
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
                    if resolve_operands(m, gi, &mut expr, diags) {
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
                    LoopItems::LoopItem { group, field } => {
                        let outer = m
                            .chain(m.parent[gi])
                            .into_iter()
                            .find(|&l| doc.groups[l].id == *group && m.loop_items.contains_key(&l));
                        match outer {
                            Some(l) => {
                                m.loop_item_sources.insert(gi, (l, field.clone()));
                            }
                            None => diags.push(
                                Diagnostic::error(format!(
                                    "loop over the item of {group:?}, which is not a loop around this one"
                                ))
                                .at_group(&g.id),
                            ),
                        }
                    }
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
}

/// Checks a condition's operands; true when all are fine. Loop items get the id of their loop.
fn resolve_operands(
    m: &Model<'_>,
    gi: usize,
    expr: &mut Expr,
    diags: &mut Vec<Diagnostic>,
) -> bool {
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
