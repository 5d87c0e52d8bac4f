//! Reopening a component: the [`ComponentDraft`] a component file was written from, so that the
//! authoring form can edit and save it again ([`draft_of`]).
//!
//! A Python component's draft is read from the function source its executor embeds (the
//! signature gives the ports' order and defaults, the docstring the description, the rest is the
//! body) and from its pip install line (the packages); a container component's from its command
//! and arguments, KFP placeholders becoming `{{name}}` references again. The interface (types,
//! defaults) is the file's own.
//!
//! The draft is then written again ([`author`]) and compared with the file: whatever the form
//! could not write the same way (several executors, a sub-pipeline, a port type it has no
//! choice for, a placeholder or an argument it cannot show, code outside the function) is a
//! [`DraftOpenError`] naming where it is, never a draft that would save a different component.
//! Reading is linear in the file (no recursion beyond serde_json's own bounded one).

use serde_json::Value;

use super::{author, dedent, ComponentDraft, DraftPort, Implementation, ARTIFACT_TYPES};
use crate::document::ComponentDef;
use crate::import::{read_file, KfpFile};
use crate::ir::{ContainerSpec, ExecutorSpec, ParameterType, PipelineSpec};

/// Why a component file cannot be opened in the authoring form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftOpenError {
    /// The text is not a component file at all.
    #[error("not a component file: {0}")]
    Unreadable(String),
    /// A component, but one the form cannot represent: where (a path into the file, like
    /// `deploymentSpec.executors` or `command[6] line 12`) and what.
    #[error("{at}: {message}")]
    NotEditable {
        /// Where in the file.
        at: String,
        /// What the form cannot represent, and why.
        message: String,
    },
}

fn refuse(at: impl Into<String>, message: impl Into<String>) -> DraftOpenError {
    DraftOpenError::NotEditable {
        at: at.into(),
        message: message.into(),
    }
}

/// The imports the KFP SDK puts before a lightweight component's function.
const PROGRAM_PREFIX: &str =
    "\nimport kfp\nfrom kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n\n";
/// The start of a pip install in the SDK's launcher.
const PIP_INSTALL: &str = "python3 -m pip install --quiet --no-warn-script-location ";

/// The draft of a component file (YAML or JSON) that the authoring form wrote, or that the KFP
/// SDK wrote for an equivalent `@dsl.component` or `@dsl.container_component`; or where and why
/// the form cannot represent the file. Writing the draft again ([`author`]) gives the same
/// component; for a file the form wrote, the very same file.
pub fn draft_of(text: &str) -> Result<ComponentDraft, DraftOpenError> {
    let spec = match read_file(text).map_err(|e| DraftOpenError::Unreadable(e.to_string()))? {
        KfpFile::Spec(f) => {
            if f.platform_spec.is_some() {
                return Err(refuse(
                    "platforms",
                    "the file has Kubernetes platform settings (a second YAML document), which \
                     the form has no place for",
                ));
            }
            f.spec
        }
        KfpFile::V1Component(_) => {
            return Err(refuse(
                "implementation",
                "a KFP v1 component; the form edits the component files the KFP v2 SDK writes",
            ))
        }
        KfpFile::Document(_) => {
            return Err(DraftOpenError::Unreadable(
                "this is a Pipeline Canvas document".into(),
            ))
        }
    };
    check_shape(&spec)?;
    let component = crate::import::component_from_yaml(text)
        .map_err(|e| DraftOpenError::Unreadable(e.to_string()))?;
    let Some(ExecutorSpec::Container(container)) = &component.executor else {
        return Err(refuse(
            "deploymentSpec.executors",
            "the executor is not a container (an importer, resolver or custom job); the form \
             writes containers",
        ));
    };
    let python = container
        .command
        .iter()
        .any(|c| c.contains("kfp.dsl.executor_main"));
    let draft = if python {
        python_draft(&component, container)?
    } else {
        container_draft(&component, container)?
    };
    verify(&draft, &spec, python)?;
    Ok(draft)
}

/// One component, one executor, one task: what the form writes.
fn check_shape(spec: &PipelineSpec) -> Result<(), DraftOpenError> {
    let executors = spec
        .deployment_spec
        .as_ref()
        .map_or(0, |d| d.executors.len());
    if spec.components.len() != 1 || executors != 1 {
        let names: Vec<&str> = spec.components.keys().map(String::as_str).collect();
        return Err(refuse(
            "components",
            format!(
                "the file has {} component{} ({}) and {executors} executor{}: a pipeline or a \
                 sub-pipeline, not one component; the form edits a single component",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                if executors == 1 { "" } else { "s" },
            ),
        ));
    }
    if spec.components.values().any(|c| c.dag.is_some()) {
        return Err(refuse(
            "components",
            "the component is a sub-pipeline (a DAG of tasks); the form edits a single component",
        ));
    }
    Ok(())
}

/// The form's type name of a parameter, or why it has none.
fn parameter_type(at: &str, ty: ParameterType) -> Result<String, DraftOpenError> {
    if ParameterType::USER_TYPES.contains(&ty) {
        Ok(ty.python_name().to_string())
    } else {
        Err(refuse(
            at,
            format!("a {ty:?} parameter, which the form has no type for"),
        ))
    }
}

/// The ports of a component with the form's type names, inputs then outputs, each in the
/// file's (sorted) order; `(name, type, is a parameter)`.
type Ports = Vec<(String, String, bool)>;

fn ports_of(c: &ComponentDef) -> Result<(Ports, Ports), DraftOpenError> {
    let artifact = |at: String, a: &crate::ir::ArtifactSpec| -> Result<String, DraftOpenError> {
        if a.is_artifact_list {
            return Err(refuse(
                at,
                "a list of artifacts, which the form cannot declare",
            ));
        }
        let title = a.artifact_type.title();
        title
            .strip_prefix("system.")
            .filter(|t| ARTIFACT_TYPES.contains(t))
            .map(str::to_string)
            .ok_or_else(|| {
                refuse(
                    at,
                    format!(
                        "an artifact of type {title}; the form has {}",
                        ARTIFACT_TYPES.join(", ")
                    ),
                )
            })
    };
    let mut inputs = Vec::new();
    for (name, p) in c.input_definitions.parameters.iter() {
        let at = format!("inputDefinitions.parameters.{name}");
        inputs.push((name.clone(), parameter_type(&at, p.parameter_type)?, true));
    }
    for (name, a) in c.input_definitions.artifacts.iter() {
        let at = format!("inputDefinitions.artifacts.{name}");
        inputs.push((name.clone(), artifact(at, a)?, false));
    }
    let mut outputs = Vec::new();
    for (name, p) in c.output_definitions.parameters.iter() {
        let at = format!("outputDefinitions.parameters.{name}");
        outputs.push((name.clone(), parameter_type(&at, p.parameter_type)?, true));
    }
    for (name, a) in c.output_definitions.artifacts.iter() {
        let at = format!("outputDefinitions.artifacts.{name}");
        outputs.push((name.clone(), artifact(at, a)?, false));
    }
    Ok((inputs, outputs))
}

// ---------------------------------------------------------------------------------------------
// Container components.

fn container_draft(
    c: &ComponentDef,
    container: &ContainerSpec,
) -> Result<ComponentDraft, DraftOpenError> {
    let name = function_name(&c.name)?;
    if !container.env.is_empty() || container.lifecycle.is_some() || container.resources.is_some() {
        return Err(refuse(
            "deploymentSpec.executors",
            "the container sets environment variables, resources or lifecycle hooks, which the \
             form has no place for",
        ));
    }
    let (inputs, outputs) = ports_of(c)?;
    let mut draft_inputs = Vec::new();
    for (port, ty, parameter) in &inputs {
        let default = if *parameter {
            let spec = c.input_definitions.parameters.get(port);
            match spec.and_then(|p| p.default_value.as_ref()) {
                Some(v) => Some(text_of_value(port, ty, v)?),
                None if spec.is_some_and(|p| p.is_optional) => {
                    return Err(refuse(
                        format!("inputDefinitions.parameters.{port}"),
                        "optional without a default (None), which the form cannot write; give \
                         it a default or make it required",
                    ))
                }
                None => None,
            }
        } else {
            None
        };
        draft_inputs.push(DraftPort {
            name: port.clone(),
            ty: ty.clone(),
            default,
        });
    }
    let references = |field: &str, items: &[String]| -> Result<Vec<String>, DraftOpenError> {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| references_of(&format!("{field}[{i}]"), item, &inputs, &outputs))
            .collect()
    };
    let command = references("command", &container.command)?;
    let args = references("args", &container.args)?;
    Ok(ComponentDraft {
        name,
        description: c.description.clone().unwrap_or_default(),
        inputs: draft_inputs,
        outputs: outputs
            .iter()
            .map(|(n, t, _)| DraftPort {
                name: n.clone(),
                ty: t.clone(),
                default: None,
            })
            .collect(),
        implementation: Implementation::Container {
            image: container.image.clone(),
            command,
            args,
        },
    })
}

/// The function name of a component name (`train-model` → `train_model`).
fn function_name(component: &str) -> Result<String, DraftOpenError> {
    let name = component.replace('-', "_");
    if super::component_name(&name) == component && crate::names::is_valid_identifier(&name) {
        Ok(name)
    } else {
        Err(refuse(
            "pipelineInfo.name",
            format!("{component:?} is not the name of a component written from a Python name"),
        ))
    }
}

/// The text the form holds for a default value of type `ty` (which it reads back as `v`).
fn text_of_value(port: &str, ty: &str, v: &Value) -> Result<String, DraftOpenError> {
    let text = match (ty, v) {
        ("str", Value::String(s)) => Some(s.clone()),
        ("bool", Value::Bool(b)) => Some(b.to_string()),
        // A file holds numbers as doubles: an int's is whole.
        ("int", Value::Number(n)) => n.as_i64().map(|i| i.to_string()).or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| format!("{}", f as i64))
        }),
        ("float", Value::Number(n)) => Some(n.to_string()),
        ("list", Value::Array(_)) | ("dict", Value::Object(_)) => serde_json::to_string(v).ok(),
        _ => None,
    };
    text.ok_or_else(|| {
        refuse(
            format!("inputDefinitions.parameters.{port}.defaultValue"),
            format!("{v} is not a value of type {ty}"),
        )
    })
}

/// A command or argument of a container with its placeholders for the inputs and outputs made
/// `{{name}}` references again; other KFP placeholders (`{{$.pipeline_job_name}}`) are kept.
fn references_of(
    at: &str,
    item: &str,
    inputs: &Ports,
    outputs: &Ports,
) -> Result<String, DraftOpenError> {
    if item.trim().is_empty() || item.trim() != item || item.contains(['\n', '\r']) {
        return Err(refuse(
            at,
            format!(
                "{item:?} is empty, starts or ends with a space or holds a line break; the form \
                 has one item per line, trimmed"
            ),
        ));
    }
    let t = item.trim_start();
    if t.starts_with("{\"IfPresent\"") || t.starts_with("{\"Concat\"") {
        return Err(refuse(
            at,
            "a KFP IfPresent or Concat placeholder, which the form cannot write",
        ));
    }
    let mut out = String::with_capacity(item.len());
    let mut rest = item;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(refuse(
                at,
                format!("{item:?} opens {{{{ without closing it with }}}}"),
            ));
        };
        let inner = &after[..end];
        let reference = placeholder_port(inner.trim(), inputs, outputs)?;
        match reference {
            Some(port) => {
                out.push_str("{{");
                out.push_str(port);
                out.push_str("}}");
            }
            None if inner.trim_start().starts_with('$') => {
                out.push_str(&rest[start..start + 2 + end + 2]);
            }
            None => {
                return Err(refuse(
                    at,
                    format!(
                        "{{{{{inner}}}}} is not a KFP placeholder; the form would read it as a \
                         reference to an input or output"
                    ),
                ))
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The port a placeholder (between `{{` and `}}`) stands for, as the form writes them; `None`
/// for another placeholder; an error for one naming a port the component does not have.
fn placeholder_port<'a>(
    inner: &str,
    inputs: &'a Ports,
    outputs: &'a Ports,
) -> Result<Option<&'a str>, DraftOpenError> {
    const FORMS: [(&str, &str, bool, bool); 4] = [
        ("$.inputs.parameters['", "']", true, true),
        ("$.inputs.artifacts['", "'].path", true, false),
        ("$.outputs.parameters['", "'].output_file", false, true),
        ("$.outputs.artifacts['", "'].path", false, false),
    ];
    for (prefix, suffix, input, parameter) in FORMS {
        let Some(name) = inner
            .strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(suffix))
        else {
            continue;
        };
        let ports = if input { inputs } else { outputs };
        return match ports.iter().find(|(n, _, p)| n == name && *p == parameter) {
            Some((n, _, _)) => Ok(Some(n.as_str())),
            None => Err(refuse(
                "deploymentSpec.executors",
                format!(
                    "the placeholder {{{{{inner}}}}} names no {} {} of the component",
                    if input { "input" } else { "output" },
                    if parameter { "parameter" } else { "artifact" }
                ),
            )),
        };
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// Python components.

fn python_draft(
    c: &ComponentDef,
    container: &ContainerSpec,
) -> Result<ComponentDraft, DraftOpenError> {
    let [a0, a1, a2, function] = container.args.as_slice() else {
        return Err(refuse(
            "args",
            "not the arguments the KFP SDK gives a Python function's executor",
        ));
    };
    if (a0.as_str(), a1.as_str(), a2.as_str())
        != ("--executor_input", "{{$}}", "--function_to_execute")
    {
        return Err(refuse(
            "args",
            "not the arguments the KFP SDK gives a Python function's executor",
        ));
    }
    let [_, _, pip, _, _, _, program] = container.command.as_slice() else {
        return Err(refuse(
            "command",
            format!(
                "{} items, not the 7 of the KFP SDK's launcher of a Python function",
                container.command.len()
            ),
        ));
    };
    let packages = packages_of(pip)?;
    let source = program
        .strip_prefix(PROGRAM_PREFIX)
        .and_then(|p| p.strip_suffix('\n'))
        .ok_or_else(|| {
            refuse(
                "command[6]",
                "the program does not start with the imports the KFP SDK writes before the \
                 function",
            )
        })?;
    let parsed = parse_function(source, function)?;

    let (inputs, outputs) = ports_of(c)?;
    // The signature: every input and output artifact, each with the annotation the form writes.
    let mut draft_inputs = Vec::new();
    let mut draft_outputs = Vec::new();
    for p in &parsed.params {
        let at = format!("command[6] (the signature of {function}, {})", p.name);
        let input = inputs.iter().find(|(n, _, _)| *n == p.name);
        let output = outputs.iter().find(|(n, _, par)| *n == p.name && !par);
        let (expected, is_input) = match (input, output) {
            (Some((_, ty, true)), _) => (ty.clone(), true),
            (Some((_, ty, false)), _) => (format!("Input[{ty}]"), true),
            (None, Some((_, ty, _))) => (format!("Output[{ty}]"), false),
            (None, None) => {
                return Err(refuse(
                    at,
                    format!(
                        "{} is not an input or output artifact of the component",
                        p.name
                    ),
                ))
            }
        };
        if squeeze(&p.annotation) != expected {
            return Err(refuse(
                at,
                format!(
                    "annotated {:?}; the form writes {expected:?} (it has no OutputPath, \
                     Optional or other annotations)",
                    p.annotation.trim()
                ),
            ));
        }
        let ty = input
            .or(output)
            .map(|(_, t, _)| t.clone())
            .unwrap_or_default();
        if is_input {
            let default = match &p.default {
                Some(literal) => Some(text_of_literal(&ty, literal).ok_or_else(|| {
                    refuse(
                        at.clone(),
                        format!(
                            "the default {:?} is not a literal the form reads",
                            literal.trim()
                        ),
                    )
                })?),
                None => None,
            };
            draft_inputs.push(DraftPort {
                name: p.name.clone(),
                ty,
                default,
            });
        } else {
            draft_outputs.push(DraftPort {
                name: p.name.clone(),
                ty,
                default: None,
            });
        }
    }
    for (name, _, parameter) in inputs.iter().chain(outputs.iter().filter(|(_, _, p)| !p)) {
        let listed = draft_inputs
            .iter()
            .chain(&draft_outputs)
            .any(|p| p.name == *name);
        if !listed {
            return Err(refuse(
                format!("command[6] (the signature of {function})"),
                format!(
                    "{name}, an {} {} of the component, is not in the function's signature",
                    if inputs.iter().any(|(n, _, _)| n == name) {
                        "input"
                    } else {
                        "output"
                    },
                    if *parameter { "parameter" } else { "artifact" }
                ),
            ));
        }
    }
    // The parameter outputs: the return annotation.
    let returned = returned_of(parsed.returns.as_deref(), function)?;
    let parameter_outputs: Vec<&(String, String, bool)> =
        outputs.iter().filter(|(_, _, p)| *p).collect();
    let at = format!("command[6] (the return annotation of {function})");
    if returned.len() != parameter_outputs.len() {
        return Err(refuse(
            at,
            format!(
                "it returns {} value{}, the component has {} parameter output{}",
                returned.len(),
                if returned.len() == 1 { "" } else { "s" },
                parameter_outputs.len(),
                if parameter_outputs.len() == 1 {
                    ""
                } else {
                    "s"
                }
            ),
        ));
    }
    for (name, ty) in returned {
        match parameter_outputs.iter().find(|(n, _, _)| *n == name) {
            Some((_, t, _)) if *t == ty => draft_outputs.push(DraftPort {
                name,
                ty,
                default: None,
            }),
            _ => {
                return Err(refuse(
                    at,
                    format!("{name}: {ty} is not a parameter output of the component"),
                ))
            }
        }
    }
    Ok(ComponentDraft {
        name: function.clone(),
        description: parsed.description,
        inputs: draft_inputs,
        outputs: draft_outputs,
        implementation: Implementation::Python {
            base_image: container.image.clone(),
            packages,
            body: parsed.body,
        },
    })
}

/// `text` without whitespace, `'` read as `"`.
fn squeeze(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '\'' { '"' } else { c })
        .collect()
}

/// The packages of the SDK's pip install line (the `sh -c` script before the program).
fn packages_of(script: &str) -> Result<Vec<String>, DraftOpenError> {
    let unknown = || {
        refuse(
            "command[2]",
            "not the pip install line the KFP SDK writes for a list of packages (an index URL or \
             another option the form does not keep?)",
        )
    };
    let installs = script
        .strip_prefix(
            "\nif ! [ -x \"$(command -v pip)\" ]; then\n    python3 -m ensurepip || python3 -m \
             ensurepip --user || apt-get install python3-pip\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1 ",
        )
        .and_then(|s| s.strip_suffix(" && \"$0\" \"$@\"\n"))
        .ok_or_else(unknown)?;
    let mut packages = Vec::new();
    for install in installs.split("  &&  ") {
        let quoted = install.strip_prefix(PIP_INSTALL).ok_or_else(unknown)?;
        let items: Vec<&str> = quoted
            .split("' '")
            .map(|s| s.trim_start_matches('\'').trim_end_matches('\''))
            .collect();
        if !quoted.starts_with('\'') || !quoted.ends_with('\'') {
            return Err(unknown());
        }
        let is_kfp = items.first().is_some_and(|p| p.starts_with("kfp=="))
            && items.get(1) == Some(&"--no-deps");
        if !is_kfp {
            if !packages.is_empty() {
                return Err(unknown());
            }
            packages = items.iter().map(|s| s.to_string()).collect();
        }
    }
    Ok(packages)
}

/// A parameter of the function: its name, annotation and default, as written.
struct Param {
    name: String,
    annotation: String,
    default: Option<String>,
}

/// What the function source says.
struct Function {
    params: Vec<Param>,
    returns: Option<String>,
    description: String,
    body: String,
}

/// Where each top-level (outside brackets and strings) character of `text` is: calls `at` with
/// the byte index of each such character and the bracket depth before it, until `at` says stop
/// (returns true). Strings (`'…'`, `"…"`, triple-quoted, with `\` escapes) and `#` comments are
/// skipped. Returns false when the text ends inside a string.
fn scan(text: &str, mut at: impl FnMut(usize, char, usize) -> bool) -> bool {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'"' | b'\'' => {
                let triple = bytes.get(i..i + 3) == Some(&[c, c, c][..]);
                let quote_len = if triple { 3 } else { 1 };
                let mut j = i + quote_len;
                loop {
                    match bytes.get(j) {
                        None => return false,
                        Some(b'\\') => j += 2,
                        Some(&q) if q == c => {
                            if !triple || bytes.get(j..j + 3) == Some(&[c, c, c][..]) {
                                j += quote_len;
                                break;
                            }
                            j += 1;
                        }
                        Some(b'\n') if !triple => return false,
                        Some(_) => j += 1,
                    }
                }
                i = j;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        let ch = text[i..].chars().next().unwrap_or('\0');
        let before = depth;
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if at(i, ch, before) {
            return true;
        }
        i += ch.len_utf8();
    }
    true
}

/// `text` split at its top-level occurrences of `sep`.
fn split_top(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut from = 0;
    scan(text, |i, c, depth| {
        if c == sep && depth == 0 {
            parts.push(&text[from..i]);
            from = i + 1;
        }
        false
    });
    parts.push(&text[from..]);
    parts
}

/// The first top-level occurrence of `c` in `text` at `depth`.
fn find_top(text: &str, c: char, depth: usize) -> Option<usize> {
    let mut found = None;
    scan(text, |i, ch, d| {
        if ch == c && d == depth {
            found = Some(i);
            true
        } else {
            false
        }
    });
    found
}

/// Reads the source of the function the SDK embeds: `def name(…) -> …:`, its docstring and
/// its body, and nothing else.
fn parse_function(source: &str, function: &str) -> Result<Function, DraftOpenError> {
    let head = format!("def {function}(");
    let Some(rest) = source.strip_prefix(&head) else {
        return Err(refuse(
            "command[6]",
            format!(
                "the program does not start with `{head}` (a decorator, an import or other code \
                 before the function, which the form does not keep)"
            ),
        ));
    };
    let signature_error = || {
        refuse(
            "command[6]",
            format!("the signature of {function} is not one the form reads"),
        )
    };
    // The parameters end at the `)` that closes the `(` of `def name(`.
    let close = find_top(rest, ')', 0).ok_or_else(signature_error)?;
    let params_text = &rest[..close];
    let after = &rest[close + 1..];
    let colon = find_top(after, ':', 0).ok_or_else(signature_error)?;
    let returns = after[..colon].trim();
    let returns = match returns.strip_prefix("->") {
        Some(r) => Some(r.trim().to_string()),
        None if returns.is_empty() => None,
        None => return Err(signature_error()),
    };
    let after_colon = &after[colon + 1..];
    let (line_end, body_text) = after_colon.split_once('\n').unwrap_or((after_colon, ""));
    let line_end = line_end.trim();
    if !(line_end.is_empty() || line_end.starts_with('#')) {
        return Err(refuse(
            "command[6]",
            format!("{function}'s body is on the line of its signature; the form writes it below"),
        ));
    }
    let mut params = Vec::new();
    for p in split_top(params_text, ',') {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let bad = || {
            refuse(
                "command[6]",
                format!(
                    "the parameter `{p}` of {function} is not `name: type` or `name: type = \
                     value` (the form writes no *args, **kwargs or unannotated parameters)"
                ),
            )
        };
        let colon = find_top(p, ':', 0).ok_or_else(bad)?;
        let name = p[..colon].trim();
        if !crate::names::is_valid_identifier(name) {
            return Err(bad());
        }
        let rest = &p[colon + 1..];
        let (annotation, default) = match find_top(rest, '=', 0) {
            Some(eq) => (&rest[..eq], Some(rest[eq + 1..].to_string())),
            None => (rest, None),
        };
        params.push(Param {
            name: name.to_string(),
            annotation: annotation.to_string(),
            default,
        });
    }

    // Everything after the signature is the function's: indented, or blank.
    let first_line = source[..source.len() - body_text.len()]
        .matches('\n')
        .count()
        + 1;
    let lines: Vec<&str> = body_text.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        if !line.trim().is_empty() && !line.starts_with([' ', '\t']) {
            return Err(refuse(
                format!("command[6] line {}", first_line + i),
                format!(
                    "{:?} is code outside the function {function} (or a string's line at the \
                     margin); the form keeps only the function's body",
                    line.chars().take(60).collect::<String>()
                ),
            ));
        }
    }
    // The docstring: a first statement that is a string.
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let mut description = String::new();
    let mut body_from = 0;
    if let Some(f) = first {
        let line = lines[f];
        let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        let stmt = line.trim_start();
        if stmt.starts_with("\"\"\"") || stmt.starts_with("'''") {
            let start = lines[..f].iter().map(|l| l.len() + 1).sum::<usize>() + indent.len();
            let text = &body_text[start..];
            let quote = &text[..3];
            let mut end = None;
            let mut j = 3;
            let bytes = text.as_bytes();
            while j < bytes.len() {
                if bytes[j] == b'\\' {
                    j += 2;
                } else if bytes[j..].starts_with(quote.as_bytes()) {
                    end = Some(j);
                    break;
                } else {
                    j += 1;
                }
            }
            let end = end.ok_or_else(|| {
                refuse(
                    "command[6]",
                    format!("{function}'s docstring is not closed"),
                )
            })?;
            let after_doc = &text[end + 3..];
            let (rest_of_line, _) = after_doc.split_once('\n').unwrap_or((after_doc, ""));
            let rest_of_line = rest_of_line.trim();
            if !(rest_of_line.is_empty() || rest_of_line.starts_with('#')) {
                return Err(refuse(
                    "command[6]",
                    format!("code follows {function}'s docstring on its line"),
                ));
            }
            let raw = unescape(&text[3..end]).ok_or_else(|| {
                refuse(
                    "command[6]",
                    format!(
                        "{function}'s docstring uses an escape (\\x, \\u, \\N or octal) the \
                         form does not read"
                    ),
                )
            })?;
            // Its lines after the first are indented as the body is.
            description = raw
                .split('\n')
                .enumerate()
                .map(|(i, l)| {
                    if i == 0 {
                        l
                    } else {
                        l.strip_prefix(indent).unwrap_or(l)
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_string();
            body_from = f + text[..end + 3].matches('\n').count() + 1;
        }
    }
    let body = dedent(&lines.get(body_from..).unwrap_or_default().join("\n"));
    Ok(Function {
        params,
        returns,
        description,
        body,
    })
}

/// The contents of a non-raw Python string literal (between its quotes) as the string it
/// stands for; `None` for an escape this reader does not follow (`\x`, `\u`, `\N`, octal).
fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\n' => {}
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            'x' | 'u' | 'U' | 'N' | '0'..='7' => return None,
            // Python keeps an unknown escape as written.
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// The parameter outputs a return annotation declares, `(name, type)` in order: none, a single
/// `Output` (`-> int`), or the fields of `NamedTuple("Outputs", [("a", int), …])`.
fn returned_of(
    returns: Option<&str>,
    function: &str,
) -> Result<Vec<(String, String)>, DraftOpenError> {
    let Some(returns) = returns else {
        return Ok(Vec::new());
    };
    let r = squeeze(returns);
    let is_type = |t: &str| {
        ParameterType::USER_TYPES
            .iter()
            .any(|p| p.python_name() == t)
    };
    if is_type(&r) {
        return Ok(vec![("Output".to_string(), r)]);
    }
    let bad = || {
        refuse(
            format!("command[6] (the return annotation of {function})"),
            format!(
                "-> {returns} is not a parameter type or a NamedTuple of them as the form writes \
                 it"
            ),
        )
    };
    let fields = r
        .strip_prefix("NamedTuple(\"")
        .and_then(|r| r.split_once("\",["))
        .and_then(|(_, r)| r.strip_suffix("])"))
        .ok_or_else(bad)?;
    let fields = fields.strip_suffix(',').unwrap_or(fields);
    if fields.is_empty() {
        return Ok(Vec::new());
    }
    fields
        .split("),(")
        .map(|f| {
            let f = f.trim_start_matches('(').trim_end_matches(')');
            let (name, ty) = f.split_once("\",").ok_or_else(bad)?;
            let name = name.strip_prefix('"').ok_or_else(bad)?;
            if !crate::names::is_valid_identifier(name) || !is_type(ty) {
                return Err(bad());
            }
            Ok((name.to_string(), ty.to_string()))
        })
        .collect()
}

/// The text the form holds for a default written as the Python literal `literal`, for a
/// parameter of type `ty`: a string's value, JSON for the rest (True/False/None as JSON
/// writes them). `None` when it is not a literal of plain values.
fn text_of_literal(ty: &str, literal: &str) -> Option<String> {
    let literal = literal.trim();
    let mut json = String::with_capacity(literal.len());
    let mut chars = literal.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' | '\'' => {
                // One string, up to its unescaped closing quote.
                let mut end = None;
                let mut escaped = false;
                for (j, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == c {
                        end = Some(j);
                        break;
                    }
                }
                let value = unescape(&literal[i + 1..end?])?;
                if ty == "str" {
                    // A string's default is the whole literal.
                    return (end? + 1 == literal.len()).then_some(value);
                }
                json.push_str(&serde_json::to_string(&value).ok()?);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::from(c);
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_ascii_alphanumeric() || d == '_' {
                        word.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                json.push_str(match word.as_str() {
                    "True" => "true",
                    "False" => "false",
                    "None" => "null",
                    _ => return None,
                });
            }
            c if c.is_ascii_digit() || c == '.' => {
                // A number, with its exponent.
                json.push(c);
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_ascii_alphanumeric() || d == '.' || d == '_' {
                        json.push(d);
                        chars.next();
                        if d == 'e' || d == 'E' {
                            if let Some(&(_, s @ ('+' | '-'))) = chars.peek() {
                                json.push(s);
                                chars.next();
                            }
                        }
                    } else {
                        break;
                    }
                }
            }
            c => json.push(c),
        }
    }
    if ty == "str" {
        return None;
    }
    let value: Value = serde_json::from_str(&json).ok()?;
    match (ty, &value) {
        ("bool", Value::Bool(b)) => Some(b.to_string()),
        ("int" | "float", Value::Number(_))
        | ("list", Value::Array(_))
        | ("dict", Value::Object(_)) => Some(json),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The check: the draft written again is the file's component.

fn verify(draft: &ComponentDraft, spec: &PipelineSpec, python: bool) -> Result<(), DraftOpenError> {
    let authored = author(draft).map_err(|problems| {
        let first = problems.first().map(|p| p.to_string()).unwrap_or_default();
        refuse(
            "component",
            format!("the form would not accept what the file holds: {first}"),
        )
    })?;
    let ours = &authored.spec;
    let executor = |s: &PipelineSpec| {
        s.deployment_spec
            .as_ref()
            .and_then(|d| d.executors.values().next().cloned())
    };
    let (Some(ExecutorSpec::Container(mine)), Some(ExecutorSpec::Container(theirs))) =
        (executor(ours), executor(spec))
    else {
        return Err(refuse(
            "deploymentSpec.executors",
            "the executor is not a container",
        ));
    };
    let differs = |what: &str| {
        refuse(
            format!("deploymentSpec.executors.{what}"),
            format!(
                "the form would write a different {what}; the file was changed after it was \
                 written, in a way the form cannot show"
            ),
        )
    };
    if mine.image != theirs.image {
        return Err(differs("image"));
    }
    if mine.args != theirs.args {
        return Err(differs("args"));
    }
    if python {
        // The SDK's version in its own install may be another than ours (it becomes ours), and
        // the program is the function the SDK was given, as it was formatted (read above).
        let version = |s: &str| -> String {
            s.split("'kfp==")
                .nth(1)
                .and_then(|r| r.split('\'').next())
                .unwrap_or_default()
                .to_string()
        };
        for i in 0..6 {
            let (m, t) = (&mine.command[i], &theirs.command[i]);
            let t = if i == 2 {
                t.replace(
                    &format!("'kfp=={}'", version(t)),
                    &format!("'kfp=={}'", super::KFP_VERSION),
                )
            } else {
                t.clone()
            };
            if *m != t {
                return Err(differs(&format!("command[{i}]")));
            }
        }
    } else if mine != theirs {
        return Err(differs("command"));
    }
    // The rest of the file: the interface, the root DAG of one task, the names.
    let mut theirs = spec.clone();
    theirs.deployment_spec = ours.deployment_spec.clone();
    theirs.sdk_version = ours.sdk_version.clone();
    theirs.pipeline_info.description = None;
    if theirs != *ours {
        let at = if theirs.components != ours.components {
            let (a, b) = (
                theirs.components.values().next(),
                ours.components.values().next(),
            );
            match (a, b) {
                (Some(a), Some(b)) if a.input_definitions != b.input_definitions => {
                    "inputDefinitions"
                }
                (Some(a), Some(b)) if a.output_definitions != b.output_definitions => {
                    "outputDefinitions"
                }
                _ => "components",
            }
        } else if theirs.root != ours.root {
            "root"
        } else if theirs.pipeline_info != ours.pipeline_info {
            "pipelineInfo"
        } else {
            "the file"
        };
        return Err(refuse(
            at,
            "not what the form writes for this component (port descriptions, optional inputs \
             without a default, task settings or a display name the form has no place for)",
        ));
    }
    Ok(())
}

#[cfg(all(test, feature = "yaml"))]
#[path = "authoring_open_tests.rs"]
mod tests;
