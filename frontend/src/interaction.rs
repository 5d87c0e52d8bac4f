//! Pointer and keyboard handling that spans the whole window: finishing drags wherever the
//! pointer is released, and shortcuts (Delete, Undo, Save, Escape).

use leptos::ev;
use leptos::prelude::*;
use pipeline::{Point, PortRef, Size};
use wasm_bindgen::JsCast;

use crate::canvas::{over_canvas, view_center, world_from_client};
use crate::edit;
use crate::layout;
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

/// Abandons a drag, putting back what it changed.
fn cancel(st: &AppState) {
    match st.drag.try_update(Option::take).flatten() {
        Some(Drag::Move { before, moved, .. }) if moved => st.doc.set(*before),
        Some(Drag::Resize { before, .. }) => st.doc.set(*before),
        _ => {}
    }
}

/// A change to the document worked out while the drag state is borrowed.
type DocEdit = Box<dyn FnOnce(&mut pipeline::Document)>;

fn client(e: &web_sys::PointerEvent) -> (f64, f64) {
    (f64::from(e.client_x()), f64::from(e.client_y()))
}

fn on_move(st: &AppState, e: &web_sys::PointerEvent) {
    if st.drag.with_untracked(Option::is_none) {
        return;
    }
    let c = client(e);
    let zoom = st.viewport.get_untracked().zoom;
    // Work out the change first, then apply it outside the drag signal's borrow.
    let mut doc_change: Option<DocEdit> = None;
    st.drag.update(|d| match d {
        Some(Drag::Palette { client, .. }) => *client = c,
        Some(Drag::Move {
            start, orig, moved, ..
        }) => {
            let (dx, dy) = ((c.0 - start.0) / zoom, (c.1 - start.1) / zoom);
            if !*moved && dx.abs() + dy.abs() < 3.0 / zoom {
                return;
            }
            *moved = true;
            let orig = orig.clone();
            doc_change = Some(Box::new(move |doc| edit::move_items(doc, &orig, dx, dy)));
        }
        Some(Drag::Resize {
            group, start, orig, ..
        }) => {
            let size = Size {
                width: orig.width + (c.0 - start.0) / zoom,
                height: orig.height + (c.1 - start.1) / zoom,
            };
            let group = group.clone();
            doc_change = Some(Box::new(move |doc| edit::resize_group(doc, &group, size)));
        }
        Some(Drag::Wire { cursor, .. }) => {
            if let Some(p) = world_from_client(st, c.0, c.1) {
                *cursor = p;
            }
        }
        Some(Drag::Pan { start, orig }) => {
            let v = st.viewport.get_untracked();
            let (x, y) = (orig.x + c.0 - start.0, orig.y + c.1 - start.1);
            if v.x != x || v.y != y {
                st.viewport.set(crate::state::Viewport { x, y, ..v });
            }
        }
        None => {}
    });
    if let Some(f) = doc_change {
        st.doc.update(f);
    }
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
            before,
            moved,
            ..
        } => {
            if moved {
                st.record(*before);
                st.doc.update(|d| match &grabbed {
                    edit::Item::Node(id) => edit::regroup_node(d, id),
                    edit::Item::Group(id) => edit::regroup_group(d, id),
                });
            }
        }
        Drag::Resize { group, before, .. } => {
            let changed = st.doc.with_untracked(|d| d != &*before);
            if changed {
                st.record(*before);
                st.doc.update(|d| edit::adopt_contents(d, &group));
            }
        }
        Drag::Wire { from, .. } => drop_wire(st, &from, c),
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
        let n = st.doc.with_untracked(|d| d.nodes.len() + d.groups.len()) as f64;
        let center = view_center(st);
        Some(Point {
            x: center.x + (n % 6.0) * 24.0,
            y: center.y + (n % 6.0) * 24.0,
        })
    } else {
        None
    };
    let Some(at) = at else {
        st.info(format!("Drop {label} on the canvas to add it"));
        return;
    };
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
            let corner = Point {
                x: (at.x - 24.0).round(),
                y: (at.y - layout::GROUP_HEADER / 2.0).round(),
            };
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

/// Finishes a wire drag: connects when dropped on an input port, explaining any refusal.
fn drop_wire(st: &AppState, from: &PortRef, c: (f64, f64)) {
    if let Some(to) = port_at(c, "data-port-in") {
        let mut result = Err(String::new());
        st.edit(|d| result = edit::connect(d, from, &to));
        match result {
            Ok(done) => {
                let mut msg = st.doc.with_untracked(|d| {
                    let name = |id: &str| d.node(id).map_or(id.to_string(), |n| n.name.clone());
                    format!(
                        "Connected {}.{} → {}.{}",
                        name(&from.node),
                        from.port,
                        name(&to.node),
                        to.port
                    )
                });
                if done.replaced.is_some() {
                    msg.push_str(" (replaced the previous wire)");
                } else if done.dropped_binding {
                    msg.push_str(" (replaced the value that was set)");
                }
                st.select(Selection::Wire(done.wire));
                st.success(msg);
            }
            Err(why) => st.error(why),
        }
    } else if port_at(c, "data-port-out").is_some() {
        st.error(
            "Cannot connect two outputs: drop the wire on an input port (left side of a task)",
        );
    }
}

/// Whether keys typed now go to a form field.
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
    if typing(e) {
        return;
    }
    match key.as_str() {
        "Delete" | "Backspace" => {
            e.prevent_default();
            st.delete_selection();
        }
        "Escape" => {
            cancel(st);
            st.selection.set(Selection::None);
        }
        k if cmd && k.eq_ignore_ascii_case("z") => {
            e.prevent_default();
            if e.shift_key() {
                st.redo();
            } else {
                st.undo();
            }
        }
        k if cmd && k.eq_ignore_ascii_case("y") => {
            e.prevent_default();
            st.redo();
        }
        _ => {}
    }
}
