//! One input of the selected node in the properties panel: a typed value, a pipeline-parameter
//! binding, or the wire feeding it.

use leptos::prelude::*;
use pipeline::ir::ParameterType;
use pipeline::{Binding, PortType};
use serde_json::Value;

use crate::edit;
use crate::layout::PortInfo;
use crate::node_view::messages;
use crate::state::{flag, text, use_state, Selection};
use crate::values::{parse_value, placeholder, render_value, text_matches};

/// How an unwired parameter input gets its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Value,
    Parameter,
}

/// The editor row of one input.
#[component]
pub fn InputField(
    node: String,
    info: PortInfo,
    default: Option<Value>,
    description: Option<String>,
) -> impl IntoView {
    let st = use_state();
    let port = info.name.clone();
    let binding = {
        let (node, port) = (node.clone(), port.clone());
        Memo::new(move |_| {
            st.doc
                .with(|d| d.node(&node).and_then(|n| n.inputs.get(&port).cloned()))
        })
    };
    let wired_from = {
        let (node, port) = (node.clone(), port.clone());
        Memo::new(move |_| {
            st.doc.with(|d| {
                d.wires
                    .iter()
                    .find(|w| w.to.node == node && w.to.port == port)
                    .map(|w| {
                        let src = d
                            .node(&w.from.node)
                            .map_or(w.from.node.clone(), |n| n.name.clone());
                        (w.id.clone(), format!("{src}.{}", w.from.port))
                    })
            })
        })
    };
    let diag = {
        let (node, port) = (node.clone(), port.clone());
        Memo::new(move |_| {
            st.analysis.with(|a| {
                messages(&a.diagnostics, |d| {
                    d.node.as_deref() == Some(node.as_str())
                        && d.port.as_deref() == Some(port.as_str())
                })
            })
        })
    };

    let header = view! {
        <div class="field-label">
            <span class="field-name">{port.clone()}</span>
            {info.required.then(|| view! { <span class="required" title="required">"*"</span> })}
            <span class="field-type">{info.ty.label()}</span>
        </div>
    };
    let desc = description.map(|d| view! { <div class="field-desc">{d}</div> });

    let connect = view! { <crate::connect_field::ConnectFrom node=node.clone() port=port.clone() ty=info.ty.clone() /> };
    let body = match info.ty.clone() {
        PortType::Artifact(..) => view! {
            <ArtifactEditor node=node.clone() port=port.clone() binding=binding wired_from=wired_from />
        }
        .into_any(),
        PortType::Parameter(ty) => view! {
            <ParameterEditor node=node.clone() port=port.clone() ty=ty default=default binding=binding wired_from=wired_from />
        }
        .into_any(),
    };

    view! {
        <div class="field" class:has-error=flag(move || !diag.with(String::is_empty)) data-testid=format!("prop-row-{port}")>
            {header}
            {desc}
            {body}
            {connect}
            <Show when=move || !diag.with(String::is_empty)>
                <div class="field-error" data-testid=format!("prop-{}-diagnostic", info.name)>{diag}</div>
            </Show>
        </div>
    }
}

/// How a loop-item or exit-status binding reads, or `None` for the editable kinds.
fn special(b: Option<&Binding>) -> Option<String> {
    match b? {
        Binding::LoopItem { group, field } => Some(match field {
            Some(f) => format!("the loop item's field {f:?} (loop {group})"),
            None => format!("the loop item (loop {group})"),
        }),
        Binding::FinalStatus(group) => Some(format!("the final status of exit handler {group}")),
        _ => None,
    }
}

/// The value / parameter / wire editor of a parameter input.
/// The innermost loop frame holding `node`, if any.
fn enclosing_loop(d: &pipeline::Document, node: &str) -> Option<String> {
    let mut at = d.node(node).and_then(|n| n.group.clone());
    while let Some(gid) = at {
        let g = d.group(&gid)?;
        if matches!(g.kind, pipeline::GroupKind::Loop { .. }) {
            return Some(gid);
        }
        at = g.parent.clone();
    }
    None
}

/// An artifact input: where its wire comes from, or (inside a loop over artifacts) the
/// loop's item.
#[component]
fn ArtifactEditor(
    node: String,
    port: String,
    binding: Memo<Option<Binding>>,
    wired_from: Memo<Option<(String, String)>>,
) -> impl IntoView {
    let st = use_state();
    let loop_group = {
        let node = node.clone();
        Memo::new(move |_| st.doc.with(|d| enclosing_loop(d, &node)))
    };
    let uses_item = move || matches!(binding.get(), Some(Binding::LoopItem { .. }));
    let testid = format!("prop-{port}");
    let on_item = move |ev: web_sys::Event| {
        let on = event_target_checked(&ev);
        let b = loop_group
            .get_untracked()
            .filter(|_| on)
            .map(|group| Binding::LoopItem { group, field: None });
        st.edit(|d| edit::set_binding(d, &node, &port, b));
    };
    view! {
        <div class="field-note" data-testid=testid.clone()>
            {text(move || match (wired_from.get(), uses_item()) {
                (Some((_, from)), _) => format!("wired from {from}"),
                (None, true) => "The loop's item.".to_string(),
                (None, false) => "Not connected — drag a wire here from a compatible output, or connect it from the list.".to_string(),
            })}
        </div>
        <Show when=move || loop_group.get().is_some() && wired_from.get().is_none()>
            <label class="check">
                <input type="checkbox" data-testid=format!("{testid}-loop-item") prop:checked=uses_item on:change=on_item.clone() />
                "Use the loop item"
            </label>
        </Show>
    }
}

#[component]
fn ParameterEditor(
    node: String,
    port: String,
    ty: ParameterType,
    default: Option<Value>,
    binding: Memo<Option<Binding>>,
    wired_from: Memo<Option<(String, String)>>,
) -> impl IntoView {
    let st = use_state();
    let initial = binding.get_untracked();
    let mode = RwSignal::new(match initial {
        Some(Binding::Parameter(_)) => Mode::Parameter,
        _ => Mode::Value,
    });
    let value_of = |b: Option<&Binding>| match b {
        Some(Binding::Value(v)) => Some(v.clone()),
        _ => None,
    };
    let draft = RwSignal::new(
        value_of(initial.as_ref())
            .map(|v| render_value(&v))
            .unwrap_or_default(),
    );
    let local_err = RwSignal::new(None::<String>);
    // Follow outside changes (undo, another panel) without clobbering what is being typed.
    Effect::new(move |_| {
        let b = binding.get();
        // Set only when it changes: the editor is drawn again when the mode does.
        let now = match &b {
            Some(Binding::Parameter(_)) => Some(Mode::Parameter),
            Some(Binding::Value(_)) => Some(Mode::Value),
            _ => None,
        };
        if let Some(m) = now.filter(|m| *m != mode.get_untracked()) {
            mode.set(m);
        }
        let stored = value_of(b.as_ref());
        if mode.get_untracked() == Mode::Value
            && !text_matches(ty, &draft.get_untracked(), stored.as_ref())
        {
            draft.set(stored.map(|v| render_value(&v)).unwrap_or_default());
            local_err.set(None);
        }
    });

    let set = {
        let (node, port) = (node.clone(), port.clone());
        move |b: Option<Binding>| st.edit(|d| edit::set_binding(d, &node, &port, b))
    };
    let on_text = {
        let (node, port) = (node.clone(), port.clone());
        let field = format!("{node}/{port}");
        move |text: String| {
            draft.set(text.clone());
            match parse_value(ty, &text) {
                Ok(v) => {
                    local_err.set(None);
                    let b = v.map(Binding::Value);
                    st.edit_typing(&field, |d| edit::set_binding(d, &node, &port, b));
                }
                Err(e) => local_err.set(Some(e)),
            }
        }
    };
    let params = Memo::new(move |_| {
        st.doc.with(|d| {
            d.parameters
                .iter()
                .map(|p| {
                    let fits = pipeline::PortType::Parameter(p.ty)
                        .can_feed(&pipeline::PortType::Parameter(ty))
                        .is_ok();
                    (p.name.clone(), p.ty.python_name(), fits)
                })
                .collect::<Vec<_>>()
        })
    });
    // The loop whose item this task may read (the innermost enclosing loop frame), and the exit
    // handler whose final status it may read (when it is that handler's exit task).
    let specials = {
        let node = node.clone();
        Memo::new(move |_| {
            st.doc.with(|d| {
                let loop_group = enclosing_loop(d, &node);
                let exit_group = d
                    .groups
                    .iter()
                    .find(|g| matches!(&g.kind, pipeline::GroupKind::ExitHandler { exit_node } if *exit_node == node))
                    .map(|g| g.id.clone());
                (loop_group, exit_group)
            })
        })
    };
    let on_mode = {
        let set = set.clone();
        move |ev: web_sys::Event| {
            let picked = event_target_value(&ev);
            let (loop_group, exit_group) = specials.get_untracked();
            match (picked.as_str(), loop_group, exit_group) {
                ("loop", Some(group), _) => {
                    set(Some(Binding::LoopItem { group, field: None }));
                    return;
                }
                ("status", _, Some(group)) => {
                    set(Some(Binding::FinalStatus(group)));
                    return;
                }
                _ => {}
            }
            let m = if picked == "parameter" {
                Mode::Parameter
            } else {
                Mode::Value
            };
            mode.set(m);
            match m {
                Mode::Parameter => {
                    let first =
                        params.with_untracked(|p| p.iter().find(|p| p.2).map(|p| p.0.clone()));
                    set(first.map(Binding::Parameter));
                }
                Mode::Value => {
                    set(parse_value(ty, &draft.get_untracked())
                        .ok()
                        .flatten()
                        .map(Binding::Value));
                }
            }
        }
    };
    let on_param = {
        let set = set.clone();
        move |ev: web_sys::Event| {
            let name = event_target_value(&ev);
            set((!name.is_empty()).then_some(Binding::Parameter(name)));
        }
    };
    let unwire = move |_| {
        if let Some((wid, _)) = wired_from.get_untracked() {
            st.edit(|d| d.wires.retain(|w| w.id != wid));
            if st.selection.get_untracked() == Selection::Wire(wid) {
                st.selection.set(Selection::None);
            }
        }
    };
    let hint = placeholder(ty, default.as_ref());

    let default_bool = default.as_ref().and_then(Value::as_bool).unwrap_or(false);
    let testid = format!("prop-{port}");

    let clear = {
        let set = set.clone();
        move |_| {
            draft.set(String::new());
            local_err.set(None);
            set(None);
        }
    };
    let value_editor = move || {
        let on_text = on_text.clone();
        let set = set.clone();
        let testid = testid.clone();
        let hint = hint.clone();
        match ty {
            ParameterType::Boolean => view! {
                <label class="check">
                    <input
                        type="checkbox"
                        data-testid=testid
                        prop:checked=flag(move || match binding.get() {
                            Some(Binding::Value(Value::Bool(b))) => b,
                            _ => default_bool,
                        })
                        on:change=move |ev| set(Some(Binding::Value(Value::Bool(event_target_checked(&ev)))))
                    />
                    <span>{text(move || match binding.get() {
                        Some(Binding::Value(_)) => "set",
                        _ => "not set (default)",
                    }.to_string())}</span>
                </label>
            }
            .into_any(),
            ParameterType::List | ParameterType::Struct => view! {
                <textarea
                    rows="3"
                    spellcheck="false"
                    data-testid=testid
                    class:invalid=flag(move || local_err.with(Option::is_some))
                    placeholder=hint
                    prop:value=text(move || draft.get())
                    on:input=move |ev| on_text(event_target_value(&ev))
                ></textarea>
            }
            .into_any(),
            ParameterType::TaskFinalStatus => view! {
                <div class="field-note" data-testid=testid>"Filled in by KFP with the status of the pipeline's tasks."</div>
            }
            .into_any(),
            _ => view! {
                <input
                    type="text"
                    spellcheck="false"
                    inputmode=match ty {
                        ParameterType::NumberInteger => "numeric",
                        ParameterType::NumberDouble => "decimal",
                        _ => "text",
                    }
                    data-testid=testid
                    class:invalid=flag(move || local_err.with(Option::is_some))
                    placeholder=hint
                    prop:value=text(move || draft.get())
                    on:input=move |ev| on_text(event_target_value(&ev))
                />
            }
            .into_any(),
        }
    };

    // What a special binding (a loop item, a task's status…) shows instead of the editor: the
    // editor is drawn again only when this changes, not on every character typed.
    let special_text = Memo::new(move |_| special(binding.get().as_ref()));
    let testid = format!("prop-{port}");
    move || {
        if let Some((_, from)) = wired_from.get() {
            return view! {
                <div class="wired" data-testid=format!("{testid}-wired")>
                    <span>"wired from "<b>{from}</b></span>
                    <button class="link" data-testid=format!("{testid}-unwire") on:click=unwire>"Disconnect"</button>
                </div>
            }
            .into_any();
        }
        if let Some(text) = special_text.get() {
            return view! {
                <div class="wired" data-testid=format!("{testid}-special")>
                    <span>{text}</span>
                    <button class="link" data-testid=format!("{testid}-clear") on:click=clear.clone()>"Clear"</button>
                </div>
            }
            .into_any();
        }
        let m = mode.get();
        let err_view = {
            let err_id = format!("{testid}-error");
            move || {
                local_err.get().map(
                    |e| view! { <div class="field-error" data-testid=err_id.clone()>{e}</div> },
                )
            }
        };
        let picker = (m == Mode::Parameter).then(|| {
            let on_param = on_param.clone();
            view! {
                <select
                    class="grow"
                    aria-label="Pipeline parameter"
                    data-testid=format!("{testid}-param")
                    prop:value=text(move || match binding.get() {
                        Some(Binding::Parameter(p)) => p,
                        _ => String::new(),
                    })
                    on:change=on_param
                >
                    <option value="">"— choose a pipeline parameter —"</option>
                    {move || params.get().into_iter().map(|(name, tyname, fits)| {
                        let label = if fits { format!("{name} ({tyname})") } else { format!("{name} ({tyname}, incompatible)") };
                        view! { <option value=name.clone() disabled=!fits>{label}</option> }
                    }).collect_view()}
                </select>
            }
        });
        let none_fit = (m == Mode::Parameter).then(|| view! {
            <Show when=move || params.with(|p| !p.iter().any(|p| p.2))>
                <div class="field-note">"No pipeline parameter of this type yet: add one in the Pipeline tab."</div>
            </Show>
        });
        view! {
            <div class="binding">
                <select
                    class="mode"
                    aria-label="Set by"
                    data-testid=format!("{testid}-mode")
                    prop:value=text(move || if mode.get() == Mode::Parameter { "parameter" } else { "value" }.to_string())
                    on:change=on_mode.clone()
                >
                    <option value="value">"Value"</option>
                    <option value="parameter">"Parameter"</option>
                    {move || specials.get().0.map(|_| view! { <option value="loop">"Loop item"</option> })}
                    {move || (ty == ParameterType::TaskFinalStatus && specials.get().1.is_some())
                        .then(|| view! { <option value="status">"Final status"</option> })}
                </select>
                {picker}
                <button class="icon" title="Clear (use the default)" data-testid=format!("{testid}-clear") on:click=clear.clone()>"×"</button>
            </div>
            {(m == Mode::Value).then(value_editor.clone())}
            {none_fit}
            {err_view}
        }
        .into_any()
    }
}
