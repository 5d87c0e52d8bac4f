//! The canvas: a pannable, zoomable world holding group frames, wires and nodes.
//!
//! Large pipelines are drawn in part: above [`crate::scene::CULL_ABOVE`] nodes only the
//! elements whose boxes meet the view (snapped outwards to tiles) are in the page, and the set is
//! worked out again only when the view moves into a new tile. Zoomed out, nodes are drawn
//! compact (no port rows) and, further out, without text: the level of detail ([`Lod`]).

use leptos::ev;
use leptos::prelude::*;
use pipeline::Point;

use crate::chunks;
use crate::edit::Item;
use crate::group_view::GroupView;
use crate::layout::{self, Rect};
use crate::node_view::NodeView;
use crate::state::{flag, text, use_state, AppState, Drag, Selection, Viewport};
use crate::wire_view::{WirePreview, WireView};

/// Smallest zoom factor: Fit shows a pipeline of 100,000 px across.
pub const MIN_ZOOM: f64 = 0.01;
/// Largest zoom factor.
pub const MAX_ZOOM: f64 = 2.0;
/// Pipelines open at this zoom at least (text stays legible); larger ones show their start.
pub const OPEN_ZOOM: f64 = 0.6;
/// Grid spacing at zoom 1, in pixels.
pub const GRID: f64 = 24.0;
/// Room the wire layer leaves around the elements, for wires of nodes being dragged.
const SVG_MARGIN: f64 = 4000.0;
/// The tile, in screen pixels, by which the view must move before the elements drawn are
/// worked out again (when the canvas draws only what is in view).
const TILE: f64 = 480.0;

/// How much of each node is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lod {
    /// Everything: header, port rows with names and types.
    Full,
    /// Header only, with a larger title (zoom below 0.45).
    Compact,
    /// Boxes without text (zoom below 0.15).
    Tiny,
}

impl Lod {
    /// The level of detail at `zoom`.
    pub fn at(zoom: f64) -> Self {
        if zoom < 0.15 {
            Lod::Tiny
        } else if zoom < 0.45 {
            Lod::Compact
        } else {
            Lod::Full
        }
    }
}

/// The canvas element's rectangle in client pixels: (left, top, width, height).
pub fn canvas_rect(st: &AppState) -> Option<(f64, f64, f64, f64)> {
    st.canvas.get_untracked()?;
    if st.canvas_box.with_untracked(|b| b.2 <= 0.0) {
        measure(st);
    }
    Some(st.canvas_box.get_untracked())
}

/// Reads the canvas element's box again (at start and when the window is resized).
pub fn measure(st: &AppState) {
    if let Some(el) = st.canvas.get_untracked() {
        let r = el.get_bounding_client_rect();
        let b = (r.left(), r.top(), r.width(), r.height());
        if st.canvas_box.get_untracked() != b {
            st.canvas_box.set(b);
        }
    }
}

/// Whether a client point lies over the canvas.
pub fn over_canvas(st: &AppState, cx: f64, cy: f64) -> bool {
    canvas_rect(st).is_some_and(|(l, t, w, h)| cx >= l && cx <= l + w && cy >= t && cy <= t + h)
}

/// Converts a client point to canvas (world) coordinates.
pub fn world_from_client(st: &AppState, cx: f64, cy: f64) -> Option<Point> {
    let (l, t, _, _) = canvas_rect(st)?;
    let v = st.viewport.get_untracked();
    Some(Point {
        x: (cx - l - v.x) / v.zoom,
        y: (cy - t - v.y) / v.zoom,
    })
}

/// The world rectangle the canvas shows.
pub fn view_rect(st: &AppState) -> Rect {
    let (_, _, w, h) = st.canvas_box.get_untracked();
    let v = st.viewport.get_untracked();
    Rect {
        x: -v.x / v.zoom,
        y: -v.y / v.zoom,
        w: w / v.zoom,
        h: h / v.zoom,
    }
}

/// The world point at the centre of the visible canvas.
pub fn view_center(st: &AppState) -> Point {
    view_rect(st).center()
}

/// The viewport that shows `b` whole in a `w`×`h` canvas, at most at zoom `max`.
fn fitting(b: &Rect, w: f64, h: f64, max: f64) -> Viewport {
    let margin = 48.0;
    let zoom = ((w - 2.0 * margin) / b.w.max(1.0))
        .min((h - 2.0 * margin) / b.h.max(1.0))
        .clamp(MIN_ZOOM, max);
    Viewport {
        x: ((w - b.w * zoom) / 2.0 - b.x * zoom).round(),
        y: ((h - b.h * zoom) / 2.0 - b.y * zoom).round(),
        zoom,
    }
}

/// Pans and zooms so the whole pipeline is visible (zoom at most 1).
pub fn fit_view(st: &AppState) {
    fit_rect(st, st.doc.with_untracked(layout::content_bounds));
}

/// Pans and zooms so `b` is visible (zoom at most 1); the default view when `None`.
pub fn fit_rect(st: &AppState, b: Option<Rect>) {
    let Some((_, _, w, h)) = canvas_rect(st) else {
        st.viewport.set(Viewport::default());
        return;
    };
    match b {
        Some(b) => st.viewport.set(fitting(&b, w, h, 1.0)),
        None => st.viewport.set(Viewport::default()),
    }
}

/// The view a pipeline opens with: all of it when that is legible (zoom ≥ [`OPEN_ZOOM`]), else
/// its start (top left) at that zoom.
pub fn open_view(st: &AppState) {
    let Some((_, _, w, h)) = canvas_rect(st) else {
        st.viewport.set(Viewport::default());
        return;
    };
    let Some(b) = st.doc.with_untracked(layout::content_bounds) else {
        st.viewport.set(Viewport::default());
        return;
    };
    let fit = fitting(&b, w, h, 1.0);
    if fit.zoom >= OPEN_ZOOM {
        st.viewport.set(fit);
        return;
    }
    let zoom = OPEN_ZOOM;
    let margin = 48.0;
    let y = if b.h * zoom + 2.0 * margin <= h {
        ((h - b.h * zoom) / 2.0 - b.y * zoom).round()
    } else {
        (margin - b.y * zoom).round()
    };
    st.viewport.set(Viewport {
        x: (margin - b.x * zoom).round(),
        y,
        zoom,
    });
}

/// Zooms by `factor` keeping the client point (`cx`, `cy`) fixed.
pub fn zoom_at(st: &AppState, factor: f64, cx: f64, cy: f64) {
    let Some((l, t, _, _)) = canvas_rect(st) else {
        return;
    };
    st.viewport.update(|v| {
        let zoom = (v.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let (px, py) = (cx - l, cy - t);
        let wx = (px - v.x) / v.zoom;
        let wy = (py - v.y) / v.zoom;
        v.x = px - wx * zoom;
        v.y = py - wy * zoom;
        v.zoom = zoom;
    });
}

/// Zooms by `factor` around the canvas centre.
pub fn zoom_center(st: &AppState, factor: f64) {
    if let Some((l, t, w, h)) = canvas_rect(st) {
        zoom_at(st, factor, l + w / 2.0, t + h / 2.0);
    }
}

/// Pans by (`dx`, `dy`) screen pixels.
pub fn pan_by(st: &AppState, dx: f64, dy: f64) {
    st.viewport.update(|v| {
        v.x += dx;
        v.y += dy;
    });
}

/// Pans (without zooming) so world point `p` is at the centre of the canvas.
pub fn center_on(st: &AppState, p: Point) {
    let (_, _, w, h) = st.canvas_box.get_untracked();
    st.viewport.update(|v| {
        v.x = (w / 2.0 - p.x * v.zoom).round();
        v.y = (h / 2.0 - p.y * v.zoom).round();
    });
}

/// Collapses frame `id` to its title bar, or expands it again.
pub fn toggle_collapsed(st: &AppState, id: &str) {
    st.collapsed
        .update(|c| match c.binary_search_by(|x| x.as_str().cmp(id)) {
            Ok(i) => {
                c.remove(i);
            }
            Err(i) => c.insert(i, id.to_string()),
        });
}

/// The nodes and frames inside collapsed frames (not drawn), each list sorted.
fn hidden(st: &AppState) -> (Vec<String>, Vec<String>) {
    let collapsed = st.collapsed.get();
    if collapsed.is_empty() {
        return (Vec::new(), Vec::new());
    }
    st.doc.with(|d| {
        let under = |g: Option<&str>| {
            d.group_chain(g)
                .iter()
                .any(|c| collapsed.binary_search(c).is_ok())
        };
        let mut nodes: Vec<String> = d
            .nodes
            .iter()
            .filter(|n| under(n.group.as_deref()))
            .map(|n| n.id.clone())
            .collect();
        let mut groups: Vec<String> = d
            .groups
            .iter()
            .filter(|g| under(g.parent.as_deref()))
            .map(|g| g.id.clone())
            .collect();
        nodes.sort();
        groups.sort();
        (nodes, groups)
    })
}

/// The box around the selected nodes and frames, as committed to the document.
pub fn selection_bounds(st: &AppState) -> Option<Rect> {
    let items = st.selection.with_untracked(Selection::items);
    if items.is_empty() {
        return None;
    }
    let (nodes, groups) = st.scene.boxes();
    nodes
        .iter()
        .filter(|(id, _)| items.contains(&Item::Node(id.clone())))
        .chain(
            groups
                .iter()
                .filter(|(id, _)| items.contains(&Item::Group(id.clone()))),
        )
        .map(|(_, r)| *r)
        .reduce(|a, b| a.union(&b))
}

/// Zooms to the selection (or everything when nothing is selected).
pub fn zoom_to_selection(st: &AppState) {
    match selection_bounds(st) {
        Some(b) => fit_rect(st, Some(b)),
        None => fit_view(st),
    }
}

/// The world rectangle of the elements to draw (the view and a margin, snapped to tiles), or
/// `None` when everything is drawn.
fn drawn_area(st: &AppState) -> Option<(i64, i64, i64, i64, u32)> {
    if st
        .scene
        .node_ids
        .with(|n| n.len() <= crate::scene::CULL_ABOVE)
    {
        return None;
    }
    let v = st.viewport.get();
    let (_, _, w, h) = st.canvas_box.get();
    // Tiles of TILE screen pixels at the nearest power of two below the zoom, so zooming a
    // little does not change them.
    let mut zq = 1.0;
    let mut level = 0u32;
    while zq > v.zoom && level < 16 {
        zq /= 2.0;
        level += 1;
    }
    let q = TILE / zq;
    // The view snapped outwards to tiles: it always holds the view, and moves on only when the
    // view enters a new tile.
    let x0 = ((-v.x / v.zoom) / q).floor() as i64;
    let y0 = ((-v.y / v.zoom) / q).floor() as i64;
    let x1 = (((w - v.x) / v.zoom) / q).ceil() as i64;
    let y1 = (((h - v.y) / v.zoom) / q).ceil() as i64;
    Some((x0, y0, x1, y1, level))
}

/// The canvas.
#[component]
pub fn Canvas() -> impl IntoView {
    let st = use_state();
    let area = Memo::new(move |_| drawn_area(&st));
    // What is drawn: (nodes, groups, wires).
    let drawn = Memo::new(move |_| {
        st.scene.geometry.track();
        match area.get() {
            None => (
                st.scene.node_ids.get(),
                st.scene.group_ids.get(),
                st.scene.wire_ids.get(),
            ),
            Some((x0, y0, x1, y1, level)) => {
                let q = TILE * f64::from(1u32 << level.min(30));
                let r = Rect {
                    x: x0 as f64 * q,
                    y: y0 as f64 * q,
                    w: (x1 - x0) as f64 * q,
                    h: (y1 - y0) as f64 * q,
                };
                let (mut nodes, groups, wires) = st.scene.in_view(&r);
                // Selected nodes stay drawn (they may be dragged or nudged out of the area).
                for item in st.selection.with(Selection::items) {
                    if let Item::Node(id) = item {
                        if !nodes.contains(&id) {
                            nodes.push(id);
                        }
                    }
                }
                (nodes, groups, wires)
            }
        }
    });
    // Minus what collapsed frames hide (and wires to it).
    let hidden = Memo::new(move |_| hidden(&st));
    let shown = Memo::new(move |_| {
        let (hidden_nodes, hidden_groups) = hidden.get();
        let (nodes, groups, wires) = drawn.get();
        if hidden_nodes.is_empty() && hidden_groups.is_empty() {
            return (nodes, groups, wires);
        }
        let gone = |id: &String, list: &[String]| list.binary_search(id).is_ok();
        let wires = st.doc.with_untracked(|d| {
            wires
                .into_iter()
                .filter(|id| {
                    d.wires.iter().find(|w| &w.id == id).is_none_or(|w| {
                        !gone(&w.from.node, &hidden_nodes) && !gone(&w.to.node, &hidden_nodes)
                    })
                })
                .collect()
        });
        (
            nodes
                .into_iter()
                .filter(|n| !gone(n, &hidden_nodes))
                .collect(),
            groups
                .into_iter()
                .filter(|g| !gone(g, &hidden_groups))
                .collect(),
            wires,
        )
    });
    let node_ids = Memo::new(move |_| shown.with(|d| d.0.clone()));
    let group_ids = Memo::new(move |_| shown.with(|d| d.1.clone()));
    let wire_ids = Memo::new(move |_| shown.with(|d| d.2.clone()));
    let zoom = Memo::new(move |_| st.viewport.get().zoom);
    let lod = Memo::new(move |_| Lod::at(zoom.get()));
    provide_context(lod);
    provide_context(crate::node_view::WireDragging(Memo::new(move |_| {
        st.drag.with(|d| match d {
            Some(Drag::Wire { from, ty, .. }) => Some((from.node.clone(), ty.clone())),
            _ => None,
        })
    })));
    // The wire layer covers the elements and a margin.
    let svg_box = Memo::new(move |_| {
        st.scene.geometry.track();
        let (nodes, groups) = st.scene.boxes();
        nodes
            .iter()
            .chain(groups.iter())
            .map(|(_, r)| *r)
            .reduce(|a, b| a.union(&b))
            .map_or(
                Rect {
                    x: -SVG_MARGIN,
                    y: -SVG_MARGIN,
                    w: 2.0 * SVG_MARGIN,
                    h: 2.0 * SVG_MARGIN,
                },
                |b| Rect {
                    x: (b.x - SVG_MARGIN).floor(),
                    y: (b.y - SVG_MARGIN).floor(),
                    w: (b.w + 2.0 * SVG_MARGIN).ceil(),
                    h: (b.h + 2.0 * SVG_MARGIN).ceil(),
                },
            )
    });
    let empty = Memo::new(move |_| {
        st.scene.node_ids.with(Vec::is_empty) && st.scene.group_ids.with(Vec::is_empty)
    });
    let panning = Memo::new(move |_| st.drag.with(|d| matches!(d, Some(Drag::Pan { .. }))));
    // The comments' chunk is fetched once the document has a comment.
    let has_comments = Memo::new(move |_| st.doc.with(|d| !d.comments.is_empty()));

    // The canvas box is read once and again on resize, never during pointer moves.
    Effect::new(move |_| {
        if st.canvas.get().is_some() {
            measure(&st);
        }
    });
    let resize_h = window_event_listener(ev::resize, move |_| measure(&st));
    on_cleanup(move || resize_h.remove());

    let on_pointerdown = move |ev: web_sys::PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        let c = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        if ev.shift_key() || ev.ctrl_key() || ev.meta_key() {
            let Some(p) = world_from_client(&st, c.0, c.1) else {
                return;
            };
            st.drag.set(Some(Drag::Band {
                start: p,
                cursor: p,
                base: st.selection.with_untracked(Selection::items),
            }));
            return;
        }
        st.select(Selection::None);
        st.drag.set(Some(Drag::Pan {
            start: c,
            orig: st.viewport.get_untracked(),
        }));
    };
    let on_contextmenu = move |ev: web_sys::MouseEvent| {
        ev.prevent_default();
        crate::tools::open_menu(st, ev);
    };
    let on_wheel = move |ev: web_sys::WheelEvent| {
        ev.prevent_default();
        if ev.ctrl_key() || ev.meta_key() || ev.delta_mode() != 0 || ev.delta_x() == 0.0 {
            let factor = (-ev.delta_y() * 0.0015).exp();
            zoom_at(
                &st,
                factor,
                f64::from(ev.client_x()),
                f64::from(ev.client_y()),
            );
        } else {
            // A touchpad's two-finger scroll pans.
            pan_by(&st, -ev.delta_x(), -ev.delta_y());
        }
    };

    view! {
        <div
            class="canvas"
            class:panning=flag(move || panning.get())
            class:lod-compact=flag(move || lod.get() == Lod::Compact)
            class:lod-tiny=flag(move || lod.get() == Lod::Tiny)
            // Compact titles are sized against the zoom (CSS), so they stay legible.
            style:--zoom=text(move || layout::num(zoom.get()))
            data-testid="canvas"
            role="application"
            aria-label="Pipeline canvas"
            aria-roledescription="pipeline canvas"
            node_ref=st.canvas
            on:pointerdown=on_pointerdown
            on:wheel=on_wheel
            on:contextmenu=on_contextmenu
            on:dragover=|ev: web_sys::DragEvent| ev.prevent_default()
            on:drop=move |ev: web_sys::DragEvent| {
                ev.prevent_default();
                let file = ev.data_transfer().and_then(|t| t.files()).and_then(|f| f.get(0));
                match file {
                    Some(file) => {
                        let at = world_from_client(&st, f64::from(ev.client_x()), f64::from(ev.client_y()));
                        crate::import_ui::drop_file(st, file, at);
                    }
                    None => st.info("Drop a pipeline or component YAML file to import it"),
                }
            }
            style:background-size=text(move || {
                // Minor lines every GRID pixels, major every five; coarser when zoomed out.
                let mut g = GRID * st.viewport.get().zoom;
                while g < 12.0 {
                    g *= 5.0;
                }
                let m = g * 5.0;
                let (g, m) = (layout::px(g), layout::px(m));
                format!("{g} {g}, {g} {g}, {m} {m}, {m} {m}")
            })
            style:background-position=text(move || {
                let v = st.viewport.get();
                let (x, y) = (layout::px(v.x), layout::px(v.y));
                format!("{x} {y}, {x} {y}, {x} {y}, {x} {y}")
            })
        >
            <div
                class="world"
                style:transform=text(move || {
                    let v = st.viewport.get();
                    format!("translate({}, {}) scale({})", layout::px(v.x), layout::px(v.y), layout::num(v.zoom))
                })
            >
                <IdList ids=group_ids child=group_child />
                <svg
                    class="wires"
                    aria-hidden="true"
                    style:left=text(move || layout::px(svg_box.get().x))
                    style:top=text(move || layout::px(svg_box.get().y))
                    width=text(move || layout::num(svg_box.get().w))
                    height=text(move || layout::num(svg_box.get().h))
                >
                    <g transform=text(move || {
                        let b = svg_box.get();
                        format!("translate({} {})", layout::num(-b.x), layout::num(-b.y))
                    })>
                        <IdList ids=wire_ids child=wire_child />
                        <WirePreview />
                    </g>
                </svg>
                <IdList ids=node_ids child=node_child />
                {move || has_comments.get().then(|| chunks::view(crate::comments::comments_layer(st)))}
                <Band />
            </div>
            <Show when=move || empty.get()>
                <div class="canvas-empty">
                    <div class="canvas-empty-title">"Start your pipeline"</div>
                    <div>"Drag a component from the palette onto the canvas, or open an example. Press ? for shortcuts."</div>
                </div>
            </Show>
            <div class="zoom-controls" on:pointerdown=|ev| ev.stop_propagation()>
                <button data-testid="btn-zoom-out" title="Zoom out (−)" aria-label="Zoom out" on:click=move |_| zoom_center(&st, 1.0 / 1.2)>"−"</button>
                <span class="zoom-level" data-testid="zoom-level" aria-live="polite">
                    {text(move || format!("{}%", (st.viewport.get().zoom * 100.0).round() as i64))}
                </span>
                <button data-testid="btn-zoom-in" title="Zoom in (+)" aria-label="Zoom in" on:click=move |_| zoom_center(&st, 1.2)>"+"</button>
                <button data-testid="btn-fit" title="Fit the pipeline in view (F; Shift+F: the selection)" on:click=move |_| fit_view(&st)>"Fit"</button>
                <button
                    data-testid="btn-snap"
                    title="Snap to the grid (G)"
                    aria-pressed=text(move || st.snap.get().to_string())
                    class:active=flag(move || st.snap.get())
                    on:click=move |_| st.snap.update(|s| *s = !*s)
                >
                    "Snap"
                </button>
                <button
                    data-testid="btn-minimap"
                    title="Minimap (M)"
                    aria-pressed=text(move || st.minimap.get().to_string())
                    class:active=flag(move || st.minimap.get())
                    on:click=move |_| st.minimap.update(|s| *s = !*s)
                >
                    "Map"
                </button>
                <button data-testid="btn-shortcuts" title="Keyboard shortcuts (?)" aria-label="Keyboard shortcuts" on:click=move |_| st.overlay.set(true)>"?"</button>
            </div>
            <div class="minimap-corner" on:pointerdown=|ev| ev.stop_propagation()>
                {move || st.minimap.get().then(|| chunks::view(crate::minimap::minimap(st)))}
            </div>
        </div>
        <DragGhost />
        {move || st.menu.get().map(|at| chunks::view(crate::tools::context_menu(st, at)))}
        {move || st.overlay.get().then(|| chunks::view(crate::tools::shortcut_overlay(st)))}
        {move || st.lineage.get().map(|from| chunks::view(crate::lineage_view::lineage_view(st, from)))}
        {move || st.authoring.get().then(|| chunks::view(crate::authoring_view::authoring_view(st)))}
    }
}

fn group_child(id: String) -> AnyView {
    view! { <GroupView id=id /> }.into_any()
}

fn wire_child(id: String) -> AnyView {
    view! { <WireView id=id /> }.into_any()
}

fn node_child(id: String) -> AnyView {
    view! { <NodeView id=id /> }.into_any()
}

/// A keyed list of views, one per id. One non-generic wrapper around `For`, so the keyed-list
/// code is compiled once for nodes, wires and groups (keeps the wasm small).
#[component]
fn IdList(ids: Memo<Vec<String>>, child: fn(String) -> AnyView) -> impl IntoView {
    view! { <For each=move || ids.get() key=|id| id.clone() children=move |id| child(id) /> }
}

/// The rubber band while one is drawn.
#[component]
fn Band() -> impl IntoView {
    let st = use_state();
    let rect = Memo::new(move |_| {
        st.drag.with(|d| match d {
            Some(Drag::Band { start, cursor, .. }) => Some(Rect::spanning(*start, *cursor)),
            _ => None,
        })
    });
    move || {
        rect.get().map(|r| {
            view! {
                <div
                    class="band"
                    data-testid="band"
                    style:left=layout::px(r.x)
                    style:top=layout::px(r.y)
                    style:width=layout::px(r.w)
                    style:height=layout::px(r.h)
                ></div>
            }
        })
    }
}

/// The label following the pointer while a palette item is dragged.
#[component]
fn DragGhost() -> impl IntoView {
    let st = use_state();
    let ghost = Memo::new(move |_| {
        st.drag.with(|d| match d {
            Some(Drag::Palette {
                label,
                client,
                start,
                ..
            }) if (client.0 - start.0).abs() + (client.1 - start.1).abs() > 3.0 => {
                Some((label.clone(), *client))
            }
            _ => None,
        })
    });
    move || {
        ghost.get().map(|(label, (x, y))| {
            view! {
                <div class="drag-ghost" style:left=layout::px(x + 8.0) style:top=layout::px(y + 8.0)>
                    {label}
                </div>
            }
        })
    }
}
