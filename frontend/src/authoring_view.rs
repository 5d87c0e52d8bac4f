//! The component editor (the `authoring` chunk): a form for a Python-function or container
//! component, its component file previewed live as the KFP SDK would write it (the server
//! writes it: `POST /api/components/preview`), saved to the user's library
//! (`POST /api/components`), where the palette lists it under User.
//!
//! The draft is kept in `localStorage` on every change, so closing the editor (✕, Escape) or
//! reloading the page loses nothing; a save clears it.
//!
//! A user component is edited by [`edit_component`] (✎ in the palette): its draft, read back
//! from its file by the server (`GET /api/components/{name}/draft`), opens in the editor with
//! *Replace* ticked; a different unsaved draft the editor held is put aside, to be restored.

use ::api::{ComponentPreview, SaveComponent, SavedComponent};
use leptos::prelude::*;
use pipeline::authoring::{ComponentDraft, DraftPort, Implementation, ARTIFACT_TYPES};
use wasm_split_helpers::wasm_split;

use crate::chunks::Unloaded;
use crate::state::{flag, text, AppState};

/// Where the draft is kept between openings.
const DRAFT_KEY: &str = "pipeline-canvas.component-draft";
/// The name of the user component the draft edits, when it edits one.
const EDITING_KEY: &str = "pipeline-canvas.component-draft-editing";
/// An unsaved draft put aside by [`edit_component`], until it is restored or discarded.
const ASIDE_KEY: &str = "pipeline-canvas.component-draft-aside";
/// How long the form must be still before the preview is asked for, in ms.
const PREVIEW_DELAY: i32 = 150;
/// The parameter types, by their Python names.
const PARAMETER_TYPES: [&str; 6] = ["str", "int", "float", "bool", "list", "dict"];

/// An input or output row of the form.
#[derive(Clone, Copy)]
struct Row {
    key: u32,
    name: RwSignal<String>,
    ty: RwSignal<String>,
    default: RwSignal<String>,
    /// The default is a blank string (loaded so, and its field not typed in since): kept,
    /// though a blank field otherwise means no default.
    blank_default: RwSignal<bool>,
}

/// The form's fields.
#[derive(Clone, Copy)]
struct Form {
    python: RwSignal<bool>,
    name: RwSignal<String>,
    description: RwSignal<String>,
    inputs: RwSignal<Vec<Row>>,
    outputs: RwSignal<Vec<Row>>,
    image: RwSignal<String>,
    packages: RwSignal<String>,
    body: RwSignal<String>,
    command: RwSignal<String>,
    args: RwSignal<String>,
    next_key: StoredValue<u32>,
}

/// Text split into one item per non-blank line.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

impl Form {
    fn new() -> Self {
        Form {
            python: RwSignal::new(true),
            name: RwSignal::new(String::new()),
            description: RwSignal::new(String::new()),
            inputs: RwSignal::new(Vec::new()),
            outputs: RwSignal::new(Vec::new()),
            image: RwSignal::new("python:3.11".into()),
            packages: RwSignal::new(String::new()),
            body: RwSignal::new(String::new()),
            command: RwSignal::new(String::new()),
            args: RwSignal::new(String::new()),
            next_key: StoredValue::new(0),
        }
    }

    fn row(&self, p: &DraftPort) -> Row {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        Row {
            key,
            name: RwSignal::new(p.name.clone()),
            ty: RwSignal::new(p.ty.clone()),
            default: RwSignal::new(p.default.clone().unwrap_or_default()),
            blank_default: RwSignal::new(p.default.as_ref().is_some_and(|d| d.trim().is_empty())),
        }
    }

    fn load(&self, d: &ComponentDraft) {
        self.name.set(d.name.clone());
        self.description.set(d.description.clone());
        self.inputs
            .set(d.inputs.iter().map(|p| self.row(p)).collect());
        self.outputs
            .set(d.outputs.iter().map(|p| self.row(p)).collect());
        match &d.implementation {
            Implementation::Python {
                base_image,
                packages,
                body,
            } => {
                self.python.set(true);
                self.image.set(base_image.clone());
                self.packages.set(packages.join("\n"));
                self.body.set(body.clone());
            }
            Implementation::Container {
                image,
                command,
                args,
            } => {
                self.python.set(false);
                self.image.set(image.clone());
                self.command.set(command.join("\n"));
                self.args.set(args.join("\n"));
            }
        }
    }

    /// The draft the form describes (tracked).
    fn draft(&self) -> ComponentDraft {
        let ports = |rows: RwSignal<Vec<Row>>| {
            rows.get()
                .iter()
                .map(|r| DraftPort {
                    name: r.name.get().trim().to_string(),
                    ty: r.ty.get(),
                    default: Some(r.default.get())
                        .filter(|d| r.blank_default.get() || !d.trim().is_empty()),
                })
                .collect()
        };
        let implementation = if self.python.get() {
            Implementation::Python {
                base_image: self.image.get(),
                packages: lines(&self.packages.get()),
                body: self.body.get(),
            }
        } else {
            Implementation::Container {
                image: self.image.get(),
                command: lines(&self.command.get()),
                args: lines(&self.args.get()),
            }
        };
        ComponentDraft {
            name: self.name.get().trim().to_string(),
            description: self.description.get(),
            inputs: ports(self.inputs),
            outputs: ports(self.outputs),
            implementation,
        }
    }
}

/// A draft kept in this browser under `key`.
fn stored_draft(key: &str) -> Option<ComponentDraft> {
    crate::autosave::local()
        .and_then(|s| s.get_item(key).ok().flatten())
        .and_then(|t| serde_json::from_str::<ComponentDraft>(&t).ok())
}

/// Whether a draft holds nothing typed (the form as it starts).
fn is_blank(d: &ComponentDraft) -> bool {
    let typed = match &d.implementation {
        Implementation::Python { packages, body, .. } => {
            !packages.is_empty() || !body.trim().is_empty()
        }
        Implementation::Container { command, args, .. } => !command.is_empty() || !args.is_empty(),
    };
    d.name.trim().is_empty()
        && d.description.trim().is_empty()
        && d.inputs.is_empty()
        && d.outputs.is_empty()
        && !typed
}

/// Opens user component `name` (its file `<name>.yaml` in the library) in the component
/// editor, to edit it and save it over its file.
pub fn edit_component(st: AppState, name: String) {
    crate::chunks::run(st, "open the component editor", edit_split(st, name));
}

/// [`edit_component`], from the `authoring` chunk: asks the server for the draft, puts aside
/// a different unsaved draft the editor holds, and opens the editor on the component.
#[wasm_split(authoring, fallible)]
fn edit_split(st: AppState, name: String) -> Result<(), Unloaded> {
    if !pipeline::authoring::is_function_name(&name) {
        st.error(format!(
            "Cannot edit {name}: only components saved by the component editor can be edited \
             (their file is named after their Python function)"
        ));
        return Ok(());
    }
    crate::api::get(
        format!("/api/components/{name}/draft"),
        move |r: Result<ComponentDraft, String>| {
            let draft = match r {
                Ok(d) => d,
                Err(e) => {
                    st.error(format!("Cannot edit {name}: {e}"));
                    return;
                }
            };
            let Some(s) = crate::autosave::local() else {
                st.error("Cannot edit the component: this browser keeps no local storage");
                return;
            };
            if let Some(held) = stored_draft(DRAFT_KEY) {
                if held != draft && !is_blank(&held) {
                    if let Ok(json) = serde_json::to_string(&held) {
                        let _ = s.set_item(ASIDE_KEY, &json);
                    }
                }
            }
            let Ok(json) = serde_json::to_string(&draft) else {
                return;
            };
            let _ = s.set_item(DRAFT_KEY, &json);
            let _ = s.set_item(EDITING_KEY, &name);
            // An open editor is opened afresh, on the stored draft.
            if st.authoring.get_untracked() {
                st.authoring.set(false);
                set_timeout(
                    move || {
                        st.authoring.try_set(true);
                    },
                    std::time::Duration::from_millis(0),
                );
            } else {
                st.authoring.set(true);
            }
        },
    );
    Ok(())
}

/// The component editor over the editor; closed by ✕ or Escape (the draft is kept).
#[wasm_split(authoring, fallible)]
pub fn authoring_view(st: AppState) -> Result<AnyView, Unloaded> {
    let form = Form::new();
    if let Some(d) = stored_draft(DRAFT_KEY) {
        form.load(&d);
    }
    let storage_item = |key: &str| {
        crate::autosave::local()
            .and_then(|s| s.get_item(key).ok().flatten())
            .filter(|t| !t.is_empty())
    };
    // The component being edited (saved over its file: Replace is ticked).
    let editing = RwSignal::new(storage_item(EDITING_KEY));
    let aside = RwSignal::new(stored_draft(ASIDE_KEY));
    let forget = |key: &str| {
        if let Some(s) = crate::autosave::local() {
            let _ = s.remove_item(key);
        }
    };
    let draft = Memo::new(move |_| form.draft());
    let preview = RwSignal::new(None::<Result<ComponentPreview, String>>);
    let replace = RwSignal::new(editing.get_untracked().is_some());
    let saving = RwSignal::new(false);
    let message = RwSignal::new(None::<String>);
    let asked = StoredValue::new(0u64);
    // Every change: keep the draft, and ask for the preview once the form is still.
    Effect::new(move |_| {
        let json = draft.with(|d| serde_json::to_string(d).unwrap_or_default());
        if let Some(s) = crate::autosave::local() {
            let _ = s.set_item(DRAFT_KEY, &json);
        }
        let n = asked.get_value() + 1;
        asked.set_value(n);
        set_timeout(
            move || {
                if asked.try_get_value() != Some(n) {
                    return;
                }
                crate::api::send(
                    "POST",
                    "/api/components/preview".into(),
                    json,
                    move |r: Result<ComponentPreview, String>| {
                        if asked.try_get_value() == Some(n) {
                            preview.try_set(Some(r));
                        }
                    },
                );
            },
            std::time::Duration::from_millis(PREVIEW_DELAY as u64),
        );
    });
    let problems = move || {
        preview.with(|p| match p {
            Some(Ok(p)) => p.problems.clone(),
            _ => Vec::new(),
        })
    };
    // Whether a problem names `field` (or a field inside it).
    let faulty = move |field: String| {
        preview.with(|p| {
            matches!(p, Some(Ok(p)) if p.problems.iter().any(|q| q.field == field
                || q.field.starts_with(&format!("{field}."))))
        })
    };
    let close = move || st.authoring.set(false);
    let save = move |_| {
        let body = SaveComponent {
            draft: draft.get_untracked(),
            replace: replace.get_untracked(),
        };
        let Ok(body) = serde_json::to_string(&body) else {
            return;
        };
        saving.set(true);
        message.set(None);
        crate::api::send(
            "POST",
            "/api/components".into(),
            body,
            move |r: Result<SavedComponent, String>| {
                saving.try_set(false);
                match r {
                    Ok(saved) => {
                        forget(DRAFT_KEY);
                        forget(EDITING_KEY);
                        crate::actions::load_catalog(st);
                        st.success(format!(
                            "Saved {} to your library ({}); it is in the palette under User.",
                            saved.id, saved.path
                        ));
                        st.authoring.set(false);
                    }
                    Err(e) => {
                        message.try_set(Some(format!("Not saved: {e}")));
                    }
                }
            },
        );
    };
    let can_save =
        move || !saving.get() && preview.with(|p| matches!(p, Some(Ok(p)) if p.yaml.is_some()));
    let yaml = move || {
        preview.with(|p| match p {
            None => "# Writing the component file…".to_string(),
            Some(Ok(ComponentPreview { yaml: Some(y), .. })) => y.clone(),
            Some(Ok(_)) => "# The component file is written once the problems are fixed.".into(),
            Some(Err(e)) => format!("# The server could not preview the component: {e}"),
        })
    };
    let python_source = move || {
        preview.with(|p| match p {
            Some(Ok(ComponentPreview {
                python: Some(s), ..
            })) => s.clone(),
            _ => String::new(),
        })
    };
    let field = move |label: &'static str,
                      id: &'static str,
                      value: RwSignal<String>,
                      placeholder: &'static str,
                      hint: &'static str| {
        view! {
            <label class="field" class:invalid=flag(move || faulty(id.to_string()))>
                <div class="field-label"><span class="field-name">{label}</span></div>
                <input
                    type="text"
                    spellcheck="false"
                    data-testid=format!("author-{id}")
                    placeholder=placeholder
                    prop:value=text(move || value.get())
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
                <div class="field-desc">{hint}</div>
            </label>
        }
    };
    let area = move |label: &'static str,
                     id: &'static str,
                     value: RwSignal<String>,
                     rows: &'static str,
                     placeholder: &'static str,
                     hint: &'static str| {
        view! {
            <label class="field" class:invalid=flag(move || faulty(id.to_string()))>
                <div class="field-label"><span class="field-name">{label}</span></div>
                <textarea
                    class="mono"
                    rows=rows
                    spellcheck="false"
                    data-testid=format!("author-{id}")
                    placeholder=placeholder
                    prop:value=text(move || value.get())
                    on:input=move |ev| value.set(event_target_value(&ev))
                ></textarea>
                <div class="field-desc">{hint}</div>
            </label>
        }
    };

    // The draft put aside: back in the form (as a new component), or dropped.
    let restore = move |_| {
        if let Some(d) = aside.get_untracked() {
            form.load(&d);
        }
        forget(ASIDE_KEY);
        forget(EDITING_KEY);
        aside.set(None);
        editing.set(None);
        replace.set(false);
    };
    let discard = move |_| {
        forget(ASIDE_KEY);
        aside.set(None);
    };
    let title = move || match editing.get() {
        Some(name) => format!("Edit component {name}"),
        None => "New component".to_string(),
    };

    Ok(view! {
        <div class="lineage-overlay authoring" data-testid="authoring-view" role="dialog" aria-label=title>
            <header class="lineage-bar">
                <h2 data-testid="author-title">{title}</h2>
                <div class="seg-group" role="group" aria-label="Kind">
                    <button class="seg" data-testid="author-kind-python"
                        aria-pressed=text(move || form.python.get().to_string())
                        class:active=flag(move || form.python.get())
                        on:click=move |_| {
                            if !form.python.get_untracked() {
                                form.python.set(true);
                                form.image.set("python:3.11".into());
                            }
                        }>"Python function"</button>
                    <button class="seg" data-testid="author-kind-container"
                        aria-pressed=text(move || (!form.python.get()).to_string())
                        class:active=flag(move || !form.python.get())
                        on:click=move |_| {
                            if form.python.get_untracked() {
                                form.python.set(false);
                                form.image.set(String::new());
                            }
                        }>"Container"</button>
                </div>
                <span class="spacer"></span>
                <button data-testid="author-close" aria-label="Close the component editor" title="Close (Esc); the draft is kept"
                    on:click=move |_| close()>"✕"</button>
            </header>
            <div class="authoring-body">
                <div class="authoring-form props">
                    {field("Name", "name", form.name, "train_model",
                        "The Python function name; the component is named with dashes (train-model).")}
                    <label class="field">
                        <div class="field-label"><span class="field-name">"Description"</span></div>
                        <textarea rows="2" data-testid="author-description"
                            prop:value=text(move || form.description.get())
                            on:input=move |ev| form.description.set(event_target_value(&ev))></textarea>
                    </label>
                    {port_table(form, true, faulty)}
                    {port_table(form, false, faulty)}
                    <Show when=move || form.python.get()
                        fallback=move || view! {
                            {field("Image", "image", form.image, "alpine:3.20", "The container image.")}
                            {area("Command", "command", form.command, "2", "sh\n-c",
                                "One item per line. {{name}} stands for an input's value or path, or an output's path.")}
                            {area("Arguments", "args", form.args, "4", "--data\n{{data}}\n--epochs={{epochs}}",
                                "One per line; {{name}} references as above; KFP placeholders ({{$.…}}) are kept.")}
                        }>
                        {field("Base image", "baseImage", form.image, "python:3.11", "The image the function runs in.")}
                        {area("Packages", "packages", form.packages, "2", "pandas==2.2.2",
                            "pip requirements, one per line, installed before the function runs.")}
                        {area("Function body", "body", form.body, "8", "return a + b",
                            "Inputs are arguments; artifacts have .path; return the value of an output named Output, or a tuple of the parameter outputs in order.")}
                        <div class="field">
                            <div class="field-label"><span class="field-name">"The function"</span></div>
                            <pre class="mono authoring-code" data-testid="author-python">{python_source}</pre>
                        </div>
                    </Show>
                </div>
                <div class="authoring-preview">
                    <ul class="authoring-problems" data-testid="author-problems">
                        {move || problems().into_iter().map(|p| view! {
                            <li class="field-error" data-testid="author-problem">
                                <span class="mono">{p.field}</span>": "{p.message}
                            </li>
                        }).collect_view()}
                    </ul>
                    <pre class="mono authoring-code" data-testid="author-yaml">{yaml}</pre>
                </div>
            </div>
            <footer class="authoring-foot">
                {move || aside.with(|a| a.as_ref().map(|d| {
                    let name = if d.name.trim().is_empty() { "untitled".to_string() } else { d.name.clone() };
                    view! {
                        <span class="small" data-testid="author-aside">
                            {format!("Your unsaved draft {name} was put aside. ")}
                            <button data-testid="author-restore" on:click=restore>"Restore it"</button>
                            <button data-testid="author-discard" on:click=discard>"Discard it"</button>
                        </span>
                    }
                }))}
                <span class="muted small" data-testid="author-message">{move || message.get()}</span>
                <label class="small">
                    <input type="checkbox" data-testid="author-replace"
                        prop:checked=flag(move || replace.get())
                        on:change=move |ev| replace.set(event_target_checked(&ev)) />
                    " Replace a component of this name"
                </label>
                <button class="primary" data-testid="author-save"
                    prop:disabled=flag(move || !can_save())
                    on:click=save>"Save to library"</button>
            </footer>
        </div>
    }
    .into_any())
}

/// The inputs or the outputs of the form.
fn port_table(
    form: Form,
    input: bool,
    faulty: impl Fn(String) -> bool + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let rows = if input { form.inputs } else { form.outputs };
    let side = if input { "input" } else { "output" };
    let title = if input { "Inputs" } else { "Outputs" };
    let add = move |_| {
        let ty = if input { "str" } else { "Artifact" };
        let n = rows.with_untracked(Vec::len) + 1;
        let row = form.row(&DraftPort {
            name: format!("{side}_{n}"),
            ty: ty.into(),
            default: None,
        });
        rows.update(|r| r.push(row));
    };
    view! {
        <div class="field">
            <div class="field-label"><span class="field-name">{title}</span></div>
            <For each=move || rows.get() key=|r| r.key let:row>
                {
                    let at = move || {
                        let i = rows.with(|v| v.iter().position(|r| r.key == row.key)).unwrap_or(0);
                        format!("{side}s[{i}]")
                    };
                    view! {
                        <div class="authoring-row" data-testid=format!("author-{side}")>
                            <input type="text" spellcheck="false" aria-label=format!("{title} name")
                                data-testid=format!("author-{side}-name")
                                class:invalid=flag(move || faulty(format!("{}.name", at())))
                                prop:value=text(move || row.name.get())
                                on:input=move |ev| row.name.set(event_target_value(&ev)) />
                            <select aria-label=format!("{title} type") data-testid=format!("author-{side}-type")
                                class:invalid=flag(move || faulty(format!("{}.type", at())))
                                on:change=move |ev| row.ty.set(event_target_value(&ev))>
                                {PARAMETER_TYPES.into_iter().chain(ARTIFACT_TYPES).map(|t| view! {
                                    <option value=t prop:selected=move || row.ty.get() == t>{t}</option>
                                }).collect_view()}
                            </select>
                            {input.then(|| view! {
                                <input type="text" spellcheck="false"
                                    placeholder=move || if row.blank_default.get() { "\"\" (an empty string)" } else { "default (optional)" }
                                    aria-label="Default value"
                                    data-testid="author-input-default"
                                    class:invalid=flag(move || faulty(format!("{}.default", at())))
                                    prop:value=text(move || row.default.get())
                                    on:input=move |ev| {
                                        row.blank_default.set(false);
                                        row.default.set(event_target_value(&ev));
                                    } />
                            })}
                            <button aria-label=format!("Remove this {side}") title="Remove"
                                data-testid=format!("author-{side}-remove")
                                on:click=move |_| rows.update(|r| r.retain(|x| x.key != row.key))>"✕"</button>
                        </div>
                    }
                }
            </For>
            <button data-testid=format!("author-add-{side}") on:click=add>{format!("+ Add {side}")}</button>
        </div>
    }
}
