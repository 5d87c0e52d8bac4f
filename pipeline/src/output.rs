//! Writing a compiled pipeline as JSON or YAML: the spec and, in YAML, the Kubernetes platform
//! spec as the second document, as the KFP SDK writes them.

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
                out.push_str(&serde_yaml_ng::to_string(platform).unwrap_or_default());
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
