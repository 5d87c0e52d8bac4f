//! KFP v1 component files (`name`, `inputs`, `outputs`, `implementation: {container: …}`), the
//! format many teams' `component.yaml` files are still written in, converted the way the KFP SDK
//! converts them (`ComponentSpec.from_v1_component_spec`) so that a v1 component on the canvas
//! compiles to what `kfp.components.load_component_from_file` + `kfp.compiler` write.

use serde_json::Value;

use crate::document::ComponentDef;
use crate::import::ImportError;
use crate::ir::{
    ArtifactSpec, ArtifactTypeSchema, ContainerSpec, EnvVar, ExecutorSpec, InputDefinitions,
    OutputDefinitions, ParameterSpec, ParameterType,
};
use crate::map::Map;

/// Whether a parsed YAML document is a v1 component (it has `implementation`).
pub fn is_v1_component(has_key: impl Fn(&str) -> bool) -> bool {
    has_key("implementation") && !has_key("pipelineInfo")
}

/// What a v1 type name is: a parameter or an artifact with its schema title.
enum Kind {
    Parameter(ParameterType),
    Artifact(String),
    FinalStatus,
}

/// The KFP SDK's reading of a v1 `type:` (`type_utils` mappings).
fn kind_of(ty: Option<&Value>) -> Kind {
    let Some(Value::String(t)) = ty else {
        // No type, or a structured type: a generic artifact.
        return Kind::Artifact("system.Artifact".into());
    };
    if t == "PipelineTaskFinalStatus" {
        return Kind::FinalStatus;
    }
    let t = t.strip_prefix("typing.").unwrap_or(t);
    let lower = t.to_lowercase();
    let canonical = if lower.starts_with("list") || lower.starts_with("dict") {
        lower.split('[').next().unwrap_or(&lower).to_string()
    } else {
        lower.clone()
    };
    let param = match canonical.as_str() {
        "integer" | "int" => Some(ParameterType::NumberInteger),
        "double" | "float" => Some(ParameterType::NumberDouble),
        "string" | "str" | "text" => Some(ParameterType::String),
        "bool" | "boolean" => Some(ParameterType::Boolean),
        "dict" | "jsonobject" => Some(ParameterType::Struct),
        "list" | "jsonarray" => Some(ParameterType::List),
        _ => None,
    };
    if let Some(p) = param {
        return Kind::Parameter(p);
    }
    let is_google = t
        .strip_prefix("google.")
        .is_some_and(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphabetic()));
    if is_google {
        return Kind::Artifact(t.to_string());
    }
    let title = match canonical.as_str() {
        "model" => "system.Model",
        "dataset" => "system.Dataset",
        "metrics" => "system.Metrics",
        "classificationmetrics" => "system.ClassificationMetrics",
        "slicedclassificationmetrics" => "system.SlicedClassificationMetrics",
        "html" => "system.HTML",
        "markdown" => "system.Markdown",
        _ => "system.Artifact",
    };
    Kind::Artifact(title.into())
}

/// `kfp.dsl.utils.sanitize_input_name`.
fn sanitize(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut out = String::new();
    let mut in_run = false;
    for c in lower.chars() {
        if c == '_' || c.is_ascii_digit() || c.is_ascii_lowercase() {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out.trim_matches('_').to_string()
}

/// `kfp.dsl.utils.maybe_rename_for_k8s`.
fn k8s_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        let c = if c == '-' || c.is_ascii_digit() || c.is_ascii_lowercase() {
            c
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_matches('-').to_string()
}

/// A v1 default (YAML gives strings for most) as the SDK casts it: by the input's type name as
/// written (`Integer`, `JsonArray`, …); other names (`typing.List[str]`) keep the value as is.
fn cast_default(raw_type: &str, v: &Value) -> Result<Value, String> {
    let ty = match raw_type.to_lowercase().as_str() {
        "integer" | "int" => ParameterType::NumberInteger,
        "double" | "float" => ParameterType::NumberDouble,
        "string" | "str" | "text" => ParameterType::String,
        "bool" | "boolean" => ParameterType::Boolean,
        "dict" | "list" | "jsonobject" | "jsonarray" => ParameterType::List,
        _ => return Ok(v.clone()),
    };
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(match ty {
        ParameterType::NumberInteger => match v {
            Value::Number(n) if n.is_i64() => v.clone(),
            _ => Value::from(
                text.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("default {text:?} is not an integer"))?,
            ),
        },
        ParameterType::NumberDouble => Value::from(
            text.trim()
                .parse::<f64>()
                .map_err(|_| format!("default {text:?} is not a number"))?,
        ),
        ParameterType::Boolean => match v {
            Value::Bool(_) => v.clone(),
            _ => match text.to_lowercase().as_str() {
                "y" | "yes" | "t" | "true" | "on" | "1" => Value::Bool(true),
                "n" | "no" | "f" | "false" | "off" | "0" => Value::Bool(false),
                _ => return Err(format!("default {text:?} is not a boolean")),
            },
        },
        ParameterType::List => match v {
            Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
            _ => v.clone(),
        },
        _ => Value::String(text),
    })
}

/// A converted command-line element: a string, or a `Concat`/`IfPresent` structure (kept in the
/// SDK's key order) that becomes a JSON string at the top level.
enum Elem {
    Str(String),
    List(Vec<Elem>),
    Obj(Vec<(&'static str, Elem)>),
}

/// Python's `json.dumps` with its default separators and ASCII escaping, which is how the SDK
/// writes `Concat` and `IfPresent` placeholders into the command line.
fn py_json(v: &Elem, out: &mut String) {
    match v {
        Elem::Str(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                        let mut buf = [0u16; 2];
                        for unit in c.encode_utf16(&mut buf) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Elem::List(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_json(x, out);
            }
            out.push(']');
        }
        Elem::Obj(fields) => {
            out.push('{');
            for (i, (k, x)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                py_json(&Elem::Str((*k).to_string()), out);
                out.push_str(": ");
                py_json(x, out);
            }
            out.push('}');
        }
    }
}

/// One converted command-line element: a string, or a structure (`Concat`/`IfPresent`) that
/// becomes a JSON string at the top level.
struct Converter<'a> {
    output_is_parameter: Map<bool>,
    at: &'a str,
}

impl Converter<'_> {
    fn element(&self, arg: &Value) -> Result<Elem, ImportError> {
        let bad = |what: String| ImportError::Invalid(format!("{}: {what}", self.at));
        let obj = match arg {
            Value::String(s) => return Ok(Elem::Str(s.clone())),
            Value::Number(_) | Value::Bool(_) => return Ok(Elem::Str(arg.to_string())),
            Value::Object(o) => o,
            _ => return Err(bad(format!("unexpected command-line element {arg}"))),
        };
        let name_of = |v: &Value| -> Result<String, ImportError> {
            v.as_str()
                .map(sanitize)
                .ok_or_else(|| bad(format!("expected an input or output name, got {v}")))
        };
        if let Some(v) = obj.get("if") {
            let cond = v
                .get("cond")
                .and_then(|c| c.get("isPresent"))
                .ok_or_else(|| bad("`if` needs `cond: {isPresent: NAME}`".into()))?;
            let then = v.get("then").cloned().unwrap_or(Value::Array(Vec::new()));
            return self.if_present(name_of(cond)?, &then, v.get("else"));
        }
        if obj.len() != 1 {
            return Err(bad(format!(
                "expected a placeholder with one key, got {}",
                Value::Object(obj.clone())
            )));
        }
        let (key, v) = obj
            .iter()
            .next()
            .ok_or_else(|| bad("empty placeholder".into()))?;
        Ok(Elem::Str(match key.as_str() {
            "inputValue" => format!("{{{{$.inputs.parameters['{}']}}}}", name_of(v)?),
            "inputPath" => format!("{{{{$.inputs.artifacts['{}'].path}}}}", name_of(v)?),
            "inputUri" => format!("{{{{$.inputs.artifacts['{}'].uri}}}}", name_of(v)?),
            "outputPath" => {
                let raw = v.as_str().unwrap_or_default();
                let name = name_of(v)?;
                match self.output_is_parameter.get(raw) {
                    Some(true) => format!("{{{{$.outputs.parameters['{name}'].output_file}}}}"),
                    Some(false) => format!("{{{{$.outputs.artifacts['{name}'].path}}}}"),
                    None => return Err(bad(format!("outputPath {raw:?} is not an output"))),
                }
            }
            "outputUri" => format!("{{{{$.outputs.artifacts['{}'].uri}}}}", name_of(v)?),
            "executorInput" => "{{$}}".into(),
            "concat" => {
                let items = v
                    .as_array()
                    .ok_or_else(|| bad("`concat` needs a list".into()))?
                    .iter()
                    .map(|x| self.element(x))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(Elem::Obj(vec![("Concat", Elem::List(items))]));
            }
            "ifPresent" => {
                let name = v
                    .get("inputName")
                    .ok_or_else(|| bad("`ifPresent` needs `inputName`".into()))?;
                let then = v.get("then").cloned().unwrap_or(Value::Array(Vec::new()));
                return self.if_present(name_of(name)?, &then, v.get("else"));
            }
            other => return Err(bad(format!("unknown placeholder `{other}`"))),
        }))
    }

    fn if_present(
        &self,
        name: String,
        then: &Value,
        otherwise: Option<&Value>,
    ) -> Result<Elem, ImportError> {
        let conv = |v: &Value| -> Result<Elem, ImportError> {
            match v {
                Value::Array(xs) => Ok(Elem::List(
                    xs.iter()
                        .map(|x| self.element(x))
                        .collect::<Result<_, _>>()?,
                )),
                x => self.element(x),
            }
        };
        let mut inner = vec![("InputName", Elem::Str(name)), ("Then", conv(then)?)];
        if let Some(e) = otherwise.filter(|e| !is_empty(e)) {
            inner.push(("Else", conv(e)?));
        }
        Ok(Elem::Obj(vec![("IfPresent", Elem::Obj(inner))]))
    }

    fn top(&self, arg: &Value) -> Result<String, ImportError> {
        Ok(match self.element(arg)? {
            Elem::Str(s) => s,
            structure => {
                let mut out = String::new();
                py_json(&structure, &mut out);
                out
            }
        })
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Converts a v1 component document. Errors name the field.
pub fn component_from_v1(v: &Value) -> Result<ComponentDef, ImportError> {
    let container = v
        .get("implementation")
        .and_then(|i| i.get("container"))
        .ok_or_else(|| {
            ImportError::Shape(
                "at implementation: only container components can be imported from the v1 format \
                 (graph components cannot)"
                    .into(),
            )
        })?;
    let image = container
        .get("image")
        .and_then(Value::as_str)
        .ok_or_else(|| ImportError::Shape("at implementation.container.image: missing".into()))?;
    let list = |key: &str| -> Result<&[Value], ImportError> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(ImportError::Shape(format!("at {key}: expected a list"))),
        }
    };
    let mut output_is_parameter = Map::new();
    let mut outputs = OutputDefinitions::default();
    for (i, o) in list("outputs")?.iter().enumerate() {
        let raw = o
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| ImportError::Shape(format!("at outputs[{i}].name: missing")))?;
        let name = sanitize(raw);
        match kind_of(o.get("type")) {
            Kind::Parameter(ty) => {
                output_is_parameter.insert(raw.to_string(), true);
                outputs.parameters.insert(name, param_spec(ty, None, false));
            }
            Kind::Artifact(title) => {
                output_is_parameter.insert(raw.to_string(), false);
                outputs.artifacts.insert(name, artifact_spec(title, false));
            }
            Kind::FinalStatus => {
                return Err(ImportError::Shape(format!(
                    "at outputs[{i}].type: PipelineTaskFinalStatus is an input type"
                )))
            }
        }
    }
    let mut inputs = InputDefinitions::default();
    for (i, input) in list("inputs")?.iter().enumerate() {
        let raw = input
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| ImportError::Shape(format!("at inputs[{i}].name: missing")))?;
        let name = sanitize(raw);
        let default = input.get("default").filter(|d| !d.is_null());
        let optional = input
            .get("optional")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            || input.get("default").is_some();
        match kind_of(input.get("type")) {
            Kind::FinalStatus => {
                inputs
                    .parameters
                    .insert(name, param_spec(ParameterType::TaskFinalStatus, None, true));
            }
            Kind::Parameter(ty) => {
                let raw_type = input.get("type").and_then(Value::as_str).unwrap_or("");
                let default = default
                    .map(|d| cast_default(raw_type, d))
                    .transpose()
                    .map_err(|e| ImportError::Shape(format!("at inputs[{i}].default: {e}")))?;
                inputs
                    .parameters
                    .insert(name, param_spec(ty, default, optional));
            }
            Kind::Artifact(title) => {
                inputs
                    .artifacts
                    .insert(name, artifact_spec(title, optional));
            }
        }
    }
    let conv = Converter {
        output_is_parameter,
        at: "implementation.container",
    };
    let strings = |key: &str| -> Result<Vec<String>, ImportError> {
        match container.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(|x| conv.top(x)).collect(),
            Some(_) => Err(ImportError::Shape(format!(
                "at implementation.container.{key}: expected a list"
            ))),
        }
    };
    let env = match container.get("env") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, x)| {
                Ok(EnvVar {
                    name: k.clone(),
                    value: conv.top(x)?,
                })
            })
            .collect::<Result<_, ImportError>>()?,
        Some(_) => {
            return Err(ImportError::Shape(
                "at implementation.container.env: expected a mapping".into(),
            ))
        }
    };
    let spec = ContainerSpec {
        image: image.to_string(),
        command: strings("command")?,
        args: strings("args")?,
        env,
        ..ContainerSpec::default()
    };
    let raw_name = v.get("name").and_then(Value::as_str).unwrap_or("name");
    Ok(ComponentDef {
        name: k8s_name(raw_name),
        title: None,
        description: v
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        input_definitions: inputs,
        output_definitions: outputs,
        executor: Some(ExecutorSpec::Container(spec)),
        pipeline: None,
    })
}

fn param_spec(ty: ParameterType, default: Option<Value>, optional: bool) -> ParameterSpec {
    ParameterSpec {
        default_value: default,
        description: None,
        is_optional: optional,
        literals: Vec::new(),
        parameter_type: ty,
    }
}

fn artifact_spec(title: String, optional: bool) -> ArtifactSpec {
    ArtifactSpec {
        artifact_type: ArtifactTypeSchema {
            schema_title: Some(title),
            schema_version: Some("0.0.1".into()),
            ..ArtifactTypeSchema::default()
        },
        description: None,
        is_artifact_list: false,
        is_optional: optional,
        properties: None,
        custom_properties: None,
        metadata: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_like_the_sdk() {
        assert_eq!(sanitize("Input data-path"), "input_data_path");
        assert_eq!(sanitize("__x__"), "x");
        assert_eq!(k8s_name("Train  Model (v2)"), "train-model-v2");
    }

    #[test]
    fn python_json_spacing() {
        let mut s = String::new();
        py_json(
            &Elem::Obj(vec![(
                "Concat",
                Elem::List(vec![Elem::Str("a".into()), Elem::Str("é".into())]),
            )]),
            &mut s,
        );
        assert_eq!(s, r#"{"Concat": ["a", "\u00e9"]}"#);
    }
}
