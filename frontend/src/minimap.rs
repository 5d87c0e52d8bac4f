//! The minimap: the whole pipeline in a corner of the canvas (tasks and frames as one SVG path
//! each, so its cost does not depend on how many there are), with the part in view outlined.
//! Pressing or dragging on it brings that part into view. It is fetched after start (the
//! `minimap` chunk), when first shown.

use leptos::prelude::*;
use pipeline::Point;

use wasm_split_helpers::wasm_split;

use crate::canvas;
use crate::chunks::Unloaded;
use crate::layout::{self, num, Rect};
use crate::state::{flag, text, AppState};

/// Width and height of the minimap, in pixels.
const SIZE: (f64, f64) = (200.0, 132.0);

/// The SVG path of `boxes`.
fn path(boxes: &[(String, Rect)]) -> String {
    let mut out = String::with_capacity(boxes.len() * 32);
    for (_, r) in boxes {
        out.push_str(&format!(
            "M{} {}h{}v{}h{}z",
            num(r.x),
            num(r.y),
            num(r.w),
            num(r.h),
            num(-r.w)
        ));
    }
    out
}

/// The world box the minimap covers to show `world` whole: `world` widened, centred, to the
/// minimap's proportions.
fn frame(world: &Rect) -> Rect {
    let s = (SIZE.0 / world.w.max(1.0)).min(SIZE.1 / world.h.max(1.0));
    let (w, h) = (SIZE.0 / s, SIZE.1 / s);
    Rect {
        x: world.x - (w - world.w) / 2.0,
        y: world.y - (h - world.h) / 2.0,
        w,
        h,
    }
}

/// Brings the world point under client point (`cx`, `cy`) of the minimap into the view's centre.
fn look_at(st: &AppState, el: &web_sys::Element, covered: &Rect, cx: f64, cy: f64) {
    let b = el.get_bounding_client_rect();
    let s = b.width() / covered.w.max(1.0);
    canvas::center_on(
        st,
        Point {
            x: covered.x + (cx - b.left()) / s,
            y: covered.y + (cy - b.top()) / s,
        },
    );
}

/// The minimap (drawn while the pipeline is not empty), from the `minimap` chunk.
#[wasm_split(minimap, fallible)]
pub fn minimap(st: AppState) -> Result<AnyView, Unloaded> {
    let shapes = Memo::new(move |_| {
        st.scene.geometry.track();
        let (nodes, groups) = st.scene.boxes();
        let bounds = nodes
            .iter()
            .chain(groups.iter())
            .map(|(_, r)| *r)
            .reduce(|a, b| a.union(&b))?;
        Some((bounds, path(&nodes), path(&groups)))
    });
    let view = Memo::new(move |_| {
        st.viewport.track();
        st.canvas_box.track();
        canvas::view_rect(&st)
    });
    // The world box shown: the pipeline and the view, with a margin.
    let covered = Memo::new(move |_| {
        let b = shapes.with(|s| s.as_ref().map(|s| s.0))?;
        let all = b.union(&view.get());
        let m = all.w.max(all.h) * 0.04;
        Some(frame(&Rect {
            x: all.x - m,
            y: all.y - m,
            w: all.w + 2.0 * m,
            h: all.h + 2.0 * m,
        }))
    });
    let dragging = RwSignal::new(false);
    let on_down = move |ev: web_sys::PointerEvent| {
        ev.stop_propagation();
        ev.prevent_default();
        let (Some(c), Some(el)) = (
            covered.get_untracked(),
            ev.current_target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok()),
        ) else {
            return;
        };
        let _ = el.set_pointer_capture(ev.pointer_id());
        dragging.set(true);
        look_at(
            &st,
            &el,
            &c,
            f64::from(ev.client_x()),
            f64::from(ev.client_y()),
        );
    };
    let on_move = move |ev: web_sys::PointerEvent| {
        if !dragging.get_untracked() {
            return;
        }
        let (Some(c), Some(el)) = (
            covered.get_untracked(),
            ev.current_target()
                .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok()),
        ) else {
            return;
        };
        look_at(
            &st,
            &el,
            &c,
            f64::from(ev.client_x()),
            f64::from(ev.client_y()),
        );
    };
    let view_box = text(move || {
        covered
            .get()
            .map(|c| format!("{} {} {} {}", num(c.x), num(c.y), num(c.w), num(c.h)))
            .unwrap_or_else(|| "0 0 1 1".to_string())
    });
    // Strokes stay one pixel wide whatever the scale.
    let stroke = text(move || {
        covered
            .get()
            .map_or_else(|| "1".to_string(), |c| num(c.w / SIZE.0))
    });
    Ok(view! {
        <Show when=move || shapes.with(Option::is_some)>
            <svg
                class="minimap"
                class:dragging=flag(move || dragging.get())
                data-testid="minimap"
                role="img"
                aria-label="Minimap of the pipeline: press or drag to move the view"
                width=layout::num(SIZE.0)
                height=layout::num(SIZE.1)
                viewBox=view_box
                on:pointerdown=on_down
                on:pointermove=on_move
                on:pointerup=move |_| dragging.set(false)
                on:pointercancel=move |_| dragging.set(false)
            >
                <path class="minimap-groups" stroke-width=stroke d=text(move || shapes.with(|s| s.as_ref().map(|s| s.2.clone()).unwrap_or_default())) />
                <path class="minimap-nodes" d=text(move || shapes.with(|s| s.as_ref().map(|s| s.1.clone()).unwrap_or_default())) />
                <rect
                    class="minimap-view"
                    data-testid="minimap-view"
                    stroke-width=text(move || {
                        covered.get().map_or_else(|| "2".to_string(), |c| num(2.0 * c.w / SIZE.0))
                    })
                    x=text(move || num(view.get().x))
                    y=text(move || num(view.get().y))
                    width=text(move || num(view.get().w))
                    height=text(move || num(view.get().h))
                />
            </svg>
        </Show>
    }
    .into_any())
}
