//! A task's inputs, resolved as the KFP driver does: from the DAG's inputs, constants, the
//! outputs of sibling tasks, the final status of a task, and expression selectors.

use std::collections::BTreeMap;

use pipeline::ir::{ComponentSpec, InputParameterSpec, PipelineTaskSpec};
use serde_json::{json, Value};

use super::{Finished, Outcome};
use crate::cel;
use crate::values::Io;

/// Where an input parameter's value comes from.
pub(super) enum Source<'d> {
    /// This value.
    Value(Value),
    /// Nowhere: the input is left out (an optional input, or one with a default).
    Absent,
    /// A task that has not produced it (it did not run, or did not succeed).
    Unavailable(&'d str),
}

/// A task's resolved inputs, and the inputs whose producer has no value for them (input name,
/// producer task).
pub(super) type Resolved<'d> = (Io, Vec<(&'d str, &'d str)>);

/// `io` with the input parameter defaults of `comp` for what it does not have.
pub fn with_defaults(mut io: Io, comp: &ComponentSpec) -> Io {
    if let Some(defs) = &comp.input_definitions {
        for (name, p) in &defs.parameters {
            if let Some(d) = &p.default_value {
                io.parameters
                    .entry(name.clone())
                    .or_insert_with(|| d.clone());
            }
        }
    }
    io
}

/// A constant in the deprecated typed form (`{"stringValue": "x"}`, `{"intValue": "3"}`).
fn typed_constant(v: &Value) -> Value {
    let Some(o) = v.as_object() else {
        return v.clone();
    };
    if let Some(s) = o.get("stringValue").or_else(|| o.get("string_value")) {
        return s.clone();
    }
    if let Some(i) = o.get("intValue").or_else(|| o.get("int_value")) {
        return match i {
            Value::String(s) => s.parse::<i64>().map(Value::from).unwrap_or(i.clone()),
            other => other.clone(),
        };
    }
    if let Some(d) = o.get("doubleValue").or_else(|| o.get("double_value")) {
        return d.clone();
    }
    v.clone()
}

/// The `dsl.PipelineTaskFinalStatus` of task `producer` that ended as `f`.
pub(super) fn final_status(job_resource_name: &str, producer: &str, f: &Finished) -> Value {
    let error = match f.outcome {
        Outcome::Failed | Outcome::Blocked | Outcome::Cancelled => json!({
            "code": 1,
            "message": f.error.clone().unwrap_or_else(|| format!("task {producer} failed")),
        }),
        _ => json!({}),
    };
    json!({
        "state": f.outcome.final_status(),
        "pipelineJobResourceName": job_resource_name,
        "pipelineTaskName": producer,
        "error": error,
    })
}

/// How deep [`fill_placeholders`] looks into lists and dicts.
const MAX_FILL_DEPTH: usize = 64;

/// Fills the placeholders `{{$.inputs.parameters['x']}}` of the task's inputs `given` in `v`,
/// looking `depth` levels into lists and dicts already (at most [`MAX_FILL_DEPTH`]): a string
/// that is one placeholder becomes the input's value, one that holds placeholders among text
/// gets their text. Placeholders of other inputs are left as they are.
fn fill_placeholders(v: &mut Value, given: &BTreeMap<String, Value>, depth: usize) {
    const OPEN: &str = "{{$.inputs.parameters['";
    const CLOSE: &str = "']}}";
    if depth > MAX_FILL_DEPTH {
        return;
    }
    match v {
        Value::String(s) if s.contains(OPEN) => {
            let whole = s
                .strip_prefix(OPEN)
                .and_then(|r| r.strip_suffix(CLOSE))
                .filter(|n| !n.contains(CLOSE))
                .and_then(|n| given.get(n));
            if let Some(value) = whole {
                *v = value.clone();
                return;
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(at) = rest.find(OPEN) {
                let (before, from) = rest.split_at(at);
                out.push_str(before);
                let inner = &from[OPEN.len()..];
                match inner.find(CLOSE) {
                    Some(end) => {
                        let name = &inner[..end];
                        match given.get(name) {
                            Some(Value::String(text)) => out.push_str(text),
                            Some(other) => out.push_str(&other.to_string()),
                            None => out.push_str(&from[..OPEN.len() + end + CLOSE.len()]),
                        }
                        rest = &inner[end + CLOSE.len()..];
                    }
                    None => {
                        out.push_str(from);
                        rest = "";
                    }
                }
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(items) => {
            for item in items {
                fill_placeholders(item, given, depth + 1);
            }
        }
        Value::Object(fields) => {
            for item in fields.values_mut() {
                fill_placeholders(item, given, depth + 1);
            }
        }
        _ => {}
    }
}

/// The tasks of a DAG that have ended, and what the DAG was given.
pub(super) struct Scope<'a, 'd> {
    /// The DAG's inputs.
    pub dag: &'a Io,
    /// Its tasks that have ended.
    pub done: &'a BTreeMap<&'d str, Finished>,
    /// The job's resource name (for final statuses).
    pub job_resource_name: &'a str,
}

impl<'d> Scope<'_, 'd> {
    /// Resolves task `t`'s inputs; also returns the inputs whose producer has no value for
    /// them. An error names the input that cannot be resolved.
    pub(super) fn resolve(&self, t: &'d PipelineTaskSpec) -> Result<Resolved<'d>, String> {
        let mut io = Io::default();
        let mut unavailable = Vec::new();
        let Some(inputs) = &t.inputs else {
            return Ok((io, unavailable));
        };
        let mut constants = Vec::new();
        for (name, p) in &inputs.parameters {
            if p.runtime_value
                .as_ref()
                .is_some_and(|r| r.constant.is_some())
            {
                constants.push(name);
            }
            let value = match self.parameter_source(name, p)? {
                Source::Value(v) => v,
                Source::Absent => continue,
                Source::Unavailable(producer) => {
                    unavailable.push((name.as_str(), producer));
                    continue;
                }
            };
            let value = match &p.parameter_expression_selector {
                Some(sel) if !sel.is_empty() => {
                    cel::select(sel, &value).map_err(|e| format!("input {name:?}: {e}"))?
                }
                _ => value,
            };
            io.parameters.insert(name.clone(), value);
        }
        // Constants that hold the task's other inputs (`[v]` in a loop: the SDK writes
        // `["{{$.inputs.parameters['pipelinechannel--x-loop-item']}}"]`). The KFP driver
        // resolves a constant that is one such placeholder; the engine also fills them inside
        // lists, dicts and text, where the SDK puts them too.
        let given = io.parameters.clone();
        for name in constants {
            if let Some(v) = io.parameters.get_mut(name.as_str()) {
                fill_placeholders(v, &given, 0);
            }
        }
        for (name, a) in &inputs.artifacts {
            if let Some(c) = &a.component_input_artifact {
                if let Some(list) = self.dag.artifacts.get(c) {
                    io.artifacts.insert(name.clone(), list.clone());
                }
            } else if let Some(o) = &a.task_output_artifact {
                match self.done.get(o.producer_task.as_str()) {
                    Some(f) if f.outcome.ok() => {
                        match f.outputs.artifacts.get(&o.output_artifact_key) {
                            Some(list) => {
                                io.artifacts.insert(name.clone(), list.clone());
                            }
                            None => {
                                return Err(format!(
                                    "input {name:?}: task {} has no output artifact {:?}",
                                    o.producer_task, o.output_artifact_key
                                ))
                            }
                        }
                    }
                    _ => unavailable.push((name.as_str(), o.producer_task.as_str())),
                }
            }
        }
        Ok((io, unavailable))
    }

    /// Where input parameter `name` (given as `p`) gets its value.
    pub(super) fn parameter_source(
        &self,
        name: &str,
        p: &'d InputParameterSpec,
    ) -> Result<Source<'d>, String> {
        let from_dag = |key: &str| {
            self.dag
                .parameters
                .get(key)
                .cloned()
                .map_or(Source::Absent, Source::Value)
        };
        if let Some(c) = &p.component_input_parameter {
            return Ok(from_dag(c));
        }
        if let Some(rv) = &p.runtime_value {
            if let Some(c) = &rv.constant {
                return Ok(Source::Value(c.clone()));
            }
            if let Some(c) = &rv.constant_value {
                return Ok(Source::Value(typed_constant(c)));
            }
            if let Some(r) = &rv.runtime_parameter {
                return Ok(from_dag(r));
            }
            return Ok(Source::Absent);
        }
        if let Some(o) = &p.task_output_parameter {
            return match self.done.get(o.producer_task.as_str()) {
                Some(f) if f.outcome.ok() => {
                    match f.outputs.parameters.get(&o.output_parameter_key) {
                        Some(v) => Ok(Source::Value(v.clone())),
                        None => Err(format!(
                            "input {name:?}: task {} has no output parameter {:?}",
                            o.producer_task, o.output_parameter_key
                        )),
                    }
                }
                _ => Ok(Source::Unavailable(&o.producer_task)),
            };
        }
        if let Some(s) = &p.task_final_status {
            return Ok(match self.done.get(s.producer_task.as_str()) {
                Some(f) => Source::Value(final_status(self.job_resource_name, &s.producer_task, f)),
                None => Source::Unavailable(&s.producer_task),
            });
        }
        Ok(Source::Absent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_constants_take_the_task_inputs() {
        let given: BTreeMap<String, Value> = [
            ("item".to_string(), json!("d")),
            ("n".to_string(), json!(3)),
        ]
        .into_iter()
        .collect();
        let mut v = json!({
            "list": ["{{$.inputs.parameters['item']}}", "{{$.inputs.parameters['n']}}"],
            "text": "n={{$.inputs.parameters['n']}}, {{$.inputs.parameters['other']}}",
            "broken": "x{{$.inputs.parameters['n",
        });
        fill_placeholders(&mut v, &given, 0);
        assert_eq!(
            v,
            json!({
                "list": ["d", 3],
                "text": "n=3, {{$.inputs.parameters['other']}}",
                "broken": "x{{$.inputs.parameters['n",
            })
        );
    }

    #[test]
    fn typed_constants_unwrap() {
        assert_eq!(typed_constant(&json!({"stringValue": "x"})), json!("x"));
        assert_eq!(typed_constant(&json!({"intValue": "3"})), json!(3));
        assert_eq!(typed_constant(&json!({"doubleValue": 2.5})), json!(2.5));
        assert_eq!(typed_constant(&json!(2)), json!(2));
    }
}
