//! A task on the canvas: header with its names, input ports on the left, outputs on the right.
//! Each node reads only its own signals (`scene::NodeSlot`), so editing or dragging one node
//! re-renders that node and its wires, whatever the size of the pipeline.

use leptos::prelude::*;
use pipeline::{Diagnostic, PortRef, PortType};

use crate::canvas::{world_from_client, Lod};
use crate::edit::Item;
use crate::layout::{self, PortInfo};
use crate::scene::NodeSlot;
use crate::state::{category_color, flag, text, use_state, Drag};

/// Messages of the diagnostics in `diags` matching `pred`, one per line.
pub fn messages(diags: &[Diagnostic], pred: impl Fn(&Diagnostic) -> bool) -> String {
    diags
        .iter()
        .filter(|d| pred(d))
        .map(|d| d.message.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The output a wire is being drawn from, and its type (while one is).
#[derive(Clone, Copy)]
pub struct WireDragging(pub Memo<Option<(String, PortType)>>);

/// One node.
#[component]
pub fn NodeView(id: String) -> impl IntoView {
    let st = use_state();
    let Some(slot) = st.scene.node(&id) else {
        return ().into_any();
    };
    let lod = use_context::<Memo<Lod>>().unwrap_or_else(|| Memo::new(|_| Lod::Full));
    let NodeSlot {
        node,
        pos,
        expanded,
        shape,
        wired,
        diags,
    } = slot;
    let names = {
        let node = node.clone();
        Memo::new(move |_| {
            node.with(|n| {
                (
                    n.shown_name().to_string(),
                    n.name.clone(),
                    n.component.clone(),
                    n.caching,
                )
            })
        })
    };
    let bound = {
        let node = node.clone();
        Memo::new(move |_| node.with(|n| n.inputs.keys().cloned().collect::<Vec<_>>()))
    };
    let item = Item::Node(id.clone());
    let selected = {
        let item = item.clone();
        Memo::new(move |_| st.selection.with(|s| s.has(&item)))
    };
    let color = Memo::new(move |_| {
        let key = names.with(|n| n.2.clone());
        st.catalog.track();
        category_color(&st.category_of(&key).unwrap_or_default())
    });
    let diags: Signal<Vec<Diagnostic>> = diags.into();
    let has_error = Memo::new(move |_| diags.with(|d| d.iter().any(Diagnostic::is_error)));
    let tooltip = Memo::new(move |_| diags.with(|d| messages(d, |_| true)));
    let shape: Signal<Option<std::sync::Arc<crate::scene::NodeShape>>> = shape.into();
    let missing = Memo::new(move |_| shape.with(Option::is_none));
    let subtitle = Memo::new(move |_| {
        let (_, name, key, _) = names.get();
        let title = shape.with(|c| c.as_ref().and_then(|c| c.title.clone()));
        match title {
            Some(t) if t != name => format!("{name} · {t}"),
            _ if key != name => format!("{name} · {key}"),
            _ => name,
        }
    });
    let pos: Signal<pipeline::Point> = pos.into();
    let expanded: Signal<bool> = expanded.into();
    let size = Memo::new(move |_| {
        let open = expanded.get();
        shape.with(|c| {
            c.as_ref().map_or(
                pipeline::Size {
                    width: layout::NODE_WIDTH,
                    height: layout::node_height(None),
                },
                |c| c.size(open),
            )
        })
    });
    let inner = Memo::new(move |_| shape.with(|c| c.as_ref().and_then(|c| c.inner.clone())));
    let toggle_id = id.clone();

    let on_pointerdown = {
        let item = item.clone();
        move |ev: web_sys::PointerEvent| {
            if ev.button() != 0 {
                return;
            }
            ev.stop_propagation();
            ev.prevent_default();
            crate::interaction::grab(&st, item.clone(), &ev);
        }
    };
    let on_focus = {
        let item = item.clone();
        move |_| {
            if !st.selection.with_untracked(|s| s.has(&item)) {
                st.select(crate::state::Selection::Node(item_id(&item)));
            }
        }
    };

    let run_status = crate::run_badge::status_of(&id);
    let wired: Signal<Vec<String>> = wired.into();
    let ports = {
        let id = id.clone();
        move || {
            if lod.get() != Lod::Full {
                return None;
            }
            shape.get().map(|c| {
                let n_in = c.ins.len();
                let in_views = c
                    .ins
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        view! { <InPort node=id.clone() info=p.clone() top=layout::row_top(i) diags=diags wired=wired bound=bound /> }
                    })
                    .collect_view();
                let out_views = c
                    .outs
                    .iter()
                    .enumerate()
                    .map(|(j, p)| {
                        view! { <OutPort node=id.clone() info=p.clone() top=layout::row_top(n_in + j) /> }
                    })
                    .collect_view();
                let sep = (n_in > 0).then(|| {
                    view! { <div class="port-sep" style:top=layout::px(layout::row_top(n_in) - 0.5) /> }
                });
                view! { {in_views} {sep} {out_views} }
            })
        }
    };

    view! {
        <div
            class="node"
            {..crate::run_badge::state_attrs(run_status)}
            class:selected=flag(move || selected.get())
            class:has-error=flag(move || has_error.get())
            class:missing=flag(move || missing.get())
            data-testid=format!("node-{id}")
            data-node-id=id.clone()
            data-node-name=text(move || names.with(|n| n.1.clone()))
            tabindex="0"
            role="group"
            aria-roledescription="task"
            aria-label=text(move || {
                let (shown, _, _, _) = names.get();
                let errs = if has_error.get() { ", has errors" } else { "" };
                format!("{shown}{errs}")
            })
            aria-current=text(move || selected.get().to_string())
            style:left=text(move || layout::px(pos.get().x))
            style:top=text(move || layout::px(pos.get().y))
            class:open=flag(move || expanded.get() && inner.with(Option::is_some))
            style:width=text(move || layout::px(size.get().width))
            style:height=text(move || layout::px(size.get().height))
            title=text(move || tooltip.get())
            on:pointerdown=on_pointerdown
            on:focus=on_focus
        >
            <crate::run_badge::RunBadge status=run_status />
            <div
                class="node-header"
                data-testid=format!("node-header-{id}")
                style:height=layout::px(layout::HEADER)
                style:border-top-color=text(move || color.get().to_string())
            >
                <div class="node-title">
                    <span class="node-title-text">{text(move || names.with(|n| n.0.clone()))}</span>
                    <Show when=move || !names.with(|n| n.3)>
                        <span class="badge" title="Caching is off for this task">"no cache"</span>
                    </Show>
                </div>
                <div class="node-sub">{subtitle}</div>
                {move || inner.get().map(|d| view! { <crate::sub_pipeline_view::OpenToggle id=toggle_id.clone() tasks=d.tasks.len() expanded=expanded /> })}
            </div>
            {move || {
                let top = shape.with(|c| c.as_ref().map_or(0.0, |c| c.height));
                inner.get().filter(|_| expanded.get()).map(|d| crate::chunks::view(crate::sub_pipeline_view::inner_view(d, top)))
            }}
            <Show when=move || missing.get()>
                <div class="node-missing">"Component missing from the document"</div>
            </Show>
            {ports}
        </div>
    }
    .into_any()
}

/// The id of a node or group item.
fn item_id(item: &Item) -> String {
    match item {
        Item::Node(id) | Item::Group(id) => id.clone(),
    }
}

/// An input port row; wires are dropped here (`data-port-in`).
#[component]
fn InPort(
    node: String,
    info: PortInfo,
    top: f64,
    diags: Signal<Vec<Diagnostic>>,
    wired: Signal<Vec<String>>,
    bound: Memo<Vec<String>>,
) -> impl IntoView {
    let name = info.name.clone();
    let errors = {
        let name = name.clone();
        Memo::new(move |_| {
            diags.with(|d| {
                messages(d, |d| {
                    d.is_error() && d.port.as_deref() == Some(name.as_str())
                })
            })
        })
    };
    let connected = {
        let name = name.clone();
        Memo::new(move |_| wired.with(|w| w.contains(&name)))
    };
    let is_bound = {
        let name = name.clone();
        Memo::new(move |_| bound.with(|b| b.contains(&name)))
    };
    // While a wire is drawn: can it end here?
    let dragging = use_context::<WireDragging>();
    let fit = {
        let (node, ty) = (node.clone(), info.ty.clone());
        Memo::new(move |_| {
            let d = dragging?;
            d.0.with(|w| {
                w.as_ref()
                    .map(|(from, out)| *from != node && out.can_feed(&ty).is_ok())
            })
        })
    };
    let label = info.ty.label();
    let title = format!(
        "{}: {}{}",
        info.name,
        label,
        if info.required { " (required)" } else { "" }
    );
    view! {
        <div
            class="port-row in"
            class:has-error=flag(move || errors.with(|e| !e.is_empty()))
            class:connected=flag(move || connected.get())
            class:bound=flag(move || is_bound.get())
            class:fits=flag(move || fit.get() == Some(true))
            class:unfit=flag(move || fit.get() == Some(false))
            class:port-artifact=matches!(info.ty, PortType::Artifact(..))
            data-port-in=""
            data-node=node.clone()
            data-port=name.clone()
            style:top=layout::px(top)
            style:height=layout::px(layout::ROW)
            title=text(move || errors.with(|e| if e.is_empty() { title.clone() } else { format!("{title}\n{e}") }))
        >
            <span class="port-dot" data-testid=format!("port-in-{node}-{name}")></span>
            <span class="port-name">
                {info.name.clone()}
                {info.required.then(|| view! { <span class="required" title="required">"*"</span> })}
            </span>
            <span class="port-type">{label.clone()}</span>
        </div>
    }
}

/// An output port row; dragging from it draws a wire (`data-port-out`).
#[component]
fn OutPort(node: String, info: PortInfo, top: f64) -> impl IntoView {
    let st = use_state();
    let name = info.name.clone();
    let label = info.ty.label();
    let on_pointerdown = {
        let (node, name, ty) = (node.clone(), name.clone(), info.ty.clone());
        move |ev: web_sys::PointerEvent| {
            if ev.button() != 0 {
                return;
            }
            ev.stop_propagation();
            ev.prevent_default();
            let from = PortRef {
                node: node.clone(),
                port: name.clone(),
            };
            let cursor = world_from_client(&st, f64::from(ev.client_x()), f64::from(ev.client_y()))
                .unwrap_or_default();
            st.drag.set(Some(Drag::Wire {
                from,
                ty: ty.clone(),
                cursor,
            }));
        }
    };
    view! {
        <div
            class="port-row out"
            class:port-artifact=matches!(info.ty, PortType::Artifact(..))
            data-port-out=""
            data-node=node.clone()
            data-port=name.clone()
            style:top=layout::px(top)
            style:height=layout::px(layout::ROW)
            title=format!("{}: {} — drag to an input to connect", info.name, label)
            on:pointerdown=on_pointerdown
        >
            <span class="port-type">{label.clone()}</span>
            <span class="port-name">{info.name.clone()}</span>
            <span class="port-dot" data-testid=format!("port-out-{node}-{name}")></span>
        </div>
    }
}
