//! Where two JSON values differ, for the tests that compare what we write with what an oracle
//! (the KFP SDK, the Vertex AI SDK, the original file) writes. Shared by the crates' tests
//! through `#[path]`, so there is one comparer.

use serde_json::Value;

/// How numbers compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // each test binary uses one
pub enum Numbers {
    /// As written: `1` differs from `1.0` (a file must come back byte for byte).
    Exact,
    /// By value: `1` equals `1.0`, as proto3 JSON readers take them.
    ByValue,
}

/// Every place where `ours` and `theirs` differ, as `path: what`, in document order.
pub fn differences(ours: &Value, theirs: &Value, numbers: Numbers) -> Vec<String> {
    let mut out = Vec::new();
    walk(ours, theirs, "", numbers, &mut out);
    out
}

fn walk(a: &Value, b: &Value, at: &str, numbers: Numbers, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if numbers == Numbers::ByValue => {
            if x.as_f64() != y.as_f64() {
                out.push(format!("{at}: ours {x} / theirs {y}"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => walk(p, q, &format!("{at}.{k}"), numbers, out),
                    (Some(p), None) => out.push(format!("{at}.{k}: only ours has {p}")),
                    (None, Some(q)) => out.push(format!("{at}.{k}: only theirs has {q}")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                walk(p, q, &format!("{at}[{i}]"), numbers, out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{at}: ours {a} / theirs {b}")),
    }
}
