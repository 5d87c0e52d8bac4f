//! `GET /api/components`: the palette, built-in components first, then user components.

use axum::extract::State;
use axum::Json;
use components::CatalogEntry;

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
