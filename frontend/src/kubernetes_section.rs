//! The "Kubernetes" section of a task's properties: its secrets as environment variables, PVC
//! mounts, tolerations and node selector labels as rows to edit, every other setting as a
//! readable line, and the whole as JSON for what the rows do not cover. Each change is one
//! undoable edit of [`pipeline::Node::kubernetes`]; it is part of the `props` chunk.

use leptos::prelude::*;
use serde_json::{Map, Value};

use crate::k8s_settings::{self as k8s, ListKind};
use crate::state::{text, use_state};

/// A change of a node's settings.
type Edit = Box<dyn FnOnce(&mut Map<String, Value>)>;

/// Applies an [`Edit`] to the settings of one node, as one undoable edit.
type Change = std::sync::Arc<dyn Fn(Edit) + Send + Sync>;

/// A change of the node selector's labels.
type LabelEdit = Box<dyn FnOnce(&mut Vec<(String, String)>) + Send>;

/// The Kubernetes section of node `id`.
#[component]
pub fn KubernetesSection(id: String) -> impl IntoView {
    let st = use_state();
    let settings = {
        let id = id.clone();
        Memo::new(move |_| {
            st.doc
                .with(|d| d.node(&id).and_then(|n| n.kubernetes.clone()))
        })
    };
    let change: Change = {
        let id = id.clone();
        std::sync::Arc::new(move |f: Edit| {
            st.edit(|d| {
                if let Some(n) = d.node_mut(&id) {
                    let mut o = k8s::object(n.kubernetes.as_ref());
                    f(&mut o);
                    n.kubernetes = k8s::store(o);
                }
            })
        })
    };
    let lists = k8s::LISTS
        .iter()
        .map(|kind| view! { <ListRows kind=*kind settings=settings change=change.clone() /> })
        .collect_view();
    let others = move || {
        settings.with(|s| {
            k8s::other_lines(&k8s::object(s.as_ref()))
                .into_iter()
                .map(|line| view! { <li class="mono">{line}</li> })
                .collect_view()
        })
    };
    view! {
        <section class="k8s" data-testid="k8s-section">
            <h3>"Kubernetes"</h3>
            <p class="field-desc">
                "How the task's pod runs on Kubernetes (KFP's platform spec): secrets, volumes,
                 where it is scheduled."
            </p>
            {lists}
            <Labels settings=settings change=change.clone() />
            <ul class="k8s-other" data-testid="k8s-other">{others}</ul>
            <RawEditor settings=settings change=change />
        </section>
    }
}

/// The rows of one list setting, with add and remove.
#[component]
fn ListRows(kind: ListKind, settings: Memo<Option<Value>>, change: Change) -> impl IntoView {
    let key = kind.key;
    let add = {
        let change = change.clone();
        move |_| {
            change(Box::new(move |o| {
                let mut list = k8s::rows(o, key);
                list.push(k8s::new_row(&kind));
                k8s::set_rows(o, key, list);
            }))
        }
    };
    let rows = move || {
        let list = settings.with(|s| k8s::rows(&k8s::object(s.as_ref()), key));
        list.into_iter()
            .enumerate()
            .map(|(i, entry)| {
                let fields = kind
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(f, field)| {
                        let change = change.clone();
                        let field = *field;
                        let on_change = move |ev: web_sys::Event| {
                            let v = event_target_value(&ev);
                            change(Box::new(move |o| {
                                let mut list = k8s::rows(o, key);
                                if let Some(entry) = list.get_mut(i) {
                                    k8s::set_field(entry, &field, v.trim());
                                }
                                k8s::set_rows(o, key, list);
                            }))
                        };
                        view! {
                            <input
                                type="text"
                                spellcheck="false"
                                class="mono"
                                placeholder=field.label
                                aria-label=field.label
                                data-testid=format!("k8s-{key}-{i}-{f}")
                                prop:value=k8s::field_text(&entry, &field)
                                on:change=on_change
                            />
                        }
                    })
                    .collect_view();
                let change = change.clone();
                let remove = move |_| {
                    change(Box::new(move |o| {
                        let mut list = k8s::rows(o, key);
                        if i < list.len() {
                            list.remove(i);
                        }
                        k8s::set_rows(o, key, list);
                    }))
                };
                view! {
                    <div class="k8s-row" data-testid=format!("k8s-{key}-{i}")>
                        {fields}
                        <button class="link" aria-label="Remove" data-testid=format!("k8s-{key}-{i}-remove") on:click=remove>"×"</button>
                    </div>
                }
            })
            .collect_view()
    };
    view! {
        <div class="k8s-list">
            <h4>{kind.title}</h4>
            {rows}
            <button class="chip" data-testid=format!("k8s-{key}-add") on:click=add>"+ Add"</button>
        </div>
    }
}

/// The node selector's labels (`key = value`), with add and remove.
#[component]
fn Labels(settings: Memo<Option<Value>>, change: Change) -> impl IntoView {
    let edit = {
        let change = change.clone();
        move |f: LabelEdit| {
            change(Box::new(move |o| {
                let mut labels = k8s::labels(o);
                f(&mut labels);
                k8s::set_labels(o, &labels);
            }))
        }
    };
    // A new label stays on this panel until its key is typed: the document never holds an
    // empty label.
    let draft = RwSignal::new(None::<String>);
    let add = move |_| {
        if draft.get_untracked().is_none() {
            draft.set(Some(String::new()));
        }
    };
    let rows = move || {
        let labels = settings.with(|s| k8s::labels(&k8s::object(s.as_ref())));
        let count = labels.len();
        let stored = labels
            .into_iter()
            .enumerate()
            .map(|(i, (k, v))| {
                let set = |value: bool| {
                    let edit = edit.clone();
                    move |ev: web_sys::Event| {
                        let t = event_target_value(&ev).trim().to_string();
                        edit(Box::new(move |l| {
                            if let Some(label) = l.get_mut(i) {
                                if value {
                                    label.1 = t;
                                } else {
                                    label.0 = t;
                                }
                            }
                        }))
                    }
                };
                let edit = edit.clone();
                view! {
                    <div class="k8s-row" data-testid=format!("k8s-label-{i}")>
                        <input type="text" class="mono" spellcheck="false" placeholder="label" aria-label="Label"
                            data-testid=format!("k8s-label-{i}-key") prop:value=k on:change=set(false) />
                        <span>"="</span>
                        <input type="text" class="mono" spellcheck="false" placeholder="value" aria-label="Value"
                            data-testid=format!("k8s-label-{i}-value") prop:value=v on:change=set(true) />
                        <button class="link" aria-label="Remove" data-testid=format!("k8s-label-{i}-remove")
                            on:click=move |_| edit(Box::new(move |l| { if i < l.len() { l.remove(i); } }))>"×"</button>
                    </div>
                }
            })
            .collect_view();
        let edit = edit.clone();
        let new_row = draft.get().map(move |value| {
            let on_key = move |ev: web_sys::Event| {
                let key = event_target_value(&ev).trim().to_string();
                if key.is_empty() {
                    return;
                }
                let value = draft.get_untracked().unwrap_or_default();
                draft.set(None);
                edit(Box::new(move |l| match l.iter_mut().find(|(k, _)| *k == key) {
                    Some(label) => label.1 = value,
                    None => l.push((key, value)),
                }))
            };
            let on_value = move |ev: web_sys::Event| {
                let t = event_target_value(&ev).trim().to_string();
                draft.set(Some(t));
            };
            view! {
                <div class="k8s-row" data-testid=format!("k8s-label-{count}")>
                    <input type="text" class="mono" spellcheck="false" placeholder="label" aria-label="Label"
                        data-testid=format!("k8s-label-{count}-key") on:change=on_key />
                    <span>"="</span>
                    <input type="text" class="mono" spellcheck="false" placeholder="value" aria-label="Value"
                        data-testid=format!("k8s-label-{count}-value") prop:value=value on:change=on_value />
                    <button class="link" aria-label="Remove" data-testid=format!("k8s-label-{count}-remove")
                        on:click=move |_| draft.set(None)>"×"</button>
                </div>
            }
        });
        view! { {stored} {new_row} }
    };
    view! {
        <div class="k8s-list">
            <h4>"Node selector"</h4>
            {rows}
            <button class="chip" data-testid="k8s-label-add" on:click=add>"+ Add"</button>
        </div>
    }
}

/// All the settings as JSON, for what the rows do not cover; an error says what is wrong and
/// where, and keeps the text as typed.
#[component]
fn RawEditor(settings: Memo<Option<Value>>, change: Change) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let on_change = move |ev: web_sys::Event| match k8s::parse_text(&event_target_value(&ev)) {
        Ok(value) => {
            error.set(None);
            change(Box::new(move |o| {
                *o = k8s::object(value.as_ref());
            }))
        }
        Err(e) => error.set(Some(e)),
    };
    view! {
        <details class="k8s-raw">
            <summary>"All settings as JSON"</summary>
            <textarea
                rows="8"
                spellcheck="false"
                class="mono"
                data-testid="k8s-json"
                placeholder="{\"imagePullSecret\": [{\"secretName\": \"registry\"}]}"
                prop:value=text(move || settings.with(|s| k8s::to_text(s.as_ref())))
                on:change=on_change
            ></textarea>
            <Show when=move || error.with(Option::is_some)>
                <div class="field-error" data-testid="k8s-json-error">{move || error.get()}</div>
            </Show>
        </details>
    }
}
