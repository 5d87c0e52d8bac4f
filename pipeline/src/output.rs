//! Writing a compiled pipeline as JSON or YAML: the spec and, in YAML, the Kubernetes platform
//! spec as the second document, as the KFP SDK writes them.
//!
//! YAML files open with the comment block the SDK writes (`# PIPELINE DEFINITION`, the name, the
//! description over as many lines as it has, the root's inputs and outputs: [`yaml_header`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ir::PipelineSpec;

/// Why a compiled pipeline cannot be written in the format asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// JSON holds one document, the spec: Kubernetes settings would be dropped. The KFP SDK
    /// refuses the same ("platform-specific features are only supported when serializing to
    /// YAML").
    #[error(
        "this pipeline has Kubernetes settings (a platform spec: volumes, secrets, node selectors, …), which only the YAML form holds, as with the KFP SDK; write it as YAML"
    )]
    PlatformSpecInJson,
}

/// Whether a platform spec sets anything (`platforms` is not empty), which is when the KFP SDK
/// writes it.
pub fn has_platform_features(platform_spec: Option<&Value>) -> bool {
    platform_spec
        .and_then(|p| p.get("platforms"))
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
}

/// The two spec formats KFP and Vertex AI read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// Pretty JSON (what the seed's `compiler.compile(..., 'x.json')` writes).
    #[default]
    Json,
    /// YAML with KFP's `# PIPELINE DEFINITION` header.
    Yaml,
}

impl OutputFormat {
    /// Parses `json` / `yaml` / `yml`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Some(OutputFormat::Json),
            "yaml" | "yml" => Some(OutputFormat::Yaml),
            _ => None,
        }
    }

    /// The MIME type to serve the spec with.
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Json => "application/json",
            OutputFormat::Yaml => "application/yaml",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Json => "json",
            OutputFormat::Yaml => "yaml",
        }
    }

    /// Writes a compiled pipeline in this format, as the KFP SDK writes its files: YAML is the
    /// spec, then the platform spec as a second document when it sets anything; JSON is the spec
    /// alone, so a pipeline with Kubernetes settings is refused rather than written without them.
    #[cfg(feature = "yaml")]
    pub fn write(
        self,
        spec: &PipelineSpec,
        platform_spec: Option<&Value>,
    ) -> Result<String, OutputError> {
        let platform_spec = platform_spec.filter(|p| has_platform_features(Some(p)));
        match (self, platform_spec) {
            (OutputFormat::Json, None) => Ok(to_json(spec)),
            (OutputFormat::Json, Some(_)) => Err(OutputError::PlatformSpecInJson),
            (OutputFormat::Yaml, None) => Ok(to_yaml(spec)),
            (OutputFormat::Yaml, Some(platform)) => {
                let mut out = to_yaml(spec);
                out.push_str("---\n");
                out.push_str(&yaml_text(platform));
                Ok(out)
            }
        }
    }
}

/// The spec as pretty JSON with a trailing newline.
pub fn to_json(spec: &PipelineSpec) -> String {
    // Plain data with string keys: serialization cannot fail.
    serde_json::to_string_pretty(spec).unwrap_or_default() + "\n"
}

/// The spec as YAML, headed by the comment block the KFP SDK writes, with the description of
/// `pipelineInfo` (a pipeline's).
#[cfg(feature = "yaml")]
pub fn to_yaml(spec: &PipelineSpec) -> String {
    to_yaml_described(spec, spec.pipeline_info.description.as_deref())
}

/// The spec as YAML, headed by the comment block the KFP SDK writes with `description`, which
/// the SDK does not always keep in the spec: a component file has it only in its header (and a
/// Python component in its docstring).
#[cfg(feature = "yaml")]
pub fn to_yaml_described(spec: &PipelineSpec, description: Option<&str>) -> String {
    let mut out = yaml_header(spec, description);
    // Through a JSON value, so oneof fields (`container:`) come out as plain keys, not YAML tags.
    let value = serde_json::to_value(spec).unwrap_or_default();
    out.push_str(&yaml_text(&value));
    out
}

/// The comment block the KFP SDK heads a YAML file with (its `extract_comments_from_pipeline_spec`):
/// `# PIPELINE DEFINITION`, `# Name:`, `# Description:` when there is one (each further line of
/// it after `#` and 14 spaces), then `# Inputs:` and `# Outputs:` when the root declares them,
/// each input and output on a line, sorted by name, with its type (`str`, `system.Model`) and a
/// parameter's default in Python's spelling (`[Default: 'text']`, `[Default: 3.0]`,
/// `[Default: ['a', True]]`).
///
/// The text is the SDK's, but for characters a YAML comment cannot hold (a line break in a
/// default, a control character), which are written as Python escapes (`\n`, `\x07`): where the
/// SDK would write a file that does not load, this one does.
#[cfg(feature = "yaml")]
pub fn yaml_header(spec: &PipelineSpec, description: Option<&str>) -> String {
    let mut lines = vec![
        "# PIPELINE DEFINITION".to_string(),
        format!("# Name: {}", spec.pipeline_info.name),
    ];
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        let mut parts = python_splitlines(d).into_iter();
        lines.push(format!(
            "# Description: {}",
            parts.next().unwrap_or_default()
        ));
        lines.extend(parts.map(|p| format!("#              {p}")));
    }
    let root = &spec.root;
    if let Some(inputs) = &root.input_definitions {
        lines.push("# Inputs:".into());
        let mut ports: Vec<(&str, String)> = Vec::new();
        for (name, p) in &inputs.parameters {
            let mut line = p.parameter_type.python_name().to_string();
            if let Some(d) = &p.default_value {
                line.push_str(" [Default: ");
                match d {
                    // A string alone is quoted as it is, without Python's escapes.
                    Value::String(s) => {
                        line.push('\'');
                        line.push_str(s);
                        line.push('\'');
                    }
                    other => line.push_str(&python_str(other)),
                }
                line.push(']');
            }
            ports.push((name, line));
        }
        for (name, a) in &inputs.artifacts {
            ports.push((name, a.artifact_type.title().to_string()));
        }
        ports.sort_by(|a, b| a.0.cmp(b.0));
        lines.extend(ports.iter().map(|(n, t)| format!("#    {n}: {t}")));
    }
    if let Some(outputs) = &root.output_definitions {
        lines.push("# Outputs:".into());
        let mut ports: Vec<(&str, &str)> = Vec::new();
        for (name, p) in &outputs.parameters {
            ports.push((name, p.parameter_type.python_name()));
        }
        for (name, a) in &outputs.artifacts {
            ports.push((name, a.artifact_type.title()));
        }
        ports.sort_by(|a, b| a.0.cmp(b.0));
        lines.extend(ports.iter().map(|(n, t)| format!("#    {n}: {t}")));
    }
    let mut out = String::new();
    for line in lines {
        push_comment_text(&mut out, &line);
        out.push('\n');
    }
    out
}

/// Python's `str.splitlines()`: the lines of `text` split at any of the line boundaries Python
/// knows (`\n`, `\r`, `\r\n`, `\v`, `\f`, `\x1c`–`\x1e`, `\x85`, U+2028, U+2029), without them.
pub(crate) fn python_splitlines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if is_break {
            lines.push(&text[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(j, '\n')) = chars.peek() {
                    chars.next();
                    end = j + 1;
                }
            }
            start = end;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Whether PyYAML reads `c` in a YAML stream (its reader refuses the rest).
#[cfg(feature = "yaml")]
fn yaml_printable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

/// Appends `text` to a comment line: characters a YAML comment cannot hold (line breaks, what
/// YAML cannot hold at all) as Python escapes.
#[cfg(feature = "yaml")]
fn push_comment_text(out: &mut String, text: &str) {
    for c in text.chars() {
        let breaks = matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if breaks || !yaml_printable(c) {
            push_python_escape(out, c);
        } else {
            out.push(c);
        }
    }
}

/// `c` as Python's `repr` escapes it.
#[cfg(feature = "yaml")]
fn push_python_escape(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let n = u32::from(c);
    let _ = match c {
        '\n' => write!(out, "\\n"),
        '\r' => write!(out, "\\r"),
        '\t' => write!(out, "\\t"),
        _ if n < 0x100 => write!(out, "\\x{n:02x}"),
        _ if n < 0x10000 => write!(out, "\\u{n:04x}"),
        _ => write!(out, "\\U{n:08x}"),
    };
}

/// What Python's `str()` writes for a parameter value as the KFP SDK holds it (protobuf
/// `Value`s: every number a float): `True`, `None`, `3.0`, `1e-05`, `['a', 1.5]`, `{'k': 'v'}`.
/// The SDK's dicts come in the order of a protobuf map, which changes from run to run; here
/// keys are sorted.
#[cfg(feature = "yaml")]
fn python_str(v: &Value) -> String {
    let mut out = String::new();
    push_python_repr(&mut out, v);
    out
}

#[cfg(feature = "yaml")]
fn push_python_repr(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => out.push_str(&python_float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => push_python_str_repr(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_python_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_python_str_repr(out, k);
                out.push_str(": ");
                push_python_repr(out, item);
            }
            out.push('}');
        }
    }
}

/// Python's `repr` of a string: in single quotes, or double quotes when it holds `'` and no
/// `"`; backslashes, the quote, `\n`, `\r`, `\t` and characters Python does not print escaped.
#[cfg(feature = "yaml")]
fn push_python_str_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        if c == quote || c == '\\' {
            out.push('\\');
            out.push(c);
        } else if python_printable(c) {
            out.push(c);
        } else {
            push_python_escape(out, c);
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable` for one character: not a control, format, surrogate, private-use
/// or unassigned character, nor a separator other than the space. Without the Unicode database,
/// the format characters and unassigned code points are the common ones only.
#[cfg(feature = "yaml")]
fn python_printable(c: char) -> bool {
    let n = u32::from(c);
    if n < 0x7f {
        return n >= 0x20;
    }
    !matches!(n,
        0x7f..=0xa0
        | 0xad
        | 0x600..=0x605
        | 0x61c
        | 0x6dd
        | 0x70f
        | 0x890..=0x891
        | 0x8e2
        | 0x1680
        | 0x180e
        | 0x2000..=0x200f
        | 0x2028..=0x202f
        | 0x205f..=0x2064
        | 0x2066..=0x206f
        | 0x3000
        | 0xd800..=0xf8ff
        | 0xfdd0..=0xfdef
        | 0xfeff
        | 0xfff0..=0xfffb
        | 0xfffe..=0xffff
        | 0x110bd
        | 0x110cd
        | 0x13430..=0x1343f
        | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a
        | 0xe0000..=0xe00ff
        | 0xe01f0..=0x10ffff
    ) && (n & 0xfffe) != 0xfffe
}

/// Python's `repr` of a float: the shortest digits that read back as it, in positional notation
/// with at least one decimal (`3.0`, `0.0001`, `1234567890123456.0`) when the decimal point is
/// at most 16 places after the first digit and fewer than 4 before it, else in scientific
/// notation with a signed exponent of at least two digits (`1e-05`, `1.5e+16`).
#[cfg(feature = "yaml")]
fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` writes the same shortest digits: `d.ddde<exp>`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    // The decimal point's place after the first digit, as Python's dtoa counts it.
    let decpt = exp + 1;
    if !(-4 < decpt && decpt <= 16) {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{rest}e{esign}{:02}", exp.abs());
    }
    let n = digits.len() as i32;
    if decpt <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
    } else if decpt >= n {
        format!("{sign}{digits}{}.0", "0".repeat((decpt - n) as usize))
    } else {
        let (int, frac) = digits.split_at(decpt as usize);
        format!("{sign}{int}.{frac}")
    }
}

/// `value` as YAML.
#[cfg(feature = "yaml")]
fn yaml_text(value: &Value) -> String {
    serde_yaml_ng::to_string(value).unwrap_or_default()
}

#[cfg(all(test, feature = "yaml"))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_writes_floats_and_values_so() {
        for (f, text) in [
            (3.0, "3.0"),
            (-100.0, "-100.0"),
            (0.01, "0.01"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (1e100, "1e+100"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.1 + 0.2, "0.30000000000000004"),
        ] {
            assert_eq!(python_float(f), text, "{f}");
        }
        assert_eq!(
            python_str(&json!([64, 1.5, "relu", false, null, {"b": 1, "a": "it's"}])),
            "[64.0, 1.5, 'relu', False, None, {'a': \"it's\", 'b': 1.0}]"
        );
        assert_eq!(
            python_str(&json!(["a\\b\n\t\u{7}é\u{a0}\u{2028}😀", "'\""])),
            "['a\\\\b\\n\\t\\x07é\\xa0\\u2028😀', '\\'\"']"
        );
    }

    #[test]
    fn splitlines_is_pythons() {
        assert_eq!(python_splitlines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(python_splitlines("a\n\nb\n"), ["a", "", "b"]);
        assert_eq!(
            python_splitlines("a\u{b}b\u{c}c\u{1c}d\u{85}e\u{2028}f\u{2029}g"),
            ["a", "b", "c", "d", "e", "f", "g"]
        );
        assert!(python_splitlines("").is_empty());
        assert_eq!(python_splitlines("\n"), [""]);
    }

    fn spec_with(root: Value) -> PipelineSpec {
        serde_json::from_value(json!({
            "components": {},
            "pipelineInfo": {"name": "p"},
            "root": root,
            "schemaVersion": "2.1.0",
            "sdkVersion": "kfp-2.17.3",
        }))
        .expect("spec")
    }

    #[test]
    fn the_header_is_the_sdks() {
        let spec = spec_with(json!({
            "inputDefinitions": {
                "artifacts": {"model": {"artifactType": {"schemaTitle": "system.Model", "schemaVersion": "0.0.1"}}},
                "parameters": {
                    "z": {"parameterType": "STRING", "defaultValue": "it's \"x\"", "isOptional": true},
                    "a": {"parameterType": "NUMBER_INTEGER", "defaultValue": 3.0, "isOptional": true},
                    "n": {"parameterType": "LIST", "defaultValue": ["no", 1], "isOptional": true},
                    "b": {"parameterType": "BOOLEAN"},
                },
            },
            "outputDefinitions": {
                "artifacts": {"out": {"artifactType": {"schemaTitle": "system.Dataset", "schemaVersion": "0.0.1"}}},
                "parameters": {"count": {"parameterType": "NUMBER_DOUBLE"}},
            },
        }));
        assert_eq!(
            yaml_header(&spec, Some("First line.\n\n  indented\nlast")),
            "# PIPELINE DEFINITION\n# Name: p\n# Description: First line.\n#              \n\
             #                indented\n#              last\n# Inputs:\n#    a: int [Default: 3.0]\n\
             #    b: bool\n#    model: system.Model\n#    n: list [Default: ['no', 1.0]]\n\
             #    z: str [Default: 'it's \"x\"']\n# Outputs:\n#    count: float\n\
             #    out: system.Dataset\n"
        );
        // No description, no interface: the first two lines only.
        let bare = spec_with(json!({}));
        assert_eq!(
            yaml_header(&bare, None),
            "# PIPELINE DEFINITION\n# Name: p\n"
        );
        assert_eq!(
            yaml_header(&bare, Some("")),
            "# PIPELINE DEFINITION\n# Name: p\n"
        );
        // What a comment cannot hold is escaped, so the file still loads.
        let spec = spec_with(json!({"inputDefinitions": {"parameters": {
            "s": {"parameterType": "STRING", "defaultValue": "a\nb\u{7}", "isOptional": true}}}}));
        let text = to_yaml_described(&spec, Some("bell \u{7}"));
        assert!(text.contains("# Description: bell \\x07\n"), "{text}");
        assert!(
            text.contains("#    s: str [Default: 'a\\nb\\x07']\n"),
            "{text}"
        );
        assert!(crate::import::yaml_documents(&text).is_ok());
    }

    #[test]
    fn to_yaml_takes_the_description_of_pipeline_info() {
        let mut spec = spec_with(json!({}));
        spec.pipeline_info.description = Some("Two\nlines".into());
        assert!(to_yaml(&spec).starts_with(
            "# PIPELINE DEFINITION\n# Name: p\n# Description: Two\n#              lines\n"
        ));
        let t = to_yaml_described(&spec, None);
        assert!(
            t.starts_with("# PIPELINE DEFINITION\n# Name: p\npipelineInfo:"),
            "{t}"
        );
    }
}
