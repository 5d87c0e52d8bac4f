//! `POST /api/compile?format=json|yaml`: a document in, the KFP v2 pipeline spec out.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pipeline::OutputFormat;
use serde::Deserialize;

use crate::error::{parse_document, AppError};

/// The query string of a compile request.
#[derive(Debug, Deserialize)]
pub struct CompileQuery {
    /// `json` (default) or `yaml` (`yml` also accepted).
    pub format: Option<String>,
}

/// Compiles the document in the body. 200 with the spec text; 422 with every diagnostic when
/// the pipeline has errors; 400 when the body is not a document.
pub async fn compile(
    query: Result<Query<CompileQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let Query(query) = query?;
    let format = match query.format.as_deref() {
        None => OutputFormat::Json,
        Some(f) => OutputFormat::parse(f).ok_or_else(|| {
            AppError::BadRequest(format!(
                "unknown format {f:?} in the query string; use format=json or format=yaml"
            ))
        })?,
    };
    let body = body?;
    let compiled = tokio::task::spawn_blocking(move || {
        let doc = parse_document(&body)?;
        let compiled = pipeline::compile(&doc);
        match compiled.spec {
            Some(spec) => format
                .write(&spec, compiled.platform_spec.as_ref())
                .map_err(|e| AppError::BadRequest(format!("{e} (format=yaml)"))),
            None => Err(AppError::Compile {
                diagnostics: compiled.diagnostics,
            }),
        }
    })
    .await??;
    Ok(([(header::CONTENT_TYPE, format.mime())], compiled).into_response())
}
