//! Local model endpoints (TorchServe servers started by deploy tasks):
//! `GET /api/endpoints` → every recorded `api::Endpoint`, newest first;
//! `POST /api/endpoints/{id}/stop` → the endpoint once stopped (its process group ended);
//! `POST /api/endpoints/{id}/keep` with `{"keep": bool}` → the endpoint (a kept one outlives the
//! server's shutdown). An unknown id is a 404.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::Json;

use api::{Endpoint, KeepBody};
use engine::endpoints::EndpointError;

use crate::error::AppError;
use crate::server::AppState;

impl From<EndpointError> for AppError {
    fn from(e: EndpointError) -> Self {
        match e {
            EndpointError::NotFound(_) => AppError::NotFound(e.to_string()),
            other => AppError::internal(other),
        }
    }
}

/// `GET /api/endpoints`: every recorded endpoint, newest first.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Endpoint>>, AppError> {
    let engine = state.engine.clone();
    let list = tokio::task::spawn_blocking(move || engine.endpoints().list()).await??;
    Ok(Json(list))
}

/// `POST /api/endpoints/{id}/stop`: stops the endpoint; answers it as it is afterwards.
pub async fn stop(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Endpoint>, AppError> {
    let Path(id) = id?;
    Ok(Json(state.engine.endpoints().stop(&id).await?))
}

/// `POST /api/endpoints/{id}/keep` with `{"keep": true|false}`: whether the endpoint outlives
/// the server; answers the endpoint.
pub async fn keep(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Endpoint>, AppError> {
    let Path(id) = id?;
    let KeepBody { keep } = serde_json::from_slice(&body?).map_err(|e| {
        AppError::BadRequest(format!(
            "invalid keep request (expected {{\"keep\": true|false}}): {e}"
        ))
    })?;
    let engine = state.engine.clone();
    let endpoint =
        tokio::task::spawn_blocking(move || engine.endpoints().set_keep(&id, keep)).await??;
    Ok(Json(endpoint))
}
