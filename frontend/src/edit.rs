//! Edits the canvas makes to a document, as plain functions (no UI), so they can be unit tested.

use std::collections::{BTreeSet, HashMap};

use rustc_hash::FxHashMap;

use pipeline::{
    Binding, ComponentDef, Document, Group, GroupKind, Node, Point, PortRef, PortType, Size, Wire,
};

use crate::layout::{self, Rect};

/// The key under which `def` is embedded in `doc.components`: `catalog_id` when that slot is free
/// or already holds the same definition, else `catalog_id-2`, `catalog_id-3`, …
pub fn component_key(doc: &Document, catalog_id: &str, def: &ComponentDef) -> String {
    let fits = |k: &str| doc.components.get(k).is_none_or(|c| c == def);
    if fits(catalog_id) {
        return catalog_id.to_string();
    }
    (2..)
        .map(|i| format!("{catalog_id}-{i}"))
        .find(|k| fits(k))
        .unwrap_or_else(|| catalog_id.to_string())
}

/// Adds a task running catalog component `catalog_id` with its top-left corner at `at`, inside the
/// innermost group frame containing `drop` (the pointer position). Returns the new node's id.
pub fn add_node(
    doc: &mut Document,
    catalog_id: &str,
    def: &ComponentDef,
    at: Point,
    drop: Point,
) -> String {
    let key = component_key(doc, catalog_id, def);
    doc.components.insert(key.clone(), def.clone());
    let id = doc.fresh_id("n");
    let name = doc.fresh_node_name(&def.name);
    let group = layout::innermost_group_at(doc, drop, None);
    let mut node = Node::new(&id, &name, &key);
    node.position = at;
    node.group = group;
    doc.nodes.push(node);
    id
}

/// Adds a frame of `kind` (condition, loop, exit handler) with its top-left corner at `at`,
/// nested in the innermost frame there. Top-level nodes and frames of that parent lying inside
/// the new frame move into it. Returns the new group's id.
pub fn add_group(doc: &mut Document, at: Point, kind: GroupKind) -> String {
    let id = doc.fresh_id("g");
    let parent = layout::innermost_group_at(doc, at, None);
    doc.groups.push(Group {
        id: id.clone(),
        kind,
        name: None,
        display_name: None,
        parent,
        position: at,
        size: layout::GROUP_DEFAULT,
    });
    adopt_contents(doc, &id);
    id
}

/// After a frame was created or resized: nodes and frames of its parent's level whose box now
/// lies inside it move in; its own members whose centre now lies outside move out to its parent.
pub fn adopt_contents(doc: &mut Document, gid: &str) {
    let Some(g) = doc.group(gid).cloned() else {
        return;
    };
    let rect = layout::group_rect(&g);
    let rects: HashMap<String, Rect> = doc
        .nodes
        .iter()
        .map(|n| (n.id.clone(), layout::node_rect(doc, n)))
        .collect();
    for n in &mut doc.nodes {
        let r = rects[&n.id];
        if n.group == g.parent && rect.contains_rect(&r) {
            n.group = Some(gid.to_string());
        } else if n.group.as_deref() == Some(gid) && !rect.contains(r.center()) {
            n.group = g.parent.clone();
        }
    }
    for other in &mut doc.groups {
        if other.id != gid
            && other.parent == g.parent
            && rect.contains_rect(&layout::group_rect(other))
        {
            other.parent = Some(gid.to_string());
        }
    }
}

/// Grows every frame that its members stick out of so that it holds them (inner frames
/// first, so outer ones hold the grown inner ones).
pub fn grow_frames(doc: &mut Document) {
    let mut order: Vec<(usize, usize)> = doc
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| (doc.group_chain(Some(&g.id)).len(), i))
        .collect();
    order.sort_by_key(|o| std::cmp::Reverse(o.0));
    let pad = layout::GROUP_PADDING;
    for (_, i) in order {
        let id = doc.groups[i].id.clone();
        let members = doc
            .nodes
            .iter()
            .filter(|n| n.group.as_deref() == Some(id.as_str()))
            .map(|n| layout::node_rect(doc, n))
            .chain(
                doc.groups
                    .iter()
                    .filter(|g| g.parent.as_deref() == Some(id.as_str()))
                    .map(layout::group_rect),
            )
            .reduce(|a, b| a.union(&b));
        let Some(m) = members else {
            continue;
        };
        let r = layout::group_rect(&doc.groups[i]);
        let need = Rect {
            x: m.x - pad,
            y: m.y - pad - layout::GROUP_HEADER,
            w: m.w + 2.0 * pad,
            h: m.h + 2.0 * pad + layout::GROUP_HEADER,
        };
        if r.contains_rect(&need) {
            continue;
        }
        let grown = r.union(&need);
        let g = &mut doc.groups[i];
        g.position = Point {
            x: grown.x.round(),
            y: grown.y.round(),
        };
        g.size = Size {
            width: grown.w.round(),
            height: grown.h.round(),
        };
    }
}

/// Puts a frame into the innermost other frame that fully contains it (or top level).
pub fn regroup_group(doc: &mut Document, gid: &str) {
    let Some(g) = doc.group(gid) else {
        return;
    };
    let parent = layout::innermost_group_around(doc, &layout::group_rect(g), Some(gid));
    if let Some(g) = doc.groups.iter_mut().find(|g| g.id == gid) {
        g.parent = parent;
    }
}

/// Ids of the nodes and groups inside group `gid`, at any depth.
pub fn group_members(doc: &Document, gid: &str) -> (Vec<String>, Vec<String>) {
    let inside = |g: Option<&str>| doc.group_chain(g).iter().any(|c| c == gid);
    let nodes = doc
        .nodes
        .iter()
        .filter(|n| inside(n.group.as_deref()))
        .map(|n| n.id.clone())
        .collect();
    let groups = doc
        .groups
        .iter()
        .filter(|g| g.id != gid && inside(Some(&g.id)))
        .map(|g| g.id.clone())
        .collect();
    (nodes, groups)
}

/// What [`connect`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connected {
    /// The new wire's id.
    pub wire: String,
    /// The wire it replaced (an input takes one source).
    pub replaced: Option<String>,
    /// Whether a constant or parameter binding of the input was dropped.
    pub dropped_binding: bool,
    /// Whether the wire joins the input's other wires as one of an if/elif/else's branches
    /// (`dsl.OneOf`: the value of whichever branch ran).
    pub one_of: bool,
    /// Whether the wire leaves a loop into a list input: every iteration's value, collected
    /// (`dsl.Collected`).
    pub collected: bool,
}

/// Human name of a node for messages: its task name.
fn task_name(doc: &Document, id: &str) -> String {
    doc.node(id)
        .map_or_else(|| id.to_string(), |n| n.name.clone())
}

/// A wire as messages name it: `producer.port → consumer.port`, by task name.
pub fn wire_label(doc: &Document, from: &PortRef, to: &PortRef) -> String {
    format!(
        "{}.{} → {}.{}",
        task_name(doc, &from.node),
        from.port,
        task_name(doc, &to.node),
        to.port
    )
}

/// Wires output `from` to input `to`, refusing with the reason when the types do not match,
/// the ports do not exist, or the wire would close a cycle. An input has one source, so a wire
/// already into `to`, and any value bound to it, are replaced — except where the model takes
/// several: a wire from another branch of the same if/elif/else joins the one there (one of
/// the branches' values). A single value may feed a list input where it leaves a loop (every
/// iteration's value, collected); the model decides both, as it does when compiling.
pub fn connect(doc: &mut Document, from: &PortRef, to: &PortRef) -> Result<Connected, String> {
    let what = wire_label(doc, from, to);
    let refuse = |why: String| Err(format!("Cannot connect {what}: {why}"));
    let (Some(producer), Some(consumer)) = (doc.node(&from.node), doc.node(&to.node)) else {
        return refuse("the task no longer exists".into());
    };
    if from.node == to.node {
        return refuse("a task cannot feed its own input".into());
    }
    let Some(out_ty) = doc
        .component_of(producer)
        .and_then(|c| c.output_port(&from.port))
    else {
        return refuse(format!("{} has no output {:?}", producer.name, from.port));
    };
    let Some(in_ty) = doc
        .component_of(consumer)
        .and_then(|c| c.input_port(&to.port))
    else {
        return refuse(format!("{} has no input {:?}", consumer.name, to.port));
    };
    let typed = out_ty.can_feed(&in_ty);
    let existing: Vec<(String, PortRef)> = doc
        .wires
        .iter()
        .filter(|w| &w.to == to)
        .map(|w| (w.id.clone(), w.from.clone()))
        .collect();
    if let Some((id, _)) = existing.iter().find(|(_, src)| src == from) {
        return Ok(Connected {
            wire: id.clone(),
            replaced: None,
            dropped_binding: false,
            one_of: existing.len() > 1,
            collected: typed.is_err(),
        });
    }
    let (producer_name, consumer_name) = (producer.name.clone(), consumer.name.clone());
    let id = doc.fresh_id("w");
    let wire = Wire {
        id: id.clone(),
        from: from.clone(),
        to: to.clone(),
    };
    // The document with the new wire and without the input's value: `keep` keeps the wires
    // already there.
    let with_wire = |keep: bool| {
        let mut d = doc.clone();
        if !keep {
            d.wires.retain(|w| &w.to != to);
        }
        if let Some(n) = d.node_mut(&to.node) {
            n.inputs.remove(&to.port);
        }
        d.wires.push(wire.clone());
        d
    };
    // One of several branches when the model takes the wires together, else in their place.
    let joined = !existing.is_empty() && input_is_sound(&with_wire(true), to);
    let mut next = if joined {
        with_wire(true)
    } else {
        with_wire(false)
    };
    next.wires.pop();
    if reaches(&next, &to.node, &from.node, None) {
        return refuse(format!(
            "{producer_name} already depends on {consumer_name}, so this would make a cycle"
        ));
    }
    next.wires.push(wire);
    if let Err(why) = &typed {
        if !input_is_sound(&next, to) {
            return refuse(format!(
                "{why} ({} → {}); a single value feeds a list input only when it is collected out of a loop",
                out_ty.label(),
                in_ty.label()
            ));
        }
    }
    let dropped_binding = doc
        .node(&to.node)
        .is_some_and(|n| n.inputs.contains_key(&to.port));
    let replaced = if joined {
        None
    } else {
        existing.into_iter().next().map(|(id, _)| id)
    };
    *doc = next;
    Ok(Connected {
        wire: id,
        replaced,
        dropped_binding,
        one_of: joined,
        collected: typed.is_err(),
    })
}

/// Whether the model finds nothing wrong with the wires into input `to` of `doc`.
fn input_is_sound(doc: &Document, to: &PortRef) -> bool {
    pipeline::validate(doc).iter().all(|d| {
        !d.is_error()
            || d.node.as_deref() != Some(to.node.as_str())
            || d.port.as_deref() != Some(to.port.as_str())
    })
}

/// Whether `target` runs after `start` through wires (ignoring wire `skip`) and "run after" edges.
pub fn reaches(doc: &Document, start: &str, target: &str, skip: Option<&str>) -> bool {
    let mut next: HashMap<&str, Vec<&str>> = HashMap::new();
    for w in &doc.wires {
        if Some(w.id.as_str()) != skip {
            next.entry(&w.from.node).or_default().push(&w.to.node);
        }
    }
    for n in &doc.nodes {
        for a in &n.after {
            next.entry(a.as_str()).or_default().push(&n.id);
        }
    }
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(cur) = stack.pop() {
        if cur == target {
            return true;
        }
        if seen.insert(cur) {
            stack.extend(next.get(cur).into_iter().flatten().copied());
        }
    }
    false
}

/// The outputs that can feed input `to` (of type `ty`) by type, as `(output, "task.port
/// (type)")`, by task name then port: every other task's, except those downstream of the input's
/// task (a wire from them would close a cycle). What the choice would mean otherwise (a join of
/// branches, a replaced value) is [`connect`]'s to say.
pub fn sources_for(doc: &Document, to: &PortRef, ty: &PortType) -> Vec<(PortRef, String)> {
    // Downstream of the consumer, once: every task it reaches.
    let mut next: HashMap<&str, Vec<&str>> = HashMap::new();
    for w in &doc.wires {
        next.entry(&w.from.node).or_default().push(&w.to.node);
    }
    for n in &doc.nodes {
        for a in &n.after {
            next.entry(a.as_str()).or_default().push(&n.id);
        }
    }
    let mut downstream = BTreeSet::new();
    let mut stack = vec![to.node.as_str()];
    while let Some(cur) = stack.pop() {
        if downstream.insert(cur) {
            stack.extend(next.get(cur).into_iter().flatten().copied());
        }
    }
    let mut out: Vec<(PortRef, String)> = Vec::new();
    for n in &doc.nodes {
        if downstream.contains(n.id.as_str()) {
            continue;
        }
        let Some(c) = doc.component_of(n) else {
            continue;
        };
        for p in layout::output_ports(c) {
            if p.ty.can_feed(ty).is_ok() {
                out.push((
                    PortRef {
                        node: n.id.clone(),
                        port: p.name.clone(),
                    },
                    format!("{}.{} ({})", n.name, p.name, p.ty.label()),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Sets (or with `None` clears) the constant or parameter bound to input `port` of a node.
pub fn set_binding(doc: &mut Document, node: &str, port: &str, binding: Option<Binding>) {
    if let Some(n) = doc.node_mut(node) {
        match binding {
            Some(b) => {
                n.inputs.insert(port.to_string(), b);
            }
            None => {
                n.inputs.remove(port);
            }
        }
    }
}

/// Renames pipeline parameter `old` to `new`, rebinding every input bound to it.
pub fn rename_parameter(doc: &mut Document, index: usize, new: &str) {
    let Some(old) = doc.parameters.get(index).map(|p| p.name.clone()) else {
        return;
    };
    if old == new {
        return;
    }
    // Only rebind when no other parameter already had the new name (or the old one).
    let unique = doc.parameters.iter().filter(|p| p.name == old).count() == 1;
    doc.parameters[index].name = new.to_string();
    if !unique {
        return;
    }
    for n in &mut doc.nodes {
        for b in n.inputs.values_mut() {
            if matches!(b, Binding::Parameter(p) if *p == old) {
                *b = Binding::Parameter(new.to_string());
            }
        }
    }
}

/// A pipeline parameter name no parameter uses yet (`param_1`, `param_2`, …).
pub fn fresh_parameter_name(doc: &Document) -> String {
    (1..)
        .map(|i| format!("param_{i}"))
        .find(|n| doc.parameter(n).is_none())
        .unwrap_or_default()
}

/// Moves nodes and groups by `(dx, dy)` from the positions in `orig`.
pub fn move_items(doc: &mut Document, orig: &[(Item, Point)], dx: f64, dy: f64) {
    let index: Vec<(usize, Point)> = {
        let at = node_index(doc);
        orig.iter()
            .filter_map(|(item, p)| match item {
                Item::Node(id) => at.get(id.as_str()).map(|&i| (i, *p)),
                Item::Group(_) => None,
            })
            .collect()
    };
    for (i, p) in index {
        doc.nodes[i].position = Point {
            x: (p.x + dx).round(),
            y: (p.y + dy).round(),
        };
    }
    for (item, p) in orig {
        let to = Point {
            x: (p.x + dx).round(),
            y: (p.y + dy).round(),
        };
        match item {
            Item::Node(_) => {}
            Item::Group(id) => {
                if let Some(g) = doc.groups.iter_mut().find(|g| &g.id == id) {
                    g.position = to;
                }
            }
        }
    }
}

/// `size`, at least [`layout::GROUP_MIN`], in whole pixels.
pub fn clamp_size(size: Size) -> Size {
    Size {
        width: size.width.max(layout::GROUP_MIN.width).round(),
        height: size.height.max(layout::GROUP_MIN.height).round(),
    }
}

/// Resizes a group frame, keeping it at least [`layout::GROUP_MIN`].
pub fn resize_group(doc: &mut Document, gid: &str, size: Size) {
    if let Some(g) = doc.groups.iter_mut().find(|g| g.id == gid) {
        g.size = clamp_size(size);
    }
}

/// Where each node is in `doc.nodes`, by id.
pub fn node_index(doc: &Document) -> FxHashMap<&str, usize> {
    doc.nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect()
}

/// The positions of `items` and, for frames, of everything inside them (each once).
pub fn with_members(doc: &Document, items: &[Item]) -> Vec<(Item, Point)> {
    let index = node_index(doc);
    let mut out: Vec<(Item, Point)> = Vec::new();
    for item in items {
        match item {
            Item::Node(id) => {
                if let Some(&i) = index.get(id.as_str()) {
                    out.push((item.clone(), doc.nodes[i].position));
                }
            }
            Item::Group(id) => out.extend(group_with_members(doc, id)),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// After a move: puts each moved item into the innermost frame that now holds it.
pub fn regroup(doc: &mut Document, moved: &[Item]) {
    // Frames with their depth, worked out once (a move may carry thousands of nodes).
    let frames: Vec<(usize, Rect, String)> = doc
        .groups
        .iter()
        .map(|g| {
            (
                doc.group_chain(Some(&g.id)).len(),
                layout::group_rect(g),
                g.id.clone(),
            )
        })
        .collect();
    let index = node_index(doc);
    let placed: Vec<(usize, Option<String>)> = moved
        .iter()
        .filter_map(|item| match item {
            Item::Node(id) => index.get(id.as_str()).copied(),
            Item::Group(_) => None,
        })
        .map(|i| {
            let center = layout::node_rect(doc, &doc.nodes[i]).center();
            let inner = frames
                .iter()
                .filter(|(_, r, _)| r.contains(center))
                .max_by(|a, b| {
                    a.0.cmp(&b.0)
                        .then_with(|| (b.1.w * b.1.h).total_cmp(&(a.1.w * a.1.h)))
                })
                .map(|(_, _, id)| id.clone());
            (i, inner)
        })
        .collect();
    for (i, group) in placed {
        doc.nodes[i].group = group;
    }
    for item in moved {
        if let Item::Group(id) = item {
            regroup_group(doc, id);
        }
    }
}

/// Removes nodes and frames (a frame's members that are not removed move to its parent).
pub fn remove_items(doc: &mut Document, items: &[Item]) {
    let nodes: BTreeSet<&str> = items
        .iter()
        .filter_map(|i| match i {
            Item::Node(id) => Some(id.as_str()),
            Item::Group(_) => None,
        })
        .collect();
    if !nodes.is_empty() {
        // A comment on a removed task stays where it was, on its own.
        for c in &mut doc.comments {
            let Some(at) = c.node.as_deref().filter(|n| nodes.contains(n)) else {
                continue;
            };
            if let Some(n) = doc.nodes.iter().find(|n| n.id == at) {
                c.position.x += n.position.x;
                c.position.y += n.position.y;
            }
            c.node = None;
        }
        doc.nodes.retain(|n| !nodes.contains(n.id.as_str()));
        doc.wires.retain(|w| {
            !nodes.contains(w.from.node.as_str()) && !nodes.contains(w.to.node.as_str())
        });
        for n in &mut doc.nodes {
            n.after.retain(|a| !nodes.contains(a.as_str()));
        }
        for o in &mut doc.outputs {
            o.from.retain(|p| !nodes.contains(p.node.as_str()));
        }
        doc.prune_components();
    }
    for i in items {
        if let Item::Group(id) = i {
            doc.remove_group(id);
        }
    }
}

/// The part of `doc` that `items` make up, as a document of its own (what Copy puts on the
/// clipboard): the nodes and frames (with everything inside the frames), the wires between
/// them, the components they run, the parameters their inputs read, and the comments on those
/// tasks or inside those frames. `None` when nothing.
pub fn fragment(doc: &Document, items: &[Item]) -> Option<Document> {
    let mut groups: Vec<&str> = Vec::new();
    let mut nodes: Vec<&str> = Vec::new();
    for item in items {
        match item {
            Item::Node(id) => nodes.push(id),
            Item::Group(id) => groups.push(id),
        }
    }
    // Frames inside copied frames, and their nodes, come along.
    let inside = |g: Option<&str>| {
        doc.group_chain(g)
            .iter()
            .any(|c| groups.contains(&c.as_str()))
    };
    let kept_groups: Vec<&Group> = doc
        .groups
        .iter()
        .filter(|g| groups.contains(&g.id.as_str()) || inside(Some(&g.id)))
        .collect();
    let kept_nodes: Vec<&Node> = doc
        .nodes
        .iter()
        .filter(|n| nodes.contains(&n.id.as_str()) || inside(n.group.as_deref()))
        .collect();
    if kept_nodes.is_empty() && kept_groups.is_empty() {
        return None;
    }
    let node_ids: BTreeSet<&str> = kept_nodes.iter().map(|n| n.id.as_str()).collect();
    let group_ids: BTreeSet<&str> = kept_groups.iter().map(|g| g.id.as_str()).collect();
    let frames: Vec<Rect> = kept_groups.iter().map(|g| layout::group_rect(g)).collect();
    let comments = doc
        .comments
        .iter()
        .filter(|c| match &c.node {
            Some(n) => node_ids.contains(n.as_str()),
            None => frames.iter().any(|f| f.contains(c.position)),
        })
        .cloned()
        .collect();
    let mut out = Document::new(&doc.name);
    out.comments = comments;
    out.groups = kept_groups
        .into_iter()
        .map(|g| {
            let mut g = g.clone();
            if g.parent.as_deref().is_some_and(|p| !group_ids.contains(p)) {
                g.parent = None;
            }
            g
        })
        .collect();
    out.nodes = kept_nodes
        .into_iter()
        .map(|n| {
            let mut n = n.clone();
            if n.group.as_deref().is_some_and(|g| !group_ids.contains(g)) {
                n.group = None;
            }
            n.after.retain(|a| node_ids.contains(a.as_str()));
            n
        })
        .collect();
    out.wires = doc
        .wires
        .iter()
        .filter(|w| {
            node_ids.contains(w.from.node.as_str()) && node_ids.contains(w.to.node.as_str())
        })
        .cloned()
        .collect();
    for n in &out.nodes {
        if let Some(c) = doc.components.get(&n.component) {
            out.components.insert(n.component.clone(), c.clone());
        }
        for b in n.inputs.values() {
            if let Binding::Parameter(p) = b {
                if let Some(param) = doc.parameter(p) {
                    if out.parameter(p).is_none() {
                        out.parameters.push(param.clone());
                    }
                }
            }
        }
    }
    Some(out)
}

/// Something on the canvas that can be moved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    /// A node, by id.
    Node(String),
    /// A group frame, by id.
    Group(String),
}

/// The positions of a group and everything inside it, for moving them together.
pub fn group_with_members(doc: &Document, gid: &str) -> Vec<(Item, Point)> {
    let (nodes, groups) = group_members(doc, gid);
    let mut out: Vec<(Item, Point)> = Vec::new();
    if let Some(g) = doc.group(gid) {
        out.push((Item::Group(gid.to_string()), g.position));
    }
    for id in groups {
        if let Some(g) = doc.group(&id) {
            out.push((Item::Group(id.clone()), g.position));
        }
    }
    for id in nodes {
        if let Some(n) = doc.node(&id) {
            out.push((Item::Node(id.clone()), n.position));
        }
    }
    out
}

/// An id no comment of `doc` has (`c<n>`).
pub fn comment_id(doc: &Document) -> String {
    let mut n = doc.comments.len() + 1;
    loop {
        let id = format!("c{n}");
        if !doc.comments.iter().any(|c| c.id == id) {
            return id;
        }
        n += 1;
    }
}

/// Adds an empty comment at `at` (on the canvas, or from the corner of task `node`); returns
/// its id.
pub fn add_comment(doc: &mut Document, at: Point, node: Option<String>) -> String {
    let id = comment_id(doc);
    doc.comments.push(pipeline::Comment {
        id: id.clone(),
        text: String::new(),
        position: at,
        width: pipeline::document::COMMENT_WIDTH,
        node,
    });
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline::ir::{
        ArtifactSpec, ArtifactTypeSchema, ContainerSpec, ExecutorSpec, ParameterSpec, ParameterType,
    };

    fn comp(
        name: &str,
        ins: &[(&str, ParameterType)],
        outs: &[(&str, ParameterType)],
    ) -> ComponentDef {
        let mut c = ComponentDef {
            name: name.into(),
            title: None,
            description: None,
            input_definitions: Default::default(),
            output_definitions: Default::default(),
            executor: Some(ExecutorSpec::Container(ContainerSpec {
                image: "python:3.11".into(),
                ..Default::default()
            })),
            pipeline: None,
        };
        for (n, t) in ins {
            c.input_definitions
                .parameters
                .insert(n.to_string(), ParameterSpec::of(*t));
        }
        for (n, t) in outs {
            c.output_definitions
                .parameters
                .insert(n.to_string(), ParameterSpec::of(*t));
        }
        c
    }

    fn two_nodes() -> (Document, String, String) {
        let mut doc = Document::new("p");
        let a = comp(
            "producer",
            &[],
            &[
                ("out_int", ParameterType::NumberInteger),
                ("out_str", ParameterType::String),
            ],
        );
        let mut b = comp(
            "consumer",
            &[
                ("x", ParameterType::NumberDouble),
                ("s", ParameterType::String),
            ],
            &[("y", ParameterType::String)],
        );
        b.input_definitions.artifacts.insert(
            "model".into(),
            ArtifactSpec {
                artifact_type: ArtifactTypeSchema::titled("system.Model"),
                ..Default::default()
            },
        );
        let p = Point::default();
        let na = add_node(&mut doc, "producer", &a, p, p);
        let nb = add_node(
            &mut doc,
            "consumer",
            &b,
            Point { x: 400.0, y: 0.0 },
            Point { x: 400.0, y: 0.0 },
        );
        (doc, na, nb)
    }

    fn port(node: &str, port: &str) -> PortRef {
        PortRef {
            node: node.into(),
            port: port.into(),
        }
    }

    #[test]
    fn adds_nodes_with_fresh_ids_and_names() {
        let (mut doc, a, b) = two_nodes();
        assert_eq!((a.as_str(), b.as_str()), ("n1", "n2"));
        let def = doc.components["producer"].clone();
        let c = add_node(
            &mut doc,
            "producer",
            &def,
            Point::default(),
            Point::default(),
        );
        assert_eq!(c, "n3");
        assert_eq!(doc.node("n3").map(|n| n.name.as_str()), Some("producer-2"));
        assert_eq!(doc.components.len(), 2);
    }

    #[test]
    fn connects_compatible_ports_and_refuses_others() {
        let (mut doc, a, b) = two_nodes();
        let ok = connect(&mut doc, &port(&a, "out_int"), &port(&b, "x"));
        assert_eq!(ok.map(|c| c.wire), Ok("w1".to_string()));
        let err = connect(&mut doc, &port(&a, "out_int"), &port(&b, "s")).unwrap_err();
        assert!(
            err.contains("an int output cannot feed a str input"),
            "{err}"
        );
        let err = connect(&mut doc, &port(&a, "out_str"), &port(&b, "model")).unwrap_err();
        assert!(err.contains("artifact"), "{err}");
        assert_eq!(doc.wires.len(), 1);
    }

    #[test]
    fn sources_are_the_compatible_outputs_of_tasks_not_downstream() {
        let (mut doc, a, b) = two_nodes();
        let x = port(&b, "x");
        let float = PortType::Parameter(ParameterType::NumberDouble);
        let labels = |d: &Document, to: &PortRef, ty: &PortType| -> Vec<String> {
            sources_for(d, to, ty).into_iter().map(|(_, l)| l).collect()
        };
        // An int feeds a float; the str does not, nor does the consumer's own output.
        assert_eq!(labels(&doc, &x, &float), ["producer.out_int (int)"]);
        let text = PortType::Parameter(ParameterType::String);
        assert_eq!(
            labels(&doc, &port(&b, "s"), &text),
            ["producer.out_str (str)"]
        );
        assert!(labels(
            &doc,
            &port(&b, "model"),
            &PortType::Artifact("system.Model".into(), false)
        )
        .is_empty());
        // Once the producer runs after the consumer, it is downstream: no source.
        doc.nodes.iter_mut().for_each(|n| {
            if n.id == a {
                n.after.push(b.clone());
            }
        });
        assert!(labels(&doc, &x, &float).is_empty());
        let (from, _) = sources_for(&two_nodes().0, &x, &float).remove(0);
        assert_eq!(
            (from.node.as_str(), from.port.as_str()),
            (a.as_str(), "out_int")
        );
    }

    #[test]
    fn a_new_wire_replaces_the_old_source_and_binding() {
        let (mut doc, a, b) = two_nodes();
        set_binding(&mut doc, &b, "s", Some(Binding::Value("v".into())));
        let c = connect(&mut doc, &port(&a, "out_str"), &port(&b, "s")).unwrap();
        assert!(c.dropped_binding);
        assert!(doc.node(&b).unwrap().inputs.is_empty());
        let def = doc.components["producer"].clone();
        let a2 = add_node(
            &mut doc,
            "producer",
            &def,
            Point::default(),
            Point::default(),
        );
        let c2 = connect(&mut doc, &port(&a2, "out_str"), &port(&b, "s")).unwrap();
        assert_eq!(c2.replaced, Some(c.wire));
        assert_eq!(doc.wires.len(), 1);
    }

    /// Puts `nodes` into a new group of `kind` (inside `parent`); its id.
    fn group_of(
        doc: &mut Document,
        kind: GroupKind,
        parent: Option<&str>,
        nodes: &[&str],
    ) -> String {
        let id = doc.fresh_id("g");
        doc.groups.push(pipeline::Group {
            id: id.clone(),
            kind,
            name: None,
            display_name: None,
            parent: parent.map(str::to_string),
            position: Point::default(),
            size: pipeline::Size::default(),
        });
        for n in nodes {
            if let Some(node) = doc.node_mut(n) {
                node.group = Some(id.clone());
            }
        }
        id
    }

    #[test]
    fn a_value_leaving_a_loop_feeds_a_list_input_collected() {
        let (mut doc, a, b) = two_nodes();
        doc.components
            .get_mut("consumer")
            .unwrap()
            .input_definitions
            .parameters
            .insert("nums".into(), ParameterSpec::of(ParameterType::List));
        // Outside any loop, an int is not a list.
        let err = connect(&mut doc, &port(&a, "out_int"), &port(&b, "nums")).unwrap_err();
        assert!(err.contains("collected out of a loop"), "{err}");
        assert!(doc.wires.is_empty());
        // From inside a loop it is every iteration's value.
        group_of(
            &mut doc,
            GroupKind::Loop {
                items: pipeline::document::LoopItems::Raw("[1, 2]".into()),
                parallelism: None,
                item_input: None,
                item_type: None,
            },
            None,
            &[&a],
        );
        let c = connect(&mut doc, &port(&a, "out_int"), &port(&b, "nums")).unwrap();
        assert!(c.collected && !c.one_of, "{c:?}");
        assert_eq!(doc.wires.len(), 1);
        // The same for artifacts: a Dataset per iteration into a List[Dataset].
        let dataset = || ArtifactSpec {
            artifact_type: ArtifactTypeSchema::titled("system.Dataset"),
            ..Default::default()
        };
        let producer = doc.components.get_mut("producer").unwrap();
        producer
            .output_definitions
            .artifacts
            .insert("ds".into(), dataset());
        let consumer = doc.components.get_mut("consumer").unwrap();
        consumer.input_definitions.artifacts.insert(
            "datasets".into(),
            ArtifactSpec {
                is_artifact_list: true,
                ..dataset()
            },
        );
        let c = connect(&mut doc, &port(&a, "ds"), &port(&b, "datasets")).unwrap();
        assert!(c.collected, "{c:?}");
        assert_eq!(doc.wires.len(), 2);
        assert!(
            pipeline::validate(&doc)
                .iter()
                .all(|d| !d.is_error() || !matches!(d.port.as_deref(), Some("nums" | "datasets"))),
            "{:?}",
            pipeline::validate(&doc)
        );
    }

    #[test]
    fn wires_from_each_branch_join_as_one_of_them() {
        let (mut doc, a, b) = two_nodes();
        let def = doc.components["producer"].clone();
        let a2 = add_node(
            &mut doc,
            "producer",
            &def,
            Point::default(),
            Point::default(),
        );
        let a3 = add_node(
            &mut doc,
            "producer",
            &def,
            Point::default(),
            Point::default(),
        );
        let branches = group_of(&mut doc, GroupKind::Branches, None, &[]);
        let cond = GroupKind::Condition {
            expression: "1 == 1".into(),
        };
        group_of(&mut doc, cond, Some(&branches), &[&a]);
        group_of(&mut doc, GroupKind::Else, Some(&branches), &[&a2]);
        let first = connect(&mut doc, &port(&a, "out_str"), &port(&b, "s")).unwrap();
        let second = connect(&mut doc, &port(&a2, "out_str"), &port(&b, "s")).unwrap();
        assert!(second.one_of && second.replaced.is_none(), "{second:?}");
        assert_eq!(doc.wires.len(), 2);
        // A task outside the branches takes the input over.
        let third = connect(&mut doc, &port(&a3, "out_str"), &port(&b, "s")).unwrap();
        assert!(!third.one_of, "{third:?}");
        assert_eq!(third.replaced, Some(first.wire));
        assert_eq!(doc.wires.len(), 1);
    }

    #[test]
    fn refuses_cycles_and_self_wires() {
        let (mut doc, a, b) = two_nodes();
        connect(&mut doc, &port(&a, "out_str"), &port(&b, "s")).unwrap();
        // b → a would close the cycle: give the producer an input first.
        doc.components
            .get_mut("producer")
            .unwrap()
            .input_definitions
            .parameters
            .insert("back".into(), ParameterSpec::of(ParameterType::String));
        let err = connect(&mut doc, &port(&b, "y"), &port(&a, "back")).unwrap_err();
        assert!(err.contains("cycle"), "{err}");
        let err = connect(&mut doc, &port(&b, "y"), &port(&b, "s")).unwrap_err();
        assert!(err.contains("own input"), "{err}");
    }

    #[test]
    fn nodes_dropped_in_a_condition_join_it() {
        let mut doc = Document::new("p");
        let g = add_group(
            &mut doc,
            Point { x: 0.0, y: 0.0 },
            GroupKind::Condition {
                expression: String::new(),
            },
        );
        let def = comp("c", &[], &[]);
        let inside = Point { x: 50.0, y: 60.0 };
        let n = add_node(&mut doc, "c", &def, inside, inside);
        assert_eq!(doc.node(&n).unwrap().group.as_deref(), Some(g.as_str()));
        let outside = Point { x: 2000.0, y: 60.0 };
        let m = add_node(&mut doc, "c", &def, outside, outside);
        assert_eq!(doc.node(&m).unwrap().group, None);
        // Moving the node out of the frame takes it out of the group.
        move_items(&mut doc, &[(Item::Node(n.clone()), inside)], 3000.0, 0.0);
        regroup(&mut doc, &[Item::Node(n.clone())]);
        assert_eq!(doc.node(&n).unwrap().group, None);
        // And back in.
        move_items(&mut doc, &[(Item::Node(n.clone()), inside)], 0.0, 0.0);
        regroup(&mut doc, &[Item::Node(n.clone())]);
        assert_eq!(doc.node(&n).unwrap().group.as_deref(), Some(g.as_str()));
    }

    #[test]
    fn moving_a_frame_carries_its_members_once() {
        let mut doc = Document::new("p");
        let def = comp("c", &[], &[]);
        let g = add_group(
            &mut doc,
            Point { x: 0.0, y: 0.0 },
            GroupKind::Condition {
                expression: String::new(),
            },
        );
        let inside = Point { x: 50.0, y: 60.0 };
        let n = add_node(&mut doc, "c", &def, inside, inside);
        // The node is selected along with its frame: it moves once, with the frame.
        let items = [Item::Group(g.clone()), Item::Node(n.clone())];
        let orig = with_members(&doc, &items);
        assert_eq!(orig.len(), 2, "{orig:?}");
        move_items(&mut doc, &orig, 100.0, 10.0);
        regroup(&mut doc, &items);
        let node = doc.node(&n).unwrap();
        assert_eq!((node.position.x, node.position.y), (150.0, 70.0));
        assert_eq!(node.group.as_deref(), Some(g.as_str()));
        assert_eq!(doc.group(&g).unwrap().position.x, 100.0);
    }

    #[test]
    fn removing_items_drops_their_wires_and_keeps_frame_members() {
        let (mut doc, a, b) = two_nodes();
        connect(&mut doc, &port(&a, "out_int"), &port(&b, "x")).unwrap();
        let g = add_group(
            &mut doc,
            Point {
                x: 390.0,
                y: -100.0,
            },
            GroupKind::Condition {
                expression: String::new(),
            },
        );
        assert_eq!(doc.node(&b).unwrap().group.as_deref(), Some(g.as_str()));
        remove_items(&mut doc, &[Item::Node(a.clone()), Item::Group(g.clone())]);
        assert!(doc.node(&a).is_none());
        assert!(doc.wires.is_empty());
        assert_eq!(
            doc.node(&b).unwrap().group,
            None,
            "the frame's task stays, at top level"
        );
        assert!(
            doc.components.get("producer").is_none(),
            "its component went with it"
        );
    }

    #[test]
    fn a_comment_on_a_removed_task_stays_where_it_was() {
        let mut doc = Document::new("p");
        let def = comp("c", &[], &[]);
        let p = Point { x: 100.0, y: 40.0 };
        let n = add_node(&mut doc, "c", &def, p, p);
        let at = doc.nodes[0].position;
        let on_task = add_comment(&mut doc, Point { x: 0.0, y: -96.0 }, Some(n.clone()));
        let free = add_comment(&mut doc, Point { x: 5.0, y: 6.0 }, None);
        assert_eq!((on_task.as_str(), free.as_str()), ("c1", "c2"));
        remove_items(&mut doc, &[Item::Node(n)]);
        assert!(doc.nodes.is_empty());
        let c = &doc.comments[0];
        assert_eq!(c.node, None);
        assert_eq!((c.position.x, c.position.y), (at.x, at.y - 96.0));
        assert_eq!(
            (doc.comments[1].position.x, doc.comments[1].position.y),
            (5.0, 6.0)
        );
        // Ids stay unique after a removal.
        doc.comments.remove(0);
        assert_eq!(add_comment(&mut doc, p, None), "c3");
    }

    #[test]
    fn a_new_frame_adopts_what_it_covers() {
        let mut doc = Document::new("p");
        let def = comp("c", &[], &[]);
        let p = Point { x: 100.0, y: 100.0 };
        let n = add_node(&mut doc, "c", &def, p, p);
        let g = add_group(
            &mut doc,
            Point { x: 50.0, y: 50.0 },
            GroupKind::Condition {
                expression: String::new(),
            },
        );
        assert_eq!(doc.node(&n).unwrap().group.as_deref(), Some(g.as_str()));
        let (nodes, _) = group_members(&doc, &g);
        assert_eq!(nodes, vec![n]);
    }

    #[test]
    fn renaming_a_parameter_rebinds_inputs() {
        let (mut doc, _a, b) = two_nodes();
        doc.parameters.push(pipeline::PipelineParameter {
            name: "p".into(),
            ty: ParameterType::String,
            default: None,
            description: None,
            optional: None,
        });
        set_binding(&mut doc, &b, "s", Some(Binding::Parameter("p".into())));
        rename_parameter(&mut doc, 0, "q");
        assert_eq!(
            doc.node(&b).unwrap().inputs.get("s"),
            Some(&Binding::Parameter("q".into()))
        );
    }
}
