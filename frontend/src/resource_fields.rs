//! A task's resource fields set from values (KFP's "string machine fields": CPU and memory
//! limits and requests, accelerator type and count, the image): each is a node input of
//! [`pipeline::names::TASK_CONFIG_INPUTS`] holding a placeholder that reads a
//! `pipelinechannel--…` input, which is bound to a pipeline parameter or wired to a task
//! output. The properties panel shows them as resource fields, each bound to a source picked
//! from a list, rather than as raw inputs; part of the `props` chunk.

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

/// The resource fields of node `id` set from values: (input, the channel input it reads, the
/// key of its current source).
pub fn fields(doc: &Document, id: &str) -> Vec<(String, String, String)> {
    let Some(n) = doc.node(id) else {
        return Vec::new();
    };
    TASK_CONFIG_INPUTS
        .iter()
        .filter_map(|input| {
            let Some(Binding::Value(v)) = n.inputs.get(input) else {
                return None;
            };
            let channel = placeholder_input(v)?.to_string();
            let source = match n.inputs.get(&channel) {
                Some(Binding::Parameter(p)) => parameter_key(p),
                _ => doc
                    .wires
                    .iter()
                    .find(|w| w.to.node == id && w.to.port == channel)
                    .map(|w| output_key(&w.from.node, &w.from.port))
                    .unwrap_or_default(),
            };
            Some((input.to_string(), channel, source))
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

/// Binds the channel input `channel` of node `id` to the source `key` (from [`sources`]): a
/// pipeline parameter or a wire from a task output, replacing what it was bound to.
pub fn bind(doc: &mut Document, id: &str, channel: &str, key: &str) {
    let wire = key
        .strip_prefix("out:")
        .and_then(|rest| rest.split_once(':'));
    let param = key.strip_prefix("param:");
    if wire.is_none() && param.is_none() {
        return;
    }
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
            port: channel.to_string(),
        },
    });
    let Some(n) = doc.node_mut(id) else { return };
    match param {
        Some(p) => {
            n.inputs
                .insert(channel.to_string(), Binding::Parameter(p.to_string()));
        }
        None => {
            n.inputs.remove(channel);
        }
    }
    doc.wires.extend(new_wire);
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
            .map(|(input, channel, current)| {
                let id = id.clone();
                let on_change = move |ev: web_sys::Event| {
                    let key = event_target_value(&ev);
                    st.edit(|d| bind(d, &id, &channel, &key));
                };
                let opts = options
                    .get()
                    .into_iter()
                    .map(|(key, text)| {
                        let selected = key == current;
                        view! { <option value=key selected=selected>{text}</option> }
                    })
                    .collect_view();
                view! {
                    <label class="field">
                        <div class="field-label"><span class="field-name">{label(&input).to_string()}</span></div>
                        <select data-testid=format!("prop-resource-{input}") on:change=on_change>
                            <option value="" selected=current.is_empty()>"— not bound —"</option>
                            {opts}
                        </select>
                    </label>
                }
            })
            .collect_view()
    };
    view! {
        <Show when=move || !rows.with(Vec::is_empty)>
            <section data-testid="resource-fields">
                <h3>"Resources"</h3>
                <p class="field-desc">"Set from a pipeline parameter or a task's output when the task runs."</p>
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

    #[test]
    fn resource_fields_are_found_with_their_source() {
        assert_eq!(
            fields(&doc(), "n1"),
            vec![(
                "cpu_limit".to_string(),
                "pipelinechannel--cpu".to_string(),
                "param:cpu".to_string()
            )]
        );
        assert!(fields(&doc(), "n2").is_empty());
    }

    #[test]
    fn binding_moves_between_a_parameter_and_a_task_output() {
        let mut d = doc();
        bind(&mut d, "n1", "pipelinechannel--cpu", "out:n2:Output");
        assert_eq!(
            d.node("n1")
                .and_then(|n| n.inputs.get("pipelinechannel--cpu")),
            None
        );
        assert_eq!(fields(&d, "n1")[0].2, "out:n2:Output");
        assert_eq!(d.wires.len(), 1);
        bind(&mut d, "n1", "pipelinechannel--cpu", "param:big_cpu");
        assert!(d.wires.is_empty(), "the wire is replaced");
        assert_eq!(fields(&d, "n1")[0].2, "param:big_cpu");
        // An unknown key changes nothing.
        bind(&mut d, "n1", "pipelinechannel--cpu", "");
        assert_eq!(fields(&d, "n1")[0].2, "param:big_cpu");
    }
}
