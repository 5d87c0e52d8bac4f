//! A condition frame on the canvas: moves with everything inside it and resizes by its corner.

use leptos::prelude::*;
use pipeline::{Diagnostic, GroupKind};

use crate::edit::Item;
use crate::layout;
use crate::node_view::messages;
use crate::scene::GroupSlot;
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
    let Some(GroupSlot { group, rect, diags }) = st.scene.group(&id) else {
        return ().into_any();
    };
    let collapsed = {
        let id = id.clone();
        Memo::new(move |_| st.collapsed.with(|c| c.binary_search(&id).is_ok()))
    };
    // Collapsed: the title bar and a line saying what is hidden.
    let rect = Memo::new(move |_| {
        let mut r = rect.get();
        if collapsed.get() {
            r.h = layout::GROUP_HEADER + 26.0;
        }
        r
    });
    let hidden_note = {
        let id = id.clone();
        Memo::new(move |_| {
            if !collapsed.get() {
                return String::new();
            }
            let (nodes, groups) = st.doc.with(|d| crate::edit::group_members(d, &id));
            let n = nodes.len();
            let g = groups.len();
            let mut text = format!("{n} task{} hidden", if n == 1 { "" } else { "s" });
            if g > 0 {
                text.push_str(&format!(", {g} frame{}", if g == 1 { "" } else { "s" }));
            }
            text
        })
    };
    let errors = Memo::new(move |_| diags.with(|d| messages(d, Diagnostic::is_error)));
    let item = Item::Group(id.clone());
    let selected = {
        let item = item.clone();
        Memo::new(move |_| st.selection.with(|s| s.has(&item)))
    };
    let title = {
        let group = group.clone();
        Memo::new(move |_| group.with(|g| g.display_name.clone().unwrap_or_else(|| g.id.clone())))
    };
    // (keyword, text, whether the text is missing); names of tasks it refers to are read from
    // the document when the group changes.
    let head =
        Memo::new(move |_| group.with(|g| st.doc.with_untracked(|d| kind_label(d, &g.kind))));

    let run_status = crate::run_badge::status_of(&id);
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
    let on_resize = {
        let id = id.clone();
        move |ev: web_sys::PointerEvent| {
            if ev.button() != 0 {
                return;
            }
            ev.stop_propagation();
            ev.prevent_default();
            st.select(Selection::Group(id.clone()));
            let Some(size) = st.doc.with_untracked(|d| d.group(&id).map(|g| g.size)) else {
                return;
            };
            st.drag.set(Some(Drag::Resize {
                group: id.clone(),
                start: (f64::from(ev.client_x()), f64::from(ev.client_y())),
                orig: size,
                size,
            }));
        }
    };
    let on_focus = {
        let id = id.clone();
        move |_| {
            if !st.selection.with_untracked(|s| s.has(&item)) {
                st.select(Selection::Group(id.clone()));
            }
        }
    };

    view! {
        <div
            class="group"
            {..crate::run_badge::state_attrs(run_status)}
            class:selected=flag(move || selected.get())
            class:has-error=flag(move || errors.with(|e| !e.is_empty()))
            class:collapsed=flag(move || collapsed.get())
            data-testid=format!("group-{id}")
            data-group-id=id.clone()
            tabindex="0"
            role="group"
            aria-roledescription="frame"
            aria-label=text(move || {
                let (k, detail, _) = head.get();
                format!("{k} {detail}: {}", title.get())
            })
            style:left=text(move || layout::px(rect.get().x))
            style:top=text(move || layout::px(rect.get().y))
            style:width=text(move || layout::px(rect.get().w))
            style:height=text(move || layout::px(rect.get().h))
            title=text(move || errors.get())
            on:pointerdown=on_pointerdown
            on:focus=on_focus
        >
            <crate::run_badge::RunBadge status=run_status />
            <div class="group-header" style:height=layout::px(layout::GROUP_HEADER)>
                <button
                    class="group-toggle"
                    data-testid=format!("group-toggle-{id}")
                    aria-expanded=text(move || (!collapsed.get()).to_string())
                    aria-label=text(move || if collapsed.get() { "Expand frame" } else { "Collapse frame" }.to_string())
                    title=text(move || if collapsed.get() { "Expand" } else { "Collapse" }.to_string())
                    on:pointerdown=|ev| ev.stop_propagation()
                    on:click={
                        let id = id.clone();
                        move |_| crate::canvas::toggle_collapsed(&st, &id)
                    }
                >
                    {text(move || if collapsed.get() { "▸" } else { "▾" }.to_string())}
                </button>
                <span class="group-kind">{text(move || head.get().0.to_string())}</span>
                <code class="group-expr" class:empty=flag(move || head.get().2)>{text(move || head.get().1)}</code>
                <span class="group-name">{title}</span>
            </div>
            <div class="group-hidden" data-testid="group-hidden">{hidden_note}</div>
            <div
                class="group-resize"
                data-testid=format!("group-resize-{id}")
                title="Drag to resize"
                on:pointerdown=on_resize
            ></div>
        </div>
    }
    .into_any()
}
