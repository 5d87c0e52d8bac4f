//! Scopes: the group index, which group encloses which (cycles broken, nesting bounded), the
//! groups in definition order, their KFP task names and the item of each loop.

use rustc_hash::FxHashMap as HashMap;

use serde_json::Value;

use super::Scope;
use crate::diagnostic::Diagnostic;
use crate::document::{Document, GroupKind, LoopItems, PortType, MAX_NESTING};
use crate::ir::ParameterType;
use crate::names;

/// The groups of a document, resolved.
pub(super) struct Scopes<'a> {
    /// Group index by id (a later group wins over an earlier one with the same id).
    pub group_by_id: HashMap<&'a str, usize>,
    /// The enclosing group of each group (cycles broken, at most [`MAX_NESTING`] deep).
    pub parent: Vec<Scope>,
    /// The groups directly inside each group, in document order.
    pub children: Vec<Vec<usize>>,
    /// Groups in pre-order (parents before children, document order among siblings).
    pub group_order: Vec<usize>,
    /// Task name of each group (`condition-1`, `for-loop-2`, …).
    pub group_task: Vec<String>,
    /// Each loop's item input name and the item's type.
    pub loop_items: HashMap<usize, (String, PortType)>,
}

impl<'a> Scopes<'a> {
    /// Resolves the groups of `doc`, reporting ids used twice, enclosing groups that do not
    /// exist, cycles of enclosing groups, nesting beyond [`MAX_NESTING`] and raw loop items
    /// that are not a JSON list.
    pub fn resolve(doc: &'a Document, diags: &mut Vec<Diagnostic>) -> Self {
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
        break_parent_cycles(doc, &mut parent, diags);
        limit_group_depth(doc, &mut parent, diags);
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
                    LoopItems::LoopItem {
                        group: outer,
                        field,
                    } => {
                        // Enclosing loops come first in the pre-order, so theirs is known.
                        let outer_item = group_by_id
                            .get(outer.as_str())
                            .and_then(|o| loop_items.get(o))
                            .map_or(String::new(), |(name, _)| name.clone());
                        let list = match field {
                            Some(f) => format!("{outer_item}-subvar-{f}"),
                            None => outer_item,
                        };
                        (format!("{list}-loop-item"), item_type(None))
                    }
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

        Scopes {
            group_by_id,
            parent,
            children,
            group_order,
            group_task,
            loop_items,
        }
    }
}

/// The prefix of the task names KFP gives groups of a kind.
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
pub(super) fn raw_field_type(text: &str, field: &str) -> ParameterType {
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
