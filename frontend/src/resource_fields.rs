//! A task's resource fields set from values (KFP's "string machine fields": CPU and memory
//! limits and requests, accelerator type and count, the image): each is a node input of
//! [`pipeline::names::TASK_CONFIG_INPUTS`] holding a placeholder that reads a
//! `pipelinechannel--…` input, which is bound to a pipeline parameter or wired to a task
//! output. The properties panel shows them as resource fields, each bound to a source picked
//! from a list or set to a constant (the task input then holds the value itself, which the
//! executor's placeholder reads the same way), rather than as raw inputs; part of the `props`
//! chunk.

use leptos::prelude::*;
use pipeline::document::Binding;
use pipeline::names::TASK_CONFIG_INPUTS;
use pipeline::{Document, PortRef, Wire};

use crate::state::use_state;

/// What a resource field is called in the panel.
fn label(input: &str) -> &str {
    match input {
        "accelerator_count" => "Accelerator count",
        "accelerator_type" => "Accelerator type",
        "base_image" => "Image",
        "cpu_limit" => "CPU limit",
        "cpu_request" => "CPU request",
        "memory_limit" => "Memory limit",
        "memory_request" => "Memory request",
        other => other,
    }
}

/// An example value of a resource field, shown in its empty box.
fn example(input: &str) -> &'static str {
    match input {
        "accelerator_count" => "e.g. 1",
        "accelerator_type" => "e.g. NVIDIA_TESLA_T4",
        "base_image" => "e.g. python:3.11",
        "cpu_limit" | "cpu_request" => "e.g. 4 or 500m",
        _ => "e.g. 16G",
    }
}

/// The input a placeholder (`{{$.inputs.parameters['pipelinechannel--cpu']}}`) reads.
fn placeholder_input(v: &serde_json::Value) -> Option<&str> {
    v.as_str()?
        .trim()
        .strip_prefix("{{$.inputs.parameters['")?
        .strip_suffix("']}}")
}

/// A source a resource field can be bound to, as the key of its option in the list.
fn parameter_key(name: &str) -> String {
    format!("param:{name}")
}

fn output_key(node: &str, port: &str) -> String {
    format!("out:{node}:{port}")
}

/// The key of the "constant" choice of a resource field.
const CONSTANT: &str = "const";

/// A resource field of a task, as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Its input (`cpu_limit`).
    pub input: String,
    /// The `pipelinechannel--…` input its placeholder reads; empty for a constant.
    pub channel: String,
    /// The key of its source (see [`sources`]), [`CONSTANT`], or empty when unbound.
    pub source: String,
    /// Its value when it is a constant.
    pub constant: String,
}

/// The resource fields of node `id` set from values or constants.
pub fn fields(doc: &Document, id: &str) -> Vec<Field> {
    let Some(n) = doc.node(id) else {
        return Vec::new();
    };
    TASK_CONFIG_INPUTS
        .iter()
        .filter_map(|input| {
            let Some(Binding::Value(v)) = n.inputs.get(input) else {
                return None;
            };
            let Some(channel) = placeholder_input(v) else {
                let constant = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                return Some(Field {
                    input: input.to_string(),
                    channel: String::new(),
                    source: CONSTANT.to_string(),
                    constant,
                });
            };
            let source = match n.inputs.get(channel) {
                Some(Binding::Parameter(p)) => parameter_key(p),
                _ => doc
                    .wires
                    .iter()
                    .find(|w| w.to.node == id && w.to.port == channel)
                    .map(|w| output_key(&w.from.node, &w.from.port))
                    .unwrap_or_default(),
            };
            Some(Field {
                input: input.to_string(),
                channel: channel.to_string(),
                source,
                constant: String::new(),
            })
        })
        .collect()
}

/// The sources a resource field of node `id` can be bound to: (key, text) for each pipeline
/// parameter and each parameter output of another task.
pub fn sources(doc: &Document, id: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = doc
        .parameters
        .iter()
        .map(|p| (parameter_key(&p.name), format!("parameter {}", p.name)))
        .collect();
    for n in doc.nodes.iter().filter(|n| n.id != id) {
        if let Some(c) = doc.component_of(n) {
            for port in c.output_definitions.parameters.keys() {
                out.push((output_key(&n.id, port), format!("{}.{port}", n.name)));
            }
        }
    }
    out
}

/// Binds resource field `input` of node `id` to the source `key` (from [`sources`]): a
/// pipeline parameter or a wire from a task output, replacing what it was bound to (a constant
/// included). Unknown keys change nothing.
pub fn bind(doc: &mut Document, id: &str, input: &str, key: &str) {
    let wire = key
        .strip_prefix("out:")
        .and_then(|rest| rest.split_once(':'));
    let param = key.strip_prefix("param:");
    if wire.is_none() && param.is_none() {
        return;
    }
    let Some(field) = fields(doc, id).into_iter().find(|f| f.input == input) else {
        return;
    };
    // Its own channel is rebound; a constant, or a field sharing its channel with another
    // input (the SDK reuses one channel per source), gets a channel of its own, named after
    // its new source as the KFP SDK names it.
    let channel = if !field.channel.is_empty() && !read_elsewhere(doc, id, input, &field.channel) {
        field.channel.clone()
    } else {
        let base = match (wire, param) {
            (Some((node, port)), _) => {
                let task = doc.node(node).map_or(node, |n| n.name.as_str());
                format!("pipelinechannel--{task}-{port}")
            }
            (None, p) => format!("pipelinechannel--{}", p.unwrap_or_default()),
        };
        free_channel(doc, id, base)
    };
    doc.wires
        .retain(|w| !(w.to.node == id && w.to.port == channel));
    let new_wire = wire.map(|(node, port)| Wire {
        id: doc.fresh_id("w"),
        from: PortRef {
            node: node.to_string(),
            port: port.to_string(),
        },
        to: PortRef {
            node: id.to_string(),
            port: channel.clone(),
        },
    });
    let Some(n) = doc.node_mut(id) else { return };
    n.inputs.insert(
        input.to_string(),
        Binding::Value(serde_json::Value::String(format!(
            "{{{{$.inputs.parameters['{channel}']}}}}"
        ))),
    );
    match param {
        Some(p) => {
            n.inputs
                .insert(channel.clone(), Binding::Parameter(p.to_string()));
        }
        None => {
            n.inputs.remove(&channel);
        }
    }
    doc.wires.extend(new_wire);
}

/// Whether an input of node `id` other than `input` reads `channel` through a placeholder.
fn read_elsewhere(doc: &Document, id: &str, input: &str, channel: &str) -> bool {
    let needle = format!("['{channel}']");
    doc.node(id).is_some_and(|n| {
        n.inputs.iter().any(|(k, b)| {
            k != input
                && matches!(b, Binding::Value(serde_json::Value::String(v)) if v.contains(&needle))
        })
    })
}

/// `base`, or `base-2`, `base-3`, … : the first name no input or wire of node `id` uses.
fn free_channel(doc: &Document, id: &str, base: String) -> String {
    let used = |name: &str| {
        doc.node(id).is_some_and(|n| n.inputs.contains_key(name))
            || doc
                .wires
                .iter()
                .any(|w| w.to.node == id && w.to.port == name)
    };
    if !used(&base) {
        return base;
    }
    (2..)
        .map(|i| format!("{base}-{i}"))
        .find(|c| !used(c))
        .unwrap_or(base)
}

/// Sets resource field `input` of node `id` to the constant `value` (`"4"`, `"16G"`,
/// `"NVIDIA_TESLA_T4"`): the task input holds it, and the channel it read from, with its
/// wire, goes. An empty value is refused with the reason.
pub fn set_constant(doc: &mut Document, id: &str, input: &str, value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{} needs a value", label(input)));
    }
    let Some(field) = fields(doc, id).into_iter().find(|f| f.input == input) else {
        return Err(format!("the task has no resource field {input:?}"));
    };
    // The channel goes unless another input reads it too.
    let drop_channel = !field.channel.is_empty() && !read_elsewhere(doc, id, input, &field.channel);
    if drop_channel {
        doc.wires
            .retain(|w| !(w.to.node == id && w.to.port == field.channel));
    }
    if let Some(n) = doc.node_mut(id) {
        if drop_channel {
            n.inputs.remove(&field.channel);
        }
        n.inputs.insert(
            input.to_string(),
            Binding::Value(serde_json::Value::String(value.to_string())),
        );
    }
    Ok(())
}

/// The resource fields of node `id` that are set from values, each with the list of what it
/// can be bound to.
#[component]
pub fn ResourceFields(id: String) -> impl IntoView {
    let st = use_state();
    let rows = {
        let id = id.clone();
        Memo::new(move |_| st.doc.with(|d| fields(d, &id)))
    };
    let options = {
        let id = id.clone();
        Memo::new(move |_| st.doc.with(|d| sources(d, &id)))
    };
    let list = move || {
        rows.get()
            .into_iter()
            .map(|f| {
                let Field {
                    input,
                    source,
                    constant,
                    ..
                } = f;
                // The value box shows for a constant, and once "a constant" is picked.
                let choosing = RwSignal::new(source == CONSTANT);
                let on_change = {
                    let (id, input) = (id.clone(), input.clone());
                    move |ev: web_sys::Event| {
                        let key = event_target_value(&ev);
                        choosing.set(key == CONSTANT);
                        if key != CONSTANT {
                            st.edit(|d| bind(d, &id, &input, &key));
                        }
                    }
                };
                let on_value = {
                    let (id, input) = (id.clone(), input.clone());
                    move |ev: web_sys::Event| {
                        let value = event_target_value(&ev);
                        if value.trim().is_empty() {
                            st.error(format!("{} needs a value", label(&input)));
                            return;
                        }
                        let mut result = Ok(());
                        st.edit(|d| result = set_constant(d, &id, &input, &value));
                        if let Err(e) = result {
                            st.error(e);
                        }
                    }
                };
                let opts = options
                    .get()
                    .into_iter()
                    .map(|(key, text)| {
                        let selected = key == source;
                        view! { <option value=key selected=selected>{text}</option> }
                    })
                    .collect_view();
                let value_id = format!("prop-resource-{input}-value");
                view! {
                    <label class="field">
                        <div class="field-label"><span class="field-name">{label(&input).to_string()}</span></div>
                        <select data-testid=format!("prop-resource-{input}") on:change=on_change>
                            <option value="" selected=source.is_empty() disabled=true>"— not bound —"</option>
                            <option value=CONSTANT selected=source == CONSTANT>"a constant"</option>
                            {opts}
                        </select>
                        <Show when=move || choosing.get()>
                            <input
                                type="text"
                                data-testid=value_id.clone()
                                prop:value=constant.clone()
                                placeholder=example(&input)
                                on:change=on_value.clone()
                            />
                        </Show>
                    </label>
                }
            })
            .collect_view()
    };
    view! {
        <Show when=move || !rows.with(Vec::is_empty)>
            <section data-testid="resource-fields">
                <h3>"Resources"</h3>
                <p class="field-desc">"A constant, or set from a pipeline parameter or a task's output when the task runs."</p>
                {list.clone()}
            </section>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline::Node;
    use serde_json::json;

    fn doc() -> Document {
        let mut d = Document::new("p");
        let mut n = Node::new("n1", "train", "c");
        n.inputs.insert(
            "cpu_limit".into(),
            Binding::Value(json!("{{$.inputs.parameters['pipelinechannel--cpu']}}")),
        );
        n.inputs.insert(
            "pipelinechannel--cpu".into(),
            Binding::Parameter("cpu".into()),
        );
        n.inputs.insert(
            "epochs".into(),
            Binding::Value(json!("{{$.inputs.parameters['x']}}")),
        );
        d.nodes.push(n);
        d.nodes.push(Node::new("n2", "pick", "c"));
        d
    }

    fn sources_of(d: &Document) -> Vec<String> {
        fields(d, "n1").into_iter().map(|f| f.source).collect()
    }

    #[test]
    fn resource_fields_are_found_with_their_source() {
        assert_eq!(
            fields(&doc(), "n1"),
            vec![Field {
                input: "cpu_limit".to_string(),
                channel: "pipelinechannel--cpu".to_string(),
                source: "param:cpu".to_string(),
                constant: String::new(),
            }]
        );
        assert!(fields(&doc(), "n2").is_empty());
    }

    #[test]
    fn binding_moves_between_a_parameter_and_a_task_output() {
        let mut d = doc();
        bind(&mut d, "n1", "cpu_limit", "out:n2:Output");
        assert_eq!(
            d.node("n1")
                .and_then(|n| n.inputs.get("pipelinechannel--cpu")),
            None
        );
        assert_eq!(sources_of(&d), ["out:n2:Output"]);
        assert_eq!(d.wires.len(), 1);
        bind(&mut d, "n1", "cpu_limit", "param:big_cpu");
        assert!(d.wires.is_empty(), "the wire is replaced");
        assert_eq!(sources_of(&d), ["param:big_cpu"]);
        // An unknown key changes nothing.
        bind(&mut d, "n1", "cpu_limit", "");
        assert_eq!(sources_of(&d), ["param:big_cpu"]);
    }

    #[test]
    fn a_field_becomes_a_constant_and_bound_again() {
        let mut d = doc();
        bind(&mut d, "n1", "cpu_limit", "out:n2:Output");
        assert_eq!(
            set_constant(&mut d, "n1", "cpu_limit", "  "),
            Err("CPU limit needs a value".to_string())
        );
        set_constant(&mut d, "n1", "cpu_limit", "4").unwrap();
        let f = &fields(&d, "n1")[0];
        assert_eq!((f.source.as_str(), f.constant.as_str()), (CONSTANT, "4"));
        assert!(d.wires.is_empty(), "the wire into the channel goes");
        let n = d.node("n1").unwrap();
        assert!(!n.inputs.contains_key("pipelinechannel--cpu"));
        // The document is valid and compiles with the constant as the task's input.
        let compiled = pipeline::compile(&d);
        assert!(
            compiled
                .diagnostics
                .iter()
                .all(|x| !x.is_error() || x.port.as_deref() != Some("cpu_limit")),
            "{:?}",
            compiled.diagnostics
        );
        // Bound again: a channel named after the new source, as the SDK names it.
        bind(&mut d, "n1", "cpu_limit", "param:cpu");
        let f = &fields(&d, "n1")[0];
        assert_eq!(f.channel, "pipelinechannel--cpu");
        assert_eq!(f.source, "param:cpu");
        bind(&mut d, "n1", "cpu_limit", "out:n2:Output");
        assert_eq!(sources_of(&d), ["out:n2:Output"]);
    }

    #[test]
    fn a_channel_two_fields_share_stays_for_the_other() {
        // CPU and memory limits from the same parameter read one channel, as the SDK writes.
        let mut d = doc();
        let placeholder = json!("{{$.inputs.parameters['pipelinechannel--cpu']}}");
        if let Some(n) = d.node_mut("n1") {
            n.inputs
                .insert("memory_limit".into(), Binding::Value(placeholder));
        }
        let source = |d: &Document, input: &str| {
            fields(d, "n1")
                .into_iter()
                .find(|f| f.input == input)
                .map(|f| f.source)
        };
        // Rebinding one gives it a channel of its own; the other keeps its source.
        bind(&mut d, "n1", "cpu_limit", "param:big_cpu");
        assert_eq!(source(&d, "cpu_limit").as_deref(), Some("param:big_cpu"));
        assert_eq!(source(&d, "memory_limit").as_deref(), Some("param:cpu"));
        // A constant for it drops its own channel only.
        bind(&mut d, "n1", "cpu_limit", "param:cpu");
        set_constant(&mut d, "n1", "cpu_limit", "2").unwrap();
        assert_eq!(source(&d, "memory_limit").as_deref(), Some("param:cpu"));
        assert_eq!(source(&d, "cpu_limit").as_deref(), Some(CONSTANT));
    }
}
