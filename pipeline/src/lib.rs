//! The heart of Pipeline Canvas: the pipeline document, its validation, the Kubeflow Pipelines v2
//! IR, and the compiler and importer between them.
//!
//! Plain Rust with no I/O, so the browser (wasm32) and the server share it: the canvas validates
//! and previews the compiled spec on every edit without a round trip.
//!
//! Analyses return their result together with every problem found
//! ([`compile()`] → [`Compiled`]), so the canvas can show all problems at once.

pub mod authoring;
pub mod compile;
pub mod condition;
pub mod diagnostic;
pub mod document;
pub mod import;
pub mod import_v1;
pub mod ir;
pub mod layout;
pub mod map;
mod model;
pub mod names;
pub mod output;
pub mod param_text;
pub mod run_inputs;
pub mod shared;
pub mod synthetic;
pub mod validate;

pub use compile::{compile, Compiled};
pub use diagnostic::{Diagnostic, Severity};
pub use document::{
    Binding, Comment, ComponentDef, Document, Group, GroupKind, Node, PipelineParameter, Point,
    PortRef, PortType, Size, Wire, FORMAT,
};
pub use import::{component_from_yaml, ImportError};
#[cfg(feature = "yaml")]
pub use output::to_yaml;
pub use output::{has_platform_features, to_json, OutputError, OutputFormat};
pub use param_text::{ParamTextError, ParamTextProblem};
pub use validate::validate;

/// Why a document file could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum DocumentError {
    /// Not JSON, or not the document's shape.
    #[error("invalid pipeline document at line {line}, column {column}: {message}")]
    Json {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde said.
        message: String,
    },
    /// A format version this build does not read.
    #[error("unsupported document format {0:?}; this version reads {FORMAT:?}")]
    Format(String),
}
