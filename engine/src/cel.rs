//! CEL, as KFP evaluates it: trigger conditions over `inputs.parameter_values['…']` and
//! parameter expression selectors (`parseJson(string_value)["field"]`).
//!
//! Parameter values are protobuf `Value`s in KFP, so every number is a double here too
//! (`int(…)` converts, and comparisons between ints and doubles work as in cel-go).
//!
//! Expressions come from specs, and the CEL parser recurses deeply (a few dozen nested
//! parentheses overflow a 2 MiB thread stack in a debug build, which aborts the process), so
//! expressions are evaluated on one thread with a large stack ([`CEL_STACK`]) and at most
//! [`MAX_EXPRESSION_LEN`] bytes long, a length that stack holds in any nesting.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Arc, OnceLock};

use cel::objects::Key;
use cel::{Context, ExecutionError, Program, Value as Cel};
use serde_json::Value;

/// Converts a JSON value to CEL, numbers as doubles.
fn to_cel(v: &Value) -> Cel {
    match v {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => Cel::Float(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(a) => Cel::List(Arc::new(a.iter().map(to_cel).collect())),
        Value::Object(o) => {
            let m: HashMap<Key, Cel> = o
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
                .collect();
            Cel::Map(m.into())
        }
    }
}

/// Converts a CEL result back to JSON.
fn from_cel(v: &Cel) -> Result<Value, String> {
    Ok(match v {
        Cel::Null => Value::Null,
        Cel::Bool(b) => Value::Bool(*b),
        Cel::Int(i) => Value::from(*i),
        Cel::UInt(u) => Value::from(*u),
        Cel::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Cel::String(s) => Value::String(s.to_string()),
        Cel::List(l) => Value::Array(l.iter().map(from_cel).collect::<Result<_, _>>()?),
        Cel::Map(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m.map.iter() {
                let key = match k {
                    Key::String(s) => s.to_string(),
                    Key::Int(i) => i.to_string(),
                    Key::Uint(u) => u.to_string(),
                    Key::Bool(b) => b.to_string(),
                };
                out.insert(key, from_cel(v)?);
            }
            Value::Object(out)
        }
        other => return Err(format!("the expression gave {other:?}, not a JSON value")),
    })
}

/// The longest CEL expression evaluated: longer ones are an error.
pub const MAX_EXPRESSION_LEN: usize = 2048;

/// The stack of the thread that evaluates CEL (reserved, touched only as deep as used).
pub const CEL_STACK: usize = 64 << 20;

type CelJob = Box<dyn FnOnce() + Send>;

/// Runs `f` on the CEL thread (started on first use) and returns its answer; a panic inside
/// the CEL crate becomes an error.
fn on_cel_thread<T: Send + 'static>(
    expr: &str,
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    if expr.len() > MAX_EXPRESSION_LEN {
        return Err(format!(
            "the CEL expression is {} bytes long; at most {MAX_EXPRESSION_LEN} are evaluated: {}…",
            expr.len(),
            expr.chars().take(80).collect::<String>()
        ));
    }
    static THREAD: OnceLock<Result<mpsc::Sender<CelJob>, String>> = OnceLock::new();
    let jobs = THREAD
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<CelJob>();
            std::thread::Builder::new()
                .name("pipeline-canvas-cel".into())
                .stack_size(CEL_STACK)
                .spawn(move || {
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                })
                .map(|_| tx)
                .map_err(|e| format!("cannot start the CEL evaluator: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)?;
    let (tx, rx) = mpsc::channel();
    let shown = expr.to_string();
    let job: CelJob = Box::new(move || {
        let answer = std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
            Err(format!(
                "the CEL expression {shown:?} could not be evaluated"
            ))
        });
        let _ = tx.send(answer);
    });
    jobs.send(job)
        .map_err(|_| "the CEL evaluator has stopped".to_string())?;
    rx.recv()
        .map_err(|_| "the CEL evaluator has stopped".to_string())?
}

fn compile(expr: &str) -> Result<Program, String> {
    Program::compile(expr).map_err(|e| format!("cannot parse CEL expression {expr:?}: {e}"))
}

fn parse_json(s: Arc<String>) -> Result<Cel, ExecutionError> {
    let v: Value = serde_json::from_str(&s)
        .map_err(|e| ExecutionError::function_error("parseJson", e.to_string()))?;
    Ok(to_cel(&v))
}

/// Evaluates a trigger condition against a task's resolved input parameters.
pub fn condition(expr: &str, parameters: &BTreeMap<String, Value>) -> Result<bool, String> {
    let (e, p) = (expr.to_string(), parameters.clone());
    on_cel_thread(expr, move || evaluate_condition(&e, &p))
}

fn evaluate_condition(expr: &str, parameters: &BTreeMap<String, Value>) -> Result<bool, String> {
    let program = compile(expr)?;
    let values: HashMap<Key, Cel> = parameters
        .iter()
        .map(|(k, v)| (Key::String(Arc::new(k.clone())), to_cel(v)))
        .collect();
    let mut inputs: HashMap<Key, Cel> = HashMap::new();
    inputs.insert(
        Key::String(Arc::new("parameter_values".into())),
        Cel::Map(values.into()),
    );
    let mut ctx = Context::default();
    ctx.add_variable_from_value("inputs", Cel::Map(inputs.into()));
    match program.execute(&ctx) {
        Ok(Cel::Bool(b)) => Ok(b),
        Ok(other) => Err(format!(
            "condition {expr:?} gave {other:?}, not true or false"
        )),
        Err(ExecutionError::NoSuchKey(k)) => Err(format!(
            "condition {expr:?} reads input {k:?}, which has no value"
        )),
        Err(e) => Err(format!("condition {expr:?} failed: {e}")),
    }
}

/// Applies a parameter expression selector (e.g. `parseJson(string_value)["a"]`) to a value.
/// The value is offered as `string_value` (a string, or the JSON text of anything else),
/// `number_value`, `bool_value`, `struct_value` and `list_value`, like the KFP driver does.
pub fn select(expr: &str, value: &Value) -> Result<Value, String> {
    let (e, v) = (expr.to_string(), value.clone());
    on_cel_thread(expr, move || evaluate_selector(&e, &v))
}

fn evaluate_selector(expr: &str, value: &Value) -> Result<Value, String> {
    let program = compile(expr)?;
    let mut ctx = Context::default();
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    ctx.add_variable_from_value("string_value", Cel::String(Arc::new(text)));
    if let Some(n) = value.as_f64() {
        ctx.add_variable_from_value("number_value", Cel::Float(n));
    }
    if let Some(b) = value.as_bool() {
        ctx.add_variable_from_value("bool_value", Cel::Bool(b));
    }
    if value.is_object() {
        ctx.add_variable_from_value("struct_value", to_cel(value));
    }
    if value.is_array() {
        ctx.add_variable_from_value("list_value", to_cel(value));
    }
    ctx.add_function("parseJson", parse_json)
        .map_err(|e| format!("cannot set up CEL: {e}"))?;
    let out = program
        .execute(&ctx)
        .map_err(|e| format!("selector {expr:?} failed on {value}: {e}"))?;
    from_cel(&out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn kfp_conditions_evaluate() {
        let p = params(&[
            ("pipelinechannel--flip-coin-Output", json!("heads")),
            ("pipelinechannel--random-num-Output", json!(7)),
            ("pipelinechannel--threshold", json!(2.0)),
            ("pipelinechannel--text", json!("it's")),
        ]);
        let yes = [
            "inputs.parameter_values['pipelinechannel--flip-coin-Output'] == 'heads'",
            "int(inputs.parameter_values['pipelinechannel--random-num-Output']) > 5",
            "!(inputs.parameter_values['pipelinechannel--flip-coin-Output'] == 'tails')",
            "int(inputs.parameter_values['pipelinechannel--random-num-Output']) > int(inputs.parameter_values['pipelinechannel--threshold'])",
            "inputs.parameter_values['pipelinechannel--text'] == 'it\\'s' && !(int(inputs.parameter_values['pipelinechannel--threshold']) < -1.5)",
            "inputs.parameter_values['pipelinechannel--random-num-Output'] == 7",
        ];
        for c in yes {
            assert_eq!(condition(c, &p), Ok(true), "{c}");
        }
        assert_eq!(
            condition(
                "int(inputs.parameter_values['pipelinechannel--random-num-Output']) <= 5",
                &p
            ),
            Ok(false)
        );
    }

    #[test]
    fn condition_errors_say_what_is_wrong() {
        let p = params(&[]);
        let e = condition("inputs.parameter_values['x'] == 1", &p).expect_err("missing");
        assert!(e.contains("\"x\""), "{e}");
        let e = condition("inputs.parameter_values[", &p).expect_err("syntax");
        assert!(e.contains("cannot parse"), "{e}");
        let e = condition("1 + 1", &p).expect_err("not a bool");
        assert!(e.contains("not true or false"), "{e}");
    }

    #[test]
    fn deep_and_long_expressions_are_errors_not_crashes() {
        // Each of these aborted the process with a stack overflow when parsed on a 2 MiB
        // thread (found by the property tests, `tests/engine_props.rs`).
        let half = MAX_EXPRESSION_LEN / 2;
        for expr in [
            format!("{}1{}", "(".repeat(30), ")".repeat(30)),
            format!("{}1{}", "(".repeat(half), ")".repeat(half)),
            format!("{}1{}", "[".repeat(half), "]".repeat(half)),
            format!("{}1{}", "int(".repeat(half / 4), ")".repeat(half / 4)),
            vec!["1"; half].join("+"),
            format!("a{}", "[0]".repeat(MAX_EXPRESSION_LEN / 3)),
        ] {
            let _ = condition(&expr, &BTreeMap::new());
            let _ = select(&expr, &Value::Null);
        }
        let long = vec!["1"; MAX_EXPRESSION_LEN].join("+");
        let e = condition(&long, &BTreeMap::new()).expect_err("too long");
        assert!(e.contains("at most 2048"), "{e}");
    }

    #[test]
    fn selectors_pick_fields_of_loop_items() {
        assert_eq!(
            select(
                r#"parseJson(string_value)["a"]"#,
                &json!({"a": 1, "b": "x"})
            ),
            Ok(json!(1.0))
        );
        assert_eq!(
            select(
                r#"parseJson(string_value)["b"]"#,
                &json!("{\"a\": 1, \"b\": \"x\"}")
            ),
            Ok(json!("x"))
        );
        assert_eq!(
            select("struct_value.b", &json!({"b": [1, 2]})),
            Ok(json!([1.0, 2.0]))
        );
    }
}
