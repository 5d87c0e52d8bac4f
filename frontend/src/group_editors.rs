//! Property editors of loop and exit-handler frames: what a loop iterates over and how many
//! iterations run at once; which task an exit handler runs at the end.

use leptos::prelude::*;
use pipeline::condition::{self, Expr, Operand};
use pipeline::document::LoopItems;
use pipeline::ir::ParameterType;
use pipeline::{Document, GroupKind, PortRef, PortType};

use crate::state::{text, use_state};

/// How loop items read in the editor: a JSON list, a parameter name or `task.output`.
pub fn items_text(doc: &Document, items: &LoopItems) -> String {
    items.text(doc)
}

/// Reads what the user typed for the items of loop `group`: `[…]` is a literal list,
/// `item(<loop id>)` or `item(<loop id>)['field']` (an enclosing loop's item or a field of it;
/// plain `item` is the innermost enclosing loop's), `task.output` a task's output, anything
/// else a pipeline parameter (validation reports what does not exist or is not a list).
pub fn parse_items(doc: &Document, group: &str, text: &str) -> LoopItems {
    let t = text.trim();
    if t.starts_with('[') || t.is_empty() {
        return LoopItems::Raw(if t.is_empty() { "[]".into() } else { t.into() });
    }
    if let Ok(Expr::Truthy(Operand::LoopItem {
        group: outer,
        field,
    })) = condition::parse(t)
    {
        if let Some(outer) = outer.or_else(|| enclosing_loops(doc, group).into_iter().next()) {
            return LoopItems::LoopItem {
                group: outer,
                field,
            };
        }
    }
    if let Some((task, port)) = t.split_once('.') {
        if let Some(n) = doc.nodes.iter().find(|n| n.name == task) {
            return LoopItems::Output(PortRef {
                node: n.id.clone(),
                port: port.to_string(),
            });
        }
    }
    LoopItems::Parameter(t.to_string())
}

/// The loops around group `group`, innermost first.
fn enclosing_loops(doc: &Document, group: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = doc.group(group).and_then(|g| g.parent.clone());
    // Bounded: a broken document could hold a cycle of parents.
    for _ in 0..doc.groups.len() {
        let Some(g) = at.as_deref().and_then(|id| doc.group(id)) else {
            break;
        };
        if matches!(g.kind, GroupKind::Loop { .. }) {
            out.push(g.id.clone());
        }
        at = g.parent.clone();
    }
    out
}

/// Lists a loop may iterate over: list parameters and artifact lists, of the pipeline's inputs
/// and of task outputs.
fn list_sources(doc: &Document) -> Vec<String> {
    let is_list = |t: &PortType| {
        matches!(
            t,
            PortType::Parameter(ParameterType::List) | PortType::Artifact(_, true)
        )
    };
    let inputs = doc
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .chain(doc.artifact_inputs.iter().map(|a| a.name.as_str()));
    let mut out: Vec<String> = inputs
        .filter(|name| doc.input_type(name).as_ref().is_some_and(is_list))
        .map(str::to_string)
        .collect();
    for n in &doc.nodes {
        if let Some(c) = doc.component_of(n) {
            let ports = c
                .output_definitions
                .parameters
                .keys()
                .chain(c.output_definitions.artifacts.keys());
            for port in ports {
                if c.output_port(port).as_ref().is_some_and(is_list) {
                    out.push(format!("{}.{port}", n.name));
                }
            }
        }
    }
    out
}

/// The loop frame's fields.
#[component]
pub fn LoopEditor(id: String) -> impl IntoView {
    let st = use_state();
    let gid = id.clone();
    let (items, parallelism) = {
        let id = id.clone();
        let cur = Memo::new(move |_| {
            st.doc.with(|d| match d.group(&id).map(|g| &g.kind) {
                Some(GroupKind::Loop {
                    items, parallelism, ..
                }) => (items_text(d, items), *parallelism),
                _ => (String::new(), None),
            })
        });
        (
            Memo::new(move |_| cur.get().0),
            Memo::new(move |_| cur.get().1),
        )
    };
    let update = {
        let id = id.clone();
        move |f: &dyn Fn(&Document, &mut LoopItems, &mut Option<i64>)| {
            st.edit(|d| {
                let snapshot = d.clone();
                if let Some(GroupKind::Loop {
                    items, parallelism, ..
                }) = d
                    .groups
                    .iter_mut()
                    .find(|g| g.id == id)
                    .map(|g| &mut g.kind)
                {
                    f(&snapshot, items, parallelism);
                }
            })
        }
    };
    let on_items = {
        let update = update.clone();
        let gid = gid.clone();
        move |ev: web_sys::Event| {
            let v = event_target_value(&ev);
            update(&|d, items, _| *items = parse_items(d, &gid, &v));
            // As the document reads it (`item` → `item(<loop id>)`), also when that is what it
            // was already, so the field never keeps text that means something else.
            event_target::<web_sys::HtmlInputElement>(&ev).set_value(&items.get_untracked());
        }
    };
    let on_parallelism = {
        let update = update.clone();
        move |ev: web_sys::Event| {
            let v = event_target_value(&ev);
            let n = v.trim().parse::<i64>().ok();
            update(&|_, _, p| *p = n);
        }
    };
    // The type of one item of a parameter or task-output list (the spec only says `LIST`).
    let item_type = {
        let id = id.clone();
        Memo::new(move |_| {
            st.doc.with(|d| match d.group(&id).map(|g| &g.kind) {
                Some(GroupKind::Loop {
                    items: LoopItems::Raw(_),
                    ..
                }) => None,
                Some(GroupKind::Loop { item_type, .. }) => {
                    Some(item_type.map_or("str", |t| t.python_name()))
                }
                _ => None,
            })
        })
    };
    let on_item_type = {
        let id = id.clone();
        move |ev: web_sys::Event| {
            let v = event_target_value(&ev);
            let t = ParameterType::parse(&v).filter(|t| *t != ParameterType::String);
            st.edit(|d| {
                if let Some(GroupKind::Loop { item_type, .. }) = d
                    .groups
                    .iter_mut()
                    .find(|g| g.id == id)
                    .map(|g| &mut g.kind)
                {
                    *item_type = t;
                }
            })
        }
    };
    // The lists of the pipeline, then the items of the loops around this one.
    let sources = {
        let id = id.clone();
        Memo::new(move |_| {
            st.doc.with(|d| {
                let mut out = list_sources(d);
                out.extend(
                    enclosing_loops(d, &id)
                        .into_iter()
                        .map(|g| format!("item({g})")),
                );
                out
            })
        })
    };
    let chips = move || {
        let update = update.clone();
        sources
            .get()
            .into_iter()
            .map(|s| {
                let update = update.clone();
                let gid = gid.clone();
                let pick = s.clone();
                view! {
                    <button
                        class="chip"
                        title="a list — click to loop over it"
                        on:click=move |_| update(&|d, items, _| *items = parse_items(d, &gid, &pick))
                    >
                        {s}
                    </button>
                }
            })
            .collect_view()
    };
    view! {
        <label class="field">
            <div class="field-label">
                <span class="field-name">"For each item of"</span>
                <span class="required">"*"</span>
            </div>
            <input
                type="text"
                spellcheck="false"
                class="mono"
                data-testid="prop-loop-items"
                placeholder="[1, 2, 3] · a list parameter · task.output · item(loop)['field']"
                prop:value=text(move || items.get())
                on:change=on_items
            />
            <div class="field-desc">
                "A JSON list, a pipeline parameter of type list, a task's list output, or an enclosing
                 loop's item or one of its fields (item(for-loop-1)['children']). Tasks inside
                 read the current item through an input set to “loop item”."
            </div>
        </label>
        <Show when=move || item_type.get().is_some()>
            <label class="field">
                <div class="field-label"><span class="field-name">"Item type"</span></div>
                <select
                    data-testid="prop-loop-item-type"
                    prop:value=move || item_type.get().unwrap_or("str")
                    on:change=on_item_type.clone()
                >
                    {["str", "int", "float", "bool", "dict", "list"]
                        .map(|t| view! { <option value=t>{t}</option> })}
                </select>
                <div class="field-desc">
                    "The type of one item (" <code>"List[int]"</code> " → int): conditions and inputs
                     read the item as this type."
                </div>
            </label>
        </Show>
        <label class="field">
            <div class="field-label"><span class="field-name">"Parallelism"</span></div>
            <input
                type="number"
                min="1"
                data-testid="prop-loop-parallelism"
                placeholder="unlimited"
                prop:value=text(move || parallelism.get().map(|p| p.to_string()).unwrap_or_default())
                on:change=on_parallelism
            />
        </label>
        <section>
            <h3>"Lists you can use"</h3>
            <div class="chips">{chips}</div>
        </section>
    }
}

/// The exit handler frame's exit task: one of the tasks beside the frame.
#[component]
pub fn ExitEditor(id: String) -> impl IntoView {
    let st = use_state();
    let state = {
        let id = id.clone();
        Memo::new(move |_| {
            st.doc.with(|d| {
                let Some(g) = d.group(&id) else {
                    return (String::new(), Vec::new());
                };
                let chosen = match &g.kind {
                    GroupKind::ExitHandler { exit_node } => exit_node.clone(),
                    _ => String::new(),
                };
                let candidates = d
                    .nodes
                    .iter()
                    .filter(|n| n.group == g.parent)
                    .map(|n| (n.id.clone(), n.name.clone()))
                    .collect::<Vec<_>>();
                (chosen, candidates)
            })
        })
    };
    let on_change = {
        let id = id.clone();
        move |ev: web_sys::Event| {
            let v = event_target_value(&ev);
            st.edit(|d| {
                if let Some(GroupKind::ExitHandler { exit_node }) = d
                    .groups
                    .iter_mut()
                    .find(|g| g.id == id)
                    .map(|g| &mut g.kind)
                {
                    *exit_node = v.clone();
                }
            })
        }
    };
    let options = move || {
        let (chosen, candidates) = state.get();
        let none = view! { <option value="" selected=chosen.is_empty()>"— choose the exit task —"</option> };
        let rest = candidates
            .into_iter()
            .map(|(nid, name)| {
                let sel = nid == chosen;
                view! { <option value=nid selected=sel>{name}</option> }
            })
            .collect_view();
        (none, rest)
    };
    view! {
        <label class="field">
            <div class="field-label">
                <span class="field-name">"Exit task"</span>
                <span class="required">"*"</span>
            </div>
            <select data-testid="prop-exit-task" on:change=on_change>{options}</select>
            <div class="field-desc">
                "A task beside this frame (not inside it) that runs when the frame's tasks end, whether
                 they succeeded or failed. Its inputs may read the final status."
            </div>
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline::document::Group;

    fn nested() -> Document {
        let mut d = Document::new("p");
        let group = |id: &str, parent: Option<&str>| Group {
            id: id.to_string(),
            kind: GroupKind::Loop {
                items: LoopItems::Parameter("groups".into()),
                parallelism: None,
                item_input: None,
                item_type: None,
            },
            name: None,
            display_name: None,
            parent: parent.map(str::to_string),
            position: Default::default(),
            size: Default::default(),
        };
        d.groups.push(group("outer", None));
        d.groups.push(group("inner", Some("outer")));
        d
    }

    #[test]
    fn an_enclosing_loops_item_or_field_is_read_back_from_its_text() {
        let d = nested();
        let field = LoopItems::LoopItem {
            group: "outer".into(),
            field: Some("children".into()),
        };
        assert_eq!(parse_items(&d, "inner", &field.text(&d)), field);
        assert_eq!(parse_items(&d, "inner", "item['children']"), field);
        let whole = LoopItems::LoopItem {
            group: "outer".into(),
            field: None,
        };
        assert_eq!(parse_items(&d, "inner", "item(outer)"), whole);
        assert_eq!(parse_items(&d, "inner", " item "), whole);
        // Outside any loop, `item` names nothing: it is left to validation as a parameter.
        assert_eq!(
            parse_items(&d, "outer", "item"),
            LoopItems::Parameter("item".into())
        );
        assert_eq!(
            parse_items(&d, "inner", "[1, 2]"),
            LoopItems::Raw("[1, 2]".into())
        );
    }
}
