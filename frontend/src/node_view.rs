//! A task on the canvas: header with its names, input ports on the left, outputs on the right.

use leptos::prelude::*;
use pipeline::{Diagnostic, PortRef, PortType};

use crate::canvas::world_from_client;
use crate::edit::Item;
use crate::layout::{self, PortInfo};
use crate::state::{category_color, flag, text, use_state, Drag, Selection};

/// Messages of the diagnostics in `diags` matching `pred`, one per line.
pub fn messages(diags: &[Diagnostic], pred: impl Fn(&Diagnostic) -> bool) -> String {
    diags
        .iter()
        .filter(|d| pred(d))
        .map(|d| d.message.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

/// One node.
#[component]
pub fn NodeView(id: String) -> impl IntoView {
    let st = use_state();
    let node = {
        let id = id.clone();
        Memo::new(move |_| st.doc.with(|d| d.node(&id).cloned()))
    };
    let comp = {
        let id = id.clone();
        Memo::new(move |_| {
            st.doc
                .with(|d| d.node(&id).and_then(|n| d.component_of(n)).cloned())
        })
    };
    let pos = Memo::new(move |_| node.with(|n| n.as_ref().map(|n| n.position).unwrap_or_default()));
    let names = Memo::new(move |_| {
        node.with(|n| {
            n.as_ref()
                .map(|n| {
                    (
                        n.shown_name().to_string(),
                        n.name.clone(),
                        n.component.clone(),
                        n.caching,
                        n.group.is_some(),
                    )
                })
                .unwrap_or_default()
        })
    });
    let diags = {
        let id = id.clone();
        Memo::new(move |_| {
            st.analysis.with(|a| {
                a.diagnostics
                    .iter()
                    .filter(|d| d.node.as_deref() == Some(id.as_str()))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
    };
    let wired = {
        let id = id.clone();
        Memo::new(move |_| {
            st.doc.with(|d| {
                d.wires
                    .iter()
                    .filter(|w| w.to.node == id)
                    .map(|w| w.to.port.clone())
                    .collect::<Vec<_>>()
            })
        })
    };
    let selected = {
        let id = id.clone();
        Memo::new(move |_| {
            st.selection
                .with(|s| matches!(s, Selection::Node(x) if *x == id))
        })
    };
    let color = Memo::new(move |_| {
        let key = names.with(|n| n.2.clone());
        st.catalog.track();
        category_color(&st.category_of(&key).unwrap_or_default())
    });
    let has_error = Memo::new(move |_| diags.with(|d| d.iter().any(Diagnostic::is_error)));
    let tooltip = Memo::new(move |_| diags.with(|d| messages(d, |_| true)));
    let subtitle = Memo::new(move |_| {
        let (_, name, key, _, _) = names.get();
        let title = comp.with(|c| c.as_ref().and_then(|c| c.title.clone()));
        match title {
            Some(t) if t != name => format!("{name} · {t}"),
            _ if key != name => format!("{name} · {key}"),
            _ => name,
        }
    });

    let on_pointerdown = {
        let id = id.clone();
        move |ev: web_sys::PointerEvent| {
            if ev.button() != 0 {
                return;
            }
            ev.stop_propagation();
            ev.prevent_default();
            st.select(Selection::Node(id.clone()));
            let before = st.doc.get_untracked();
            let Some(p) = before.node(&id).map(|n| n.position) else {
                return;
            };
            st.drag.set(Some(Drag::Move {
                grabbed: Item::Node(id.clone()),
                start: (f64::from(ev.client_x()), f64::from(ev.client_y())),
                orig: vec![(Item::Node(id.clone()), p)],
                before: Box::new(before),
                moved: false,
            }));
        }
    };

    let run_status = crate::run_badge::status_of(&id);
    let ports = {
        let id = id.clone();
        move || {
            comp.get().map(|c| {
                let ins = layout::input_ports(&c);
                let outs = layout::output_ports(&c);
                let n_in = ins.len();
                let in_views = ins
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| {
                        view! { <InPort node=id.clone() info=p top=layout::row_top(i) diags=diags wired=wired /> }
                    })
                    .collect_view();
                let out_views = outs
                    .into_iter()
                    .enumerate()
                    .map(|(j, p)| {
                        view! { <OutPort node=id.clone() info=p top=layout::row_top(n_in + j) /> }
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
            class:missing=flag(move || comp.with(Option::is_none))
            data-testid=format!("node-{id}")
            data-node-id=id.clone()
            data-node-name=text(move || names.with(|n| n.1.clone()))
            style:left=text(move || layout::px(pos.get().x))
            style:top=text(move || layout::px(pos.get().y))
            style:width=layout::px(layout::NODE_WIDTH)
            style:height=text(move || layout::px(comp.with(|c| layout::node_height(c.as_ref()))))
            title=text(move || tooltip.get())
            on:pointerdown=on_pointerdown
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
            </div>
            <Show when=move || comp.with(Option::is_none)>
                <div class="node-missing">"Component missing from the document"</div>
            </Show>
            {ports}
        </div>
    }
}

/// An input port row; wires are dropped here (`data-port-in`).
#[component]
fn InPort(
    node: String,
    info: PortInfo,
    top: f64,
    diags: Memo<Vec<Diagnostic>>,
    wired: Memo<Vec<String>>,
) -> impl IntoView {
    let st = use_state();
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
    let bound = {
        let (node, name) = (node.clone(), name.clone());
        Memo::new(move |_| {
            st.doc
                .with(|d| d.node(&node).is_some_and(|n| n.inputs.contains_key(&name)))
        })
    };
    // While a wire is drawn: can it end here?
    let fit = {
        let (node, ty) = (node.clone(), info.ty.clone());
        Memo::new(move |_| {
            st.drag.with(|d| match d {
                Some(Drag::Wire { from, ty: out, .. }) => {
                    Some(from.node != node && out.can_feed(&ty).is_ok())
                }
                _ => None,
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
            class:bound=flag(move || bound.get())
            class:fits=flag(move || fit.get() == Some(true))
            class:unfit=flag(move || fit.get() == Some(false))
            class:artifact=matches!(info.ty, PortType::Artifact(..))
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
            class:artifact=matches!(info.ty, PortType::Artifact(..))
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
