//! Editing tools fetched on first use (the `tools` chunk): paste and duplicate, align and
//! distribute, automatic layout, the canvas's context menu and the keyboard shortcut overlay.
//! The editor starts without them; what they change is one step in Undo.

use std::collections::HashSet;

use leptos::prelude::*;
use pipeline::{Binding, Document, GroupKind, Point, PortRef};
use wasm_bindgen::{JsCast, JsValue};
use wasm_split_helpers::wasm_split;

use crate::chunks::{self, Unloaded};
use crate::edit::{self, Item};
use crate::layout::{self, Rect};
use crate::state::{AppState, Selection};

/// Ids and task names not used yet in a document, handed out in order.
struct Fresh {
    used: HashSet<String>,
    names: HashSet<String>,
    next: u64,
}

impl Fresh {
    fn of(doc: &Document) -> Self {
        Self {
            used: doc
                .nodes
                .iter()
                .map(|n| n.id.clone())
                .chain(doc.wires.iter().map(|w| w.id.clone()))
                .chain(doc.groups.iter().map(|g| g.id.clone()))
                .collect(),
            names: doc.nodes.iter().map(|n| n.name.clone()).collect(),
            next: 1,
        }
    }

    /// A new id starting with `prefix` (`n`, `w`, `g`).
    fn id(&mut self, prefix: &str) -> String {
        loop {
            let id = format!("{prefix}{}", self.next);
            self.next += 1;
            if self.used.insert(id.clone()) {
                return id;
            }
        }
    }

    /// A task name like `name` that no task has (`name`, `name-2`, …).
    fn name(&mut self, name: &str) -> String {
        let base = pipeline::names::sanitize(name);
        let base = if base.is_empty() {
            "task".to_string()
        } else {
            base
        };
        let mut candidate = base.clone();
        let mut i = 2u64;
        while self.names.contains(&candidate) {
            candidate = format!("{base}-{i}");
            i += 1;
        }
        self.names.insert(candidate.clone());
        candidate
    }
}

/// Adds the elements of `frag` (a copied part of a pipeline) to `doc` with new ids and names,
/// its top-left corner at `at`: components are embedded (sharing equal ones), parameters the
/// tasks read are added when missing, wires and frames come along, and the pasted elements join
/// the frame under them. Returns the new nodes and frames.
pub fn insert_fragment(doc: &mut Document, frag: Document, at: Point) -> Vec<Item> {
    let Some(bounds) = layout::content_bounds(&frag) else {
        return Vec::new();
    };
    let (dx, dy) = ((at.x - bounds.x).round(), (at.y - bounds.y).round());
    let mut fresh = Fresh::of(doc);

    let mut comp_keys: Vec<(String, String)> = Vec::new();
    for (key, def) in frag.components.iter() {
        let new_key = edit::component_key(doc, key, def);
        if doc.components.get(&new_key).is_none() {
            doc.components.insert(new_key.clone(), def.clone());
        }
        comp_keys.push((key.clone(), new_key));
    }
    for p in &frag.parameters {
        if doc.parameter(&p.name).is_none() {
            doc.parameters.push(p.clone());
        }
    }
    let group_ids: Vec<(String, String)> = frag
        .groups
        .iter()
        .map(|g| (g.id.clone(), fresh.id("g")))
        .collect();
    let node_ids: Vec<(String, String)> = frag
        .nodes
        .iter()
        .map(|n| (n.id.clone(), fresh.id("n")))
        .collect();
    let find = |list: &[(String, String)], old: &str| {
        list.iter().find(|(o, _)| o == old).map(|(_, n)| n.clone())
    };
    let mut added: Vec<Item> = Vec::new();
    let mut top: Vec<Item> = Vec::new();
    for mut g in frag.groups {
        g.id = find(&group_ids, &g.id).unwrap_or(g.id);
        g.parent = g.parent.and_then(|p| find(&group_ids, &p));
        match &mut g.kind {
            GroupKind::ExitHandler { exit_node } => {
                if let Some(n) = find(&node_ids, exit_node) {
                    *exit_node = n;
                }
            }
            GroupKind::Loop {
                items: pipeline::document::LoopItems::Output(o),
                ..
            } => {
                if let Some(n) = find(&node_ids, &o.node) {
                    o.node = n;
                }
            }
            _ => {}
        }
        g.position.x += dx;
        g.position.y += dy;
        if g.parent.is_none() {
            top.push(Item::Group(g.id.clone()));
        }
        added.push(Item::Group(g.id.clone()));
        doc.groups.push(g);
    }
    for mut n in frag.nodes {
        n.id = find(&node_ids, &n.id).unwrap_or(n.id);
        n.name = fresh.name(&n.name);
        n.group = n.group.and_then(|g| find(&group_ids, &g));
        n.component = find(&comp_keys, &n.component).unwrap_or(n.component);
        n.position.x += dx;
        n.position.y += dy;
        n.after = n.after.iter().filter_map(|a| find(&node_ids, a)).collect();
        n.inputs.retain(|_, b| match b {
            Binding::LoopItem { group, .. } | Binding::FinalStatus(group) => {
                match find(&group_ids, group) {
                    Some(g) => {
                        *group = g;
                        true
                    }
                    None => false,
                }
            }
            _ => true,
        });
        if n.group.is_none() {
            top.push(Item::Node(n.id.clone()));
        }
        added.push(Item::Node(n.id.clone()));
        doc.nodes.push(n);
    }
    for mut w in frag.wires {
        let (Some(from), Some(to)) = (find(&node_ids, &w.from.node), find(&node_ids, &w.to.node))
        else {
            continue;
        };
        w.id = fresh.id("w");
        w.from.node = from;
        w.to.node = to;
        doc.wires.push(w);
    }
    // Comments: on a pasted task they stay on its copy; the others move with what was pasted.
    for mut c in frag.comments {
        c.id = edit::comment_id(doc);
        c.node = c.node.and_then(|n| find(&node_ids, &n));
        if c.node.is_none() {
            c.position.x += dx;
            c.position.y += dy;
        }
        doc.comments.push(c);
    }
    edit::regroup(doc, &top);
    added
}

// Entry points from the editor (the chunk is fetched on first use).

/// Wires output `from` to input `to` ([`edit::connect`]), saying in the status bar what it did
/// or why it cannot; with `select`, the new wire becomes the selection (a drag), else the
/// selection stays (wiring from the properties of the input's task).
pub fn connect(st: AppState, from: PortRef, to: PortRef, select: bool) {
    chunks::run(st, "connect", connect_split(st, from, to, select));
}

/// [`connect`], from the tools chunk.
#[wasm_split(tools, fallible)]
fn connect_split(st: AppState, from: PortRef, to: PortRef, select: bool) -> Result<(), Unloaded> {
    let mut result = Err(String::new());
    st.edit(|d| result = edit::connect(d, &from, &to));
    match result {
        Ok(done) => {
            let mut msg = format!(
                "Connected {}",
                st.doc.with_untracked(|d| edit::wire_label(d, &from, &to))
            );
            if done.one_of {
                msg.push_str(" (one of the branches: the value of whichever ran)");
            } else if done.collected {
                msg.push_str(" (collects every iteration's value into a list)");
            } else if done.replaced.is_some() {
                msg.push_str(" (replaced the previous wire)");
            } else if done.dropped_binding {
                msg.push_str(" (replaced the value that was set)");
            }
            if select {
                st.select(Selection::Wire(done.wire));
            }
            st.success(msg);
        }
        Err(why) => st.error(why),
    }
    Ok(())
}

/// Adds the pipeline fragment `frag` at `at` (or next to where it was copied from).
pub fn paste(st: AppState, frag: Document, at: Option<Point>) {
    chunks::run(st, "paste", paste_split(st, frag, at));
}

/// [`paste`], from the tools chunk.
#[wasm_split(tools, fallible)]
fn paste_split(st: AppState, frag: Document, at: Option<Point>) -> Result<(), Unloaded> {
    let at = at
        .or_else(|| {
            layout::content_bounds(&frag).map(|b| Point {
                x: b.x + 32.0,
                y: b.y + 32.0,
            })
        })
        .unwrap_or_default();
    let mut items = Vec::new();
    st.edit(|d| items = insert_fragment(d, frag, at));
    let n = items.len();
    if n == 0 {
        st.info("Nothing to paste");
        return Ok(());
    }
    st.select(Selection::of(items));
    st.success(format!("Pasted {n} item{}", if n == 1 { "" } else { "s" }));
    Ok(())
}

/// Duplicates the selection next to it.
pub fn duplicate(st: AppState) {
    let items = st.selection.with_untracked(Selection::items);
    match st.doc.with_untracked(|d| edit::fragment(d, &items)) {
        Some(frag) => paste(st, frag, None),
        None => st.info("Select tasks or frames to duplicate"),
    }
}

/// How to line up the selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrange {
    /// Left edges on the leftmost.
    Left,
    /// Centres on one vertical line.
    Center,
    /// Right edges on the rightmost.
    Right,
    /// Top edges on the topmost.
    Top,
    /// Middles on one horizontal line.
    Middle,
    /// Bottom edges on the lowest.
    Bottom,
    /// Equal gaps between them, left to right.
    SpreadX,
    /// Equal gaps between them, top to bottom.
    SpreadY,
}

/// The moves (dx, dy) that line up boxes `r` as `how` says.
pub fn arrange_moves(r: &[Rect], how: Arrange) -> Vec<(f64, f64)> {
    let Some(all) = r.iter().copied().reduce(|a, b| a.union(&b)) else {
        return Vec::new();
    };
    let spread = |pos: &dyn Fn(&Rect) -> (f64, f64)| -> Vec<f64> {
        // Sorted by position; the first and last stay, the gaps between them become equal.
        let mut order: Vec<usize> = (0..r.len()).collect();
        order.sort_by(|&a, &b| pos(&r[a]).0.total_cmp(&pos(&r[b]).0));
        let total: f64 = r.iter().map(|x| pos(x).1).sum();
        let (start, end) = (pos(&r[order[0]]).0, {
            let last = &r[order[order.len() - 1]];
            pos(last).0 + pos(last).1
        });
        let gap = if r.len() > 1 {
            (end - start - total) / (r.len() - 1) as f64
        } else {
            0.0
        };
        let mut out = vec![0.0; r.len()];
        let mut at = start;
        for &i in &order {
            out[i] = at - pos(&r[i]).0;
            at += pos(&r[i]).1 + gap;
        }
        out
    };
    match how {
        Arrange::Left => r.iter().map(|x| (all.x - x.x, 0.0)).collect(),
        Arrange::Right => r.iter().map(|x| (all.x + all.w - x.x - x.w, 0.0)).collect(),
        Arrange::Center => {
            let c = all.x + all.w / 2.0;
            r.iter().map(|x| (c - x.x - x.w / 2.0, 0.0)).collect()
        }
        Arrange::Top => r.iter().map(|x| (0.0, all.y - x.y)).collect(),
        Arrange::Bottom => r.iter().map(|x| (0.0, all.y + all.h - x.y - x.h)).collect(),
        Arrange::Middle => {
            let c = all.y + all.h / 2.0;
            r.iter().map(|x| (0.0, c - x.y - x.h / 2.0)).collect()
        }
        Arrange::SpreadX => spread(&|x| (x.x, x.w))
            .into_iter()
            .map(|d| (d, 0.0))
            .collect(),
        Arrange::SpreadY => spread(&|x| (x.y, x.h))
            .into_iter()
            .map(|d| (0.0, d))
            .collect(),
    }
}

/// Lines up the selected nodes and frames (frames carry what is inside them).
pub fn arrange(st: AppState, how: Arrange) {
    chunks::run(st, "line up the selection", arrange_split(st, how));
}

/// [`arrange`], from the tools chunk.
#[wasm_split(tools, fallible)]
fn arrange_split(st: AppState, how: Arrange) -> Result<(), Unloaded> {
    let items = st.selection.with_untracked(Selection::items);
    st.edit(|d| {
        // Items inside a selected frame move with it, not on their own.
        let items: Vec<Item> = items
            .iter()
            .filter(|i| {
                let parent = match i {
                    Item::Node(id) => d.node(id).and_then(|n| n.group.clone()),
                    Item::Group(id) => d.group(id).and_then(|g| g.parent.clone()),
                };
                !d.group_chain(parent.as_deref())
                    .iter()
                    .any(|g| items.contains(&Item::Group(g.clone())))
            })
            .cloned()
            .collect();
        let boxes: Vec<Rect> = items
            .iter()
            .filter_map(|i| match i {
                Item::Node(id) => d.node(id).map(|n| layout::node_rect(d, n)),
                Item::Group(id) => d.group(id).map(layout::group_rect),
            })
            .collect();
        if boxes.len() != items.len() {
            return;
        }
        for (item, (dx, dy)) in items.iter().zip(arrange_moves(&boxes, how)) {
            let orig = edit::with_members(d, std::slice::from_ref(item));
            edit::move_items(d, &orig, dx, dy);
        }
        edit::regroup(d, &items);
    });
    Ok(())
}

/// Lays out the whole pipeline (or only the selected tasks, in place) in columns by dependency.
pub fn auto_layout(st: AppState, selection_only: bool) {
    chunks::run(
        st,
        "lay out the pipeline",
        auto_layout_split(st, selection_only),
    );
}

/// [`auto_layout`], from the tools chunk.
#[wasm_split(tools, fallible)]
fn auto_layout_split(st: AppState, selection_only: bool) -> Result<(), Unloaded> {
    if !selection_only {
        st.edit(pipeline::layout::layout);
        // The view a pipeline opens with: all of it when legible, else its start (fitting
        // 2,000 tasks would draw every one of them as a dot, and take a quarter second).
        crate::canvas::open_view(&st);
        st.info("Laid out the pipeline");
        return Ok(());
    }
    let items = st.selection.with_untracked(Selection::items);
    st.edit(|d| layout_nodes(d, &items));
    st.info("Laid out the selected tasks");
    Ok(())
}

/// Lays out the selected nodes (and those in selected frames) among themselves, keeping the
/// top-left corner of the group they make.
pub fn layout_nodes(doc: &mut Document, items: &[Item]) {
    let Some(mut part) = edit::fragment(doc, items) else {
        return;
    };
    part.groups.clear();
    for n in &mut part.nodes {
        n.group = None;
    }
    let Some(before) = layout::content_bounds(&part) else {
        return;
    };
    pipeline::layout::layout(&mut part);
    let Some(after) = layout::content_bounds(&part) else {
        return;
    };
    let (dx, dy) = (before.x - after.x, before.y - after.y);
    for n in &part.nodes {
        if let Some(target) = doc.node_mut(&n.id) {
            target.position = Point {
                x: (n.position.x + dx).round(),
                y: (n.position.y + dy).round(),
            };
        }
    }
    // Tasks keep their frames; frames grow to hold them.
    edit::grow_frames(doc);
}

/// Writes `text` to the system clipboard (the menu's Copy); the keyboard uses the copy event.
fn clipboard_write(text: &str) {
    let clip = web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w.navigator(), &JsValue::from_str("clipboard")).ok());
    if let Some(clip) = clip.filter(|c| !c.is_undefined()) {
        if let Ok(f) = js_sys::Reflect::get(&clip, &JsValue::from_str("writeText")) {
            if let Some(f) = f.dyn_ref::<js_sys::Function>() {
                let _ = f.call1(&clip, &JsValue::from_str(text));
            }
        }
    }
}

/// Reads the system clipboard's text (the menu's Paste).
async fn clipboard_read() -> Option<String> {
    let w = web_sys::window()?;
    let clip = js_sys::Reflect::get(&w.navigator(), &JsValue::from_str("clipboard")).ok()?;
    let f = js_sys::Reflect::get(&clip, &JsValue::from_str("readText")).ok()?;
    let promise = f.dyn_ref::<js_sys::Function>()?.call0(&clip).ok()?;
    let promise = promise.dyn_into::<js_sys::Promise>().ok()?;
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .ok()?
        .as_string()
}

/// Opens the context menu where the right-click `ev` happened; what is under the pointer
/// becomes the selection, unless it is part of it already.
pub fn open_menu(st: AppState, ev: web_sys::MouseEvent) {
    chunks::run(st, "open the menu", open_menu_split(st, ev));
}

/// [`open_menu`], from the tools chunk.
#[wasm_split(tools, fallible)]
fn open_menu_split(st: AppState, ev: web_sys::MouseEvent) -> Result<(), Unloaded> {
    let target = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok());
    let under = |attr: &str| {
        target
            .as_ref()
            .and_then(|t| t.closest(&format!("[{attr}]")).ok().flatten())
            .and_then(|e| e.get_attribute(attr))
    };
    let picked = if let Some(id) = under("data-node-id") {
        Some(Selection::Node(id))
    } else if let Some(id) = under("data-wire-id") {
        Some(Selection::Wire(id))
    } else {
        under("data-group-id").map(Selection::Group)
    };
    let part_of_it = |item: Item| st.selection.with_untracked(|s| s.has(&item));
    match picked {
        Some(Selection::Node(id)) if part_of_it(Item::Node(id.clone())) => {}
        Some(Selection::Group(id)) if part_of_it(Item::Group(id.clone())) => {}
        Some(sel) => st.select(sel),
        None => st.select(Selection::None),
    }
    st.menu
        .set(Some((f64::from(ev.client_x()), f64::from(ev.client_y()))));
    Ok(())
}

/// One entry of the context menu.
struct Entry {
    label: &'static str,
    keys: &'static str,
    testid: &'static str,
    enabled: bool,
    action: Box<dyn Fn()>,
}

/// The context menu, at client point `at`, for what is selected.
/// Adds a comment where the menu was opened, or above the selected task, attached to it, and
/// opens it for writing.
fn add_comment(st: AppState, at: (f64, f64), sel: &Selection) {
    let node = match sel {
        Selection::Node(id) => Some(id.clone()),
        _ => None,
    };
    let place = match &node {
        Some(_) => Point { x: 0.0, y: -96.0 },
        None => crate::canvas::world_from_client(&st, at.0, at.1)
            .unwrap_or_else(|| crate::canvas::view_center(&st)),
    };
    let mut id = String::new();
    st.edit(|d| id = edit::add_comment(d, place, node));
    st.comment_edit.set(Some(id));
}

#[wasm_split(tools, fallible)]
pub fn context_menu(st: AppState, at: (f64, f64)) -> Result<AnyView, Unloaded> {
    let sel = st.selection.get_untracked();
    let items = sel.items();
    let has = !items.is_empty();
    let many = items.len() > 1;
    let group = match &sel {
        Selection::Group(id) => Some(id.clone()),
        _ => None,
    };
    let close = move || st.menu.set(None);
    let e = |label, keys, testid, enabled, action: Box<dyn Fn()>| Entry {
        label,
        keys,
        testid,
        enabled,
        action,
    };
    let mut entries = vec![
        e(
            "Cut",
            "Ctrl+X",
            "menu-cut",
            has,
            Box::new(move || {
                if let Some(t) = crate::clipboard::selection_text(&st) {
                    clipboard_write(&t);
                    st.delete_selection();
                }
            }),
        ),
        e(
            "Copy",
            "Ctrl+C",
            "menu-copy",
            has,
            Box::new(move || {
                if let Some(t) = crate::clipboard::selection_text(&st) {
                    clipboard_write(&t);
                    st.info("Copied");
                }
            }),
        ),
        e(
            "Paste",
            "Ctrl+V",
            "menu-paste",
            true,
            Box::new(move || {
                let at = crate::canvas::world_from_client(&st, at.0, at.1)
                    .unwrap_or_else(|| crate::canvas::view_center(&st));
                leptos::task::spawn_local(async move {
                    match clipboard_read().await {
                    Some(text) => crate::clipboard::paste_text(st, text, at),
                    None => st.error("The browser did not let the page read the clipboard: press Ctrl+V instead"),
                }
                });
            }),
        ),
        e(
            "Duplicate",
            "Ctrl+D",
            "menu-duplicate",
            has,
            Box::new(move || duplicate(st)),
        ),
        e(
            if matches!(sel, Selection::Node(_)) {
                "Comment on the task"
            } else {
                "Add comment"
            },
            "",
            "menu-comment",
            true,
            Box::new({
                let sel = sel.clone();
                move || add_comment(st, at, &sel)
            }),
        ),
        e(
            "Delete",
            "Delete",
            "menu-delete",
            sel != Selection::None,
            Box::new(move || st.delete_selection()),
        ),
    ];
    let arranging = [
        ("Align left", Arrange::Left, "menu-align-left"),
        ("Align centres", Arrange::Center, "menu-align-center"),
        ("Align right", Arrange::Right, "menu-align-right"),
        ("Align top", Arrange::Top, "menu-align-top"),
        ("Align middles", Arrange::Middle, "menu-align-middle"),
        ("Align bottom", Arrange::Bottom, "menu-align-bottom"),
        ("Distribute horizontally", Arrange::SpreadX, "menu-spread-x"),
        ("Distribute vertically", Arrange::SpreadY, "menu-spread-y"),
    ];
    for (label, how, testid) in arranging {
        let enough = if matches!(how, Arrange::SpreadX | Arrange::SpreadY) {
            items.len() > 2
        } else {
            many
        };
        entries.push(e(
            label,
            "",
            testid,
            enough,
            Box::new(move || arrange(st, how)),
        ));
    }
    entries.extend([
        e(
            "Lay out selection",
            "",
            "menu-layout-selection",
            many,
            Box::new(move || auto_layout(st, true)),
        ),
        e(
            "Lay out pipeline",
            "",
            "menu-layout-all",
            true,
            Box::new(move || auto_layout(st, false)),
        ),
        e(
            "Zoom to selection",
            "Shift+F",
            "menu-zoom-selection",
            has,
            Box::new(move || crate::canvas::zoom_to_selection(&st)),
        ),
        e(
            "Fit pipeline",
            "F",
            "menu-fit",
            true,
            Box::new(move || crate::canvas::fit_view(&st)),
        ),
        e(
            "Select all",
            "Ctrl+A",
            "menu-select-all",
            true,
            Box::new(move || crate::interaction::select_all(&st)),
        ),
        e(
            "Keyboard shortcuts",
            "?",
            "menu-shortcuts",
            true,
            Box::new(move || st.overlay.set(true)),
        ),
    ]);
    if let Some(g) = group {
        let collapsed = st.collapsed.with_untracked(|c| c.contains(&g));
        entries.insert(
            5,
            e(
                if collapsed {
                    "Expand frame"
                } else {
                    "Collapse frame"
                },
                "",
                "menu-collapse",
                true,
                Box::new(move || crate::canvas::toggle_collapsed(&st, &g)),
            ),
        );
    }
    // A sub-pipeline task: show or hide the tasks inside it.
    let sub = match &sel {
        Selection::Node(id) => st.doc.with_untracked(|d| {
            d.nodes
                .iter()
                .find(|n| n.id == *id)
                .filter(|n| d.component_of(n).is_some_and(|c| c.pipeline.is_some()))
                .map(|n| (n.id.clone(), n.expanded))
        }),
        _ => None,
    };
    if let Some((id, open)) = sub {
        entries.insert(
            5,
            e(
                if open {
                    "Hide tasks inside"
                } else {
                    "Show tasks inside"
                },
                "",
                "menu-open-sub",
                true,
                Box::new(move || crate::sub_pipeline_view::toggle(&st, &id)),
            ),
        );
    }
    // Keep the menu inside the window.
    let (w, h) = web_sys::window()
        .map(|w| {
            let n = |v: Result<JsValue, JsValue>| v.ok().and_then(|v| v.as_f64()).unwrap_or(800.0);
            (n(w.inner_width()), n(w.inner_height()))
        })
        .unwrap_or((800.0, 600.0));
    let x = at.0.min(w - 240.0).max(0.0);
    let y = at.1.min(h - 26.0 * entries.len() as f64 - 12.0).max(0.0);
    let buttons = entries
        .into_iter()
        .map(|entry| {
            let Entry {
                label,
                keys,
                testid,
                enabled,
                action,
            } = entry;
            view! {
                <button
                    role="menuitem"
                    class="menu-item ctx"
                    data-testid=testid
                    disabled=!enabled
                    on:click=move |_| {
                        close();
                        action();
                    }
                >
                    <span>{label}</span>
                    <span class="menu-keys">{keys}</span>
                </button>
            }
        })
        .collect_view();
    // The keyboard lands on the first action.
    request_animation_frame(|| {
        let first = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| {
                d.query_selector("[data-testid=context-menu] button:not([disabled])")
                    .ok()
                    .flatten()
            })
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(b) = first {
            let _ = b.focus();
        }
    });
    Ok(view! {
        <div class="menu-backdrop" on:pointerdown=move |_| close() on:contextmenu=move |ev| {
            ev.prevent_default();
            close();
        }></div>
        <div
            class="menu context-menu"
            role="menu"
            aria-label="Canvas actions"
            data-testid="context-menu"
            style:left=layout::px(x)
            style:top=layout::px(y)
            on:keydown=move |ev: web_sys::KeyboardEvent| {
                let key = ev.key();
                if key == "Escape" {
                    close();
                } else if key == "ArrowDown" || key == "ArrowUp" {
                    ev.prevent_default();
                    move_focus(&ev, key == "ArrowDown");
                }
            }
        >
            {buttons}
        </div>
    }
    .into_any())
}

/// Moves the focus to the next (or previous) enabled menu item.
fn move_focus(ev: &web_sys::KeyboardEvent, down: bool) {
    let Some(menu) = ev
        .current_target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
    else {
        return;
    };
    let Ok(list) = menu.query_selector_all("button:not([disabled])") else {
        return;
    };
    let items: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.get(i)?.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    if items.is_empty() {
        return;
    }
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let at = items.iter().position(|b| {
        active
            .as_ref()
            .is_some_and(|a| a == b.as_ref() as &web_sys::Element)
    });
    let next = match (at, down) {
        (Some(i), true) => (i + 1) % items.len(),
        (Some(i), false) => (i + items.len() - 1) % items.len(),
        (None, _) => 0,
    };
    let _ = items[next].focus();
}

/// The keyboard shortcuts, as (keys, what they do).
pub const SHORTCUTS: [(&str, &str); 24] = [
    (
        "Click · Shift/Ctrl+click",
        "Select · add to or take from the selection",
    ),
    (
        "Shift+drag on the canvas",
        "Select what the rectangle touches",
    ),
    (
        "Drag on the canvas · wheel",
        "Pan · zoom (Ctrl+wheel zooms on touchpads)",
    ),
    ("Ctrl+A", "Select all"),
    ("Delete / Backspace", "Delete the selection"),
    (
        "Ctrl+C · Ctrl+X · Ctrl+V",
        "Copy · cut · paste (also between tabs)",
    ),
    ("Ctrl+D", "Duplicate the selection"),
    (
        "Arrow keys (Shift: ×5)",
        "Move the selection (pan when nothing is selected)",
    ),
    ("Ctrl+Z · Ctrl+Shift+Z / Ctrl+Y", "Undo · redo"),
    ("Ctrl+S", "Save"),
    ("F · Shift+F", "Fit the pipeline · zoom to the selection"),
    ("+ · −", "Zoom in · out"),
    ("G", "Snap to the grid on/off"),
    ("M", "Minimap on/off"),
    (
        "Tab · Shift+Tab",
        "Move the focus between palette, tasks and panels",
    ),
    (
        "Enter on a palette item",
        "Add it at the centre of the view",
    ),
    (
        "F on a palette item",
        "Favourite: listed first in the palette",
    ),
    ("Enter on a task", "Edit it in the Properties tab"),
    (
        "Enter · Delete on a comment",
        "Write it (Ctrl+Enter keeps, Escape drops) · delete it",
    ),
    ("Shift+F10 / context-menu key", "Actions for the selection"),
    (
        "Right-click",
        "Actions for what is under the pointer (and Add comment)",
    ),
    ("Escape", "Cancel a drag, close a menu, clear the selection"),
    ("/", "Search the palette"),
    ("?", "This list"),
];

/// The keyboard shortcut overlay.
#[wasm_split(tools, fallible)]
pub fn shortcut_overlay(st: AppState) -> Result<AnyView, Unloaded> {
    let rows = SHORTCUTS
        .iter()
        .map(|(keys, what)| {
            view! { <tr><th><kbd>{*keys}</kbd></th><td>{*what}</td></tr> }
        })
        .collect_view();
    Ok(view! {
        <div class="modal-backdrop" on:click=move |_| st.overlay.set(false)>
            <div
                class="modal shortcuts"
                role="dialog"
                aria-modal="true"
                aria-labelledby="shortcuts-title"
                data-testid="shortcuts"
                on:click=|ev| ev.stop_propagation()
            >
                <h3 id="shortcuts-title">"Keyboard shortcuts"</h3>
                <table>{rows}</table>
                <div class="modal-buttons">
                    <button class="primary" data-testid="shortcuts-close" autofocus on:click=move |_| st.overlay.set(false)>"Close"</button>
                </div>
            </div>
        </div>
    }
    .into_any())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasting_gives_new_ids_names_and_positions_and_keeps_the_wires() {
        let mut doc = pipeline::synthetic::document(8);
        let items: Vec<Item> = ["n0", "n1", "n2"]
            .iter()
            .map(|id| Item::Node(id.to_string()))
            .collect();
        let frag = edit::fragment(&doc, &items).expect("a fragment");
        assert_eq!(frag.nodes.len(), 3);
        // The wires among the three come along (n0 → n1 → n2); those from outside do not.
        assert_eq!(frag.wires.len(), 2, "{:?}", frag.wires);
        assert!(frag
            .wires
            .iter()
            .all(|w| items.contains(&Item::Node(w.from.node.clone()))));
        let wires_before = doc.wires.len();
        let added = insert_fragment(
            &mut doc,
            frag.clone(),
            Point {
                x: 5000.0,
                y: 5000.0,
            },
        );
        assert_eq!(added.len(), 3);
        assert_eq!(doc.wires.len(), wires_before + frag.wires.len());
        let new: Vec<&pipeline::Node> = added
            .iter()
            .filter_map(|i| match i {
                Item::Node(id) => doc.node(id),
                Item::Group(_) => None,
            })
            .collect();
        for n in &new {
            assert!(!["n0", "n1", "n2"].contains(&n.id.as_str()), "{}", n.id);
            assert!(n.name.ends_with("-2"), "a new task name: {}", n.name);
            assert!(
                n.position.x >= 5000.0,
                "placed at the paste point: {:?}",
                n.position
            );
        }
        // Each name and id is used once.
        let mut names: Vec<&str> = doc.nodes.iter().map(|n| n.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), doc.nodes.len());
        // The pasted copy compiles along with the original.
        let compiled = pipeline::compile(&doc);
        assert!(compiled.spec.is_some(), "{:?}", compiled.diagnostics);
    }

    #[test]
    fn pasting_a_frame_brings_its_members_and_loop_bindings() {
        let mut doc = pipeline::synthetic::document(12);
        let loop_id = doc
            .groups
            .iter()
            .find(|g| matches!(g.kind, GroupKind::Loop { .. }))
            .map(|g| g.id.clone())
            .expect("the synthetic pipeline has a loop");
        let frag = edit::fragment(&doc, &[Item::Group(loop_id.clone())]).expect("a fragment");
        assert!(!frag.nodes.is_empty(), "the loop's tasks come along");
        let groups_before = doc.groups.len();
        let added = insert_fragment(&mut doc, frag, Point { x: -4000.0, y: 0.0 });
        assert_eq!(doc.groups.len(), groups_before + 1);
        let new_loop = added
            .iter()
            .find_map(|i| match i {
                Item::Group(id) => Some(id.clone()),
                Item::Node(_) => None,
            })
            .expect("a new frame");
        assert_ne!(new_loop, loop_id);
        let members = doc
            .nodes
            .iter()
            .filter(|n| n.group.as_deref() == Some(new_loop.as_str()))
            .count();
        assert!(members > 0, "the pasted tasks are in the pasted frame");
    }

    #[test]
    fn comments_on_copied_tasks_and_in_copied_frames_come_along() {
        let mut doc = pipeline::synthetic::document(12);
        pipeline::layout::layout(&mut doc);
        let frame = doc.groups[0].clone();
        let inside = Point {
            x: frame.position.x + 10.0,
            y: frame.position.y + 10.0,
        };
        let on_n0 = edit::add_comment(&mut doc, Point { x: 0.0, y: -96.0 }, Some("n0".into()));
        let on_n5 = edit::add_comment(&mut doc, Point { x: 0.0, y: -96.0 }, Some("n5".into()));
        let in_frame = edit::add_comment(&mut doc, inside, None);
        let far = edit::add_comment(&mut doc, Point { x: -9e5, y: -9e5 }, None);
        doc.comments[0].text = "**why** n0".into();

        // Copying n0 brings its note, and only that.
        let frag = edit::fragment(&doc, &[Item::Node("n0".into())]).expect("a fragment");
        assert_eq!(frag.comments.len(), 1);
        assert_eq!(frag.comments[0].id, on_n0);
        // Copying the frame brings the free note inside it and notes on its tasks.
        let frag_g = edit::fragment(&doc, &[Item::Group(frame.id.clone())]).expect("a fragment");
        let ids: Vec<&str> = frag_g.comments.iter().map(|c| c.id.as_str()).collect();
        assert!(ids.contains(&in_frame.as_str()), "{ids:?}");
        assert!(
            !ids.contains(&far.as_str()) && !ids.contains(&on_n0.as_str()),
            "{ids:?}"
        );
        assert!(
            ids.contains(&on_n5.as_str()),
            "a note on a task in the frame: {ids:?}"
        );

        // Pasted, the note gets a new id and sits on the copy of its task.
        let before = doc.comments.len();
        let added = insert_fragment(&mut doc, frag, Point { x: 7000.0, y: 0.0 });
        let copy = match &added[0] {
            Item::Node(id) => id.clone(),
            Item::Group(_) => panic!("a task was pasted"),
        };
        assert_eq!(doc.comments.len(), before + 1);
        let pasted = doc.comments.last().expect("a pasted note");
        assert_ne!(pasted.id, on_n0);
        assert_eq!(pasted.node.as_deref(), Some(copy.as_str()));
        assert_eq!(pasted.text, "**why** n0");
        assert_eq!(pasted.position, Point { x: 0.0, y: -96.0 });
        // A free note moves with what was pasted.
        let added = insert_fragment(&mut doc, frag_g, Point { x: -7000.0, y: 0.0 });
        assert!(!added.is_empty());
        let moved = doc
            .comments
            .iter()
            .filter(|c| c.node.is_none() && (-8000.0..-6000.0).contains(&c.position.x))
            .count();
        assert_eq!(moved, 1, "{:?}", doc.comments);
        let mut all: Vec<&str> = doc.comments.iter().map(|c| c.id.as_str()).collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), doc.comments.len(), "comment ids stay unique");
    }

    #[test]
    fn lines_up_and_spreads_boxes() {
        let r = [
            Rect {
                x: 0.0,
                y: 0.0,
                w: 10.0,
                h: 10.0,
            },
            Rect {
                x: 50.0,
                y: 20.0,
                w: 20.0,
                h: 10.0,
            },
            Rect {
                x: 100.0,
                y: 5.0,
                w: 10.0,
                h: 30.0,
            },
        ];
        assert_eq!(
            arrange_moves(&r, Arrange::Left),
            vec![(0.0, 0.0), (-50.0, 0.0), (-100.0, 0.0)]
        );
        assert_eq!(
            arrange_moves(&r, Arrange::Bottom),
            vec![(0.0, 25.0), (0.0, 5.0), (0.0, 0.0)]
        );
        // Total width 110, boxes 40 wide: gaps of 35 → the middle box starts at 45.
        assert_eq!(
            arrange_moves(&r, Arrange::SpreadX),
            vec![(0.0, 0.0), (-5.0, 0.0), (0.0, 0.0)]
        );
    }

    #[test]
    fn lays_out_selected_tasks_in_place() {
        let mut doc = pipeline::synthetic::document(6);
        let items: Vec<Item> = doc.nodes.iter().map(|n| Item::Node(n.id.clone())).collect();
        let before = layout::content_bounds(&doc).expect("bounds");
        layout_nodes(&mut doc, &items);
        let after = doc
            .nodes
            .iter()
            .map(|n| layout::node_rect(&doc, n))
            .reduce(|a, b| a.union(&b))
            .expect("bounds");
        assert_eq!((after.x, after.y), (before.x, before.y), "the corner stays");
        // Columns by dependency: each task is right of the one it reads.
        let x = |id: &str| doc.node(id).expect("node").position.x;
        assert!(x("n1") > x("n0") && x("n2") > x("n1"));
    }
}
