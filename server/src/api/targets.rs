//! Remote targets.
//!
//! - `GET /api/targets`: the settings of Vertex AI Pipelines and Kubeflow Pipelines
//!   (`{"vertex": {project, region, pipelineRoot, serviceAccount, network, labels,
//!   encryptionKey, enableCaching}, "kfp": {host, namespace, experiment, pipelineRoot}}`);
//!   never credentials.
//! - `PUT /api/targets`: replaces them (unknown fields are refused) and answers with them.
//! - `POST /api/runs` with `"target": "vertex" | "kfp"` submits there (see [`create_remote`]);
//!   the run is listed, followed and cancelled like a local one.

use api::Started;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::RunRequest;
use targets::{SubmitRequest, Target, TargetsConfig};

use crate::error::AppError;
use crate::server::AppState;

/// `GET /api/targets`: the targets' settings.
pub async fn get(State(state): State<AppState>) -> Result<Json<TargetsConfig>, AppError> {
    Ok(Json(state.targets.config()?))
}

/// `PUT /api/targets`: replaces the targets' settings.
pub async fn put(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<TargetsConfig>, AppError> {
    let config: TargetsConfig = serde_json::from_slice(&body?)
        .map_err(|e| AppError::BadRequest(format!("invalid target settings: {e}")))?;
    state.targets.save_config(&config)?;
    Ok(Json(config))
}

/// Submits a run request to a remote target: 201 [`Started`] with its `target`, `remoteName`
/// and `consoleLink`, or the service's error.
pub async fn create_remote(state: &AppState, target: Target, req: RunRequest) -> Response {
    match state.targets.submit(target, SubmitRequest::new(req)).await {
        Ok(s) => (
            StatusCode::CREATED,
            [(header::LOCATION, format!("/api/runs/{}", s.id))],
            Json(Started {
                id: s.id,
                target: Some(s.target.as_str().to_string()),
                remote_name: Some(s.remote_name),
                console_link: s.console_link,
            }),
        )
            .into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}
