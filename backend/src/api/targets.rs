//! Remote targets.
//!
//! - `GET /api/targets`: the settings of Vertex AI Pipelines and Kubeflow Pipelines
//!   (`{"vertex": {project, region, pipelineRoot, serviceAccount, network, labels,
//!   encryptionKey, enableCaching}, "kfp": {host, namespace, experiment, pipelineRoot}}`);
//!   never credentials.
//! - `PUT /api/targets`: replaces them (unknown fields are refused) and answers with them.
//! - `POST /api/runs` with `"target": "vertex" | "kfp"` submits there (see [`create_remote`]);
//!   the run is listed, followed and cancelled like a local one.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::engine::RunRequest;
use crate::error::AppError;
use crate::server::AppState;
use crate::targets::{SubmitRequest, Target, TargetError, TargetsConfig};

impl IntoResponse for TargetError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        match self {
            TargetError::Setting(_) | TargetError::Invalid(_) => {
                AppError::BadRequest(message).into_response()
            }
            TargetError::NotFound(_) => AppError::NotFound(message).into_response(),
            TargetError::Remote {
                service,
                status,
                body,
            } => {
                // The service's own answer, verbatim; its client errors keep their status.
                let code = if (400..500).contains(&status) {
                    StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY)
                } else {
                    StatusCode::BAD_GATEWAY
                };
                let remote: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
                (
                    code,
                    Json(json!({
                        "error": message,
                        "remote": {"service": service, "status": status, "body": remote},
                    })),
                )
                    .into_response()
            }
            TargetError::Connection { .. } | TargetError::Service { .. } | TargetError::Auth(_) => {
                (StatusCode::BAD_GATEWAY, Json(json!({ "error": message }))).into_response()
            }
            TargetError::Config(_) | TargetError::Store(_) => {
                AppError::internal(message).into_response()
            }
        }
    }
}

/// `GET /api/targets`: the targets' settings.
pub async fn get(State(state): State<AppState>) -> Result<Json<TargetsConfig>, Response> {
    state
        .targets
        .config()
        .map(Json)
        .map_err(IntoResponse::into_response)
}

/// `PUT /api/targets`: replaces the targets' settings.
pub async fn put(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<TargetsConfig>, Response> {
    let body = body.map_err(|e| AppError::from(e).into_response())?;
    let config: TargetsConfig = serde_json::from_slice(&body).map_err(|e| {
        AppError::BadRequest(format!("invalid target settings: {e}")).into_response()
    })?;
    state
        .targets
        .save_config(&config)
        .map_err(IntoResponse::into_response)?;
    Ok(Json(config))
}

/// Submits a run request to a remote target: 201 `{"id", "target", "remoteName",
/// "consoleLink"}`, or the service's error.
pub async fn create_remote(state: &AppState, target: Target, req: RunRequest) -> Response {
    match state.targets.submit(target, SubmitRequest::new(req)).await {
        Ok(s) => (
            StatusCode::CREATED,
            [(header::LOCATION, format!("/api/runs/{}", s.id))],
            Json(s),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
