//! The Pipeline tab: name, description, pipeline root and pipeline parameters.

use leptos::prelude::*;
use pipeline::ir::ParameterType;
use pipeline::PipelineParameter;

use crate::edit;
use crate::node_view::messages;
use crate::state::{flag, text, use_state};
use crate::values::{parse_value, placeholder, render_value, text_matches};

/// The Pipeline tab.
#[component]
pub fn PipelinePanel() -> impl IntoView {
    let st = use_state();
    let count = Memo::new(move |_| st.doc.with(|d| d.parameters.len()));
    let general_errors = Memo::new(move |_| {
        st.analysis.with(|a| {
            messages(&a.diagnostics, |d| {
                d.node.is_none() && d.wire.is_none() && d.group.is_none() && d.parameter.is_none()
            })
        })
    });
    let add = move |_| {
        st.edit(|d| {
            let name = edit::fresh_parameter_name(d);
            d.parameters.push(PipelineParameter {
                name,
                ty: ParameterType::String,
                default: None,
                description: None,
                optional: None,
            });
        })
    };
    view! {
        <div class="props" data-testid="pipeline-properties">
            <div class="props-title"><span class="kind-badge">"Pipeline"</span></div>
            <Show when=move || !general_errors.with(String::is_empty)>
                <div class="field-error block">{general_errors}</div>
            </Show>
            <label class="field">
                <div class="field-label"><span class="field-name">"Name"</span><span class="required">"*"</span></div>
                <input
                    type="text"
                    spellcheck="false"
                    data-testid="pipeline-name"
                    prop:value=text(move || st.doc.with(|d| d.name.clone()))
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        st.edit_typing("pipeline/name", |d| d.name = v);
                    }
                />
                <div class="field-desc">"Lowercase letters, digits and dashes (pipelineInfo.name)."</div>
            </label>
            <label class="field">
                <div class="field-label"><span class="field-name">"Description"</span></div>
                <textarea
                    rows="2"
                    data-testid="pipeline-description"
                    prop:value=text(move || st.doc.with(|d| d.description.clone().unwrap_or_default()))
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        st.edit_typing("pipeline/description", |d| d.description = (!v.trim().is_empty()).then_some(v));
                    }
                ></textarea>
            </label>
            <label class="field">
                <div class="field-label"><span class="field-name">"Pipeline root"</span></div>
                <input
                    type="text"
                    spellcheck="false"
                    data-testid="pipeline-root"
                    placeholder="gs://bucket/pipeline_root"
                    prop:value=text(move || st.doc.with(|d| d.pipeline_root.clone().unwrap_or_default()))
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        st.edit_typing("pipeline/root", |d| d.pipeline_root = (!v.trim().is_empty()).then_some(v));
                    }
                />
            </label>
            <section>
                <h3>"Parameters"</h3>
                <Show when=move || count.get() == 0>
                    <p class="muted">"No parameters. Parameters are the pipeline's run-time inputs; tasks can bind their inputs to them."</p>
                </Show>
                <div class="param-list" data-testid="param-list">
                    <For each=move || 0..count.get() key=|i| *i let:i>
                        <ParameterRow index=i />
                    </For>
                </div>
                <button data-testid="btn-add-param" on:click=add>"+ Add parameter"</button>
            </section>
        </div>
    }
}

/// One pipeline parameter: name, type, default, remove.
#[component]
fn ParameterRow(index: usize) -> impl IntoView {
    let st = use_state();
    let param = Memo::new(move |_| st.doc.with(|d| d.parameters.get(index).cloned()));
    let ty = Memo::new(move |_| param.with(|p| p.as_ref().map_or(ParameterType::String, |p| p.ty)));
    let errors = Memo::new(move |_| {
        let name = param.with(|p| p.as_ref().map(|p| p.name.clone()));
        st.analysis.with(|a| {
            messages(&a.diagnostics, |d| {
                d.parameter.is_some() && d.parameter == name
            })
        })
    });
    let draft = RwSignal::new(
        param
            .get_untracked()
            .and_then(|p| p.default)
            .map(|v| render_value(&v))
            .unwrap_or_default(),
    );
    let local_err = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let (t, stored) = param.with(|p| {
            p.as_ref()
                .map_or((ParameterType::String, None), |p| (p.ty, p.default.clone()))
        });
        if !text_matches(t, &draft.get_untracked(), stored.as_ref())
            && local_err.get_untracked().is_none()
        {
            draft.set(stored.map(|v| render_value(&v)).unwrap_or_default());
        }
    });
    let set_default = move |text: String| {
        draft.set(text.clone());
        match parse_value(ty.get_untracked(), &text) {
            Ok(v) => {
                local_err.set(None);
                st.edit_typing(&format!("param/{index}/default"), |d| {
                    if let Some(p) = d.parameters.get_mut(index) {
                        p.default = v;
                    }
                });
            }
            Err(e) => local_err.set(Some(e)),
        }
    };
    let on_type = move |ev: web_sys::Event| {
        let Some(t) = ParameterType::parse(&event_target_value(&ev)) else {
            return;
        };
        // Keep the default when it still fits the new type.
        let kept = parse_value(t, &draft.get_untracked());
        st.edit(|d| {
            if let Some(p) = d.parameters.get_mut(index) {
                p.ty = t;
                p.default = kept.clone().ok().flatten();
            }
        });
        local_err.set(kept.err());
    };
    view! {
        <div class="param-row" class:has-error=flag(move || !errors.with(String::is_empty)) data-testid=format!("param-{index}")>
            <div class="param-main">
                <input
                    type="text"
                    spellcheck="false"
                    class="mono"
                    data-testid=format!("param-{index}-name")
                    placeholder="name"
                    prop:value=text(move || param.with(|p| p.as_ref().map(|p| p.name.clone()).unwrap_or_default()))
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        st.edit_typing(&format!("param/{index}/name"), |d| edit::rename_parameter(d, index, &v));
                    }
                />
                <select
                    data-testid=format!("param-{index}-type")
                    aria-label="Type"
                    prop:value=text(move || ty.get().proto_name().to_string())
                    on:change=on_type
                >
                    {ParameterType::USER_TYPES
                        .iter()
                        .map(|t| view! { <option value=t.proto_name()>{t.python_name()}</option> })
                        .collect_view()}
                </select>
                <button
                    class="icon"
                    title="Remove parameter"
                    data-testid=format!("param-{index}-remove")
                    on:click=move |_| {
                        st.edit(|d| {
                            if index < d.parameters.len() {
                                d.parameters.remove(index);
                            }
                        });
                    }
                >
                    "×"
                </button>
            </div>
            <input
                type="text"
                spellcheck="false"
                class="param-default"
                class:invalid=flag(move || local_err.with(Option::is_some))
                data-testid=format!("param-{index}-default")
                placeholder=text(move || format!("default ({})", placeholder(ty.get(), None)))
                prop:value=text(move || draft.get())
                on:input=move |ev| set_default(event_target_value(&ev))
            />
            <Show when=move || local_err.with(Option::is_some)>
                <div class="field-error" data-testid=format!("param-{index}-error")>{text(move || local_err.get().unwrap_or_default())}</div>
            </Show>
            <Show when=move || !errors.with(String::is_empty)>
                <div class="field-error">{errors}</div>
            </Show>
        </div>
    }
}
