//! The errors the HTTP API answers with, and how each becomes a response.
//!
//! Every error body is JSON: `{"error": "message"}`, plus `"diagnostics"` for a pipeline that
//! does not compile. Internal errors are logged in full and sent to the client only as
//! `"internal error"`.

use api::{ErrorBody, RemoteError};
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use pipeline::{Diagnostic, DocumentError};

use runs::StoreError;

/// The largest request body the API accepts: 8 MiB.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// An error answered by the HTTP API.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed; the message says where and what (400).
    #[error("{0}")]
    BadRequest(String),
    /// No such pipeline, example or route (404).
    #[error("{0}")]
    NotFound(String),
    /// The body is over [`MAX_BODY_BYTES`] (413).
    #[error("request body is larger than the limit of {} MiB", MAX_BODY_BYTES / (1024 * 1024))]
    PayloadTooLarge,
    /// The route exists but not for this method (405).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request is refused: it lacks the server's token (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The request is refused: another origin or host, or not from the page (403).
    #[error("{0}")]
    Forbidden(String),
    /// The body is not of a type the route reads (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The document is well formed but does not compile (422).
    #[error("pipeline has errors")]
    Compile {
        /// Every problem found, errors and warnings.
        diagnostics: Vec<Diagnostic>,
    },
    /// A component draft has problems (422).
    #[error("the component has problems")]
    Draft {
        /// Every problem, each naming its field.
        problems: Vec<pipeline::authoring::DraftProblem>,
    },
    /// The request conflicts with what is there, e.g. a file it would overwrite (409).
    #[error("{0}")]
    Conflict(String),
    /// A remote service refused the request; its answer is passed on as it sent it (its
    /// client errors keep their status, anything else is 502).
    #[error("{message}")]
    Remote {
        /// What went wrong, in one sentence naming the service.
        message: String,
        /// The service (`Vertex AI`, `Kubeflow Pipelines`).
        service: String,
        /// The HTTP status it answered.
        status: u16,
        /// Its body: JSON when it was JSON, else the text.
        body: serde_json::Value,
    },
    /// A remote service could not be reached or asked (502).
    #[error("{0}")]
    BadGateway(String),
    /// Something went wrong on the server (500); logged, never shown to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Compile { .. } | AppError::Draft { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Remote { status, .. } if (400..500).contains(status) => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            AppError::Remote { .. } | AppError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// An internal error from anything displayable.
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            AppError::Compile { diagnostics } => ErrorBody {
                diagnostics: Some(diagnostics),
                ..ErrorBody::new("pipeline has errors")
            },
            AppError::Draft { problems } => {
                let error = match problems.as_slice() {
                    [one] => format!("the component has a problem: {one}"),
                    many => format!("the component has {} problems", many.len()),
                };
                ErrorBody {
                    problems: Some(problems),
                    ..ErrorBody::new(error)
                }
            }
            AppError::Remote {
                message,
                service,
                status,
                body,
            } => ErrorBody {
                remote: Some(RemoteError {
                    service,
                    status,
                    body,
                }),
                ..ErrorBody::new(message)
            },
            AppError::Internal(details) => {
                tracing::error!(%details, "internal error while answering a request");
                ErrorBody::new("internal error")
            }
            other => ErrorBody::new(other.to_string()),
        };
        (status, Json(body)).into_response()
    }
}

impl From<targets::TargetError> for AppError {
    fn from(e: targets::TargetError) -> Self {
        use targets::TargetError as T;
        let message = e.to_string();
        match e {
            T::Setting(_) | T::Invalid(_) => AppError::BadRequest(message),
            T::NotFound(_) => AppError::NotFound(message),
            T::Remote {
                service,
                status,
                body,
            } => AppError::Remote {
                message,
                service: service.to_string(),
                status,
                body: serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
            },
            T::Connection { .. } | T::Service { .. } | T::Auth(_) => AppError::BadGateway(message),
            T::Config(_) | T::Store(_) => AppError::internal(message),
        }
    }
}

impl From<engine::EngineError> for AppError {
    fn from(e: engine::EngineError) -> Self {
        match e {
            engine::EngineError::Invalid(m) => AppError::BadRequest(m),
            engine::EngineError::NotFound(id) => {
                AppError::NotFound(format!("no run with id {id:?}"))
            }
            other => AppError::internal(other),
        }
    }
}

impl From<DocumentError> for AppError {
    fn from(e: DocumentError) -> Self {
        AppError::BadRequest(document_error_message(&e))
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::internal(e)
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::internal(format!("background task failed: {e}"))
    }
}

impl From<BytesRejection> for AppError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest(format!("cannot read the request body: {}", e.body_text()))
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(e: PathRejection) -> Self {
        AppError::BadRequest(e.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(e: QueryRejection) -> Self {
        AppError::BadRequest(e.body_text())
    }
}

/// A document error as one readable sentence: `invalid pipeline document at line 3, column 7:
/// missing field `name``. serde's own `at line … column …` suffix is dropped, since the
/// position is already said.
pub fn document_error_message(e: &DocumentError) -> String {
    match e {
        DocumentError::Json {
            line,
            column,
            message,
        } => {
            let suffix = format!(" at line {line} column {column}");
            let what = message.strip_suffix(&suffix).unwrap_or(message);
            format!("invalid pipeline document at line {line}, column {column}: {what}")
        }
        DocumentError::Format(_) => e.to_string(),
    }
}

/// Parses a request body as a pipeline document: UTF-8, JSON, the document's exact shape
/// (unknown fields are refused) and a format version this build reads.
pub fn parse_document(body: &[u8]) -> Result<pipeline::Document, AppError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        AppError::BadRequest(format!(
            "request body is not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    Ok(pipeline::Document::from_json(text)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_name_line_and_column_once() {
        let err = parse_document(b"{\n  \"format\": \"pipeline-canvas/v1\",\n  \"name\": ]\n}")
            .expect_err("malformed");
        let msg = err.to_string();
        assert!(
            msg.starts_with("invalid pipeline document at line 3, column 11: "),
            "{msg}"
        );
        assert!(!msg.ends_with("column 11"), "{msg}");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn unknown_format_is_refused() {
        let err = parse_document(br#"{"format":"pipeline-canvas/v9","name":"x"}"#)
            .expect_err("wrong version");
        assert!(err.to_string().contains("pipeline-canvas/v9"), "{err}");
    }

    #[test]
    fn non_utf8_is_a_bad_request() {
        let err = parse_document(b"{\"name\": \"\xff\"}").expect_err("not UTF-8");
        assert!(err.to_string().contains("offset 10"), "{err}");
    }
}
