//! The Properties tab: fields of the selected node, condition group or wire.

use leptos::prelude::*;
use pipeline::ir::ExecutorSpec;
use pipeline::{GroupKind, PortType};
use wasm_split_helpers::wasm_split;

use crate::chunks::{self, Unloaded};
use crate::group_editors::{ExitEditor, LoopEditor};
use crate::input_field::InputField;
use crate::kubernetes_section::KubernetesSection;
use crate::layout;
use crate::node_view::messages;
use crate::resource_fields::ResourceFields;
use crate::state::{flag, text, use_state, Drag, Selection};

/// The Properties tab.
#[component]
pub fn PropertiesPanel() -> impl IntoView {
    let st = use_state();
    // While tasks are being moved, the panel keeps what it shows (nothing, when the press that
    // started the drag opened this tab): building a task's editors, and fetching the props
    // chunk the first time, would cost the drag its first frames. It follows on the release.
    let sel = Memo::new(move |prev: Option<&Selection>| {
        let moving = st.drag.with(|d| matches!(d, Some(Drag::Move { .. })));
        match prev {
            Some(p) if moving => p.clone(),
            None if moving => Selection::None,
            _ => st.selection.get(),
        }
    });
    move || {
        match sel.get() {
        Selection::None => view! {
            <div class="panel-empty" data-testid="properties-empty">
                <p>"Select a task, a condition or a wire to edit it."</p>
                <p class="muted">"Pipeline name, root and parameters are in the Pipeline tab. Press ? for the keyboard shortcuts."</p>
            </div>
        }
        .into_any(),
        sel => chunks::view(selection_panel(sel)),
    }
    }
}

// The property editors are the `props` chunk, fetched the first time something is selected
// (or the Pipeline tab opens): the editor starts without them.

/// The editor of what is selected, from the props chunk.
#[wasm_split(props, fallible)]
fn selection_panel(sel: Selection) -> Result<AnyView, Unloaded> {
    Ok(match sel {
        Selection::Node(id) => view! { <NodeProperties id=id /> }.into_any(),
        Selection::Group(id) => view! { <GroupProperties id=id /> }.into_any(),
        Selection::Wire(id) => view! { <WireProperties id=id /> }.into_any(),
        Selection::Many(items) => view! {
            <div class="panel-empty" data-testid="properties-many">
                <p>{format!("{} items selected.", items.len())}</p>
                <p class="muted">"Drag one to move them all; Delete removes them; Ctrl+C copies them."</p>
            </div>
        }
        .into_any(),
        Selection::None => ().into_any(),
    })
}

/// The Pipeline tab, from the props chunk.
#[wasm_split(props, fallible)]
pub fn pipeline_panel() -> Result<AnyView, Unloaded> {
    Ok(view! { <crate::parameters::PipelinePanel /> }.into_any())
}

/// A short, read-only description of how a component runs.
fn executor_summary(c: &pipeline::ComponentDef) -> String {
    match &c.executor {
        Some(ExecutorSpec::Container(c)) => format!("container {}", c.image),
        Some(ExecutorSpec::Importer(_)) => "importer".to_string(),
        Some(ExecutorSpec::Resolver(_)) => "resolver".to_string(),
        Some(ExecutorSpec::CustomJob(_)) => "Vertex custom job".to_string(),
        None if c.pipeline.is_some() => "a nested pipeline".to_string(),
        None => "no executor".to_string(),
    }
}

/// Fields of a node.
#[component]
fn NodeProperties(id: String) -> impl IntoView {
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
    let node_diags = {
        let id = id.clone();
        Memo::new(move |_| {
            st.analysis.with(|a| {
                messages(&a.diagnostics, |d| {
                    d.node.as_deref() == Some(id.as_str()) && d.port.is_none()
                })
            })
        })
    };
    // What to type to add a "run after" dependency, and the tasks whose names match it (a
    // few: a pipeline may have thousands of tasks).
    let after_query = RwSignal::new(String::new());
    let after_matches = {
        let id = id.clone();
        Memo::new(move |_| {
            let q = after_query.get().trim().to_ascii_lowercase();
            if q.is_empty() {
                return Vec::new();
            }
            st.doc.with_untracked(|d| {
                let after = d.node(&id).map(|n| n.after.clone()).unwrap_or_default();
                d.nodes
                    .iter()
                    .filter(|n| n.id != id && !after.contains(&n.id))
                    .filter(|n| n.name.to_ascii_lowercase().contains(&q))
                    .take(8)
                    .map(|n| (n.id.clone(), n.name.clone()))
                    .collect::<Vec<_>>()
            })
        })
    };
    let edit_node = {
        let id = id.clone();
        move |field: &str, f: Box<dyn FnOnce(&mut pipeline::Node)>| {
            st.edit_typing(&format!("{id}/{field}"), |d| {
                if let Some(n) = d.node_mut(&id) {
                    f(n);
                }
            })
        }
    };

    let on_name = {
        let edit_node = edit_node.clone();
        move |ev: web_sys::Event| {
            let v = event_target_value(&ev);
            edit_node("name", Box::new(move |n| n.name = v));
        }
    };
    let on_display = {
        let edit_node = edit_node.clone();
        move |ev: web_sys::Event| {
            let v = event_target_value(&ev);
            edit_node(
                "display",
                Box::new(move |n| {
                    n.display_name = (!v.trim().is_empty()).then_some(v);
                }),
            );
        }
    };
    let on_caching = {
        let id = id.clone();
        move |ev: web_sys::Event| {
            let v = event_target_checked(&ev);
            st.edit(|d| {
                if let Some(n) = d.node_mut(&id) {
                    n.caching = v;
                }
            });
        }
    };

    let inputs = {
        let id = id.clone();
        move || {
            comp.get().map(|c| {
                let rows = layout::input_ports(&c)
                    .into_iter()
                    .map(|p| {
                        let (default, description) = match &p.ty {
                            PortType::Parameter(_) => c
                                .input_definitions
                                .parameters
                                .get(&p.name)
                                .map(|s| (s.default_value.clone(), s.description.clone()))
                                .unwrap_or_default(),
                            PortType::Artifact(..) => (
                                None,
                                c.input_definitions
                                    .artifacts
                                    .get(&p.name)
                                    .and_then(|a| a.description.clone()),
                            ),
                        };
                        view! { <InputField node=id.clone() info=p default=default description=description /> }
                    })
                    .collect_view();
                let outs = layout::output_ports(&c)
                    .into_iter()
                    .map(|p| {
                        view! {
                            <li><span class="mono">{p.name.clone()}</span><span class="field-type">{p.ty.label()}</span></li>
                        }
                    })
                    .collect_view();
                let none_in = c.input_definitions.is_empty().then(|| view! { <p class="muted">"No inputs."</p> });
                let none_out = c.output_definitions.is_empty().then(|| view! { <p class="muted">"No outputs."</p> });
                view! {
                    <section>
                        <h3>"Inputs"</h3>
                        {none_in}
                        {rows}
                    </section>
                    <section>
                        <h3>"Outputs"</h3>
                        {none_out}
                        <ul class="out-list">{outs}</ul>
                    </section>
                    <section class="component-info">
                        <h3>"Component"</h3>
                        <div class="kv"><span>"Name"</span><span class="mono">{c.name.clone()}</span></div>
                        <div class="kv"><span>"Runs"</span><span class="mono">{executor_summary(&c)}</span></div>
                        {c.description.clone().map(|d| view! { <p class="muted pre">{d}</p> })}
                    </section>
                }
            })
        }
    };

    let set_after = {
        let id = id.clone();
        move |other: String, on: bool| {
            st.edit(|d| {
                if let Some(n) = d.node_mut(&id) {
                    n.after.retain(|a| *a != other);
                    if on {
                        n.after.push(other.clone());
                    }
                }
            });
        }
    };
    let after = {
        let set_after = set_after.clone();
        move || {
            let list = node.with(|n| n.as_ref().map(|n| n.after.clone()).unwrap_or_default());
            if list.is_empty() {
                return view! { <p class="muted">"Only after the tasks it takes inputs from."</p> }
                    .into_any();
            }
            list.into_iter()
                .map(|other| {
                    let name = st.doc.with_untracked(|d| d.node(&other).map_or(other.clone(), |n| n.name.clone()));
                    let set_after = set_after.clone();
                    let gone = other.clone();
                    view! {
                        <span class="chip" data-testid=format!("prop-after-{other}")>
                            <span class="mono">{name.clone()}</span>
                            <button class="link" aria-label=format!("Do not wait for {name}") on:click=move |_| set_after(gone.clone(), false)>"×"</button>
                        </span>
                    }
                })
                .collect_view()
                .into_any()
        }
    };
    let after_suggestions = move || {
        after_matches
            .get()
            .into_iter()
            .map(|(other, name)| {
                let set_after = set_after.clone();
                view! {
                    <button class="chip" data-testid=format!("prop-after-add-{other}") on:click=move |_| {
                        set_after(other.clone(), true);
                        after_query.set(String::new());
                    }>{format!("+ {name}")}</button>
                }
            })
            .collect_view()
    };

    view! {
        <div class="props" data-testid="node-properties" data-node-id=id.clone()>
            <div class="props-title">
                <span class="kind-badge">"Task"</span>
                <span class="mono muted">{id.clone()}</span>
            </div>
            <Show when=move || !node_diags.with(String::is_empty)>
                <div class="field-error block">{node_diags}</div>
            </Show>
            <label class="field">
                <div class="field-label"><span class="field-name">"Task name"</span></div>
                <input
                    type="text"
                    spellcheck="false"
                    data-testid="prop-node-name"
                    prop:value=text(move || node.with(|n| n.as_ref().map(|n| n.name.clone()).unwrap_or_default()))
                    on:input=on_name
                />
            </label>
            <label class="field">
                <div class="field-label"><span class="field-name">"Display name"</span></div>
                <input
                    type="text"
                    data-testid="prop-display-name"
                    placeholder=text(move || node.with(|n| n.as_ref().map(|n| n.name.clone()).unwrap_or_default()))
                    prop:value=text(move || node.with(|n| n.as_ref().and_then(|n| n.display_name.clone()).unwrap_or_default()))
                    on:input=on_display
                />
            </label>
            <label class="check">
                <input
                    type="checkbox"
                    data-testid="prop-caching"
                    prop:checked=flag(move || node.with(|n| n.as_ref().is_some_and(|n| n.caching)))
                    on:change=on_caching
                />
                <span>"Enable caching"</span>
            </label>
            {inputs}
            <ResourceFields id=id.clone() />
            <KubernetesSection id=id.clone() />
            <section>
                <h3>"Run after"</h3>
                <div class="after-list chips" data-testid="prop-after">{after}</div>
                <input
                    type="search"
                    data-testid="prop-after-search"
                    placeholder="Also wait for task…"
                    aria-label="Add a task to wait for"
                    prop:value=text(move || after_query.get())
                    on:input=move |ev| after_query.set(event_target_value(&ev))
                />
                <div class="chips">{after_suggestions}</div>
            </section>
            <div class="props-actions">
                <button class="danger" data-testid="btn-delete-node" on:click=move |_| st.delete_selection()>"Delete task"</button>
            </div>
        </div>
    }
}

/// The editable kinds of frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Condition,
    Loop,
    Exit,
    Other,
}

impl Frame {
    fn label(self) -> &'static str {
        match self {
            Frame::Condition => "Condition",
            Frame::Loop => "Loop",
            Frame::Exit => "Exit handler",
            Frame::Other => "Group",
        }
    }
}

/// The loop items a condition inside loops can read: `item` for the innermost loop and
/// `item(g)` for the outer ones, or their fields when the items are written-out dicts.
fn loop_operands(d: &pipeline::Document, group: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut at = d.group(group).and_then(|g| g.parent.clone());
    let mut innermost = true;
    // Bounded: a broken document could hold a cycle of parents.
    for _ in 0..d.groups.len() {
        let Some(g) = at.as_deref().and_then(|id| d.group(id)) else {
            break;
        };
        if let GroupKind::Loop { items, .. } = &g.kind {
            let name = if innermost {
                "item".to_string()
            } else {
                format!("item({})", g.id)
            };
            innermost = false;
            let fields: Vec<String> = match items {
                pipeline::document::LoopItems::Raw(text) => {
                    match serde_json::from_str::<serde_json::Value>(text) {
                        Ok(serde_json::Value::Array(a)) => a
                            .first()
                            .and_then(|v| v.as_object())
                            .map(|o| o.keys().cloned().collect())
                            .unwrap_or_default(),
                        _ => Vec::new(),
                    }
                }
                _ => Vec::new(),
            };
            for f in &fields {
                out.push((
                    format!("{name}['{f}']"),
                    "a field of the loop's item".to_string(),
                ));
            }
            if fields.is_empty() {
                out.push((name, "the loop's item".to_string()));
            }
        }
        at = g.parent.clone();
    }
    out
}

/// Fields of a group frame.
#[component]
fn GroupProperties(id: String) -> impl IntoView {
    let st = use_state();
    let group = {
        let id = id.clone();
        Memo::new(move |_| st.doc.with(|d| d.group(&id).cloned()))
    };
    let errors = {
        let id = id.clone();
        Memo::new(move |_| {
            st.analysis
                .with(|a| messages(&a.diagnostics, |d| d.group.as_deref() == Some(id.as_str())))
        })
    };
    // What a condition may read: task outputs (parameters), pipeline parameters, loop items.
    let operands = Memo::new({
        let id = id.clone();
        move |_| {
            st.doc.with(|d| {
                let mut out: Vec<(String, String)> = Vec::new();
                for n in &d.nodes {
                    if let Some(c) = d.component_of(n) {
                        for (port, spec) in &c.output_definitions.parameters {
                            out.push((
                                format!("{}.{port}", n.name),
                                spec.parameter_type.python_name().to_string(),
                            ));
                        }
                    }
                }
                for p in &d.parameters {
                    out.push((p.name.clone(), p.ty.python_name().to_string()));
                }
                out.extend(loop_operands(d, &id));
                out
            })
        }
    });
    let expression = Memo::new(move |_| {
        group.with(|g| match g.as_ref().map(|g| &g.kind) {
            Some(GroupKind::Condition { expression }) => expression.clone(),
            _ => String::new(),
        })
    });
    let set_expr = {
        let id = id.clone();
        move |text: String| {
            st.edit_typing(&format!("{id}/expression"), |d| {
                if let Some(GroupKind::Condition { expression }) = d
                    .groups
                    .iter_mut()
                    .find(|g| g.id == id)
                    .map(|g| &mut g.kind)
                {
                    *expression = text;
                }
            })
        }
    };
    let on_display = {
        let id = id.clone();
        move |ev: web_sys::Event| {
            let v = event_target_value(&ev);
            st.edit_typing(&format!("{id}/display"), |d| {
                if let Some(g) = d.groups.iter_mut().find(|g| g.id == id) {
                    g.display_name = (!v.trim().is_empty()).then_some(v);
                }
            })
        }
    };
    let chips = {
        let set_expr = set_expr.clone();
        move || {
            operands
                .get()
                .into_iter()
                .map(|(text, ty)| {
                    let set_expr = set_expr.clone();
                    let insert = text.clone();
                    view! {
                        <button
                            class="chip"
                            title=format!("{ty} — click to add to the condition")
                            on:click=move |_| {
                                let cur = expression.get_untracked();
                                let sep = if cur.is_empty() || cur.ends_with(' ') { "" } else { " " };
                                set_expr(format!("{cur}{sep}{insert}"));
                            }
                        >
                            {text}
                        </button>
                    }
                })
                .collect_view()
        }
    };

    let frame = Memo::new(move |_| {
        group.with(|g| match g.as_ref().map(|g| &g.kind) {
            Some(GroupKind::Condition { .. }) => Frame::Condition,
            Some(GroupKind::Loop { .. }) => Frame::Loop,
            Some(GroupKind::ExitHandler { .. }) => Frame::Exit,
            _ => Frame::Other,
        })
    });
    let gid = id.clone();
    let kind_text = {
        let id = id.clone();
        Memo::new(move |_| {
            st.doc.with(|d| {
                d.group(&id)
                    .map(|g| {
                        let (k, detail, _) = crate::group_view::kind_label(d, &g.kind);
                        format!("{k} {detail}")
                    })
                    .unwrap_or_default()
            })
        })
    };
    let other_kind = move || {
        view! {
            <div class="field">
                <div class="field-label"><span class="field-name">"Kind"</span></div>
                <div class="field-note mono" data-testid="prop-group-kind">{kind_text}</div>
                <Show when=move || !errors.with(String::is_empty)>
                    <div class="field-error">{errors}</div>
                </Show>
            </div>
        }
    };
    let condition_editor = move || {
        let set_expr = set_expr.clone();
        let chips = chips.clone();
        view! {
            <label class="field" class:has-error=flag(move || !errors.with(String::is_empty))>
                <div class="field-label">
                    <span class="field-name">"Condition"</span>
                    <span class="required">"*"</span>
                </div>
                <textarea
                    rows="3"
                    spellcheck="false"
                    class="mono"
                    data-testid="prop-group-expression"
                    placeholder="e.g. get-training-job-details.eval_metric > eval_acc_threshold"
                    prop:value=text(move || expression.get())
                    on:input=move |ev| set_expr(event_target_value(&ev))
                ></textarea>
                <Show when=move || !errors.with(String::is_empty)>
                    <div class="field-error" data-testid="prop-group-expression-error">{errors}</div>
                </Show>
                <div class="field-desc">
                    "Compare task outputs (" <code>"task.output"</code> "), pipeline parameters and, inside a loop, its item ("
                    <code>"item"</code> ", " <code>"item['field']"</code> ") with "
                    <code>"== != < <= > >="</code> ", combine with " <code>"and or not"</code> "."
                </div>
            </label>
            <section>
                <h3>"Values you can use"</h3>
                <div class="chips">{chips}</div>
            </section>
        }
    };
    view! {
        <div class="props" data-testid="group-properties" data-group-id=id.clone()>
            <div class="props-title">
                <span class="kind-badge cond">{text(move || frame.get().label().to_string())}</span>
                <span class="mono muted">{id.clone()}</span>
            </div>
            <label class="field">
                <div class="field-label"><span class="field-name">"Display name"</span></div>
                <input
                    type="text"
                    data-testid="prop-group-display-name"
                    placeholder="e.g. model-deploy-decision"
                    prop:value=text(move || group.with(|g| g.as_ref().and_then(|g| g.display_name.clone()).unwrap_or_default()))
                    on:input=on_display
                />
            </label>
            {move || match frame.get() {
                Frame::Condition => condition_editor().into_any(),
                Frame::Loop => chunks::view(loop_editor(gid.clone())),
                Frame::Exit => chunks::view(exit_editor(gid.clone())),
                Frame::Other => other_kind().into_any(),
            }}
            <div class="props-actions">
                <button class="danger" data-testid="btn-delete-group" on:click=move |_| st.delete_selection()>"Delete frame"</button>
            </div>
        </div>
    }
}

/// Details of a wire.
#[component]
fn WireProperties(id: String) -> impl IntoView {
    let st = use_state();
    let info = {
        let id = id.clone();
        Memo::new(move |_| {
            st.doc.with(|d| {
                let w = d.wires.iter().find(|w| w.id == id)?;
                let side = |n: &str, port: &str, out: bool| {
                    let node = d.node(n);
                    let ty = node
                        .and_then(|x| d.component_of(x))
                        .and_then(|c| {
                            if out {
                                c.output_port(port)
                            } else {
                                c.input_port(port)
                            }
                        })
                        .map(|t| t.label())
                        .unwrap_or_else(|| "?".into());
                    let name = node.map_or(n.to_string(), |x| x.name.clone());
                    format!("{name}.{port} ({ty})")
                };
                Some((
                    side(&w.from.node, &w.from.port, true),
                    side(&w.to.node, &w.to.port, false),
                ))
            })
        })
    };
    let errors = {
        let id = id.clone();
        Memo::new(move |_| {
            st.analysis
                .with(|a| messages(&a.diagnostics, |d| d.wire.as_deref() == Some(id.as_str())))
        })
    };
    view! {
        <div class="props" data-testid="wire-properties">
            <div class="props-title">
                <span class="kind-badge">"Wire"</span>
                <span class="mono muted">{id.clone()}</span>
            </div>
            <div class="kv"><span>"From"</span><span class="mono">{text(move || info.get().map(|i| i.0).unwrap_or_default())}</span></div>
            <div class="kv"><span>"To"</span><span class="mono">{text(move || info.get().map(|i| i.1).unwrap_or_default())}</span></div>
            <Show when=move || !errors.with(String::is_empty)>
                <div class="field-error block">{errors}</div>
            </Show>
            <div class="props-actions">
                <button class="danger" data-testid="btn-delete-wire" on:click=move |_| st.delete_selection()>"Delete wire"</button>
            </div>
        </div>
    }
}

// The loop and exit-handler editors are the `frames` chunk, fetched the first time such a frame
// is selected.

/// The loop frame's editor, from the frames chunk.
#[wasm_split(frames, fallible)]
fn loop_editor(id: String) -> Result<AnyView, Unloaded> {
    Ok(view! { <LoopEditor id=id /> }.into_any())
}

/// The exit-handler frame's editor, from the frames chunk.
#[wasm_split(frames, fallible)]
fn exit_editor(id: String) -> Result<AnyView, Unloaded> {
    Ok(view! { <ExitEditor id=id /> }.into_any())
}
