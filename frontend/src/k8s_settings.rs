//! A task's Kubernetes settings ([`pipeline::Node::kubernetes`], in KFP's own camelCase form)
//! read and changed field by field for the properties panel's "Kubernetes" section: the lists
//! it edits as rows (secrets as env, PVC mounts, tolerations), the node selector's labels, a
//! readable line for every other setting, and the raw JSON editor's parsing.

use serde_json::{Map, Value};

/// One step of a path into a setting: an object key or a list index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A key of an object.
    Key(&'static str),
    /// An index of a list.
    Index(usize),
}

/// A text field of one entry of a list setting: its label and where it lives in the entry.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// What the field is called in the panel.
    pub label: &'static str,
    /// Where its value is in the entry.
    pub path: &'static [Step],
    /// Whether it is the resource's name, written both as `constant`/`secretName` and as the
    /// `…NameParameter`'s runtime constant, as the KFP SDK writes it.
    pub name: Option<(&'static str, &'static str)>,
}

/// A list setting the panel edits as rows.
#[derive(Debug, Clone, Copy)]
pub struct ListKind {
    /// The setting's key (`secretAsEnv`).
    pub key: &'static str,
    /// Its heading in the panel.
    pub title: &'static str,
    /// The fields of one row.
    pub fields: &'static [Field],
}

/// The list settings edited as rows.
pub const LISTS: [ListKind; 3] = [
    ListKind {
        key: "secretAsEnv",
        title: "Secrets as environment variables",
        fields: &[
            Field {
                label: "Secret",
                path: &[Step::Key("secretName")],
                name: Some(("secretName", "secretNameParameter")),
            },
            Field {
                label: "Key",
                path: &[
                    Step::Key("keyToEnv"),
                    Step::Index(0),
                    Step::Key("secretKey"),
                ],
                name: None,
            },
            Field {
                label: "Env var",
                path: &[Step::Key("keyToEnv"), Step::Index(0), Step::Key("envVar")],
                name: None,
            },
        ],
    },
    ListKind {
        key: "pvcMount",
        title: "Volume mounts (PVC)",
        fields: &[
            Field {
                label: "Claim",
                path: &[Step::Key("constant")],
                name: Some(("constant", "pvcNameParameter")),
            },
            Field {
                label: "Mount path",
                path: &[Step::Key("mountPath")],
                name: None,
            },
        ],
    },
    ListKind {
        key: "tolerations",
        title: "Tolerations",
        fields: &[
            Field {
                label: "Key",
                path: &[Step::Key("key")],
                name: None,
            },
            Field {
                label: "Operator",
                path: &[Step::Key("operator")],
                name: None,
            },
            Field {
                label: "Value",
                path: &[Step::Key("value")],
                name: None,
            },
            Field {
                label: "Effect",
                path: &[Step::Key("effect")],
                name: None,
            },
        ],
    },
];

/// The settings as an object (empty when there are none or they are not an object).
pub fn object(settings: Option<&Value>) -> Map<String, Value> {
    settings
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// The settings to store for `object`: none when it is empty.
pub fn store(object: Map<String, Value>) -> Option<Value> {
    (!object.is_empty()).then_some(Value::Object(object))
}

/// The value at `path` in `entry`, when there is one.
fn at<'a>(entry: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(entry, |v, step| match step {
        Step::Key(k) => v.get(k),
        Step::Index(i) => v.get(i),
    })
}

/// Where a name that is not a constant comes from (`{param}`, `task.output`), as the
/// `…NameParameter` holds it.
fn bound_name(entry: &Value, param_key: &str) -> Option<String> {
    let p = entry.get(param_key)?;
    if let Some(c) = p.pointer("/runtimeValue/constant").and_then(Value::as_str) {
        return Some(c.to_string());
    }
    if let Some(input) = p.get("componentInputParameter").and_then(Value::as_str) {
        return Some(format!("{{{input}}}"));
    }
    let out = p.get("taskOutputParameter")?;
    Some(format!(
        "{}.{}",
        out.get("producerTask")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        out.get("outputParameterKey")
            .and_then(Value::as_str)
            .unwrap_or("?")
    ))
}

/// The text of `field` in `entry`: the value, or for a name bound to a pipeline input or a
/// task output, where it comes from (`{secret_param}`, `task.output`).
pub fn field_text(entry: &Value, field: &Field) -> String {
    match at(entry, field.path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => field
            .name
            .and_then(|(_, param)| bound_name(entry, param))
            .unwrap_or_default(),
        Some(other) => other.to_string(),
    }
}

/// Sets `field` of `entry` to `text`, making the objects and lists on the way; a name is also
/// written as the `…NameParameter`'s runtime constant, replacing a binding.
pub fn set_field(entry: &mut Value, field: &Field, text: &str) {
    let mut v = &mut *entry;
    for step in field.path {
        v = match step {
            Step::Key(k) => {
                if !v.is_object() {
                    *v = Value::Object(Map::new());
                }
                let Value::Object(o) = v else { return };
                o.entry(k.to_string()).or_insert(Value::Null)
            }
            Step::Index(i) => {
                if !v.is_array() {
                    *v = Value::Array(Vec::new());
                }
                let Value::Array(a) = v else { return };
                if a.len() <= *i {
                    a.resize(i.saturating_add(1), Value::Null);
                }
                let Some(slot) = a.get_mut(*i) else { return };
                slot
            }
        };
    }
    *v = Value::String(text.to_string());
    if let (Some((_, param)), Some(o)) = (field.name, entry.as_object_mut()) {
        o.insert(
            param.to_string(),
            serde_json::json!({ "runtimeValue": { "constant": text } }),
        );
    }
}

/// The rows of a list setting (an entry that is not a list reads as none).
pub fn rows(settings: &Map<String, Value>, key: &str) -> Vec<Value> {
    settings
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A new, empty row of `kind`, with the fields KFP requires.
pub fn new_row(kind: &ListKind) -> Value {
    match kind.key {
        "secretAsEnv" => serde_json::json!({
            "keyToEnv": [{ "envVar": "", "secretKey": "" }],
            "secretName": "",
            "secretNameParameter": { "runtimeValue": { "constant": "" } },
        }),
        "pvcMount" => serde_json::json!({
            "constant": "",
            "mountPath": "",
            "pvcNameParameter": { "runtimeValue": { "constant": "" } },
        }),
        "tolerations" => {
            serde_json::json!({ "key": "", "operator": "Equal", "effect": "NoSchedule" })
        }
        _ => Value::Object(Map::new()),
    }
}

/// Replaces the list `key` by `list`, removing the key when the list is empty.
pub fn set_rows(settings: &mut Map<String, Value>, key: &str, list: Vec<Value>) {
    if list.is_empty() {
        settings.remove(key);
    } else {
        settings.insert(key.to_string(), Value::Array(list));
    }
}

/// The node selector's labels, in order.
pub fn labels(settings: &Map<String, Value>) -> Vec<(String, String)> {
    settings
        .get("nodeSelector")
        .and_then(|s| s.get("labels"))
        .and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces the node selector's labels, removing the selector when there are none. A label
/// whose key is empty (cleared) is dropped: Kubernetes has no such label.
pub fn set_labels(settings: &mut Map<String, Value>, labels: &[(String, String)]) {
    let map: Map<String, Value> = labels
        .iter()
        .filter(|(k, _)| !k.trim().is_empty())
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    if map.is_empty() {
        settings.remove("nodeSelector");
        return;
    }
    let selector = settings
        .entry("nodeSelector".to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !selector.is_object() {
        *selector = Value::Object(Map::new());
    }
    if let Some(o) = selector.as_object_mut() {
        o.insert("labels".to_string(), Value::Object(map));
    }
}

/// A line for each setting the rows above do not show (config maps, secrets as volumes, pod
/// metadata, image pull secrets, …): its key and its value as compact JSON.
pub fn other_lines(settings: &Map<String, Value>) -> Vec<String> {
    settings
        .iter()
        .filter(|(k, _)| k.as_str() != "nodeSelector" && !LISTS.iter().any(|l| l.key == *k))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect()
}

/// The settings as the raw editor shows them: pretty JSON, empty when there are none.
pub fn to_text(settings: Option<&Value>) -> String {
    settings
        .and_then(|v| serde_json::to_string_pretty(v).ok())
        .unwrap_or_default()
}

/// Reads the raw editor's text: empty text is no settings; otherwise a JSON object, or an
/// error that says what is wrong and where.
pub fn parse_text(text: &str) -> Result<Option<Value>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) => Ok(store(o)),
        Ok(_) => Err(
            "the Kubernetes settings must be a JSON object, as in {\"nodeSelector\": {\"labels\": {…}}}"
                .to_string(),
        ),
        Err(e) => Err(format!(
            "not valid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(key: &str) -> ListKind {
        LISTS
            .iter()
            .copied()
            .find(|l| l.key == key)
            .expect("a known list")
    }

    #[test]
    fn a_secret_bound_to_a_parameter_or_output_reads_as_its_source() {
        let secret = kind("secretAsEnv").fields[0];
        let bound = json!({ "secretNameParameter": { "componentInputParameter": "secret_parm" } });
        assert_eq!(field_text(&bound, &secret), "{secret_parm}");
        let output = json!({ "secretNameParameter": { "taskOutputParameter": {
            "producerTask": "gen", "outputParameterKey": "name" } } });
        assert_eq!(field_text(&output, &secret), "gen.name");
        let constant =
            json!({ "secretName": "s2", "keyToEnv": [{ "secretKey": "k", "envVar": "E" }] });
        assert_eq!(field_text(&constant, &secret), "s2");
        assert_eq!(field_text(&constant, &kind("secretAsEnv").fields[2]), "E");
    }

    #[test]
    fn setting_a_name_writes_it_both_ways_as_the_sdk_does() {
        let secret = kind("secretAsEnv").fields[0];
        let mut entry = json!({ "secretNameParameter": { "componentInputParameter": "p" } });
        set_field(&mut entry, &secret, "db");
        assert_eq!(
            entry,
            json!({ "secretName": "db", "secretNameParameter": { "runtimeValue": { "constant": "db" } } })
        );
        let env = kind("secretAsEnv").fields[2];
        let mut fresh = json!({});
        set_field(&mut fresh, &env, "PASSWORD");
        assert_eq!(fresh, json!({ "keyToEnv": [{ "envVar": "PASSWORD" }] }));
    }

    #[test]
    fn labels_and_lists_are_removed_when_emptied() {
        let mut s = object(Some(
            &json!({ "nodeSelector": { "labels": { "a": "1" } }, "pvcMount": [{}] }),
        ));
        assert_eq!(labels(&s), vec![("a".to_string(), "1".to_string())]);
        set_labels(&mut s, &[("gpu".into(), "a100".into())]);
        assert_eq!(
            s.get("nodeSelector"),
            Some(&json!({ "labels": { "gpu": "a100" } }))
        );
        // A cleared key drops its label; with none left, the selector goes.
        set_labels(
            &mut s,
            &[("gpu".into(), "a100".into()), (" ".into(), "x".into())],
        );
        assert_eq!(
            s.get("nodeSelector"),
            Some(&json!({ "labels": { "gpu": "a100" } }))
        );
        set_labels(&mut s, &[(String::new(), String::new())]);
        assert_eq!(s.get("nodeSelector"), None);
        set_rows(&mut s, "pvcMount", Vec::new());
        assert_eq!(store(s), None);
    }

    #[test]
    fn other_settings_are_listed_and_the_raw_text_is_checked() {
        let s = object(Some(
            &json!({ "imagePullSecret": [{ "secretName": "r" }], "tolerations": [] }),
        ));
        assert_eq!(
            other_lines(&s),
            vec![r#"imagePullSecret: [{"secretName":"r"}]"#.to_string()]
        );
        assert_eq!(parse_text("  "), Ok(None));
        assert_eq!(parse_text("{}"), Ok(None));
        assert!(parse_text("[1]").is_err_and(|e| e.contains("JSON object")));
        assert!(parse_text("{\n  \"a\": }").is_err_and(|e| e.contains("line 2")));
        assert_eq!(parse_text(r#"{"a": 1}"#), Ok(Some(json!({ "a": 1 }))));
    }
}
