//! Reading files into documents the canvas can edit: compiled KFP pipelines (YAML or JSON, with
//! or without the Kubernetes platform document), component files (v2, and v1 through
//! [`crate::import_v1`]) and Pipeline Canvas documents.
//!
//! By job: `file` tells the kinds of file apart and reads YAML and JSON ([`read_file`]),
//! `json_path` names where a JSON error is, `component` takes the component out of a component
//! file ([`component_from_file`]), and `lift` turns a compiled spec into a document
//! ([`import_spec`]); `yaml_value` reads YAML within a size budget.

mod component;
mod file;
mod json_path;
mod lift;
#[cfg(feature = "yaml")]
mod yaml_value;

pub use component::{component_from_file, component_from_yaml};
#[cfg(feature = "yaml")]
pub use file::yaml_documents;
pub use file::{parse_file, parse_spec, read_documents, read_file, KfpFile, SpecFile};
pub use lift::{import_spec, MAX_TASKS};

use crate::document::{Document, Node};
use crate::DocumentError;

/// Why a file could not be imported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// The text is empty.
    #[error("the file is empty")]
    Empty,
    /// Not YAML/JSON at all.
    #[error("not YAML or JSON: {0}")]
    Syntax(String),
    /// YAML, but not a KFP pipeline spec.
    #[error("not a KFP v2 spec: {0}")]
    Shape(String),
    /// A spec whose parts do not fit together; the text names the place (a JSON path).
    #[error("{0}")]
    Invalid(String),
    /// YAML text in a build without the `yaml` feature (the browser): parse it elsewhere (the
    /// server's `POST /api/yaml`) and pass the documents to [`read_documents`].
    #[error("YAML is read by the server in this build")]
    YamlUnavailable,
    /// A Pipeline Canvas document that cannot be read (not the document's shape, or a format
    /// version this build does not read).
    #[error(transparent)]
    Document(DocumentError),
}

/// Imports a compiled pipeline (or a component file, which is a one-task pipeline) as a
/// document, laid out for the canvas; a canvas document is returned as it is.
pub fn import_pipeline(text: &str) -> Result<Document, ImportError> {
    import_file(read_file(text)?)
}

/// Imports a file read by [`read_file`] or [`read_documents`] as a document, laid out (a canvas
/// document keeps its own layout).
pub fn import_file(file: KfpFile) -> Result<Document, ImportError> {
    let mut doc = match file {
        KfpFile::Spec(file) => {
            let (mut doc, shape) = lift::import_shaped(&file.spec, file.platform_spec)?;
            crate::layout::place(&mut doc, &shape);
            return Ok(doc);
        }
        KfpFile::Document(doc) => return Ok(*doc),
        KfpFile::V1Component(c) => {
            // A v1 component opens as a pipeline of that one task, its inputs still to be set.
            let mut doc = Document::new(&c.name);
            let key = c.name.clone();
            let id = doc.fresh_id("n");
            let name = doc.fresh_node_name(&c.name);
            doc.components.insert(key.clone(), *c);
            doc.nodes.push(Node::new(&id, &name, &key));
            doc
        }
    };
    crate::layout::layout(&mut doc);
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A canvas document is read as one, by every entry point that reads a file.
    #[test]
    fn canvas_documents_are_read_as_they_are() {
        let mut doc = Document::new("p");
        doc.nodes.push(Node::new("n1", "train", "c"));
        let text = doc.to_json();
        match read_file(&text) {
            Ok(KfpFile::Document(d)) => assert_eq!(*d, doc),
            other => panic!("expected the document, got {other:?}"),
        }
        assert_eq!(import_pipeline(&text), Ok(doc.clone()));
        let shape = |r: Result<(), ImportError>| match r {
            Err(ImportError::Shape(m)) => m,
            other => panic!("expected a shape error, got {other:?}"),
        };
        assert_eq!(
            shape(parse_file(&text).map(drop)),
            "this is a Pipeline Canvas document, not a compiled pipeline"
        );
        assert_eq!(
            shape(component_from_yaml(&text).map(drop)),
            "this is a Pipeline Canvas document, not a component"
        );
        // Another `format` is no canvas document: the file is judged as a spec.
        let other = text.replace("pipeline-canvas/v1", "something-else/v1");
        assert!(
            shape(read_file(&other).map(drop)).contains("unknown field `format`"),
            "{other}"
        );
    }
}
