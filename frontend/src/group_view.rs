//! A condition frame on the canvas: moves with everything inside it and resizes by its corner.

use leptos::prelude::*;
use pipeline::GroupKind;

use crate::edit::{self, Item};
use crate::layout;
use crate::node_view::messages;
use crate::state::{flag, text, use_state, Drag, Selection};

/// How a group's title bar reads: (keyword, detail, whether the detail is a "not set" hint).
pub fn kind_label(doc: &pipeline::Document, kind: &GroupKind) -> (&'static str, String, bool) {
    match kind {
        GroupKind::Condition { expression } if expression.trim().is_empty() => {
            ("if", "no condition set".to_string(), true)
        }
        GroupKind::Condition { expression } => ("if", expression.clone(), false),
        GroupKind::Else => ("else", String::new(), false),
        GroupKind::Branches => ("if / elif / else", String::new(), false),
        GroupKind::Loop {
            items, parallelism, ..
        } => {
            let what = items.text(doc);
            let par = parallelism
                .map(|p| format!(" (parallelism {p})"))
                .unwrap_or_default();
            ("for each", format!("{what}{par}"), false)
        }
        GroupKind::ExitHandler { exit_node } => {
            let task = doc
                .node(exit_node)
                .map_or(exit_node.as_str(), |n| n.name.as_str());
            ("exit handler", format!("finally run {task}"), false)
        }
    }
}

/// One group frame.
#[component]
pub fn GroupView(id: String) -> impl IntoView {
    let st = use_state();
    let group = {
        let id = id.clone();
        Memo::new(move |_| st.doc.with(|d| d.group(&id).cloned()))
    };
    let rect = Memo::new(move |_| {
        group
            .with(|g| g.as_ref().map(layout::group_rect))
            .unwrap_or(layout::Rect {
                x: 0.0,
                y: 0.0,
                w: 0.0,
                h: 0.0,
            })
    });
    let errors = {
        let id = id.clone();
        Memo::new(move |_| {
            st.analysis.with(|a| {
                messages(&a.diagnostics, |d| {
                    d.is_error() && d.group.as_deref() == Some(id.as_str())
                })
            })
        })
    };
    let selected = {
        let id = id.clone();
        Memo::new(move |_| {
            st.selection
                .with(|s| matches!(s, Selection::Group(x) if *x == id))
        })
    };
    let title = Memo::new(move |_| {
        group.with(|g| {
            g.as_ref()
                .map(|g| g.display_name.clone().unwrap_or_else(|| g.id.clone()))
                .unwrap_or_default()
        })
    });
    // (keyword, text, whether the text is missing)
    let head = {
        let id = id.clone();
        Memo::new(move |_| {
            st.doc
                .with(|d| d.group(&id).map(|g| kind_label(d, &g.kind)))
                .unwrap_or_default()
        })
    };

    let run_status = crate::run_badge::status_of(&id);
    let on_pointerdown = {
        let id = id.clone();
        move |ev: web_sys::PointerEvent| {
            if ev.button() != 0 {
                return;
            }
            ev.stop_propagation();
            ev.prevent_default();
            st.select(Selection::Group(id.clone()));
            let before = st.doc.get_untracked();
            let orig = edit::group_with_members(&before, &id);
            st.drag.set(Some(Drag::Move {
                grabbed: Item::Group(id.clone()),
                start: (f64::from(ev.client_x()), f64::from(ev.client_y())),
                orig,
                before: Box::new(before),
                moved: false,
            }));
        }
    };
    let on_resize = {
        let id = id.clone();
        move |ev: web_sys::PointerEvent| {
            if ev.button() != 0 {
                return;
            }
            ev.stop_propagation();
            ev.prevent_default();
            st.select(Selection::Group(id.clone()));
            let before = st.doc.get_untracked();
            let Some(size) = before.group(&id).map(|g| g.size) else {
                return;
            };
            st.drag.set(Some(Drag::Resize {
                group: id.clone(),
                start: (f64::from(ev.client_x()), f64::from(ev.client_y())),
                orig: size,
                before: Box::new(before),
            }));
        }
    };

    view! {
        <div
            class="group"
            {..crate::run_badge::state_attrs(run_status)}
            class:selected=flag(move || selected.get())
            class:has-error=flag(move || errors.with(|e| !e.is_empty()))
            data-testid=format!("group-{id}")
            data-group-id=id.clone()
            style:left=text(move || layout::px(rect.get().x))
            style:top=text(move || layout::px(rect.get().y))
            style:width=text(move || layout::px(rect.get().w))
            style:height=text(move || layout::px(rect.get().h))
            title=text(move || errors.get())
            on:pointerdown=on_pointerdown
        >
            <crate::run_badge::RunBadge status=run_status />
            <div class="group-header" style:height=layout::px(layout::GROUP_HEADER)>
                <span class="group-kind">{text(move || head.get().0.to_string())}</span>
                <code class="group-expr" class:empty=flag(move || head.get().2)>{text(move || head.get().1)}</code>
                <span class="group-name">{title}</span>
            </div>
            <div
                class="group-resize"
                data-testid=format!("group-resize-{id}")
                title="Drag to resize"
                on:pointerdown=on_resize
            ></div>
        </div>
    }
}
