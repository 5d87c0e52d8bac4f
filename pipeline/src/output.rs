//! Writing a compiled pipeline as JSON or YAML: the spec and, in YAML, the Kubernetes platform
//! spec as the second document, as the KFP SDK writes them.
//!
//! YAML files open with the comment block the SDK writes (`# PIPELINE DEFINITION`, the name, the
//! description over as many lines as it has, the root's inputs and outputs: [`yaml_header`]).
//! Their strings are written so that PyYAML (YAML 1.1, which the KFP SDK and
//! `kfp.components.load_component_from_file` read with) reads each back as that string: a
//! string PyYAML's resolver would take for something else (`on`, `no`, `12:30:00`, `1_000`,
//! `2024-01-01`, `=`, …) is quoted, though YAML 1.2 would read it plain.

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

/// `value` as YAML (what serde_yaml_ng writes), but with every string that PyYAML would read
/// as something else quoted (see [`yaml11_reads_as_other`]).
///
/// serde_yaml_ng decides how to write a string by YAML 1.2's rules and cannot be told to quote
/// one, so each string that needs quotes is written as a marker — a prefix no string of the
/// value holds ([`marker_prefix`]), its number, and `_`s up to the string's length (so that a long key
/// is written as the long string would be) — which serde_yaml_ng writes as a plain scalar, key
/// or value, and no other text can hold; each marker is then replaced by its string in single
/// quotes. Nothing else changes. Should a marker not stand alone as a plain scalar (it cannot),
/// the YAML is written without the quotes.
#[cfg(feature = "yaml")]
pub(crate) fn yaml_text(value: &Value) -> String {
    let mut quoted: Vec<&str> = Vec::new();
    let mut all: Vec<&str> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    collect_strings(value, &mut |s| {
        all.push(s);
        if yaml11_reads_as_other(s) && seen.insert(s) {
            quoted.push(s);
        }
    });
    let plain = || serde_yaml_ng::to_string(value).unwrap_or_default();
    if quoted.is_empty() {
        return plain();
    }
    let Some(run) = marker_prefix(&all) else {
        return plain();
    };
    let markers: std::collections::HashMap<&str, String> = quoted
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut marker = format!("{run}{i}");
            let pad = s.chars().count().saturating_sub(marker.len());
            marker.extend(std::iter::repeat_n('_', pad));
            (*s, marker)
        })
        .collect();
    let Ok(text) = serde_yaml_ng::to_string(&Marked {
        value,
        markers: &markers,
    }) else {
        return plain();
    };
    replace_markers(&text, &run, &quoted).unwrap_or_else(plain)
}

/// A marker prefix no string of the value holds: 16 lowercase letters from a hash of the
/// strings themselves (so the same value is always written the same way, and no value can
/// hold the prefix its own hash gives), hashed again in the unlikely case one does. Its length
/// is fixed, so markers never make the text longer than its strings do (a prefix sized by
/// the strings, say longer than any run of one letter in them, would let one long string
/// multiply the size of every marker).
#[cfg(feature = "yaml")]
fn marker_prefix(strings: &[&str]) -> Option<String> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    strings.hash(&mut hasher);
    for round in 0u64..8 {
        round.hash(&mut hasher);
        let mut h = hasher.finish();
        let mut prefix = String::with_capacity(16);
        for _ in 0..16 {
            // Letters only: the index that follows a marker's prefix starts at its first digit.
            prefix.push(char::from(b'a' + (h % 26) as u8));
            h /= 26;
            if h == 0 {
                h = hasher.finish().rotate_left(17) | 1;
            }
        }
        if !strings.iter().any(|s| s.contains(&prefix)) {
            return Some(prefix);
        }
    }
    None
}

/// Calls `f` with every string of `value`, keys and values.
#[cfg(feature = "yaml")]
fn collect_strings<'a>(value: &'a Value, f: &mut impl FnMut(&'a str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, f)),
        Value::Object(fields) => {
            for (k, v) in fields {
                f(k);
                collect_strings(v, f);
            }
        }
        _ => {}
    }
}

/// `text` with each marker (`run`, a number and `_`s, standing alone as a plain scalar: after
/// the indentation and any `- `, `? ` or `: `, or after `key: `, and before `:` or the end of
/// the line) replaced by its string in single quotes; `None` when the prefix `run` stands
/// anywhere else.
#[cfg(feature = "yaml")]
fn replace_markers(text: &str, run: &str, quoted: &[&str]) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 16 * quoted.len());
    let mut rest = text;
    while let Some(at) = rest.find(run) {
        let before = &rest[..at];
        let after = &rest[at + run.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let index: usize = after[..digits].parse().ok()?;
        let s = quoted.get(index)?;
        let pad = after[digits..].bytes().take_while(|&b| b == b'_').count();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let lead = &before[line_start..];
        let starts_scalar = lead.bytes().all(|b| matches!(b, b' ' | b'-' | b'?' | b':'))
            && (lead.is_empty() || lead.ends_with(' '))
            || lead.ends_with(": ");
        let tail = &after[digits + pad..];
        let ends_scalar = tail.is_empty() || tail.starts_with('\n') || tail.starts_with(':');
        if !starts_scalar || !ends_scalar {
            return None;
        }
        out.push_str(before);
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
        rest = tail;
    }
    out.push_str(rest);
    Some(out)
}

/// A JSON value serialized with the strings of `markers` replaced by their markers.
#[cfg(feature = "yaml")]
struct Marked<'a> {
    value: &'a Value,
    markers: &'a std::collections::HashMap<&'a str, String>,
}

#[cfg(feature = "yaml")]
impl Marked<'_> {
    fn text<'s>(&'s self, s: &'s str) -> &'s str {
        self.markers.get(s).map_or(s, String::as_str)
    }
}

#[cfg(feature = "yaml")]
impl Serialize for Marked<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap as _, SerializeSeq as _};
        match self.value {
            Value::String(s) => serializer.serialize_str(self.text(s)),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for value in items {
                    seq.serialize_element(&Marked {
                        value,
                        markers: self.markers,
                    })?;
                }
                seq.end()
            }
            Value::Object(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (k, value) in fields {
                    map.serialize_entry(
                        self.text(k),
                        &Marked {
                            value,
                            markers: self.markers,
                        },
                    )?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// Whether YAML 1.1 reads `s`, written as a plain scalar, as something other than that string:
/// what PyYAML's implicit resolver (`yaml/resolver.py`, used by `yaml.safe_load`) resolves to
/// another tag — a bool, int, float, null, timestamp, merge key (`<<`), value (`=`) or the
/// `!`/`&`/`*` it reserves — and the one-letter bools of the YAML 1.1 spec (`y`, `Y`, `n`, `N`),
/// which PyYAML reads as strings but other YAML 1.1 readers (Go's yaml.v2) do not. A string
/// with a line break is never written plain, so it never needs quotes.
///
/// resolver.py's patterns are matched by hand (each function below quotes its pattern); the
/// KFP SDK oracle (`tests/kfp_oracle.rs`, `our_yaml11_patterns_are_pyyamls`) checks them
/// against PyYAML's resolver over more than 15,000 strings around every pattern.
#[cfg(feature = "yaml")]
pub fn yaml11_reads_as_other(s: &str) -> bool {
    if s.contains(['\n', '\r']) {
        return false;
    }
    let b = s.as_bytes();
    yaml11_bool(s)
        || matches!(s, "y" | "Y" | "n" | "N")
        || yaml11_float(b)
        || yaml11_int(b)
        || s == "<<"
        || matches!(s, "~" | "null" | "Null" | "NULL" | "")
        || yaml11_timestamp(b)
        || s == "="
        || matches!(s, "!" | "&" | "*")
}

/// `^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`
#[cfg(feature = "yaml")]
fn yaml11_bool(s: &str) -> bool {
    matches!(
        s,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// A cursor over the bytes of a scalar, for matching PyYAML's patterns by hand.
#[cfg(feature = "yaml")]
struct Scan<'a> {
    b: &'a [u8],
    i: usize,
}

#[cfg(feature = "yaml")]
impl<'a> Scan<'a> {
    fn new(b: &'a [u8]) -> Self {
        Scan { b, i: 0 }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn at_end(&self) -> bool {
        self.i == self.b.len()
    }
    /// Takes one byte that `f` accepts.
    fn one(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if f(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    /// Takes the bytes `f` accepts; how many.
    fn many(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.one(&f) {}
        self.i - start
    }
    /// Takes `text` if it comes next.
    fn text(&mut self, text: &str) -> bool {
        if self.b[self.i..].starts_with(text.as_bytes()) {
            self.i += text.len();
            true
        } else {
            false
        }
    }
    /// `[-+]?`
    fn sign(&mut self) {
        self.one(|c| c == b'-' || c == b'+');
    }
    /// `(?::[0-5]?[0-9])+`: the sexagesimal parts (each one digit, or two of which the first is
    /// at most 5, as the next byte is never a digit).
    fn sexagesimal(&mut self) -> bool {
        let mut parts = 0;
        while self.peek() == Some(b':') {
            let start = self.i;
            self.i += 1;
            let n = self.many(digit);
            let ok = n == 1 || (n == 2 && self.b[self.i - 2] <= b'5');
            if !ok {
                self.i = start;
                break;
            }
            parts += 1;
        }
        parts > 0
    }
    /// `(?:[eE][-+][0-9]+)?`
    fn exponent(&mut self) {
        let start = self.i;
        if !(self.one(|c| c == b'e' || c == b'E')
            && self.one(|c| c == b'-' || c == b'+')
            && self.many(digit) > 0)
        {
            self.i = start;
        }
    }
}

#[cfg(feature = "yaml")]
fn digit(c: u8) -> bool {
    c.is_ascii_digit()
}

#[cfg(feature = "yaml")]
fn digit_(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

/// PyYAML's float pattern:
///
/// ```text
/// ^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
///   |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
///   |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
///   |[-+]?\.(?:inf|Inf|INF)
///   |\.(?:nan|NaN|NAN))$
/// ```
#[cfg(feature = "yaml")]
fn yaml11_float(b: &[u8]) -> bool {
    let whole = |f: &dyn Fn(&mut Scan) -> bool| {
        let mut s = Scan::new(b);
        f(&mut s) && s.at_end()
    };
    whole(&|s| {
        s.sign();
        s.one(digit)
            && {
                s.many(digit_);
                s.one(|c| c == b'.')
            }
            && {
                s.many(digit_);
                s.exponent();
                true
            }
    }) || whole(&|s| {
        s.one(|c| c == b'.') && s.one(digit) && {
            s.many(digit_);
            s.exponent();
            true
        }
    }) || whole(&|s| {
        s.sign();
        s.one(digit)
            && {
                s.many(digit_);
                s.sexagesimal()
            }
            && s.one(|c| c == b'.')
            && {
                s.many(digit_);
                true
            }
    }) || whole(&|s| {
        s.sign();
        s.one(|c| c == b'.') && (s.text("inf") || s.text("Inf") || s.text("INF"))
    }) || whole(&|s| s.text(".nan") || s.text(".NaN") || s.text(".NAN"))
}

/// PyYAML's int pattern:
///
/// ```text
/// ^(?:[-+]?0b[0-1_]+
///   |[-+]?0[0-7_]+
///   |[-+]?(?:0|[1-9][0-9_]*)
///   |[-+]?0x[0-9a-fA-F_]+
///   |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$
/// ```
#[cfg(feature = "yaml")]
fn yaml11_int(b: &[u8]) -> bool {
    let whole = |f: &dyn Fn(&mut Scan) -> bool| {
        let mut s = Scan::new(b);
        s.sign();
        f(&mut s) && s.at_end()
    };
    whole(&|s| s.text("0b") && s.many(|c| c == b'0' || c == b'1' || c == b'_') > 0)
        || whole(&|s| s.text("0") && s.many(|c| (b'0'..=b'7').contains(&c) || c == b'_') > 0)
        || whole(&|s| {
            s.text("0")
                || (s.one(|c| (b'1'..=b'9').contains(&c)) && {
                    s.many(digit_);
                    true
                })
        })
        || whole(&|s| s.text("0x") && s.many(|c| c.is_ascii_hexdigit() || c == b'_') > 0)
        || whole(&|s| {
            s.one(|c| (b'1'..=b'9').contains(&c)) && {
                s.many(digit_);
                s.sexagesimal()
            }
        })
}

/// PyYAML's timestamp pattern:
///
/// ```text
/// ^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
///   |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
///    (?:[Tt]|[ \t]+)[0-9][0-9]?
///    :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
///    (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$
/// ```
///
/// (in verbose mode: the spaces outside `[…]` are not part of it).
#[cfg(feature = "yaml")]
fn yaml11_timestamp(b: &[u8]) -> bool {
    let n_digits = |s: &mut Scan, n: usize| (0..n).all(|_| s.one(digit));
    let one_or_two = |s: &mut Scan| {
        s.one(digit) && {
            s.one(digit);
            true
        }
    };
    let mut s = Scan::new(b);
    if n_digits(&mut s, 4)
        && s.one(|c| c == b'-')
        && n_digits(&mut s, 2)
        && s.one(|c| c == b'-')
        && n_digits(&mut s, 2)
        && s.at_end()
    {
        return true;
    }
    let space = |c: u8| c == b' ' || c == b'\t';
    let mut s = Scan::new(b);
    let date_time = n_digits(&mut s, 4)
        && s.one(|c| c == b'-')
        && one_or_two(&mut s)
        && s.one(|c| c == b'-')
        && one_or_two(&mut s)
        && (s.one(|c| c == b'T' || c == b't') || s.many(space) > 0)
        && one_or_two(&mut s)
        && s.one(|c| c == b':')
        && n_digits(&mut s, 2)
        && s.one(|c| c == b':')
        && n_digits(&mut s, 2);
    if !date_time {
        return false;
    }
    if s.one(|c| c == b'.') {
        s.many(digit);
    }
    if s.at_end() {
        return true;
    }
    s.many(space);
    if s.one(|c| c == b'Z') {
        return s.at_end();
    }
    if !(s.one(|c| c == b'-' || c == b'+') && one_or_two(&mut s)) {
        return false;
    }
    if s.one(|c| c == b':') && !n_digits(&mut s, 2) {
        return false;
    }
    s.at_end()
}

#[cfg(all(test, feature = "yaml"))]
mod tests {
    use super::*;
    use serde_json::json;

    /// Strings PyYAML reads as something else when written plain.
    const OTHER: &[&str] = &[
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
        "yes",
        "Yes",
        "YES",
        "no",
        "No",
        "NO",
        "true",
        "True",
        "TRUE",
        "false",
        "False",
        "FALSE",
        "y",
        "Y",
        "n",
        "N",
        "null",
        "Null",
        "NULL",
        "~",
        "",
        "12:30:00",
        "1:20",
        "-1:30",
        "190:20:30.15",
        "1_000",
        "1_0.5",
        "0b1010",
        "-0b1_0",
        "017",
        "0_7",
        "0x1F",
        "+0x_a",
        "0",
        "-0",
        "+12",
        "685230",
        "2024-01-01",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10 -5",
        "2001-12-14\t21:59:43.10",
        "2001-1-4 1:59:43",
        "2001-12-15T02:59:43.1Z",
        "2001-12-14 21:59:43.10 +05:30",
        "=",
        "<<",
        ".inf",
        "-.inf",
        "+.Inf",
        ".INF",
        ".nan",
        ".NaN",
        ".NAN",
        "1.5",
        "1.",
        "-1.5e+3",
        ".5",
        "1.0e-10",
        "6.8523015e+5",
        "1__2.3_",
        "1_",
        "!",
        "&",
        "*",
    ];

    /// Strings PyYAML reads back as themselves.
    const SAME: &[&str] = &[
        "o",
        "yES",
        "nO",
        "tRUE",
        "maybe",
        "none",
        "NONE",
        "nan",
        "inf",
        ".infinity",
        "1e3",
        "1.5e3",
        "1.5e+",
        "0o",
        "0o17",
        "._5",
        "0x",
        "0xG",
        "0b2",
        "08",
        "09",
        "1:60",
        "1:2:",
        "12:30:00x",
        "2024-1-01",
        "2024-01-1",
        "2024-01-01x",
        "20240-01-01",
        "2001-12-14 21:59",
        "2001-12-14 21:59:43 +123",
        "2001-12-14 21:59:43 +1:2",
        "==",
        "<",
        "<<<",
        "~~",
        "._",
        "v1.0",
        "2.1.0",
        "0.0.1",
        "system.Model",
        "a b",
        "-",
        "+",
        ".",
        "pipelinechannel--x",
        "kfp-2.17.3",
        "qqq",
    ];

    #[test]
    fn the_yaml11_patterns_tell_strings_from_other_scalars() {
        for s in OTHER {
            assert!(yaml11_reads_as_other(s), "{s:?} reads as another type");
        }
        for s in SAME {
            assert!(!yaml11_reads_as_other(s), "{s:?} reads as itself");
        }
        // Never written plain.
        assert!(!yaml11_reads_as_other("yes\n"));
    }

    #[test]
    fn strings_yaml11_reads_as_other_scalars_are_quoted_as_values_keys_and_items() {
        let mut map = serde_json::Map::new();
        for (i, s) in OTHER.iter().chain(SAME).enumerate() {
            map.insert(format!("value{i}"), json!(s));
            map.insert((*s).to_string(), json!([s, [s], {"k": s}]));
        }
        // Long ones, which are written as complex keys (`? `) when longer than 128 characters.
        for s in [
            "1".repeat(200),
            format!("1{}:30", "_".repeat(150)),
            "1_0".repeat(50),
        ] {
            map.insert(s.clone(), json!([s.clone()]));
        }
        // A string holding the marker's letters, and quotes, stays itself.
        map.insert("qqqq7".into(), json!("qqqqqq12"));
        map.insert("it's".into(), json!("say 'no'"));
        let value = Value::Object(map);
        let text = yaml_text(&value);
        let back = crate::import::yaml_documents(&text).expect("reads back");
        assert_eq!(back, vec![value.clone()], "{text}");
        for s in OTHER.iter().filter(|s| !s.is_empty()) {
            let quoted = format!("'{s}'");
            assert!(text.contains(&format!("- {quoted}\n")), "{s:?}: {text}");
            assert!(text.contains(&format!("\n{quoted}:\n")), "{s:?}: {text}");
            assert!(text.contains(&format!("- k: {quoted}\n")), "{s:?}: {text}");
        }
        for s in SAME
            .iter()
            .filter(|s| s.bytes().all(|b| b.is_ascii_alphabetic()))
        {
            assert!(
                !text.contains(&format!("'{s}'")),
                "{s:?} is left plain: {text}"
            );
        }
    }

    #[test]
    fn yaml_without_such_strings_is_what_serde_yaml_writes() {
        let value = json!({
            "a": ["x", 1, 2.5, true, null, "multi\nline", "it's", "true", "1.5"],
            "qqq": {"b": "", "c": "plain text", "d": "  padded "},
        });
        assert_eq!(
            yaml_text(&value),
            serde_yaml_ng::to_string(&value).expect("yaml")
        );
        // Strings serde_yaml_ng already quotes come out the same with ours, a long key as a
        // complex key (`? '1…1'`).
        let long = "1".repeat(200);
        let value =
            json!({"k": ["true", "1.5", "null", "", "0x1F"], "true": "x", long.clone(): [long]});
        assert_eq!(
            yaml_text(&value),
            serde_yaml_ng::to_string(&value).expect("yaml")
        );
    }

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

    #[test]
    fn markers_stay_small_whatever_the_strings() {
        // A long run of one letter beside many strings to quote: the text stays the size of
        // its strings (a marker as long as that run, once per string, would not).
        let strings: Vec<Value> = (0..2_000)
            .map(|i| json!(format!("1_{i}")))
            .chain([json!("q".repeat(200_000)), json!("a".repeat(200_000))])
            .collect();
        let value = Value::Array(strings);
        let text = yaml_text(&value);
        assert!(text.len() < 450_000, "{} bytes", text.len());
        assert!(text.contains("- '1_1999'\n"), "the strings are quoted");
        let back = crate::import::yaml_documents(&text).expect("reads back");
        assert_eq!(back, vec![value]);
        // The same value is written the same way.
        assert_eq!(yaml_text(&back[0]), text);
    }
}
