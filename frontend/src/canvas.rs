//! The canvas: a pannable, zoomable world holding group frames, wires and nodes.

use leptos::prelude::*;
use pipeline::Point;

use crate::group_view::GroupView;
use crate::layout;
use crate::node_view::NodeView;
use crate::state::{flag, text, use_state, AppState, Drag, Selection, Viewport};
use crate::wire_view::{WirePreview, WireView};

/// Smallest zoom factor.
pub const MIN_ZOOM: f64 = 0.2;
/// Largest zoom factor.
pub const MAX_ZOOM: f64 = 2.0;
/// Grid spacing at zoom 1, in pixels.
const GRID: f64 = 24.0;
/// The wire layer is a large SVG centred on the origin, so wires at negative positions show.
const SVG_HALF: f64 = 50_000.0;

/// The canvas element's rectangle in client pixels: (left, top, width, height).
pub fn canvas_rect(st: &AppState) -> Option<(f64, f64, f64, f64)> {
    let el = st.canvas.get_untracked()?;
    let r = el.get_bounding_client_rect();
    Some((r.left(), r.top(), r.width(), r.height()))
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

/// The world point at the centre of the visible canvas.
pub fn view_center(st: &AppState) -> Point {
    let (w, h) = canvas_rect(st).map_or((800.0, 600.0), |(_, _, w, h)| (w, h));
    let v = st.viewport.get_untracked();
    Point {
        x: (w / 2.0 - v.x) / v.zoom,
        y: (h / 2.0 - v.y) / v.zoom,
    }
}

/// Pans and zooms so the whole pipeline is visible (zoom at most 1).
pub fn fit_view(st: &AppState) {
    let Some((_, _, w, h)) = canvas_rect(st) else {
        st.viewport.set(Viewport::default());
        return;
    };
    let Some(b) = st.doc.with_untracked(layout::content_bounds) else {
        st.viewport.set(Viewport::default());
        return;
    };
    let margin = 48.0;
    let zoom = ((w - 2.0 * margin) / b.w)
        .min((h - 2.0 * margin) / b.h)
        .clamp(MIN_ZOOM, 1.0);
    st.viewport.set(Viewport {
        x: ((w - b.w * zoom) / 2.0 - b.x * zoom).round(),
        y: ((h - b.h * zoom) / 2.0 - b.y * zoom).round(),
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

/// The canvas.
#[component]
pub fn Canvas() -> impl IntoView {
    let st = use_state();
    let node_ids = Memo::new(move |_| {
        st.doc
            .with(|d| d.nodes.iter().map(|n| n.id.clone()).collect::<Vec<_>>())
    });
    let wire_ids = Memo::new(move |_| {
        st.doc
            .with(|d| d.wires.iter().map(|w| w.id.clone()).collect::<Vec<_>>())
    });
    // Outer frames first, so inner ones are drawn on top of them.
    let group_ids = Memo::new(move |_| {
        st.doc.with(|d| {
            let mut ids: Vec<(usize, String)> = d
                .groups
                .iter()
                .map(|g| (d.group_chain(Some(&g.id)).len(), g.id.clone()))
                .collect();
            ids.sort();
            ids.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
        })
    });
    let empty = Memo::new(move |_| st.doc.with(|d| d.nodes.is_empty() && d.groups.is_empty()));
    let panning = Memo::new(move |_| st.drag.with(|d| matches!(d, Some(Drag::Pan { .. }))));

    let on_pointerdown = move |ev: web_sys::PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        st.select(Selection::None);
        st.drag.set(Some(Drag::Pan {
            start: (f64::from(ev.client_x()), f64::from(ev.client_y())),
            orig: st.viewport.get_untracked(),
        }));
    };
    let on_wheel = move |ev: web_sys::WheelEvent| {
        ev.prevent_default();
        let factor = (-ev.delta_y() * 0.0015).exp();
        zoom_at(
            &st,
            factor,
            f64::from(ev.client_x()),
            f64::from(ev.client_y()),
        );
    };

    view! {
        <div
            class="canvas"
            class:panning=flag(move || panning.get())
            data-testid="canvas"
            node_ref=st.canvas
            on:pointerdown=on_pointerdown
            on:wheel=on_wheel
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
                    style:left=layout::px(-SVG_HALF)
                    style:top=layout::px(-SVG_HALF)
                    width=layout::num(2.0 * SVG_HALF)
                    height=layout::num(2.0 * SVG_HALF)
                >
                    <g transform=format!("translate({0} {0})", layout::num(SVG_HALF))>
                        <IdList ids=wire_ids child=wire_child />
                        <WirePreview />
                    </g>
                </svg>
                <IdList ids=node_ids child=node_child />
            </div>
            <Show when=move || empty.get()>
                <div class="canvas-empty">
                    <div class="canvas-empty-title">"Start your pipeline"</div>
                    <div>"Drag a component from the palette onto the canvas, or open an example."</div>
                </div>
            </Show>
            <div class="zoom-controls" on:pointerdown=|ev| ev.stop_propagation()>
                <button data-testid="btn-zoom-out" title="Zoom out" on:click=move |_| zoom_center(&st, 1.0 / 1.2)>"−"</button>
                <span class="zoom-level" data-testid="zoom-level">
                    {text(move || format!("{}%", (st.viewport.get().zoom * 100.0).round() as i64))}
                </span>
                <button data-testid="btn-zoom-in" title="Zoom in" on:click=move |_| zoom_center(&st, 1.2)>"+"</button>
                <button data-testid="btn-fit" title="Fit the pipeline in view" on:click=move |_| fit_view(&st)>"Fit"</button>
            </div>
        </div>
        <DragGhost />
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
