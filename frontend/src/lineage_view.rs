//! The lineage view (the `lineage` chunk, fetched when first opened): the artifacts and
//! executions around a run or an artifact, from `GET /api/lineage`, over the editor. One hop at
//! first (a depth control for more); a click selects a node and shows its details (URI,
//! metadata, the runs that produced and read it, "cached" reuse); from there it expands
//! upstream or downstream, or re-centres on it; shift-click a second node to highlight the
//! path between the two; search dims what does not match; a type filter hides the other
//! artifacts (or executions). Drawn as one SVG string per change, laid out in layers
//! ([`crate::lineage_graph`]), with pan (drag) and zoom (wheel).

use ::api::Lineage;
use leptos::prelude::*;
use wasm_split_helpers::wasm_split;

use crate::api;
use crate::chunks::Unloaded;
use crate::html::esc;
use crate::lineage_graph::{Graph, Layout, NodeKey, NODE_H, NODE_W};
use crate::state::{AppState, LineageFrom};

/// The most nodes one query brings.
const MAX_NODES: usize = 5000;

/// The query string of a start.
fn start_query(from: &LineageFrom) -> String {
    match from {
        LineageFrom::Run(id) => format!("run={}", api::encode(id)),
        LineageFrom::Uri(uri) => format!("uri={}", api::encode(uri)),
        LineageFrom::Task(run, path) => {
            format!("run={}&task={}", api::encode(run), api::encode(path))
        }
        LineageFrom::Node(NodeKey::Artifact(id)) => format!("artifact={id}"),
        LineageFrom::Node(NodeKey::Execution(id)) => format!("execution={id}"),
    }
}

/// The view's title for a start.
fn start_title(from: &LineageFrom, g: &Graph) -> String {
    match from {
        LineageFrom::Run(id) => format!("Lineage of run {id}"),
        LineageFrom::Uri(uri) => format!("Lineage of {uri}"),
        LineageFrom::Task(run, path) => format!("Lineage of task {path} of run {run}"),
        LineageFrom::Node(k) => format!("Lineage around {}", g.label(*k)),
    }
}

/// The last segment of a type (`system.Model` → `Model`).
fn short_type(t: &str) -> &str {
    t.rsplit('.').next().unwrap_or(t)
}

/// The part of the drawing that is put in the page (in layout units), and how much of each
/// node: only what can come into view while panning a little is drawn, and at low zoom nodes
/// are bare boxes (text is most of the cost of painting).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Window {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    /// Names and types on the nodes.
    detail: bool,
}

impl Window {
    /// Everything, in full.
    const ALL: Window = Window {
        x: f64::MIN / 4.0,
        y: f64::MIN / 4.0,
        w: f64::MAX / 2.0,
        h: f64::MAX / 2.0,
        detail: true,
    };

    /// Whether the box at `(x, y)` of size `w × h` overlaps the window.
    fn overlaps(&self, x: f64, y: f64, w: f64, h: f64) -> bool {
        x < self.x + self.w && x + w > self.x && y < self.y + self.h && y + h > self.y
    }

    /// Whether `inner` lies inside the window.
    fn holds(&self, inner: &Window) -> bool {
        inner.x >= self.x
            && inner.y >= self.y
            && inner.x + inner.w <= self.x + self.w
            && inner.y + inner.h <= self.y + self.h
    }
}

/// Below this zoom, nodes are drawn without text.
const DETAIL_ZOOM: f64 = 0.4;

/// The window to draw for a view `(tx, ty, scale)` of a `w × h` pixel area, given the one
/// drawn now: kept while the view stays inside it at the same level of detail, else the view
/// with one view's size more on every side.
fn window_for(view: (f64, f64, f64), w: f64, h: f64, drawn: Option<Window>) -> Window {
    let (tx, ty, s) = view;
    let s = s.max(1e-6);
    let seen = Window {
        x: -tx / s,
        y: -ty / s,
        w: w / s,
        h: h / s,
        detail: s >= DETAIL_ZOOM,
    };
    match drawn {
        Some(d) if d.detail == seen.detail && d.holds(&seen) => d,
        _ => Window {
            x: seen.x - seen.w,
            y: seen.y - seen.h,
            w: seen.w * 3.0,
            h: seen.h * 3.0,
            detail: seen.detail,
        },
    }
}

/// The drawing inside `win`: edges, then nodes, as SVG markup.
fn render(
    g: &Graph,
    l: &Layout,
    selected: Option<NodeKey>,
    second: Option<NodeKey>,
    search: &str,
    win: Window,
) -> String {
    let path = match (selected, second) {
        (Some(a), Some(b)) => g.path(a, b).unwrap_or_default(),
        _ => Vec::new(),
    };
    let on_path = |k: NodeKey| path.contains(&k);
    let path_edge = |f: NodeKey, t: NodeKey| {
        path.windows(2)
            .any(|w| (w[0] == f && w[1] == t) || (w[0] == t && w[1] == f))
    };
    let searching = !search.trim().is_empty();
    let mut out = String::new();
    let mut plain = String::new();
    for (f, t, port) in g.edges() {
        let (Some((fx, fy)), Some((tx, ty))) = (l.pos.get(&f), l.pos.get(&t)) else {
            continue;
        };
        let (x1, y1, x2, y2) = (fx + NODE_W, fy + NODE_H / 2.0, *tx, ty + NODE_H / 2.0);
        if !win.overlaps(x1.min(x2), y1.min(y2), (x2 - x1).abs(), (y2 - y1).abs()) {
            continue;
        }
        let mid = (x1 + x2) / 2.0;
        let class = if path_edge(f, t) {
            "lin-edge on-path"
        } else {
            "lin-edge"
        };
        if win.detail {
            out.push_str(&format!(
                "<path class=\"{class}\" d=\"M{x1:.1} {y1:.1} C{mid:.1} {y1:.1} {mid:.1} {y2:.1} {x2:.1} {y2:.1}\"><title>{}</title></path>",
                esc(port)
            ));
        } else if class == "lin-edge" {
            // Far away, the plain edges are one path of straight lines.
            plain.push_str(&format!("M{x1:.0} {y1:.0}L{x2:.0} {y2:.0}"));
        } else {
            out.push_str(&format!(
                "<path class=\"{class}\" d=\"M{x1:.0} {y1:.0}L{x2:.0} {y2:.0}\"></path>"
            ));
        }
    }
    if !plain.is_empty() {
        out.push_str(&format!("<path class=\"lin-edge\" d=\"{plain}\"></path>"));
    }
    for k in g.nodes() {
        let Some((x, y)) = l.pos.get(&k) else {
            continue;
        };
        if !win.overlaps(*x, *y, NODE_W, NODE_H) {
            continue;
        }
        let mut class = String::from(match k {
            NodeKey::Artifact(_) => "lin-node artifact",
            NodeKey::Execution(_) => "lin-node execution",
        });
        let cached = g.is_cached(k);
        for (on, name) in [
            (cached, " cached"),
            (selected == Some(k), " selected"),
            (second == Some(k), " second"),
            (on_path(k), " on-path"),
            (searching && g.matches(k, search), " match"),
            (searching && !g.matches(k, search), " dim"),
        ] {
            if on {
                class.push_str(name);
            }
        }
        let token = k.token();
        let r = if matches!(k, NodeKey::Artifact(_)) {
            14
        } else {
            4
        };
        if !win.detail {
            out.push_str(&format!(
                "<g class=\"{class}\" data-node=\"{token}\" data-testid=\"lineage-node-{token}\" transform=\"translate({x:.0} {y:.0})\">\
                 <rect width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"{r}\"></rect></g>"
            ));
            continue;
        }
        let label = g.label(k);
        let kind = g.kind(k);
        let sub = if cached {
            format!("{} · cached", short_type(&kind))
        } else {
            short_type(&kind).to_string()
        };
        out.push_str(&format!(
            "<g class=\"{class}\" data-node=\"{token}\" data-testid=\"lineage-node-{token}\" transform=\"translate({x:.1} {y:.1})\">\
             <rect width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"{r}\"></rect>\
             <text class=\"lin-name\" x=\"10\" y=\"19\">{name}</text>\
             <text class=\"lin-kind\" x=\"10\" y=\"36\">{sub}</text><title>{name} ({kind})</title></g>",
            name = esc(&label),
            sub = esc(&sub),
            kind = esc(&kind),
        ));
    }
    out
}

/// A JSON object as indented text, or `None` when it is empty.
fn json_block(map: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    (!map.is_empty()).then(|| serde_json::to_string_pretty(map).unwrap_or_default())
}

/// The details of `key` as HTML.
fn details(g: &Graph, key: NodeKey) -> String {
    let row = |k: &str, v: &str| {
        format!(
            "<tr><th>{}</th><td class=\"mono\">{}</td></tr>",
            esc(k),
            esc(v)
        )
    };
    let block = |title: &str, body: Option<String>| {
        body.map(|b| {
            format!(
                "<h4>{}</h4><pre class=\"mono\">{}</pre>",
                esc(title),
                esc(&b)
            )
        })
        .unwrap_or_default()
    };
    let runs = |list: Vec<&::api::LineageExecution>| {
        if list.is_empty() {
            return "<li class=\"muted\">none in the graph shown</li>".to_string();
        }
        list.iter()
            .map(|e| {
                let how = if e.state == ::api::TaskState::Cached {
                    " <span class=\"lin-cached\">reused from cache</span>"
                } else {
                    ""
                };
                format!(
                    "<li>run <span class=\"mono\">{}</span>: {}{how}</li>",
                    esc(&e.run_id),
                    esc(&e.task_path)
                )
            })
            .collect()
    };
    match key {
        NodeKey::Artifact(id) => {
            let Some(a) = g.artifacts.get(&id) else {
                return String::new();
            };
            let producers = g.producers(id);
            let original = producers
                .iter()
                .find(|e| e.state != ::api::TaskState::Cached)
                .map(|e| {
                    format!(
                        "<p class=\"field-note\" data-testid=\"lineage-produced-in\">produced in run <span class=\"mono\">{}</span></p>",
                        esc(&e.run_id)
                    )
                })
                .unwrap_or_default();
            format!(
                "<h3>{}</h3><table class=\"kv\">{}{}{}{}</table>{original}<h4>Produced by</h4><ul data-testid=\"lineage-producers\">{}</ul><h4>Read by</h4><ul data-testid=\"lineage-consumers\">{}</ul>{}",
                esc(&a.name),
                row("type", &a.schema_title),
                row("uri", &a.uri),
                row("state", &a.state),
                row("created", &a.created_at),
                runs(producers),
                runs(g.consumers(id)),
                block("metadata", json_block(&a.metadata)),
            )
        }
        NodeKey::Execution(id) => {
            let Some(e) = g.executions.get(&id) else {
                return String::new();
            };
            format!(
                "<h3>{}</h3><table class=\"kv\">{}{}{}{}{}{}{}</table>{}{}",
                esc(&e.name),
                row("run", &e.run_id),
                row("pipeline", &e.pipeline_name),
                row("task", &e.task_path),
                row("component", e.component.as_deref().unwrap_or("")),
                row("type", &e.execution_type),
                row("state", e.state.label()),
                row(
                    "time",
                    &format!(
                        "{} → {}",
                        e.started_at.as_deref().unwrap_or("?"),
                        e.ended_at.as_deref().unwrap_or("?")
                    )
                ),
                block("parameters", json_block(&e.parameters)),
                block("output parameters", json_block(&e.output_parameters)),
            )
        }
    }
}

/// The benchmark hook's work (`window.pipelineCanvasLineageBench`): merges a generated
/// lineage of `nodes` nodes, lays it out and draws it as SVG text, as the view does on
/// opening; the time in ms, or -1 when not every node was drawn.
#[wasm_split(lineage, fallible)]
pub fn lineage_bench(nodes: u32) -> Result<f64, Unloaded> {
    let answer = crate::lineage_graph::synthetic(nodes as usize);
    let start = crate::state::now_ms();
    let mut g = Graph::default();
    g.merge(answer);
    let l = g.layout(|_| true);
    let svg = render(&g, &l, None, None, "", Window::ALL);
    let elapsed = crate::state::now_ms() - start;
    let drawn = svg.matches("<g class=\"lin-node").count();
    Ok(if drawn == g.len() && drawn > 0 {
        elapsed
    } else {
        -1.0
    })
}

/// The lineage view over the editor, starting at `from`; closed by ✕ or Escape.
#[wasm_split(lineage, fallible)]
pub fn lineage_view(st: AppState, from: LineageFrom) -> Result<AnyView, Unloaded> {
    let graph = RwSignal::new(Graph::default());
    let centre = RwSignal::new(from);
    let depth = RwSignal::new(1u32);
    let search = RwSignal::new(String::new());
    let only = RwSignal::new(None::<String>);
    let selected = RwSignal::new(None::<NodeKey>);
    let second = RwSignal::new(None::<NodeKey>);
    let message = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    // Pan and zoom: translate x, y, then scale.
    let view_box = RwSignal::new((20.0f64, 20.0f64, 1.0f64));
    let drag = StoredValue::new(None::<(f64, f64, f64, f64)>);
    let fitted = StoredValue::new(false);

    // Each start-over is a new generation: an answer of an older one (the depth changed
    // again meanwhile, or the view re-centred) is dropped, as is an expansion of it.
    let generation = StoredValue::new(0u64);
    let fetch = move |query: String, depth: u32, direction: &'static str, reset: bool| {
        if reset {
            generation.update_value(|g| *g += 1);
        }
        let asked = generation.get_value();
        loading.set(true);
        let url = format!(
            "/api/lineage?{query}&depth={depth}&direction={direction}&maxNodes={MAX_NODES}"
        );
        // The view may be closed before the answer comes: every write is a `try_`.
        api::get::<Lineage>(url, move |answer| {
            if generation.try_get_value() != Some(asked) {
                return;
            }
            loading.try_set(false);
            match answer {
                Ok(l) => {
                    message.try_set(None);
                    graph.try_update(|g| {
                        if reset {
                            *g = Graph::default();
                        }
                        g.merge(l);
                    });
                    if reset {
                        fitted.try_set_value(false);
                    }
                }
                Err(e) => {
                    message.try_set(Some(format!("Lineage could not be read: {e}")));
                }
            }
        });
    };
    // A new centre or depth starts over.
    Effect::new(move |_| {
        let q = centre.with(start_query);
        fetch(q, depth.get(), "both", true);
    });
    let layout = Memo::new(move |_| {
        let only = only.get();
        graph.with(|g| g.layout(|k| g.shown(k, only.as_deref())))
    });
    // The part drawn follows the view, and changes only when the view leaves it.
    let window = RwSignal::new(None::<Window>);
    Effect::new(move |_| {
        let view = view_box.get();
        let (_, _, w, h) = st.canvas_box.get();
        let (w, h) = if w > 0.0 { (w, h) } else { (1600.0, 1000.0) };
        let next = window_for(view, w, h, window.get_untracked());
        if window.get_untracked() != Some(next) {
            window.set(Some(next));
        }
    });
    let svg = Memo::new(move |_| {
        let (sel, sec, text) = (selected.get(), second.get(), search.get());
        let Some(win) = window.get() else {
            return String::new();
        };
        graph.with(|g| layout.with(|l| render(g, l, sel, sec, &text, win)))
    });
    let fit = move || {
        let (w, h) = layout.with(|l| (l.width.max(1.0), l.height.max(1.0)));
        let (cw, ch) = (
            st.canvas_box.get_untracked().2,
            st.canvas_box.get_untracked().3,
        );
        let (cw, ch) = if cw > 0.0 { (cw, ch) } else { (1000.0, 640.0) };
        let s = (cw / (w + 40.0)).min(ch / (h + 40.0)).clamp(0.02, 1.0);
        view_box.set((20.0, 20.0, s));
    };
    Effect::new(move |_| {
        layout.track();
        if !fitted.get_value() && graph.with_untracked(|g| !g.is_empty()) {
            fitted.set_value(true);
            fit();
        }
    });

    let on_click = move |ev: web_sys::MouseEvent| {
        use wasm_bindgen::JsCast as _;
        let node = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("[data-node]").ok().flatten())
            .and_then(|e| e.get_attribute("data-node"))
            .and_then(|t| NodeKey::parse(&t));
        let Some(k) = node else { return };
        if ev.shift_key() && selected.get_untracked().is_some_and(|s| s != k) {
            second.set(Some(k));
        } else {
            selected.set(Some(k));
            second.set(None);
        }
    };
    let on_wheel = move |ev: web_sys::WheelEvent| {
        ev.prevent_default();
        let (ox, oy) = (f64::from(ev.offset_x()), f64::from(ev.offset_y()));
        view_box.update(|(tx, ty, s)| {
            let next = (*s * (-ev.delta_y() * 0.0015).exp()).clamp(0.02, 4.0);
            *tx = ox - (ox - *tx) * next / *s;
            *ty = oy - (oy - *ty) * next / *s;
            *s = next;
        });
    };
    let on_down = move |ev: web_sys::PointerEvent| {
        let (tx, ty, _) = view_box.get_untracked();
        drag.set_value(Some((
            f64::from(ev.client_x()),
            f64::from(ev.client_y()),
            tx,
            ty,
        )));
    };
    let on_move = move |ev: web_sys::PointerEvent| {
        if let Some((x0, y0, tx, ty)) = drag.get_value() {
            let (dx, dy) = (f64::from(ev.client_x()) - x0, f64::from(ev.client_y()) - y0);
            if dx.abs() + dy.abs() > 3.0 {
                view_box.update(|v| {
                    v.0 = tx + dx;
                    v.1 = ty + dy;
                });
            }
        }
    };
    let on_up = move |_| drag.set_value(None);

    let expand = move |direction: &'static str| {
        if let Some(k) = selected.get_untracked() {
            fetch(start_query(&LineageFrom::Node(k)), 1, direction, false);
        }
    };
    let recentre = move |_| {
        if let Some(k) = selected.get_untracked() {
            second.set(None);
            centre.set(LineageFrom::Node(k));
        }
    };
    let close = move || st.lineage.set(None);
    let types = Memo::new(move |_| graph.with(Graph::types));
    let count = move || {
        graph.with(|g| {
            let shown = layout.with(|l| l.pos.len());
            let more = if g.truncated {
                " — more is reachable: raise the depth or expand a node"
            } else {
                ""
            };
            format!("{shown} of {} nodes{more}", g.len())
        })
    };
    let path_note = move || {
        let (a, b) = (selected.get()?, second.get()?);
        Some(graph.with(|g| match g.path(a, b) {
            Some(p) => format!(
                "Path from {} to {}: {} steps",
                g.label(a),
                g.label(b),
                p.len().saturating_sub(1)
            ),
            None => format!(
                "{} and {} are not connected in the graph shown",
                g.label(a),
                g.label(b)
            ),
        }))
    };
    let details_html = move || {
        let k = selected.get()?;
        Some(graph.with(|g| details(g, k)))
    };

    Ok(view! {
        <div class="lineage-overlay" data-testid="lineage-view" role="dialog" aria-label="Lineage">
            <header class="lineage-bar">
                <h2 data-testid="lineage-title">{move || centre.with(|c| graph.with(|g| start_title(c, g)))}</h2>
                <label>"Depth "
                    <select data-testid="lineage-depth" aria-label="Depth in hops"
                        on:change=move |ev| depth.set(event_target_value(&ev).parse().unwrap_or(1))>
                        {(1..=6u32).map(|d| view! { <option value=d.to_string() selected=d == 1>{d}</option> }).collect_view()}
                    </select>
                </label>
                <input type="search" placeholder="Search name, URI, run…" data-testid="lineage-search"
                    aria-label="Search the lineage"
                    prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev)) />
                <select data-testid="lineage-type" aria-label="Show only this type"
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        only.set((!v.is_empty()).then_some(v));
                    }>
                    <option value="">"All types"</option>
                    {move || types.get().into_iter().map(|t| {
                        let v = t.clone();
                        view! { <option value=v>{t}</option> }
                    }).collect_view()}
                </select>
                <button data-testid="lineage-fit" on:click=move |_| fit()>"Fit"</button>
                <span class="muted" data-testid="lineage-count">{count}</span>
                {move || loading.get().then(|| view! { <span class="muted">"Loading…"</span> })}
                <button class="icon lineage-close" data-testid="lineage-close" aria-label="Close lineage"
                    title="Close (Esc)" on:click=move |_| close()>"✕"</button>
            </header>
            {move || message.get().map(|m| view! { <p class="field-error block" data-testid="lineage-error">{m}</p> })}
            <div class="lineage-body">
                <svg class="lineage-svg" data-testid="lineage-svg"
                    on:click=on_click on:wheel=on_wheel
                    on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_up on:pointerleave=on_up>
                    <g transform=move || { let (x, y, s) = view_box.get(); format!("translate({x:.1} {y:.1}) scale({s:.4})") }
                        inner_html=move || svg.get()></g>
                </svg>
                <aside class="lineage-details" data-testid="lineage-details">
                    {move || match details_html() {
                        None => view! {
                            <p class="muted">"Click a node for its details; shift-click another to see the path between them. Drag to pan, wheel to zoom."</p>
                        }.into_any(),
                        Some(html) => view! {
                            <div class="lineage-actions">
                                <button data-testid="lineage-upstream" on:click=move |_| expand("upstream")>"Expand upstream"</button>
                                <button data-testid="lineage-downstream" on:click=move |_| expand("downstream")>"Expand downstream"</button>
                                <button data-testid="lineage-recentre" on:click=recentre>"Re-centre"</button>
                            </div>
                            <div data-testid="lineage-path">{path_note}</div>
                            <div inner_html=html></div>
                        }.into_any(),
                    }}
                </aside>
            </div>
        </div>
    }
    .into_any())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_kept_while_the_view_stays_inside_and_follows_it_out() {
        // A 1000 × 500 view at 100 %, at the origin.
        let w = window_for((0.0, 0.0, 1.0), 1000.0, 500.0, None);
        assert_eq!(
            (w.x, w.y, w.w, w.h, w.detail),
            (-1000.0, -500.0, 3000.0, 1500.0, true)
        );
        // Panned by less than a view: the same window, nothing redrawn.
        assert_eq!(window_for((-900.0, 400.0, 1.0), 1000.0, 500.0, Some(w)), w);
        // Further: a new window around where the view is.
        let moved = window_for((-1500.0, 0.0, 1.0), 1000.0, 500.0, Some(w));
        assert_ne!(moved, w);
        assert_eq!(moved.x, 500.0);
        // Zoomed out below DETAIL_ZOOM: bare boxes, over four times the area.
        let far = window_for((0.0, 0.0, 0.25), 1000.0, 500.0, Some(w));
        assert!(!far.detail);
        assert_eq!((far.w, far.h), (12_000.0, 6_000.0));
    }

    #[test]
    fn only_what_overlaps_the_window_is_drawn_and_text_only_up_close() {
        let mut g = Graph::default();
        g.merge(crate::lineage_graph::synthetic(500));
        let l = g.layout(|_| true);
        let nodes = |svg: &str| svg.matches("<g class=\"lin-node").count();
        let all = render(&g, &l, None, None, "", Window::ALL);
        assert_eq!(nodes(&all), g.len());
        assert!(all.contains("<text class=\"lin-name\""));
        let near = Window {
            x: 0.0,
            y: 0.0,
            w: 600.0,
            h: 300.0,
            detail: true,
        };
        let inside = l
            .pos
            .values()
            .filter(|(x, y)| near.overlaps(*x, *y, NODE_W, NODE_H))
            .count();
        let part = render(&g, &l, None, None, "", near);
        assert!(inside > 0 && inside < g.len());
        assert_eq!(nodes(&part), inside);
        let bare = render(
            &g,
            &l,
            None,
            None,
            "",
            Window {
                detail: false,
                ..Window::ALL
            },
        );
        assert_eq!(nodes(&bare), g.len());
        assert!(!bare.contains("<text") && !bare.contains("<title"));
        // Clicks find the node by its data-node either way.
        assert_eq!(bare.matches("data-node=").count(), g.len());
    }
}
