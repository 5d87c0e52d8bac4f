//! The palette's components: `GET /api/components` (built-in components first, then the user's
//! library), and component authoring: `POST /api/components/preview` (a draft's component file)
//! and `POST /api/components` (a draft saved to the library, the data folder's `components/`),
//! and `GET /api/components/{name}/draft` (a user component read back as a draft, to edit it).

use std::path::Path;

use api::{ComponentPreview, SaveComponent, SavedComponent};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::Json;
use components::CatalogEntry;
use pipeline::authoring::{author, draft_of, ComponentDraft, DraftOpenError, DraftProblem};

use crate::error::AppError;
use crate::server::AppState;

/// Lists the built-in components followed by the user components in the data folder's
/// `components/` folder (read afresh each time; files that do not load are logged and skipped).
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<CatalogEntry>>, AppError> {
    let dir = state.user_components_dir.clone();
    let user = tokio::task::spawn_blocking(move || {
        if !dir.is_dir() {
            return Vec::new();
        }
        let (entries, problems) = components::load_user_components(&dir);
        for p in &problems {
            tracing::warn!(problem = %p, "skipping a user component");
        }
        entries
    })
    .await?;
    let mut all = Vec::with_capacity(state.builtin.len() + user.len());
    all.extend(state.builtin.iter().cloned());
    all.extend(user);
    Ok(Json(all))
}

/// `POST /api/components/preview`: the component file a draft makes (YAML, as the KFP SDK
/// writes it) and a Python draft's function, or every problem of the draft. A draft with
/// problems is an answer, not an error: 400 only when the body is not a draft.
pub async fn preview(
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ComponentPreview>, AppError> {
    let draft: ComponentDraft = parse(&body?, "component draft")?;
    let preview = tokio::task::spawn_blocking(move || match author(&draft) {
        Ok(a) => ComponentPreview {
            yaml: Some(a.yaml()),
            python: a.python,
            problems: Vec::new(),
        },
        Err(problems) => ComponentPreview {
            yaml: None,
            python: None,
            problems,
        },
    })
    .await?;
    Ok(Json(preview))
}

/// `POST /api/components`: saves a draft's component file to the library as
/// `<function name>.yaml`; 201 with its palette id. 422 with every problem when the draft has
/// any, 409 when the library has a component file of that name and `replace` is not set.
pub async fn save(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<SavedComponent>), AppError> {
    let SaveComponent { draft, replace } = parse(&body?, "component save request")?;
    let dir = state.user_components_dir.clone();
    let saved = tokio::task::spawn_blocking(move || -> Result<SavedComponent, AppError> {
        let authored = author(&draft).map_err(|problems| AppError::Draft { problems })?;
        // The name is a checked Python identifier: a plain file name, never a path.
        let file = format!("{}.yaml", draft.name);
        let path = dir.join(&file);
        write_component(&dir, &path, &authored.yaml(), replace)?;
        Ok(SavedComponent {
            id: format!("user/{file}"),
            path: path.display().to_string(),
        })
    })
    .await??;
    tracing::info!(id = %saved.id, "component saved to the library");
    Ok((StatusCode::CREATED, Json(saved)))
}

/// `GET /api/components/{name}/draft`: the draft of the user component saved as
/// `<name>.yaml` in the library, for the component editor to edit and save again (with
/// `replace`). 400 when `name` is not a component's function name (so never a path), 404 when
/// the library has no such file (built-in components are not in it, and are not editable), 422
/// with the reason (where in the file, and what) when the file is not one the form can show.
pub async fn draft(
    State(state): State<AppState>,
    name: Result<UrlPath<String>, PathRejection>,
) -> Result<Json<ComponentDraft>, AppError> {
    let UrlPath(name) = name?;
    if !pipeline::authoring::is_function_name(&name) {
        return Err(AppError::BadRequest(format!(
            "{:?} is not a component name: a user component is named by its Python function \
             name (lower case, e.g. train_model)",
            name.chars().take(80).collect::<String>()
        )));
    }
    let path = state.user_components_dir.join(format!("{name}.yaml"));
    let draft = tokio::task::spawn_blocking(move || -> Result<ComponentDraft, AppError> {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AppError::NotFound(format!(
                    "your library has no component file {name}.yaml (built-in components are \
                     not editable)"
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(not_editable("file", "the file is not UTF-8 text".into()))
            }
            Err(e) => return Err(AppError::internal(e)),
        };
        draft_of(&text).map_err(|e| match e {
            DraftOpenError::Unreadable(message) => not_editable("file", message),
            DraftOpenError::NotEditable { at, message } => not_editable(&at, message),
        })
    })
    .await??;
    Ok(Json(draft))
}

/// 422: the component cannot be edited in the form, saying where and why.
fn not_editable(at: &str, message: String) -> AppError {
    AppError::Draft {
        problems: vec![DraftProblem {
            field: at.to_string(),
            message: format!("the component editor cannot open it: {message}"),
        }],
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], what: &str) -> Result<T, AppError> {
    serde_json::from_slice(body).map_err(|e| AppError::BadRequest(format!("invalid {what}: {e}")))
}

/// Writes `text` to `path` whole or not at all (a temporary file renamed over it), refusing to
/// replace an existing file unless `replace`.
fn write_component(dir: &Path, path: &Path, text: &str, replace: bool) -> Result<(), AppError> {
    std::fs::create_dir_all(dir).map_err(AppError::internal)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !replace && path.exists() {
        return Err(AppError::Conflict(format!(
            "the library already has a component file {name}; save with replace to overwrite it"
        )));
    }
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, text).map_err(AppError::internal)?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        AppError::internal(e)
    })
}
