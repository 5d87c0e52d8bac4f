//! The inputs of a run: parameter values given for a compiled pipeline, checked against its
//! root's input definitions, with defaults filled in. The local engine, the remote targets and
//! the command line all check a run's parameters here, before anything starts.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::ir::PipelineSpec;

/// Checks `given` parameter values against `spec`'s pipeline inputs and fills in defaults:
/// every given name must be a parameter, of its type (a `null` stands for "unset"); every
/// required parameter must be given; a pipeline that needs an input artifact cannot run
/// locally. The message of an error says which parameter and what is wrong.
pub fn check(
    spec: &PipelineSpec,
    given: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, String> {
    let defs = spec.root.input_definitions.clone().unwrap_or_default();
    let mut values = BTreeMap::new();
    for (name, value) in given {
        let Some(p) = defs.parameters.get(name) else {
            let known: Vec<&str> = defs.parameters.keys().map(String::as_str).collect();
            return Err(if known.is_empty() {
                format!("the pipeline has no parameter {name:?} (it takes no parameters)")
            } else {
                format!(
                    "the pipeline has no parameter {name:?}; its parameters are {}",
                    known.join(", ")
                )
            });
        };
        if !value.is_null() && !p.parameter_type.accepts(value) {
            return Err(format!(
                "parameter {name:?} must be a {} value, not {value}",
                p.parameter_type.python_name()
            ));
        }
        values.insert(name.clone(), value.clone());
    }
    for (name, p) in &defs.parameters {
        if values.contains_key(name) {
            continue;
        }
        match &p.default_value {
            Some(d) => {
                values.insert(name.clone(), d.clone());
            }
            None if p.is_optional => {}
            None => {
                return Err(format!(
                    "parameter {name:?} ({}) is required",
                    p.parameter_type.python_name()
                ))
            }
        }
    }
    if let Some((name, _)) = defs.artifacts.iter().find(|(_, a)| !a.is_optional) {
        return Err(format!(
            "the pipeline takes the artifact {name:?} as input, which local runs cannot provide yet"
        ));
    }
    Ok(values)
}
