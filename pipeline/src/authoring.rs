//! Component authoring: a component described by a form ([`ComponentDraft`]: a name, its
//! inputs and outputs, and either a Python function body or a container command line) becomes
//! the component file the KFP SDK writes for it (`kfp.compiler.Compiler().compile(component,
//! path)`), loadable by `kfp.components.load_component_from_file` and by the canvas.
//!
//! A Python draft is turned into the function the SDK would be given: the signature is written
//! from the draft's interface (`Input[Dataset]`, `Output[Model]`, defaults, a `NamedTuple` of the
//! parameter outputs), the body is the user's. The source is embedded exactly as the SDK's
//! `@dsl.component` embeds it, so the file equals the SDK's (checked against the SDK in
//! `tests/kfp_oracle.rs`). A container draft writes its command and arguments with `{{name}}`
//! references to its inputs and outputs, which become KFP placeholders.
//!
//! [`author`] returns the component or *every* problem of the draft, each naming its field;
//! [`draft_of`] reads the draft back from a component file, to edit it again.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::document::ComponentDef;
use crate::ir::{
    ArtifactSelector, ArtifactSpec, ArtifactTypeSchema, CachingOptions, ComponentRef,
    ComponentSpec, ContainerSpec, DagOutputArtifactSpec, DagOutputParameterSpec, DagOutputsSpec,
    DagSpec, DeploymentSpec, ExecutorSpec, InputArtifactSpec, InputDefinitions, InputParameterSpec,
    OutputDefinitions, ParameterSelector, ParameterSpec, ParameterType, PipelineInfo, PipelineSpec,
    PipelineTaskSpec, TaskInfo, TaskInputsSpec,
};
use crate::map::Map;

#[path = "authoring_open.rs"]
mod open;
pub use open::{draft_of, DraftOpenError};

/// The KFP SDK whose output authored components reproduce (its `sdkVersion`, and the `kfp`
/// a Python component installs at run time).
pub const KFP_VERSION: &str = "2.17.3";

/// The artifact types a draft can use, by their Python names (`system.<name>` in the IR).
pub const ARTIFACT_TYPES: [&str; 8] = [
    "Artifact",
    "Dataset",
    "Model",
    "Metrics",
    "ClassificationMetrics",
    "SlicedClassificationMetrics",
    "HTML",
    "Markdown",
];

/// Longest name of a component or port.
pub const MAX_NAME: usize = 63;

/// A component as described by the authoring form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentDraft {
    /// The Python function name (`train_model`); the component is named `train-model`.
    pub name: String,
    /// What it does; the Python function's docstring.
    #[serde(default)]
    pub description: String,
    /// The inputs, in the function signature's order.
    #[serde(default)]
    pub inputs: Vec<DraftPort>,
    /// The outputs.
    #[serde(default)]
    pub outputs: Vec<DraftPort>,
    /// How it runs.
    pub implementation: Implementation,
}

/// An input or output of a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DraftPort {
    /// A Python identifier.
    pub name: String,
    /// A parameter type's Python name (`str`, `int`, `float`, `bool`, `list`, `dict`) or an
    /// artifact type of [`ARTIFACT_TYPES`].
    #[serde(rename = "type")]
    pub ty: String,
    /// An input parameter's default, as typed in a field (`0.1`, `[1, 2]`, `text`); none means
    /// the input is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// How an authored component runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum Implementation {
    /// A KFP lightweight Python component (`@dsl.component`).
    #[serde(rename_all = "camelCase")]
    Python {
        /// The image it runs in (`python:3.11`).
        base_image: String,
        /// pip requirements installed before it runs (`pandas==2.2.2`).
        #[serde(default)]
        packages: Vec<String>,
        /// The function body (indentation is added).
        body: String,
    },
    /// A container component (`@dsl.container_component`).
    #[serde(rename_all = "camelCase")]
    Container {
        /// The image.
        image: String,
        /// The entry point, one item per element; may hold `{{name}}` references.
        #[serde(default)]
        command: Vec<String>,
        /// The arguments, one per element; may hold `{{name}}` references.
        #[serde(default)]
        args: Vec<String>,
    },
}

/// A problem with a draft: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DraftProblem {
    /// The field, as a path into the draft: `name`, `inputs[1].default`, `args[0]`.
    pub field: String,
    /// What is wrong, and what would do.
    pub message: String,
}

/// A draft made into a component.
#[derive(Debug, Clone, PartialEq)]
pub struct Authored {
    /// The component, as the palette and documents hold it.
    pub component: ComponentDef,
    /// The component file (one task running the component), as the KFP SDK writes it. It has
    /// no description, as the SDK's has none: write the file with [`Authored::yaml`], whose
    /// header comment holds it.
    pub spec: PipelineSpec,
    /// A Python draft's function source, as embedded in the file.
    pub python: Option<String>,
}

impl Authored {
    /// The component file as the KFP SDK writes it: the spec, headed by the SDK's comment block,
    /// whose `# Description:` is the only place the file keeps the description (besides a
    /// Python component's docstring).
    #[cfg(feature = "yaml")]
    pub fn yaml(&self) -> String {
        crate::output::to_yaml_described(&self.spec, self.header_description().as_deref())
    }

    /// The description the KFP SDK writes in the file's header for this component: what
    /// `docstring_parser` makes of its docstring, the first line and the rest (the blank lines
    /// between them dropped) — the SDK's `get_pipeline_description`.
    pub fn header_description(&self) -> Option<String> {
        self.component
            .description
            .as_deref()
            .and_then(sdk_description)
    }
}

/// The description the KFP SDK takes from a docstring (already `inspect.cleandoc`ed, as
/// [`Authored::component`] holds it) whose every line is description: `docstring_parser`'s
/// short description (the first line) and long description (the rest, stripped), joined by one
/// line break and stripped.
fn sdk_description(doc: &str) -> Option<String> {
    let (short, long) = doc.split_once('\n').unwrap_or((doc, ""));
    let long = long.trim_matches(is_python_space);
    if short.is_empty() {
        return None;
    }
    let joined = if long.is_empty() {
        short.to_string()
    } else {
        format!("{short}\n{long}")
    };
    Some(joined.trim_matches(is_python_space).to_string()).filter(|d| !d.is_empty())
}

/// What a port of the draft is, once its type has been read.
#[derive(Clone, Copy)]
enum Kind<'a> {
    Parameter(ParameterType),
    Artifact(&'a str),
}

/// Makes `draft` into a component, or says everything that is wrong with it.
pub fn author(draft: &ComponentDraft) -> Result<Authored, Vec<DraftProblem>> {
    let mut problems = Vec::new();
    let mut problem =
        |field: String, message: String| problems.push(DraftProblem { field, message });

    check_name(&draft.name, "name", &mut problem, true);
    let mut seen = std::collections::HashSet::new();
    let mut inputs = InputDefinitions::default();
    let mut outputs = OutputDefinitions::default();
    let mut kinds: Vec<(&str, Kind, bool)> = Vec::new();
    for (side, ports) in [("inputs", &draft.inputs), ("outputs", &draft.outputs)] {
        let input = side == "inputs";
        for (i, port) in ports.iter().enumerate() {
            let at = format!("{side}[{i}]");
            if check_name(&port.name, &format!("{at}.name"), &mut problem, false)
                && !seen.insert(port.name.as_str())
            {
                problem(
                    format!("{at}.name"),
                    format!(
                        "{:?} is already the name of another input or output",
                        port.name
                    ),
                );
            }
            let Some(kind) = kind_of(&port.ty) else {
                problem(
                    format!("{at}.type"),
                    format!(
                        "unknown type {:?}; use str, int, float, bool, list, dict or an \
                         artifact type ({})",
                        port.ty,
                        ARTIFACT_TYPES.join(", ")
                    ),
                );
                continue;
            };
            kinds.push((&port.name, kind, input));
            match kind {
                Kind::Parameter(ty) => {
                    let mut spec = ParameterSpec::of(ty);
                    if let Some(text) = &port.default {
                        if !input {
                            problem(format!("{at}.default"), "an output has no default".into());
                        }
                        match ty.parse_text(text) {
                            // The SDK refuses None in a default (it has no protobuf value).
                            Ok(v) if holds_null(&v) => problem(
                                format!("{at}.default"),
                                "null is not a value a KFP parameter can hold; leave it out".into(),
                            ),
                            Ok(v) => {
                                spec.default_value = Some(crate::compile::normalize(&v));
                                spec.is_optional = true;
                            }
                            Err(e) => problem(format!("{at}.default"), e.to_string()),
                        }
                    }
                    if input {
                        inputs.parameters.insert(port.name.clone(), spec);
                    } else {
                        outputs.parameters.insert(port.name.clone(), spec);
                    }
                }
                Kind::Artifact(title) => {
                    if port.default.is_some() {
                        problem(
                            format!("{at}.default"),
                            "an artifact has no default value; leave it empty".into(),
                        );
                    }
                    let spec = ArtifactSpec {
                        artifact_type: ArtifactTypeSchema::titled(&format!("system.{title}")),
                        description: None,
                        is_artifact_list: false,
                        is_optional: false,
                        properties: None,
                        custom_properties: None,
                        metadata: None,
                    };
                    if input {
                        inputs.artifacts.insert(port.name.clone(), spec);
                    } else {
                        outputs.artifacts.insert(port.name.clone(), spec);
                    }
                }
            }
        }
    }

    check_description(&draft.description, &mut problem);
    let (container, python) = match &draft.implementation {
        Implementation::Python {
            base_image,
            packages,
            body,
        } => {
            check_image(base_image, "baseImage", &mut problem);
            for (i, p) in packages.iter().enumerate() {
                let p = p.trim();
                // The SDK writes each package as Python's repr() of it, which is '<package>'
                // for printable ASCII without ' or \.
                if p.is_empty()
                    || !p
                        .bytes()
                        .all(|b| (b' '..=b'~').contains(&b) && b != b'\'' && b != b'\\')
                {
                    problem(
                        format!("packages[{i}]"),
                        "a package is a pip requirement in printable ASCII without ' or \\ \
                         (e.g. pandas==2.2.2)"
                            .into(),
                    );
                }
            }
            if body.contains('\0') {
                problem("body".into(), "the body holds a NUL character".into());
            }
            // A NamedTuple's fields cannot start with _.
            let returned: Vec<&str> = kinds
                .iter()
                .filter(|(_, k, input)| !input && matches!(k, Kind::Parameter(_)))
                .map(|(n, _, _)| *n)
                .collect();
            if returned != ["Output"] {
                for (i, port) in draft.outputs.iter().enumerate() {
                    if returned.contains(&port.name.as_str()) && port.name.starts_with('_') {
                        problem(
                            format!("outputs[{i}].name"),
                            format!(
                                "{:?}: a Python component's parameter outputs are the fields \
                                 of a NamedTuple, which cannot start with _",
                                port.name
                            ),
                        );
                    }
                }
            }
            let source = python_source(draft, &kinds);
            let container = python_container(&draft.name, base_image, packages, &source);
            (container, Some(source))
        }
        Implementation::Container {
            image,
            command,
            args,
        } => {
            check_image(image, "image", &mut problem);
            let mut expand = |field: &str, items: &[String]| -> Vec<String> {
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        expand_references(item, &kinds).unwrap_or_else(|message| {
                            problem(format!("{field}[{i}]"), message);
                            String::new()
                        })
                    })
                    .collect()
            };
            let command = expand("command", command);
            let args = expand("args", args);
            (
                ContainerSpec {
                    args,
                    command,
                    env: Vec::new(),
                    image: image.trim().to_string(),
                    lifecycle: None,
                    resources: None,
                },
                None,
            )
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    // As the SDK reads it back from the docstring (`inspect.cleandoc`).
    let description = Some(docstring(&draft.description).1)
        .filter(|d| !d.is_empty())
        .map(|d| cleandoc(&d));
    let component = ComponentDef {
        name: component_name(&draft.name),
        title: None,
        description,
        input_definitions: inputs,
        output_definitions: outputs,
        executor: Some(ExecutorSpec::Container(container)),
        pipeline: None,
    };
    let spec = component_file(&component);
    Ok(Authored {
        component,
        spec,
        python,
    })
}

/// Whether `name` is a function name [`author`] accepts for a component (a lower-case Python
/// identifier of at most [`MAX_NAME`] characters, not a keyword): the name of its file in a
/// library, never a path.
pub fn is_function_name(name: &str) -> bool {
    check_name(name, "name", &mut |_, _| {}, true)
}

/// The component name of a function name, as the SDK makes it (`train_model` → `train-model`).
pub fn component_name(function: &str) -> String {
    crate::names::sanitize(function)
}

/// The file the KFP SDK writes for a component: its definition and executor, and a root DAG
/// with one task running it, fed by the root's inputs and giving the root its outputs.
pub fn component_file(component: &ComponentDef) -> PipelineSpec {
    let name = component.name.clone();
    let key = format!("comp-{name}");
    let label = format!("exec-{name}");
    let inputs = &component.input_definitions;
    let outputs = &component.output_definitions;
    let task_inputs = TaskInputsSpec {
        artifacts: map(inputs.artifacts.keys().map(|k| {
            (
                k.clone(),
                InputArtifactSpec {
                    component_input_artifact: Some(k.clone()),
                    ..Default::default()
                },
            )
        })),
        parameters: map(inputs.parameters.keys().map(|k| {
            (
                k.clone(),
                InputParameterSpec {
                    component_input_parameter: Some(k.clone()),
                    ..Default::default()
                },
            )
        })),
    };
    let dag_outputs = DagOutputsSpec {
        artifacts: map(outputs.artifacts.keys().map(|k| {
            (
                k.clone(),
                DagOutputArtifactSpec {
                    artifact_selectors: vec![ArtifactSelector {
                        output_artifact_key: k.clone(),
                        producer_subtask: name.clone(),
                    }],
                },
            )
        })),
        parameters: map(outputs.parameters.keys().map(|k| {
            (
                k.clone(),
                DagOutputParameterSpec {
                    value_from_parameter: Some(ParameterSelector {
                        output_parameter_key: k.clone(),
                        producer_subtask: name.clone(),
                    }),
                    value_from_oneof: None,
                },
            )
        })),
    };
    let no_outputs = dag_outputs.artifacts.is_empty() && dag_outputs.parameters.is_empty();
    let task = PipelineTaskSpec {
        caching_options: Some(CachingOptions {
            enable_cache: true,
            cache_key: None,
        }),
        component_ref: ComponentRef { name: key.clone() },
        inputs: Some(task_inputs).filter(|i| !(i.artifacts.is_empty() && i.parameters.is_empty())),
        task_info: TaskInfo { name: name.clone() },
        ..Default::default()
    };
    let interface_inputs = Some(inputs.clone()).filter(|i| !i.is_empty());
    let interface_outputs = Some(outputs.clone()).filter(|o| !o.is_empty());
    let spec = ComponentSpec {
        executor_label: Some(label.clone()),
        input_definitions: interface_inputs.clone(),
        output_definitions: interface_outputs.clone(),
        ..Default::default()
    };
    PipelineSpec {
        components: map([(key, spec)]),
        default_pipeline_root: None,
        deployment_spec: component.executor.clone().map(|e| DeploymentSpec {
            executors: map([(label, e)]),
        }),
        // The SDK writes a component's description only in the YAML file's header comment
        // (and a Python component's in its docstring), not in the spec.
        pipeline_info: PipelineInfo {
            name: name.clone(),
            display_name: None,
            description: None,
        },
        root: ComponentSpec {
            dag: Some(DagSpec {
                outputs: Some(dag_outputs).filter(|_| !no_outputs),
                tasks: map([(name, task)]),
            }),
            input_definitions: interface_inputs,
            output_definitions: interface_outputs,
            ..Default::default()
        },
        schema_version: "2.1.0".into(),
        sdk_version: format!("kfp-{KFP_VERSION}"),
    }
}

fn map<V>(items: impl IntoIterator<Item = (String, V)>) -> Map<V> {
    items.into_iter().collect()
}

const PYTHON_KEYWORDS: [&str; 36] = [
    "False",
    "None",
    "True",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    "__debug__",
];

/// Checks a component (`function`) or port name; says what is wrong at `field`.
fn check_name(
    name: &str,
    field: &str,
    problem: &mut impl FnMut(String, String),
    function: bool,
) -> bool {
    let what = if function { "the component" } else { "a port" };
    let message =
        if name.is_empty() {
            format!("{what} needs a name")
        } else if name.len() > MAX_NAME {
            format!(
                "the name is {} characters long; at most {MAX_NAME}",
                name.len()
            )
        } else if !crate::names::is_valid_identifier(name) {
            format!(
            "{name:?} is not a Python identifier: use letters, digits and _, not starting with \
             a digit (e.g. {})",
            if function { "train_model" } else { "learning_rate" }
        )
        } else if function && !name.bytes().all(|b| !b.is_ascii_uppercase()) {
            format!("{name:?}: a component's function name is in lower case (e.g. train_model)")
        } else if function && name.starts_with('_') {
            format!("{name:?}: a component's name starts with a letter")
        } else if PYTHON_KEYWORDS.contains(&name) {
            format!("{name:?} is a Python keyword")
        } else {
            return true;
        };
    problem(field.to_string(), message);
    false
}

fn check_image(image: &str, field: &str, problem: &mut impl FnMut(String, String)) {
    let image = image.trim();
    if image.is_empty() {
        problem(
            field.into(),
            "the image is required (e.g. python:3.11)".into(),
        );
    } else if image
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\'')
    {
        problem(
            field.into(),
            format!(
                "{image:?} is not an image reference: it holds a space, quote or control character"
            ),
        );
    }
}

fn kind_of(ty: &str) -> Option<Kind<'static>> {
    if let Some(p) = ParameterType::USER_TYPES
        .into_iter()
        .find(|p| p.python_name() == ty)
    {
        return Some(Kind::Parameter(p));
    }
    ARTIFACT_TYPES
        .iter()
        .find(|a| **a == ty)
        .map(|a| Kind::Artifact(a))
}

/// The Python function the SDK would be given for a Python draft.
fn python_source(draft: &ComponentDraft, kinds: &[(&str, Kind, bool)]) -> String {
    let Implementation::Python { body, .. } = &draft.implementation else {
        return String::new();
    };
    let defaults: std::collections::HashMap<&str, &str> = draft
        .inputs
        .iter()
        .filter_map(|p| p.default.as_deref().map(|d| (p.name.as_str(), d)))
        .collect();
    // Python wants the parameters without defaults first.
    let mut required = Vec::new();
    let mut defaulted = Vec::new();
    let mut returned = Vec::new();
    for (name, kind, input) in kinds {
        match (kind, input) {
            (Kind::Parameter(ty), true) => match defaults.get(name) {
                Some(text) => {
                    let literal = ty
                        .parse_text(text)
                        .map(|v| python_literal(&v))
                        .unwrap_or_default();
                    defaulted.push(format!("{name}: {} = {literal}", ty.python_name()));
                }
                None => required.push(format!("{name}: {}", ty.python_name())),
            },
            (Kind::Artifact(t), true) => required.push(format!("{name}: Input[{t}]")),
            (Kind::Artifact(t), false) => required.push(format!("{name}: Output[{t}]")),
            (Kind::Parameter(ty), false) => returned.push((*name, ty.python_name())),
        }
    }
    let mut out = format!("def {}(", draft.name);
    let params: Vec<String> = required.into_iter().chain(defaulted).collect();
    if !params.is_empty() {
        out.push('\n');
        for p in params {
            out.push_str("    ");
            out.push_str(&p);
            out.push_str(",\n");
        }
    }
    out.push(')');
    match returned.as_slice() {
        [] => {}
        [("Output", ty)] => {
            out.push_str(" -> ");
            out.push_str(ty);
        }
        fields => {
            out.push_str(" -> NamedTuple(\"Outputs\", [");
            let fields: Vec<String> = fields
                .iter()
                .map(|(n, t)| format!("(\"{n}\", {t})"))
                .collect();
            out.push_str(&fields.join(", "));
            out.push_str("])");
        }
    }
    out.push_str(":\n");
    let (docstring, _) = docstring(&draft.description);
    out.push_str(&docstring);
    let body = dedent(body);
    if body.trim().is_empty() {
        if docstring.is_empty() {
            out.push_str("    pass\n");
        }
    } else {
        for line in body.lines() {
            if !line.trim().is_empty() {
                out.push_str("    ");
                out.push_str(line);
            }
            out.push('\n');
        }
    }
    out
}

/// `text` with the line breaks Python reads in a source file (universal newlines): `\r\n` and
/// `\r` become `\n`.
pub(crate) fn universal_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// `text` with the leading spaces and tabs its non-blank lines share taken off (Python's
/// `textwrap.dedent`), blank lines emptied and trailing ones dropped.
fn dedent(text: &str) -> String {
    let text = universal_newlines(text);
    let indent_of = |l: &str| l.len() - l.trim_start_matches([' ', '\t']).len();
    let mut margin: Option<&str> = None;
    for line in text.split('\n').filter(|l| !l.trim().is_empty()) {
        let indent = &line[..indent_of(line)];
        margin = Some(match margin {
            None => indent,
            // Spaces and tabs are one byte each: any prefix length is a char boundary.
            Some(m) => {
                let common = m
                    .bytes()
                    .zip(indent.bytes())
                    .take_while(|(a, b)| a == b)
                    .count();
                &m[..common]
            }
        });
    }
    let margin = margin.map_or(0, str::len);
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| {
            if l.trim().is_empty() {
                ""
            } else {
                l.get(margin..).unwrap_or(l)
            }
        })
        .collect();
    lines.join("\n").trim_end().to_string()
}

/// Python's whitespace (`str.isspace`): Unicode's, and the four separators U+001C–U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// The function's docstring for a description: the source lines (indented, quotes and
/// backslashes escaped, empty when there is no description) and the string they hold.
///
/// The source is already what the SDK makes of it (`textwrap.dedent` empties lines of only
/// spaces and tabs), so that it embeds it unchanged.
fn docstring(description: &str) -> (String, String) {
    let text = universal_newlines(description.trim());
    if text.is_empty() {
        return (String::new(), String::new());
    }
    let lines: Vec<&str> = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| {
            if i > 0 && l.chars().all(|c| c == ' ' || c == '\t') {
                ""
            } else {
                l
            }
        })
        .collect();
    let value = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 || l.is_empty() {
                l.to_string()
            } else {
                format!("    {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    // In a """ string, a backslash starts an escape, and three quotes in a row (or one at the
    // end, before the closing three) end the string: escape those.
    let chars: Vec<char> = value.chars().collect();
    let mut escaped = String::with_capacity(value.len() + 8);
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == '"' {
            let run = chars[i..].iter().take_while(|&&q| q == '"').count();
            let quote = if run >= 3 || i + run == chars.len() {
                "\\\""
            } else {
                "\""
            };
            escaped.push_str(&quote.repeat(run));
            i += run;
        } else {
            if c == '\\' {
                escaped.push('\\');
            }
            escaped.push(c);
            i += 1;
        }
    }
    (format!("    \"\"\"{escaped}\"\"\"\n"), value)
}

/// Python's `inspect.cleandoc`: tabs expanded, the first line's leading whitespace and the
/// indentation the other lines share taken off, blank lines at either end dropped. What
/// `ast.get_docstring` (so the SDK loading a component file) makes of a docstring.
pub(crate) fn cleandoc(doc: &str) -> String {
    let mut lines: Vec<Vec<char>> = doc
        .split('\n')
        .map(|line| {
            let mut out = Vec::with_capacity(line.len());
            for c in line.chars() {
                if c == '\t' {
                    out.extend(std::iter::repeat_n(' ', 8 - out.len() % 8));
                } else {
                    out.push(c);
                }
            }
            out
        })
        .collect();
    let margin = lines
        .iter()
        .skip(1)
        .filter_map(|l| {
            let indent = l.iter().take_while(|&&c| is_python_space(c)).count();
            (indent < l.len()).then_some(indent)
        })
        .min();
    if let Some(first) = lines.first_mut() {
        let indent = first.iter().take_while(|&&c| is_python_space(c)).count();
        first.drain(..indent);
    }
    if let Some(margin) = margin {
        for l in lines.iter_mut().skip(1) {
            l.drain(..margin.min(l.len()));
        }
    }
    while lines.last().is_some_and(Vec::is_empty) {
        lines.pop();
    }
    let start = lines.iter().take_while(|l| l.is_empty()).count();
    lines[start..]
        .iter()
        .map(|l| l.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The lines of a description the SDK would read as docstring sections rather than as
/// description: the section headings of `docstring_parser`'s Google and numpydoc styles (Google's
/// `Args:` and `Returns:`, which the SDK makes an `Args:` to read the outputs' from, numpydoc's
/// `Parameters`, and the rest: `Raises`, `Examples`, `Notes`, …), reST's `:param x:` and
/// `.. deprecated::`, epydoc's `@param x:`. Writing them would give the ports descriptions the
/// draft has no place for, or end the description the SDK writes in the file's header there.
/// And NUL, which Python refuses.
fn check_description(description: &str, problem: &mut impl FnMut(String, String)) {
    const TITLES: [&str; 32] = [
        "Args",
        "Arguments",
        "Parameters",
        "Params",
        "Attributes",
        "Attribute",
        "Other Args",
        "Other Arguments",
        "Other Parameters",
        "Other Params",
        "Receives",
        "Receive",
        "Returns",
        "Return",
        "Raises",
        "Raise",
        "Exceptions",
        "Except",
        "Warns",
        "Warn",
        "Yields",
        "Yield",
        "Examples",
        "Example",
        "Warnings",
        "Warning",
        "See Also",
        "Related",
        "Notes",
        "Note",
        "References",
        "Reference",
    ];
    if description.contains('\0') {
        problem(
            "description".into(),
            "the description holds a NUL character".into(),
        );
        return;
    }
    let text = universal_newlines(description);
    for (i, line) in text.split('\n').enumerate() {
        let t = line.trim_matches(is_python_space);
        let title = t
            .strip_suffix(':')
            .unwrap_or(t)
            .trim_end_matches(is_python_space);
        let section = TITLES.contains(&title) || {
            // reST's `.. deprecated::`, a numpydoc section.
            let directive = t
                .strip_prefix("..")
                .map(|r| r.trim_start_matches(is_python_space));
            directive.is_some_and(|r| {
                r.strip_prefix("deprecated")
                    .is_some_and(|r| r.trim_start_matches(is_python_space).starts_with("::"))
            })
        };
        if section || t.starts_with(':') || t.starts_with('@') {
            problem(
                "description".into(),
                format!(
                    "line {} ({t:?}) reads as a docstring {}, which the KFP SDK would make the \
                     description of an input or output, or where it would end the component's \
                     description; reword it",
                    i + 1,
                    if section {
                        "section heading"
                    } else {
                        "field (like :param x: or @param x:)"
                    }
                ),
            );
            return;
        }
    }
}

/// Whether a value holds a null anywhere.
fn holds_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(items) => items.iter().any(holds_null),
        Value::Object(fields) => fields.values().any(holds_null),
        _ => false,
    }
}

/// A JSON value as a Python literal.
fn python_literal(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        // JSON string escapes are Python string escapes.
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_literal).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_literal(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

/// The container the SDK writes for a lightweight Python component.
fn python_container(
    function: &str,
    image: &str,
    packages: &[String],
    source: &str,
) -> ContainerSpec {
    let packages: Vec<&str> = packages.iter().map(|p| p.trim()).collect();
    let mut installs = Vec::new();
    if !packages.is_empty() {
        let quoted: Vec<String> = packages.iter().map(|p| format!("'{p}'")).collect();
        installs.push(format!(
            "python3 -m pip install --quiet --no-warn-script-location {}",
            quoted.join(" ")
        ));
    }
    // The SDK installs its own kfp unless a package the user asks for starts with "kfp".
    if !packages.iter().any(|p| p.starts_with("kfp")) {
        installs.push(format!(
            "python3 -m pip install --quiet --no-warn-script-location 'kfp=={KFP_VERSION}' \
             '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<\"3.9\"'"
        ));
    }
    let pip = format!(
        "\nif ! [ -x \"$(command -v pip)\" ]; then\n    python3 -m ensurepip || python3 -m \
         ensurepip --user || apt-get install python3-pip\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1 \
         {} && \"$0\" \"$@\"\n",
        installs.join("  &&  ")
    );
    let gap = " ".repeat(25);
    let runner = format!(
        "program_path=$(mktemp -d)\n\nprintf \"%s\" \"$0\" > \"$program_path/ephemeral_component.py\"\n\
         _KFP_RUNTIME=true python3 -m kfp.dsl.executor_main{gap}--component_module_path{gap}\
         \"$program_path/ephemeral_component.py\"{gap}\"$@\"\n"
    );
    let program = format!(
        "\nimport kfp\nfrom kfp import dsl\nfrom kfp.dsl import *\nfrom typing import *\n\n{source}\n"
    );
    ContainerSpec {
        args: vec![
            "--executor_input".into(),
            "{{$}}".into(),
            "--function_to_execute".into(),
            function.into(),
        ],
        command: vec![
            "sh".into(),
            "-c".into(),
            pip,
            "sh".into(),
            "-ec".into(),
            runner,
            program,
        ],
        env: Vec::new(),
        image: image.trim().to_string(),
        lifecycle: None,
        resources: None,
    }
}

/// A command or argument with its `{{name}}` references made KFP placeholders: an input
/// parameter's value, an input artifact's path, an output's path (`output_file` for a parameter).
/// KFP placeholders written out (`{{$.…}}`) are kept.
fn expand_references(item: &str, kinds: &[(&str, Kind, bool)]) -> Result<String, String> {
    let mut out = String::with_capacity(item.len());
    let mut rest = item;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!(
                "{:?} opens {{{{ without closing it with }}}}",
                item
            ));
        };
        let name = after[..end].trim();
        if name.starts_with('$') {
            out.push_str(&rest[start..start + 2 + end + 2]);
        } else {
            let Some((_, kind, input)) = kinds.iter().find(|(n, _, _)| *n == name) else {
                return Err(format!(
                    "{{{{{name}}}}} names no input or output; the names are: {}",
                    if kinds.is_empty() {
                        "(none declared)".to_string()
                    } else {
                        kinds
                            .iter()
                            .map(|(n, _, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ));
            };
            out.push_str(&match (kind, input) {
                (Kind::Parameter(_), true) => format!("{{{{$.inputs.parameters['{name}']}}}}"),
                (Kind::Artifact(_), true) => format!("{{{{$.inputs.artifacts['{name}'].path}}}}"),
                (Kind::Parameter(_), false) => {
                    format!("{{{{$.outputs.parameters['{name}'].output_file}}}}")
                }
                (Kind::Artifact(_), false) => {
                    format!("{{{{$.outputs.artifacts['{name}'].path}}}}")
                }
            });
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
#[path = "authoring_tests.rs"]
mod tests;
