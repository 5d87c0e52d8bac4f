//! Reading files: telling the kinds apart (a compiled spec, a v1 component, a canvas document),
//! YAML into its documents (within a size budget), and JSON straight into the spec types.

use serde_json::Value;

use super::{json_path, ImportError};
use crate::document::{ComponentDef, Document};
use crate::ir::PipelineSpec;
use crate::map::Map;

/// A parsed file: the pipeline spec and, when present, the platform spec after it.
#[derive(Debug, Clone)]
pub struct SpecFile {
    /// The pipeline (or component) spec.
    pub spec: PipelineSpec,
    /// The second YAML document (`platforms: …`), as written.
    pub platform_spec: Option<Value>,
}

/// A file as read: a compiled spec (pipeline or v2 component), a v1 component, or a Pipeline
/// Canvas document.
#[derive(Debug, Clone)]
pub enum KfpFile {
    /// A compiled pipeline or component.
    Spec(Box<SpecFile>),
    /// A v1 component (`implementation: {container: …}`), already converted.
    V1Component(Box<ComponentDef>),
    /// A Pipeline Canvas document (`pipeline-canvas/…` JSON), as it is.
    Document(Box<Document>),
}

/// Rejects what is neither YAML nor JSON before any parser sees it.
fn check_text(text: &str) -> Result<(), ImportError> {
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    if text.as_bytes().starts_with(b"PK\x03\x04") || text.contains('\0') {
        return Err(ImportError::Syntax(
            "this is a binary file (a zip archive?), not a YAML or JSON pipeline spec".into(),
        ));
    }
    Ok(())
}

/// The YAML documents of `text`, empty ones left out.
#[cfg(feature = "yaml")]
pub fn yaml_documents(text: &str) -> Result<Vec<Value>, ImportError> {
    check_text(text)?;
    use serde::de::DeserializeSeed as _;
    let budget = std::cell::Cell::new(super::yaml_value::budget_for(text));
    let mut values = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let value = super::yaml_value::Budgeted(&budget)
            .deserialize(doc)
            .map_err(|e| {
                if budget.get() == 0 {
                    ImportError::Syntax(
                        "its aliases (`*name`) repeat what their anchors hold so often that it expands to far more than its text; refused".into(),
                    )
                } else {
                    // serde_yaml_ng names the line and column.
                    ImportError::Syntax(e.to_string())
                }
            })?;
        if !value.is_null() {
            values.push(value);
        }
    }
    if values.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(values)
}

/// Without the `yaml` feature YAML is read elsewhere: see [`ImportError::YamlUnavailable`].
#[cfg(not(feature = "yaml"))]
fn yaml_documents(_text: &str) -> Result<Vec<Value>, ImportError> {
    Err(ImportError::YamlUnavailable)
}

/// Reads any file the canvas opens: a compiled pipeline or component (one YAML or JSON document,
/// or two when the platform spec follows), a v1 component file, or a Pipeline Canvas document
/// (JSON whose `format` is `pipeline-canvas/…`, read by [`Document::from_json`]).
///
/// JSON (what `compile(..., "x.json")` writes) is read straight into the spec types, which is
/// what makes large imports fast; YAML goes through `Value` and JSON text, so the spec types
/// are deserialized by one code path (one copy in the browser build), and errors name the
/// JSON path of the offending field either way.
pub fn read_file(text: &str) -> Result<KfpFile, ImportError> {
    check_text(text)?;
    if text.trim_start().starts_with('{') {
        // Most JSON files are specs: read them in one pass, and only when that fails tell a
        // syntax error, a top level that is not a mapping, a canvas document and a v1 component
        // apart (a document is never a spec: specs have no `format`).
        let spec_error = match spec_from_json(text, true) {
            Ok(spec) => {
                return Ok(KfpFile::Spec(Box::new(SpecFile {
                    spec,
                    platform_spec: None,
                })))
            }
            Err(e) => e,
        };
        let keys: Map<serde::de::IgnoredAny> = serde_json::from_str(text).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                // serde_json names the line and column.
                ImportError::Syntax(e.to_string())
            } else {
                ImportError::Shape("the top level is not a mapping".into())
            }
        })?;
        if keys.contains_key("format") && is_canvas_document(text) {
            return Document::from_json(text)
                .map(|d| KfpFile::Document(Box::new(d)))
                .map_err(ImportError::Document);
        }
        if crate::import_v1::is_v1_component(|k| keys.contains_key(k)) {
            let value: Value =
                serde_json::from_str(text).map_err(|e| ImportError::Syntax(e.to_string()))?;
            return crate::import_v1::component_from_v1(&value)
                .map(|c| KfpFile::V1Component(Box::new(c)));
        }
        return Err(spec_error);
    }
    read_documents(yaml_documents(text)?)
}

/// Reads a KFP file from its YAML documents (as [`yaml_documents`] gives them).
pub fn read_documents(documents: Vec<Value>) -> Result<KfpFile, ImportError> {
    let mut values = documents.into_iter();
    let first = values.next().ok_or(ImportError::Empty)?;
    if crate::import_v1::is_v1_component(|k| first.get(k).is_some()) {
        if values.next().is_some() {
            return Err(ImportError::Shape(
                "a v1 component file has one YAML document; this one has more".into(),
            ));
        }
        return crate::import_v1::component_from_v1(&first)
            .map(|c| KfpFile::V1Component(Box::new(c)));
    }
    if !first.is_object() {
        return Err(ImportError::Shape("the top level is not a mapping".into()));
    }
    let json = serde_json::to_string(&first).map_err(|e| ImportError::Shape(e.to_string()))?;
    drop(first);
    let spec = spec_from_json(&json, false)?;
    let platform_spec = values.next();
    if let Some(p) = &platform_spec {
        if p.get("platforms").is_none() {
            return Err(ImportError::Shape(
                "the second YAML document is not a platform spec (it has no `platforms`)".into(),
            ));
        }
    }
    if values.next().is_some() {
        return Err(ImportError::Shape(
            "more than two YAML documents; expected a pipeline spec and at most a platform spec"
                .into(),
        ));
    }
    Ok(KfpFile::Spec(Box::new(SpecFile {
        spec,
        platform_spec,
    })))
}

/// Parses a compiled pipeline or component file (not a v1 component): one YAML (or JSON)
/// document, or two when the platform spec follows.
pub fn parse_file(text: &str) -> Result<SpecFile, ImportError> {
    match read_file(text)? {
        KfpFile::Spec(f) => Ok(*f),
        KfpFile::V1Component(_) => Err(ImportError::Shape(
            "this is a v1 component file, not a compiled pipeline".into(),
        )),
        KfpFile::Document(_) => Err(ImportError::Shape(
            "this is a Pipeline Canvas document, not a compiled pipeline".into(),
        )),
    }
}

/// Parses the first YAML (or JSON) document of `text` as a [`PipelineSpec`].
pub fn parse_spec(text: &str) -> Result<PipelineSpec, ImportError> {
    parse_file(text).map(|f| f.spec)
}

/// The spec in JSON text; errors name the JSON path of the offending field, and its line when
/// `lines` (the text is the user's file, not JSON made from their YAML).
fn spec_from_json(text: &str, lines: bool) -> Result<PipelineSpec, ImportError> {
    serde_json::from_str(text).map_err(|e| {
        let inner = e.to_string();
        let what = if lines {
            inner
        } else {
            // The line of JSON made from YAML means nothing to the user.
            match inner.rsplit_once(" at line ") {
                Some((what, _)) => what.to_string(),
                None => inner,
            }
        };
        let path =
            json_path::json_path_at(text, json_path::byte_offset(text, e.line(), e.column()));
        if path.is_empty() {
            ImportError::Shape(format!("at the top level: {what}"))
        } else {
            ImportError::Shape(format!("at {path}: {what}"))
        }
    })
}

/// Whether JSON `text` is a Pipeline Canvas document: an object whose `format` is
/// `pipeline-canvas/…` (any version, so that a newer one is refused by name, not as a bad spec).
fn is_canvas_document(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        format: Option<String>,
    }
    serde_json::from_str::<Probe>(text)
        .ok()
        .and_then(|p| p.format)
        .is_some_and(|f| f.starts_with("pipeline-canvas/"))
}
