//! Pointer and keyboard handling that spans the whole window: finishing drags wherever the
//! pointer is released, and shortcuts (Delete, Undo, Save, Escape).

use std::cell::RefCell;

use leptos::ev;
use leptos::prelude::*;
use pipeline::{Point, PortRef, Size};
use wasm_bindgen::JsCast;

use crate::canvas::{over_canvas, view_center, world_from_client};
use crate::edit::{self, Item};
use crate::layout::{self, Rect};
use crate::state::{AppState, Drag, PaletteItem, Selection};

/// Installs the window listeners for the app's lifetime.
pub fn install(st: AppState) {
    let move_h = window_event_listener(ev::pointermove, move |e| on_move(&st, &e));
    let up_h = window_event_listener(ev::pointerup, move |e| on_up(&st, &e));
    let cancel_h = window_event_listener(ev::pointercancel, move |_| cancel(&st));
    let key_h = window_event_listener(ev::keydown, move |e| on_key(&st, &e));
    on_cleanup(move || {
        move_h.remove();
        up_h.remove();
        cancel_h.remove();
        key_h.remove();
    });
}

/// The position signals of the items a move drag carries, looked up once when it starts.
#[derive(Default)]
struct Moving {
    nodes: Vec<(ArcRwSignal<Point>, Point)>,
    groups: Vec<(ArcRwSignal<Rect>, Rect)>,
}

thread_local! {
    static MOVING: RefCell<Moving> = RefCell::new(Moving::default());
}

/// Starts moving `item` and the rest of the selection (a pointer pressed on a node or frame);
/// with Shift, Ctrl or ⌘ the item is added to or taken out of the selection instead.
pub fn grab(st: &AppState, item: Item, ev: &web_sys::PointerEvent) {
    blur_fields();
    if ev.shift_key() || ev.ctrl_key() || ev.meta_key() {
        st.toggle_selected(item);
        return;
    }
    let mut items = st.selection.with_untracked(Selection::items);
    if !items.contains(&item) {
        items = vec![item.clone()];
    }
    // Also when it was selected already: brings its properties back into view.
    st.select(Selection::of(items.clone()));
    start_move(
        st,
        items,
        (f64::from(ev.client_x()), f64::from(ev.client_y())),
    );
}

/// Starts a move drag of `items` (with the members of frames among them) from client point
/// `start`.
fn start_move(st: &AppState, items: Vec<Item>, start: (f64, f64)) {
    let orig = st.doc.with_untracked(|d| edit::with_members(d, &items));
    let moving = Moving {
        nodes: orig
            .iter()
            .filter_map(|(i, p)| match i {
                Item::Node(id) => st.scene.node(id).map(|s| (s.pos, *p)),
                Item::Group(_) => None,
            })
            .collect(),
        groups: orig
            .iter()
            .filter_map(|(i, _)| match i {
                Item::Group(id) => st
                    .scene
                    .group(id)
                    .map(|s| (s.rect.clone(), s.rect.get_untracked())),
                Item::Node(_) => None,
            })
            .collect(),
    };
    MOVING.with(|m| *m.borrow_mut() = moving);
    st.drag.set(Some(Drag::Move {
        grabbed: items.into_iter().collect(),
        start,
        orig,
        delta: (0.0, 0.0),
        moved: false,
    }));
}

/// Moves the position signals of the items being moved by `(dx, dy)` from where they started.
fn show_moved(dx: f64, dy: f64) {
    MOVING.with(|m| {
        let m = m.borrow();
        for (sig, p) in &m.nodes {
            sig.set(Point {
                x: (p.x + dx).round(),
                y: (p.y + dy).round(),
            });
        }
        for (sig, r) in &m.groups {
            sig.set(Rect {
                x: (r.x + dx).round(),
                y: (r.y + dy).round(),
                ..*r
            });
        }
    });
}

/// Takes the focus from a form field (a press on the canvas), so shortcuts reach the canvas.
fn blur_fields() {
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(el) = active {
        if matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT") {
            let _ = el.blur();
        }
    }
}

/// Abandons a drag, putting back what it changed.
fn cancel(st: &AppState) {
    if let Some(Drag::Move { .. } | Drag::Resize { .. }) =
        st.drag.try_update(Option::take).flatten()
    {
        st.doc.with_untracked(|d| st.scene.reset_geometry(d));
    }
    MOVING.with(|m| *m.borrow_mut() = Moving::default());
}

fn client(e: &web_sys::PointerEvent) -> (f64, f64) {
    (f64::from(e.client_x()), f64::from(e.client_y()))
}

fn on_move(st: &AppState, e: &web_sys::PointerEvent) {
    let c = client(e);
    crate::clipboard::pointer_at(c);
    if st.drag.with_untracked(Option::is_none) {
        return;
    }
    let zoom = st.viewport.get_untracked().zoom;
    let world = world_from_client(st, c.0, c.1);
    // Work out the change while the drag is borrowed, then show it.
    let mut moved_by = None;
    let mut resized = None;
    let mut pan = None;
    st.drag.update(|d| match d {
        Some(Drag::Palette { client, .. }) => *client = c,
        Some(Drag::Move {
            start,
            moved,
            delta,
            ..
        }) => {
            let (dx, dy) = ((c.0 - start.0) / zoom, (c.1 - start.1) / zoom);
            if !*moved && dx.abs() + dy.abs() < 3.0 / zoom {
                return;
            }
            *moved = true;
            *delta = snap_delta(st, dx, dy);
            moved_by = Some(*delta);
        }
        Some(Drag::Resize {
            group,
            start,
            orig,
            size,
        }) => {
            *size = edit::clamp_size(Size {
                width: orig.width + (c.0 - start.0) / zoom,
                height: orig.height + (c.1 - start.1) / zoom,
            });
            resized = Some((group.clone(), *size));
        }
        Some(Drag::Wire { cursor, .. }) | Some(Drag::Band { cursor, .. }) => {
            if let Some(p) = world {
                *cursor = p;
            }
        }
        Some(Drag::Pan { start, orig }) => {
            pan = Some((orig.x + c.0 - start.0, orig.y + c.1 - start.1));
        }
        None => {}
    });
    if let Some((dx, dy)) = moved_by {
        show_moved(dx, dy);
    }
    if let Some((group, size)) = resized {
        if let Some(slot) = st.scene.group(&group) {
            slot.rect.update(|r| {
                r.w = size.width;
                r.h = size.height;
            });
        }
    }
    if let Some((x, y)) = pan {
        let v = st.viewport.get_untracked();
        if v.x != x || v.y != y {
            st.viewport.set(crate::state::Viewport { x, y, ..v });
        }
    }
}

/// A move by `(dx, dy)` snapped to the grid (when snapping is on) for the first item moved.
fn snap_delta(st: &AppState, dx: f64, dy: f64) -> (f64, f64) {
    if !st.snap.get_untracked() {
        return (dx, dy);
    }
    let first = MOVING.with(|m| {
        let m = m.borrow();
        m.nodes
            .first()
            .map(|(_, p)| *p)
            .or_else(|| m.groups.first().map(|(_, r)| Point { x: r.x, y: r.y }))
    });
    let Some(p) = first else {
        return (dx, dy);
    };
    let g = crate::canvas::GRID;
    (
        ((p.x + dx) / g).round() * g - p.x,
        ((p.y + dy) / g).round() * g - p.y,
    )
}

fn on_up(st: &AppState, e: &web_sys::PointerEvent) {
    let Some(drag) = st.drag.try_update(Option::take).flatten() else {
        return;
    };
    let c = client(e);
    match drag {
        Drag::Palette {
            item, start, label, ..
        } => drop_palette_item(st, item, &label, start, c),
        Drag::Move {
            grabbed,
            orig,
            delta,
            moved,
            ..
        } => {
            MOVING.with(|m| *m.borrow_mut() = Moving::default());
            if moved {
                st.edit(|d| {
                    edit::move_items(d, &orig, delta.0, delta.1);
                    edit::regroup(d, &grabbed);
                });
            }
        }
        Drag::Resize { group, size, .. } => {
            st.edit(|d| {
                edit::resize_group(d, &group, size);
                edit::adopt_contents(d, &group);
            });
        }
        Drag::Wire { from, .. } => drop_wire(st, &from, c),
        Drag::Band {
            start,
            cursor,
            mut base,
        } => {
            let band = Rect::spanning(start, cursor);
            let (nodes, groups) = st.scene.boxes_meeting(&band);
            base.extend(
                nodes
                    .into_iter()
                    .filter(|(_, r)| band.meets(r))
                    .map(|(id, _)| Item::Node(id)),
            );
            base.extend(
                groups
                    .into_iter()
                    .filter(|(_, r)| band.contains_rect(r))
                    .map(|(id, _)| Item::Group(id)),
            );
            st.select(Selection::of(base));
        }
        Drag::Pan { .. } => {}
    }
}

/// Creates what a palette item stands for where it was dropped; a click without a drag adds it
/// at the centre of the view.
fn drop_palette_item(
    st: &AppState,
    item: PaletteItem,
    label: &str,
    start: (f64, f64),
    c: (f64, f64),
) {
    let clicked = (c.0 - start.0).abs() + (c.1 - start.1).abs() <= 3.0;
    let at = if over_canvas(st, c.0, c.1) {
        world_from_client(st, c.0, c.1)
    } else if clicked {
        Some(new_item_point(st))
    } else {
        None
    };
    let Some(at) = at else {
        st.info(format!("Drop {label} on the canvas to add it"));
        return;
    };
    add_palette_item(st, item, at);
}

/// Where an item added without a drop point goes: the centre of the view, shifted a little
/// per element so repeated adds do not stack exactly.
fn new_item_point(st: &AppState) -> Point {
    let n = st.doc.with_untracked(|d| d.nodes.len() + d.groups.len()) as f64;
    let center = view_center(st);
    Point {
        x: center.x + (n % 6.0) * 24.0,
        y: center.y + (n % 6.0) * 24.0,
    }
}

/// Adds palette `item` from the keyboard (Enter or Space on it): at the centre of the view.
pub fn add_palette_item_by_key(st: &AppState, item: PaletteItem) {
    add_palette_item(st, item, new_item_point(st));
}

/// Creates what palette `item` stands for at world point `at`.
fn add_palette_item(st: &AppState, item: PaletteItem, at: Point) {
    match item {
        PaletteItem::Condition | PaletteItem::Loop | PaletteItem::ExitHandler => {
            let (kind, hint) = match item {
                PaletteItem::Loop => (
                    pipeline::GroupKind::Loop {
                        items: pipeline::document::LoopItems::Raw("[]".into()),
                        parallelism: None,
                        item_input: None,
                        item_type: None,
                    },
                    "Added a loop: set what it iterates over in the properties panel",
                ),
                PaletteItem::ExitHandler => (
                    pipeline::GroupKind::ExitHandler {
                        exit_node: String::new(),
                    },
                    "Added an exit handler: choose its exit task in the properties panel",
                ),
                _ => (
                    pipeline::GroupKind::Condition {
                        expression: String::new(),
                    },
                    "Added a condition: set its expression in the properties panel",
                ),
            };
            let mut id = String::new();
            let corner = frame_corner(st, at);
            st.edit(|d| id = edit::add_group(d, corner, kind));
            st.select(Selection::Group(id));
            st.info(hint);
        }
        PaletteItem::Component(cid) => {
            let Some(entry) = st
                .catalog
                .with_untracked(|c| c.iter().find(|e| e.id == cid).cloned())
            else {
                st.error(format!("Component {cid} is no longer in the catalog"));
                return;
            };
            let corner = Point {
                x: (at.x - layout::NODE_WIDTH / 2.0).round(),
                y: (at.y - layout::HEADER / 2.0).round(),
            };
            let mut id = String::new();
            st.edit(|d| id = edit::add_node(d, &entry.id, &entry.component, corner, at));
            let (name, group) = st.doc.with_untracked(|d| {
                let n = d.node(&id);
                let g = n
                    .and_then(|n| n.group.as_deref())
                    .and_then(|g| d.group(g))
                    .map(|g| {
                        let kind = match g.kind {
                            pipeline::GroupKind::Loop { .. } => "loop",
                            pipeline::GroupKind::ExitHandler { .. } => "exit handler",
                            pipeline::GroupKind::Branches => "branches",
                            pipeline::GroupKind::Else => "else branch",
                            pipeline::GroupKind::Condition { .. } => "condition",
                        };
                        format!(
                            "{kind} {}",
                            g.display_name.clone().unwrap_or_else(|| g.id.clone())
                        )
                    });
                (n.map(|n| n.name.clone()).unwrap_or_default(), g)
            });
            st.select(Selection::Node(id));
            match group {
                Some(g) => st.info(format!("Added task {name} inside {g}")),
                None => st.info(format!("Added task {name}")),
            }
        }
    }
}

/// Where a new frame dropped at `at` goes: its title bar under the pointer, moved as little as
/// needed to lie fully in view.
fn frame_corner(st: &AppState, at: Point) -> Point {
    let view = crate::canvas::view_rect(st);
    let size = layout::GROUP_DEFAULT;
    let margin = 16.0 / st.viewport.get_untracked().zoom;
    let x = (at.x - 24.0)
        .min(view.x + view.w - size.width - margin)
        .max(view.x + margin);
    let y = (at.y - layout::GROUP_HEADER / 2.0)
        .min(view.y + view.h - size.height - margin)
        .max(view.y + margin);
    Point {
        x: x.round(),
        y: y.round(),
    }
}

/// The input port under a client point, from the `data-port-in` row attributes.
fn port_at(c: (f64, f64), attr: &str) -> Option<PortRef> {
    let document = web_sys::window()?.document()?;
    let el = document.element_from_point(c.0 as f32, c.1 as f32)?;
    let row = el.closest(&format!("[{attr}]")).ok()??;
    Some(PortRef {
        node: row.get_attribute("data-node")?,
        port: row.get_attribute("data-port")?,
    })
}

/// Finishes a wire drag: connects when dropped on an input port (from the tools chunk),
/// explaining any refusal.
fn drop_wire(st: &AppState, from: &PortRef, c: (f64, f64)) {
    if let Some(to) = port_at(c, "data-port-in") {
        crate::tools::connect(*st, from.clone(), to, true);
    } else if port_at(c, "data-port-out").is_some() {
        st.error(
            "Cannot connect two outputs: drop the wire on an input port (left side of a task)",
        );
    }
}

/// Whether keys typed now go to a form field.
/// The tag of the element a key went to (`SELECT`).
fn target_tag(e: &web_sys::KeyboardEvent) -> Option<String> {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .map(|el| el.tag_name())
}

fn typing(e: &web_sys::KeyboardEvent) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
        .is_some_and(|el| {
            matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                || el.is_content_editable()
        })
}

fn on_key(st: &AppState, e: &web_sys::KeyboardEvent) {
    let key = e.key();
    let cmd = e.ctrl_key() || e.meta_key();
    if cmd && key.eq_ignore_ascii_case("s") {
        e.prevent_default();
        crate::actions::save(*st);
        return;
    }
    // The lineage view, the run comparison and the component editor cover the editor: keys do
    // not reach the canvas; Escape closes them (the component editor keeps its draft).
    if st.lineage.get_untracked().is_some()
        || st.comparing.get_untracked()
        || st.authoring.get_untracked()
    {
        if key == "Escape" {
            st.lineage.set(None);
            st.comparing.set(false);
            st.authoring.set(false);
        }
        return;
    }
    if key == "Escape" && (st.menu.get_untracked().is_some() || st.overlay.get_untracked()) {
        st.menu.set(None);
        st.overlay.set(false);
        return;
    }
    // A list has no undo of its own: undo and redo work from one (say, after connecting an
    // input from its "Connect from…" list).
    let undo_key = cmd && (key.eq_ignore_ascii_case("z") || key.eq_ignore_ascii_case("y"));
    if typing(e) && !(undo_key && target_tag(e).as_deref() == Some("SELECT")) {
        return;
    }
    let node_focused = focused_item(e);
    let handled = match key.as_str() {
        "Delete" | "Backspace" => {
            st.delete_selection();
            true
        }
        "Escape" => {
            cancel(st);
            st.selection.set(Selection::None);
            false
        }
        "Enter" | " " if node_focused.is_some() => {
            // Edit the focused task or frame: the Properties tab, its first field focused.
            st.tab.set(crate::state::Tab::Properties);
            focus_properties();
            true
        }
        "ContextMenu" | "F10" if key == "ContextMenu" || e.shift_key() => {
            let (x, y) = menu_point(st);
            st.menu.set(Some((x, y)));
            true
        }
        k if cmd && k.eq_ignore_ascii_case("d") => {
            crate::tools::duplicate(*st);
            true
        }
        "?" => {
            st.overlay.update(|o| *o = !*o);
            true
        }
        "/" => {
            let search = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| {
                    d.query_selector("[data-testid=search-components]")
                        .ok()
                        .flatten()
                })
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(s) = search {
                let _ = s.focus();
            }
            true
        }
        "g" | "G" if !cmd => {
            st.snap.update(|s| *s = !*s);
            st.info(if st.snap.get_untracked() {
                "Snap to the grid: on"
            } else {
                "Snap to the grid: off"
            });
            true
        }
        "m" | "M" if !cmd => {
            st.minimap.update(|s| *s = !*s);
            true
        }
        k if cmd && k.eq_ignore_ascii_case("z") => {
            if e.shift_key() {
                st.redo();
            } else {
                st.undo();
            }
            true
        }
        k if cmd && k.eq_ignore_ascii_case("y") => {
            st.redo();
            true
        }
        k if cmd && k.eq_ignore_ascii_case("a") => {
            select_all(st);
            true
        }
        "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" if !cmd && !e.alt_key() => {
            let step = if e.shift_key() { 5.0 } else { 1.0 }
                * if st.snap.get_untracked() {
                    crate::canvas::GRID
                } else {
                    8.0
                };
            let (dx, dy) = match key.as_str() {
                "ArrowLeft" => (-step, 0.0),
                "ArrowRight" => (step, 0.0),
                "ArrowUp" => (0.0, -step),
                _ => (0.0, step),
            };
            nudge(st, dx, dy);
            true
        }
        "f" | "F" if !cmd => {
            if e.shift_key() {
                crate::canvas::zoom_to_selection(st);
            } else {
                crate::canvas::fit_view(st);
            }
            true
        }
        "+" | "=" if !cmd => {
            crate::canvas::zoom_center(st, 1.2);
            true
        }
        "-" | "_" if !cmd => {
            crate::canvas::zoom_center(st, 1.0 / 1.2);
            true
        }
        _ => false,
    };
    if handled {
        e.prevent_default();
    }
}

/// The node or frame that has the keyboard focus (the event's target), if any.
fn focused_item(e: &web_sys::KeyboardEvent) -> Option<Item> {
    let el = e.target()?.dyn_into::<web_sys::Element>().ok()?;
    if let Some(id) = el.get_attribute("data-node-id") {
        return Some(Item::Node(id));
    }
    el.get_attribute("data-group-id").map(Item::Group)
}

/// Moves the focus to the first field of the properties panel once it is drawn.
fn focus_properties() {
    set_timeout(
        || {
            let field = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| {
                    d.query_selector(".tab-body input, .tab-body textarea, .tab-body select")
                        .ok()
                        .flatten()
                })
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(f) = field {
                let _ = f.focus();
            }
        },
        std::time::Duration::from_millis(60),
    );
}

/// Where the context menu opens from the keyboard: at the selection, else the view's centre.
fn menu_point(st: &AppState) -> (f64, f64) {
    let (l, t, w, h) = st.canvas_box.get_untracked();
    let v = st.viewport.get_untracked();
    match crate::canvas::selection_bounds(st) {
        Some(b) => (
            (l + v.x + (b.x + b.w / 2.0) * v.zoom).clamp(l, l + w),
            (t + v.y + (b.y + b.h / 2.0) * v.zoom).clamp(t, t + h),
        ),
        None => (l + w / 2.0, t + h / 2.0),
    }
}

/// Selects every node and frame.
pub fn select_all(st: &AppState) {
    let items: Vec<Item> = st.doc.with_untracked(|d| {
        d.nodes
            .iter()
            .map(|n| Item::Node(n.id.clone()))
            .chain(d.groups.iter().map(|g| Item::Group(g.id.clone())))
            .collect()
    });
    let n = items.len();
    st.select(Selection::of(items));
    if n > 0 {
        st.info(format!(
            "Selected {n} item{}",
            if n == 1 { "" } else { "s" }
        ));
    }
}

/// Moves the selection by `(dx, dy)` (the arrow keys); with nothing selected, pans the view.
/// Nudges in a row are one step in Undo.
pub fn nudge(st: &AppState, dx: f64, dy: f64) {
    let items = st.selection.with_untracked(Selection::items);
    if items.is_empty() {
        let z = st.viewport.get_untracked().zoom;
        crate::canvas::pan_by(st, -dx * 4.0 * z.max(0.25), -dy * 4.0 * z.max(0.25));
        return;
    }
    st.edit_typing("nudge", |d| {
        let orig = edit::with_members(d, &items);
        edit::move_items(d, &orig, dx, dy);
        edit::regroup(d, &items);
    });
}
