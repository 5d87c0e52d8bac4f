//! `GET /api/examples` and `GET /api/examples/{id}`: the example pipelines shipped with the
//! binary.

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use crate::error::AppError;
use crate::examples::{self, ExampleSummary};

/// Lists the examples: `[{"id", "title"}]`.
pub async fn list() -> Json<Vec<ExampleSummary>> {
    Json(examples::list())
}

/// One example's document.
pub async fn get(id: Result<Path<String>, PathRejection>) -> Result<impl IntoResponse, AppError> {
    let Path(id) = id?;
    let text = examples::get(&id)
        .ok_or_else(|| AppError::NotFound(format!("no example with id {id:?}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], text))
}
