//! Writing a compiled spec as JSON or YAML.

use serde::{Deserialize, Serialize};

use crate::ir::PipelineSpec;

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

    /// Writes `spec` in this format.
    #[cfg(feature = "yaml")]
    pub fn write(self, spec: &PipelineSpec) -> String {
        match self {
            OutputFormat::Json => to_json(spec),
            OutputFormat::Yaml => to_yaml(spec),
        }
    }
}

/// The spec as pretty JSON with a trailing newline.
pub fn to_json(spec: &PipelineSpec) -> String {
    // Plain data with string keys: serialization cannot fail.
    serde_json::to_string_pretty(spec).unwrap_or_default() + "\n"
}

/// The spec as YAML, headed by the comment block the KFP SDK writes.
#[cfg(feature = "yaml")]
pub fn to_yaml(spec: &PipelineSpec) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("# PIPELINE DEFINITION\n");
    let _ = writeln!(out, "# Name: {}", spec.pipeline_info.name);
    if let Some(d) = &spec.pipeline_info.description {
        let _ = writeln!(out, "# Description: {}", d.lines().next().unwrap_or(""));
    }
    if let Some(inputs) = &spec.root.input_definitions {
        if !inputs.is_empty() {
            out.push_str("# Inputs:\n");
            for (name, p) in &inputs.parameters {
                let _ = write!(out, "#    {name}: {}", p.parameter_type.python_name());
                if let Some(d) = &p.default_value {
                    let _ = write!(out, " [Default: {d}]");
                }
                out.push('\n');
            }
            for (name, a) in &inputs.artifacts {
                let _ = writeln!(out, "#    {name}: {}", a.artifact_type.title());
            }
        }
    }
    // Through a JSON value, so oneof fields (`container:`) come out as plain keys, not YAML tags.
    let value = serde_json::to_value(spec).unwrap_or_default();
    out.push_str(&serde_yaml_ng::to_string(&value).unwrap_or_default());
    out
}
