//! The inputs of a run: parameter values given for a compiled pipeline, checked against its
//! root's input definitions, with defaults filled in. The local engine, the remote targets and
//! the command line all check a run's parameters here, before anything starts, and every
//! problem is reported at once ([`InputsError`]): each unknown, invalid or missing parameter
//! with its type and an example of a value that would do.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::ir::{ParameterType, PipelineSpec};
use crate::param_text::ParamTextError;

/// One thing wrong with a run's parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputProblem {
    /// A value for a parameter the pipeline does not have.
    #[error("the pipeline has no parameter {name:?}{}", known_text(.known))]
    Unknown {
        /// The name given.
        name: String,
        /// The pipeline's parameters.
        known: Vec<String>,
    },
    /// A value as text that is not of the parameter's type (the core's text rules).
    #[error("parameter {name:?} ({ty}): {error}", ty = .error.ty.python_name())]
    Text {
        /// The parameter.
        name: String,
        /// Why the text is not a value of its type.
        error: ParamTextError,
    },
    /// A JSON value of another type, or an int beyond 64 bits.
    #[error("parameter {name:?} ({ty}): {value} is not {what}; for example {name}={example}",
        ty = .ty.python_name(), what = type_phrase(*.ty), example = example(*.ty))]
    Value {
        /// The parameter.
        name: String,
        /// Its type.
        ty: ParameterType,
        /// The value given, as JSON (at most 40 characters, then `…`).
        value: String,
    },
    /// A required parameter without a value or a default.
    #[error("parameter {name:?} ({ty}) is required; for example {name}={example}",
        ty = .ty.python_name(), example = example(*.ty))]
    Missing {
        /// The parameter.
        name: String,
        /// Its type.
        ty: ParameterType,
    },
    /// An input artifact of the pipeline, which a run cannot be given.
    #[error("the pipeline takes the artifact {0:?} as input, which local runs cannot provide yet")]
    Artifact(String),
}

fn known_text(known: &[String]) -> String {
    if known.is_empty() {
        " (it takes no parameters)".into()
    } else {
        format!("; its parameters are {}", known.join(", "))
    }
}

/// The type as a noun phrase: `a whole number within 64 bits`, `a bool`.
fn type_phrase(ty: ParameterType) -> &'static str {
    match ty {
        ParameterType::NumberInteger => "a whole number within 64 bits",
        ParameterType::NumberDouble => "a number",
        ParameterType::String => "a string",
        ParameterType::Boolean => "true or false",
        ParameterType::List => "a list",
        ParameterType::Struct => "a dict",
        ParameterType::TaskFinalStatus => "a value anyone can give (KFP fills it in)",
    }
}

/// A valid value of the type, as text.
pub fn example(ty: ParameterType) -> &'static str {
    match ty {
        ParameterType::NumberInteger => "42",
        ParameterType::NumberDouble => "0.5",
        ParameterType::String => "text",
        ParameterType::Boolean => "true",
        ParameterType::List => "[1, 2]",
        ParameterType::Struct => "{\"key\": \"value\"}",
        ParameterType::TaskFinalStatus => "(filled in by KFP)",
    }
}

/// Every problem with a run's parameters, in the order of the given values, then of the
/// pipeline's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputsError {
    /// The problems; never empty.
    pub problems: Vec<InputProblem>,
}

impl std::fmt::Display for InputsError {
    /// One problem on its own; several as a count and one line (`  - …`) each.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} problems with the parameters:", many.len())?;
                for p in many {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for InputsError {}

/// A JSON value quoted in a message: at most 40 characters, then `…`.
fn quoted(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// Whether `value` is an int of the 64 bits KFP's ints have (a whole float within them too,
/// as JSON has one kind of number).
fn int_fits(value: &Value) -> bool {
    // 2^63: the first float beyond i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    value.as_i64().is_some()
        || value
            .as_f64()
            .is_some_and(|f| f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f))
}

fn accepts(ty: ParameterType, value: &Value) -> bool {
    ty.accepts(value) && (ty != ParameterType::NumberInteger || int_fits(value))
}

/// Checks `given` parameter values against `spec`'s pipeline inputs and fills in defaults:
/// every given name must be a parameter, of its type (a `null` stands for "unset"; ints within
/// 64 bits); every required parameter must be given; a pipeline that needs an input artifact
/// cannot run locally. Every problem is reported, each naming its parameter and type.
pub fn check(
    spec: &PipelineSpec,
    given: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, InputsError> {
    check_with(spec, given, Vec::new())
}

/// Like [`check`], for values typed as text (`--param NAME=VALUE`): each is read by the
/// parameter's type with [`ParameterType::parse_text`], the canvas's rules, and what does not
/// read is reported with the other problems.
pub fn check_text(
    spec: &PipelineSpec,
    given: &[(String, String)],
) -> Result<BTreeMap<String, Value>, InputsError> {
    let defs = spec.root.input_definitions.as_ref();
    let mut values = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, text) in given {
        match defs.and_then(|d| d.parameters.get(name)) {
            Some(p) => match p.parameter_type.parse_text(text) {
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
                Err(error) => problems.push(InputProblem::Text {
                    name: name.clone(),
                    error,
                }),
            },
            // Reported by the check of the values, with the pipeline's parameter names.
            None => {
                values.insert(name.clone(), Value::String(text.clone()));
            }
        }
    }
    check_with(spec, &values, problems)
}

fn check_with(
    spec: &PipelineSpec,
    given: &BTreeMap<String, Value>,
    mut problems: Vec<InputProblem>,
) -> Result<BTreeMap<String, Value>, InputsError> {
    let defs = spec.root.input_definitions.clone().unwrap_or_default();
    let unreadable: Vec<String> = problems
        .iter()
        .filter_map(|p| match p {
            InputProblem::Text { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    let mut values = BTreeMap::new();
    for (name, value) in given {
        let Some(p) = defs.parameters.get(name) else {
            problems.push(InputProblem::Unknown {
                name: name.clone(),
                known: defs.parameters.keys().cloned().collect(),
            });
            continue;
        };
        if !value.is_null() && !accepts(p.parameter_type, value) {
            problems.push(InputProblem::Value {
                name: name.clone(),
                ty: p.parameter_type,
                value: quoted(value),
            });
            continue;
        }
        values.insert(name.clone(), value.clone());
    }
    for (name, p) in &defs.parameters {
        if values.contains_key(name) || given.contains_key(name) || unreadable.contains(name) {
            continue;
        }
        match &p.default_value {
            Some(d) => {
                values.insert(name.clone(), d.clone());
            }
            None if p.is_optional => {}
            None => problems.push(InputProblem::Missing {
                name: name.clone(),
                ty: p.parameter_type,
            }),
        }
    }
    for (name, a) in &defs.artifacts {
        if !a.is_optional {
            problems.push(InputProblem::Artifact(name.clone()));
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(InputsError { problems })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec() -> PipelineSpec {
        serde_json::from_value(json!({
            "pipelineInfo": {"name": "p"},
            "root": {"dag": {"tasks": {}}, "inputDefinitions": {"parameters": {
                "eval_acc_threshold": {"parameterType": "NUMBER_DOUBLE"},
                "epochs": {"parameterType": "NUMBER_INTEGER"},
                "items": {"parameterType": "LIST"},
                "name": {"parameterType": "STRING", "defaultValue": "n"},
                "note": {"parameterType": "STRING", "isOptional": true}
            }}},
            "schemaVersion": "2.1.0"
        }))
        .expect("spec")
    }

    fn text(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_missing_parameter_is_reported_at_once() {
        let e = check(&spec(), &BTreeMap::new()).expect_err("missing");
        assert_eq!(
            e.to_string(),
            "3 problems with the parameters:\n  \
             - parameter \"epochs\" (int) is required; for example epochs=42\n  \
             - parameter \"eval_acc_threshold\" (float) is required; for example \
             eval_acc_threshold=0.5\n  \
             - parameter \"items\" (list) is required; for example items=[1, 2]"
        );
    }

    #[test]
    fn text_values_read_by_type_and_all_problems_come_together() {
        let e = check_text(
            &spec(),
            &text(&[
                ("epochs", "99999999999999999999999"),
                ("items", "notalist"),
                ("x", "1"),
            ]),
        )
        .expect_err("problems");
        assert_eq!(
            e.to_string(),
            "4 problems with the parameters:\n  \
             - parameter \"epochs\" (int): \"99999999999999999999999\" is not an int: it is \
             outside -9223372036854775808 to 9223372036854775807; write a whole number such \
             as 42\n  \
             - parameter \"items\" (list): \"notalist\" is not a list: expected a JSON list \
             like [1, 2] (invalid JSON at character 2)\n  \
             - the pipeline has no parameter \"x\"; its parameters are epochs, \
             eval_acc_threshold, items, name, note\n  \
             - parameter \"eval_acc_threshold\" (float) is required; for example \
             eval_acc_threshold=0.5"
        );
        let ok = check_text(
            &spec(),
            &text(&[
                ("epochs", "3"),
                ("items", "[1]"),
                ("eval_acc_threshold", "1"),
            ]),
        )
        .expect("valid");
        assert_eq!(
            serde_json::to_value(&ok).expect("JSON"),
            json!({"epochs": 3, "eval_acc_threshold": 1.0, "items": [1], "name": "n"})
        );
    }

    #[test]
    fn json_values_are_checked_by_type_and_range() {
        let given: BTreeMap<String, Value> = [
            ("epochs", json!(1e23)),
            ("items", json!("abc")),
            ("eval_acc_threshold", json!(0.9)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let e = check(&spec(), &given).expect_err("problems");
        assert_eq!(
            e.problems,
            vec![
                InputProblem::Value {
                    name: "epochs".into(),
                    ty: ParameterType::NumberInteger,
                    value: "1e+23".into()
                },
                InputProblem::Value {
                    name: "items".into(),
                    ty: ParameterType::List,
                    value: "\"abc\"".into()
                },
            ]
        );
        assert_eq!(
            e.problems[0].to_string(),
            "parameter \"epochs\" (int): 1e+23 is not a whole number within 64 bits; for \
             example epochs=42"
        );
        // One problem reads as one sentence.
        let mut one = given.clone();
        one.insert("epochs".into(), json!(3));
        one.insert("items".into(), json!([]));
        one.insert("zz".into(), json!(1));
        let e = check(&spec(), &one).expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "the pipeline has no parameter \"zz\"; its parameters are epochs, \
             eval_acc_threshold, items, name, note"
        );
        one.remove("zz");
        assert!(check(&spec(), &one).is_ok());
    }
}
