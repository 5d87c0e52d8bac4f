//! The JSON API served under `/api`. See each module for its routes.
//!
//! Bodies are read as raw bytes and parsed here, so every failure (bad JSON, wrong shape, too
//! large) is answered with the API's own JSON error body rather than a framework default. A body
//! that says it is too large is refused before it is read.

use axum::extract::{DefaultBodyLimit, OriginalUri, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use axum::Router;

use crate::error::{AppError, MAX_BODY_BYTES};
use crate::server::AppState;

pub mod compile;
pub mod components;
pub mod endpoints;
pub mod examples;
pub mod lineage;
pub mod logs;
pub mod pipelines;
pub mod runs;
pub mod targets;
pub mod yaml;

/// The API routes (to be nested under `/api`), with unknown paths answered by a JSON 404 and
/// bodies limited to [`MAX_BODY_BYTES`].
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/components", get(components::list).post(components::save))
        .route(
            "/components/preview",
            axum::routing::post(components::preview),
        )
        .route("/components/{name}/draft", get(components::draft))
        .route("/examples", get(examples::list))
        .route("/examples/{id}", get(examples::get))
        .route("/compile", axum::routing::post(compile::compile))
        .route("/yaml", axum::routing::post(yaml::documents))
        .route("/pipelines", get(pipelines::list).post(pipelines::create))
        .route(
            "/pipelines/{id}",
            get(pipelines::get)
                .put(pipelines::update)
                .delete(pipelines::delete),
        )
        .route("/targets", get(targets::get).put(targets::put))
        .route("/lineage", get(lineage::get))
        .route("/endpoints", get(endpoints::list))
        .route("/endpoints/{id}/stop", axum::routing::post(endpoints::stop))
        .route("/endpoints/{id}/keep", axum::routing::post(endpoints::keep))
        .route("/runs", get(runs::list).post(runs::create))
        .route("/runs/table", get(runs::table))
        .route("/runs/{id}", get(runs::get))
        .route("/runs/{id}/cancel", axum::routing::post(runs::cancel))
        .route("/runs/{id}/rerun", axum::routing::post(runs::rerun))
        .route("/runs/{id}/events", get(runs::events))
        .route("/runs/{id}/artifact", get(runs::artifact))
        .route("/runs/{id}/document", get(runs::document))
        .route("/runs/{id}/diff/{other}", get(runs::diff))
        .route("/runs/{id}/tasks/{*task}", get(runs::task))
        .fallback(not_found)
        .method_not_allowed_fallback(|| async { AppError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(declared_size))
        .with_state(state)
}

/// Refuses a body whose `Content-Length` is over [`MAX_BODY_BYTES`] at once (413), rather than
/// waiting for bytes that would be refused anyway (a body without a length is cut off at the
/// limit by [`DefaultBodyLimit`]).
async fn declared_size(req: Request, next: Next) -> Response {
    let limit = u64::try_from(MAX_BODY_BYTES).unwrap_or(u64::MAX);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return AppError::PayloadTooLarge.into_response();
    }
    next.run(req).await
}

async fn not_found(OriginalUri(uri): OriginalUri) -> AppError {
    AppError::NotFound(format!("no API route {}", uri.path()))
}
