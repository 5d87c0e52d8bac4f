//! Lineage: `GET /api/lineage?run=<id> | artifact=<id> | execution=<id> | uri=<artifact URI>`
//! with `depth=N` (hops, default 1, at most 100), `direction=upstream|downstream|both`
//! (default `both`) and `maxNodes=N` (default 1,000, at most 10,000) → `api::Lineage`
//! (`artifacts`, `executions`, `events`, `truncated`). Exactly one start (`run` with
//! `task=<path>` starts at that task's execution); an unknown run, task, artifact, execution
//! or URI is a 404. `vertexArtifact=<resource name>&depth=N&maxNodes=N`
//! and `vertexRun=<run id>&maxNodes=N` ask Vertex ML Metadata instead of the run store
//! (`targets::vertex_lineage`; both directions, so `direction` must be absent or `both`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;

use api::lineage::{MAX_LINEAGE_DEPTH, MAX_LINEAGE_NODES};
use api::{Lineage, LineageDirection, LineageStart};
use runs::LineageQuery;

use crate::error::AppError;
use crate::server::AppState;

/// The query string of `GET /api/lineage`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineageParams {
    /// Start at this run's executions.
    pub run: Option<String>,
    /// Start at this artifact.
    pub artifact: Option<i64>,
    /// With `run`: start at this task's execution (`train`, `for-loop-2[0]/train`).
    pub task: Option<String>,
    /// Start at this execution.
    pub execution: Option<i64>,
    /// Start at the artifact with this URI.
    pub uri: Option<String>,
    /// Start at this Vertex ML Metadata artifact (its resource name).
    pub vertex_artifact: Option<String>,
    /// The lineage of this Vertex run (its run id), from Vertex ML Metadata.
    pub vertex_run: Option<String>,
    /// Hops to follow.
    pub depth: Option<u32>,
    /// `upstream`, `downstream` or `both`.
    pub direction: Option<String>,
    /// The most nodes to return.
    pub max_nodes: Option<usize>,
}

/// `GET /api/lineage`: the subgraph around a run, an artifact or an execution.
pub async fn get(
    State(state): State<AppState>,
    q: Result<Query<LineageParams>, QueryRejection>,
) -> Result<Json<Lineage>, AppError> {
    let Query(p) = q?;
    let starts = [
        p.run.is_some(),
        p.artifact.is_some(),
        p.execution.is_some(),
        p.uri.is_some(),
        p.vertex_artifact.is_some(),
        p.vertex_run.is_some(),
    ];
    if starts.iter().filter(|s| **s).count() != 1 {
        return Err(AppError::BadRequest(
            "say where lineage starts with exactly one of run=<id>, artifact=<id>, \
             execution=<id>, uri=<artifact URI>, vertexArtifact=<resource name> or \
             vertexRun=<run id>"
                .into(),
        ));
    }
    if p.task.is_some() && p.run.is_none() {
        return Err(AppError::BadRequest(
            "task=<path> says which task of a run: give run=<id> with it".into(),
        ));
    }
    let direction = match p.direction.as_deref() {
        None => LineageDirection::Both,
        Some(d) => LineageDirection::parse(d).ok_or_else(|| {
            AppError::BadRequest(format!(
                "unknown direction {d:?}; use upstream, downstream or both"
            ))
        })?,
    };
    let depth = p.depth.unwrap_or(api::lineage::DEFAULT_LINEAGE_DEPTH);
    if depth > MAX_LINEAGE_DEPTH {
        return Err(AppError::BadRequest(format!(
            "depth {depth} is more than {MAX_LINEAGE_DEPTH} hops"
        )));
    }
    let max_nodes = p.max_nodes.unwrap_or(api::lineage::DEFAULT_LINEAGE_NODES);
    if !(1..=MAX_LINEAGE_NODES).contains(&max_nodes) {
        return Err(AppError::BadRequest(format!(
            "maxNodes {max_nodes} is not between 1 and {MAX_LINEAGE_NODES}"
        )));
    }
    if p.vertex_artifact.is_some() || p.vertex_run.is_some() {
        if direction != LineageDirection::Both {
            return Err(AppError::BadRequest(
                "Vertex ML Metadata answers both directions: leave direction out".into(),
            ));
        }
        let lineage = match (p.vertex_artifact, p.vertex_run) {
            (Some(name), _) => {
                state
                    .targets
                    .vertex_artifact_lineage(&name, depth, max_nodes)
                    .await?
            }
            (_, Some(id)) => state.targets.vertex_run_lineage(&id, max_nodes).await?,
            _ => Lineage::default(),
        };
        return Ok(Json(lineage));
    }
    let store = state.engine.store().clone();
    let answer = tokio::task::spawn_blocking(move || {
        let (start, what) = match (p.run, p.artifact, p.execution, p.uri) {
            (Some(run), ..) if p.task.is_some() => {
                let path = p.task.unwrap_or_default();
                match store.execution_id(&run, &path)? {
                    Some(id) => (LineageStart::Execution(id), String::new()),
                    None => {
                        return Ok(Err(format!(
                            "no lineage of task {path:?} in run {run:?}: no such run or task, \
                             or the task has not ended"
                        )))
                    }
                }
            }
            (Some(run), ..) => {
                let what = format!("no run with id {run:?}");
                (LineageStart::Run(run), what)
            }
            (_, Some(id), ..) => (LineageStart::Artifact(id), format!("no artifact {id}")),
            (_, _, Some(id), _) => (LineageStart::Execution(id), format!("no execution {id}")),
            (_, _, _, uri) => {
                let uri = uri.unwrap_or_default();
                match store.artifact_id(&uri)? {
                    Some(id) => (LineageStart::Artifact(id), String::new()),
                    None => return Ok(Err(format!("no artifact recorded at {uri:?}"))),
                }
            }
        };
        let q = LineageQuery {
            start,
            depth,
            direction,
            max_nodes,
        };
        Ok::<_, runs::StoreError>(store.lineage(&q)?.ok_or(what))
    })
    .await??;
    answer.map(Json).map_err(AppError::NotFound)
}
