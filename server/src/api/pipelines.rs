//! Saved pipelines: list, create, read, update and delete.
//!
//! A body must be a well-formed document (the exact shape, a known format version) to be
//! stored; documents that do not compile yet are accepted, since users save work in progress.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

use crate::error::{parse_document, AppError};
use crate::server::AppState;
use runs::PipelineSummary;

/// The answer to a create or update: the pipeline's id.
#[derive(Debug, Serialize)]
pub struct Saved {
    /// The pipeline's id.
    pub id: String,
}

/// `GET /api/pipelines`: every saved pipeline, most recently saved first.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<PipelineSummary>>, AppError> {
    let store = state.store.clone();
    Ok(Json(
        tokio::task::spawn_blocking(move || store.list()).await??,
    ))
}

/// `POST /api/pipelines`: saves a new pipeline; 201 with its id.
pub async fn create(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, AppError> {
    let body = body?;
    let store = state.store.clone();
    let id = tokio::task::spawn_blocking(move || -> Result<String, AppError> {
        let doc = parse_document(&body)?;
        Ok(store.create(&doc.name, &doc.to_json())?)
    })
    .await??;
    tracing::info!(%id, "pipeline created");
    let location = format!("/api/pipelines/{id}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(Saved { id }),
    ))
}

/// `GET /api/pipelines/{id}`: the saved document.
pub async fn get(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<impl IntoResponse, AppError> {
    let Path(id) = id?;
    let store = state.store.clone();
    let lookup = id.clone();
    let text = tokio::task::spawn_blocking(move || store.get(&lookup))
        .await??
        .ok_or_else(|| not_found(&id))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], text))
}

/// `PUT /api/pipelines/{id}`: replaces a saved pipeline; 404 when there is none with this id.
pub async fn update(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Saved>, AppError> {
    let Path(id) = id?;
    let body = body?;
    let store = state.store.clone();
    let target = id.clone();
    let found = tokio::task::spawn_blocking(move || -> Result<bool, AppError> {
        let doc = parse_document(&body)?;
        Ok(store.update(&target, &doc.name, &doc.to_json())?)
    })
    .await??;
    if !found {
        return Err(not_found(&id));
    }
    tracing::info!(%id, "pipeline updated");
    Ok(Json(Saved { id }))
}

/// `DELETE /api/pipelines/{id}`: 204, or 404 when there is none with this id.
pub async fn delete(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, AppError> {
    let Path(id) = id?;
    let store = state.store.clone();
    let target = id.clone();
    if !tokio::task::spawn_blocking(move || store.delete(&target)).await?? {
        return Err(not_found(&id));
    }
    tracing::info!(%id, "pipeline deleted");
    Ok(StatusCode::NO_CONTENT)
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no saved pipeline with id {id:?}"))
}
