//! `POST /api/yaml`: YAML text in, its documents out as a JSON list. The browser build of the
//! core leaves the YAML parser out (it is large); the canvas sends YAML files here and imports
//! the documents itself, with the same importer as the command line.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::Json;
use serde_json::Value;

use crate::error::AppError;

/// The YAML documents of the body (empty ones left out). 400 naming the line and column when
/// the body is not YAML, and when it is empty or binary.
pub async fn documents(body: Result<Bytes, BytesRejection>) -> Result<Json<Vec<Value>>, AppError> {
    let body = body?;
    let text = std::str::from_utf8(&body).map_err(|e| {
        AppError::BadRequest(format!(
            "the body is not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let text = text.to_string();
    let docs = tokio::task::spawn_blocking(move || pipeline::import::yaml_documents(&text))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    Ok(Json(docs))
}
