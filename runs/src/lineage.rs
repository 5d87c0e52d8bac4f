//! Lineage: an ML-Metadata-shaped record of what every run made and used — artifacts (by URI),
//! executions (one per task of a run), the events joining them (INPUT/OUTPUT with the port
//! name) and the contexts executions belong to (the run, inside its pipeline). Its tables are
//! [`crate::db`]'s (schema v5).
//!
//! **Recording cannot be forgotten**: the run store writes a task's lineage in the same
//! transaction as the task's final state ([`crate::RunStore::update_task`],
//! [`crate::RunStore::add_task`], [`crate::RunStore::mark_interrupted`]), from the task row it
//! has just written (its inputs and outputs, artifacts included), so every writer — the local
//! engine, the remote targets, recovery — records it. Runs stored before schema v5 are recorded
//! by the migration ([`backfill`]). A cache hit's outputs carry the URIs the earlier run wrote,
//! so its execution (state `CACHED`) links to the very artifacts of that run.
//!
//! **Queries** ([`query`]) walk the graph breadth-first, one hop at a time — one indexed query
//! per hop for the whole frontier, one per kind of row for the answer — with no recursion, up
//! to `depth` hops and a node cap (the answer says when the cap cut it short).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use api::{
    Lineage, LineageArtifact, LineageDirection, LineageEvent, LineageEventType, LineageExecution,
    LineageStart, TaskKind, TaskState,
};
use pipeline::ir::{PipelineSpec, PipelineTaskSpec};

/// The most artifacts one task's inputs or outputs record (a loop's collected outputs are a
/// list); the rest are left out with a warning.
pub const MAX_TASK_ARTIFACTS: usize = 10_000;

/// How many parsed run specs [`SpecCache`] keeps (runs recorded at the same time).
const SPEC_CACHE_RUNS: usize = 8;

/// The parsed specs of the runs being recorded, to name each execution's component without
/// parsing a run's spec once per task. Small and bounded ([`SPEC_CACHE_RUNS`] runs).
#[derive(Debug, Default)]
pub(crate) struct SpecCache {
    entries: VecDeque<(String, Arc<Option<PipelineSpec>>)>,
}

impl SpecCache {
    /// Run `run_id`'s spec (`None` when it cannot be read as a spec), parsed once.
    pub(crate) fn get(
        &mut self,
        c: &Connection,
        run_id: &str,
    ) -> rusqlite::Result<Arc<Option<PipelineSpec>>> {
        if let Some((_, spec)) = self.entries.iter().find(|(id, _)| id == run_id) {
            return Ok(spec.clone());
        }
        let spec = Arc::new(load_spec(c, run_id)?);
        if self.entries.len() >= SPEC_CACHE_RUNS {
            self.entries.pop_front();
        }
        self.entries.push_back((run_id.to_string(), spec.clone()));
        Ok(spec)
    }
}

fn load_spec(c: &Connection, run_id: &str) -> rusqlite::Result<Option<PipelineSpec>> {
    let text: Option<String> = c
        .query_row("SELECT spec FROM runs WHERE id = ?1", [run_id], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// The task spec and component of task `path` (`condition-1/for-loop-2[0]/train`) in `spec`:
/// each segment is a task of the DAG of the one before (an iteration, `for-loop-2[0]`, is its
/// loop's task).
pub fn task_of<'a>(spec: &'a PipelineSpec, path: &str) -> Option<(&'a PipelineTaskSpec, &'a str)> {
    let mut comp = &spec.root;
    let mut found = None;
    for seg in path.split('/') {
        let task_name = seg.split_once('[').map_or(seg, |(base, _)| base);
        let task = comp.dag.as_ref()?.tasks.get(task_name)?;
        found = Some((task, task.component_ref.name.as_str()));
        comp = spec.components.get(&task.component_ref.name)?;
    }
    found
}

/// The component task `path` (`condition-1/for-loop-2[0]/train`) runs in `spec`.
pub fn component_of(spec: &PipelineSpec, path: &str) -> Option<String> {
    task_of(spec, path).map(|(_, c)| c.to_string())
}

/// The ML Metadata execution type of a task kind.
fn execution_type(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::Container => "system.ContainerExecution",
        TaskKind::Importer => "system.ImporterExecution",
        TaskKind::Dag | TaskKind::Loop | TaskKind::Iteration => "system.DAGExecution",
    }
}

/// The id of context (`ty`, `name`), created under `parent` when new.
fn context(c: &Connection, ty: &str, name: &str, parent: Option<i64>) -> rusqlite::Result<i64> {
    c.prepare_cached(
        "INSERT INTO lineage_contexts (type, name, parent) VALUES (?1, ?2, ?3)
         ON CONFLICT (type, name) DO NOTHING",
    )?
    .execute(params![ty, name, parent])?;
    c.prepare_cached("SELECT id FROM lineage_contexts WHERE type = ?1 AND name = ?2")?
        .query_row(params![ty, name], |r| r.get(0))
}

/// One artifact of a task's inputs or outputs, as the store has it (`RuntimeArtifact`).
struct SeenArtifact<'a> {
    port: &'a str,
    index: u32,
    uri: &'a str,
    name: &'a str,
    schema_title: &'a str,
    schema_version: Option<&'a str>,
    metadata: Option<&'a Value>,
}

/// The artifacts of `io` (`{"artifacts": {port: [{name, uri, metadata, type}]}}`), at most
/// [`MAX_TASK_ARTIFACTS`]; those without a URI are not artifacts anyone can find again.
fn artifacts_of(io: Option<&Value>) -> Vec<SeenArtifact<'_>> {
    let mut out = Vec::new();
    let Some(ports) = io
        .and_then(|v| v.get("artifacts"))
        .and_then(Value::as_object)
    else {
        return out;
    };
    for (port, list) in ports {
        let Some(list) = list.as_array() else {
            continue;
        };
        for (i, a) in list.iter().enumerate() {
            let uri = a.get("uri").and_then(Value::as_str).unwrap_or_default();
            if uri.is_empty() {
                continue;
            }
            if out.len() >= MAX_TASK_ARTIFACTS {
                tracing::warn!(
                    limit = MAX_TASK_ARTIFACTS,
                    "a task has more artifacts than lineage records; the rest are left out"
                );
                return out;
            }
            let ty = a.get("type");
            let name = a.get("name").and_then(Value::as_str).unwrap_or_default();
            out.push(SeenArtifact {
                port,
                index: u32::try_from(i).unwrap_or(u32::MAX),
                uri,
                name: if name.is_empty() { port } else { name },
                schema_title: ty
                    .and_then(|t| t.get("schemaTitle"))
                    .and_then(Value::as_str)
                    .unwrap_or("system.Artifact"),
                schema_version: ty
                    .and_then(|t| t.get("schemaVersion"))
                    .and_then(Value::as_str),
                metadata: a.get("metadata").filter(|m| m.is_object()),
            });
        }
    }
    out
}

fn parameters_of(io: Option<&Value>) -> String {
    io.and_then(|v| v.get("parameters"))
        .filter(|p| p.is_object())
        .map_or_else(|| "{}".to_string(), Value::to_string)
}

/// Records the lineage of task `path` of run `run_id` from its row, if it has ended: its
/// execution (in the run's context, inside the pipeline's), its input and output artifacts
/// (found by URI, so an artifact another run produced is the same artifact) and the events
/// joining them. Idempotent: recording a task again replaces its events. Call it inside the
/// transaction that wrote the task's final state.
pub(crate) fn record_task(
    c: &Connection,
    run_id: &str,
    path: &str,
    spec: Option<&PipelineSpec>,
) -> rusqlite::Result<()> {
    type Row = (
        String,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    );
    let row: Option<Row> = c
        .prepare_cached(
            "SELECT t.name, t.display_name, t.kind, t.state, t.started_at, t.ended_at, t.inputs,
                    t.outputs, t.cache_key, r.pipeline_name
             FROM run_tasks t JOIN runs r ON r.id = t.run_id
             WHERE t.run_id = ?1 AND t.path = ?2",
        )?
        .query_row(params![run_id, path], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })
        .optional()?;
    let Some((name, display, kind, state, started, ended, inputs, outputs, cache_key, pipeline)) =
        row
    else {
        return Ok(());
    };
    let Some(state) = TaskState::parse(&state).filter(|s| s.is_final()) else {
        return Ok(());
    };
    let kind = TaskKind::parse(&kind).unwrap_or(TaskKind::Container);
    let inputs: Option<Value> = inputs.and_then(|s| serde_json::from_str(&s).ok());
    let outputs: Option<Value> = outputs.and_then(|s| serde_json::from_str(&s).ok());
    let pipeline_ctx = context(c, "system.Pipeline", &pipeline, None)?;
    let run_ctx = context(c, "system.PipelineRun", run_id, Some(pipeline_ctx))?;
    let component = spec.and_then(|s| component_of(s, path));
    let execution: i64 = c
        .prepare_cached(
            "INSERT INTO lineage_executions (context_id, run_id, task_path, name, component,
                 type, state, started_at, ended_at, cache_key, parameters, output_parameters)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (run_id, task_path) DO UPDATE SET
                 name = excluded.name, component = excluded.component, type = excluded.type,
                 state = excluded.state, started_at = excluded.started_at,
                 ended_at = excluded.ended_at, cache_key = excluded.cache_key,
                 parameters = excluded.parameters, output_parameters = excluded.output_parameters
             RETURNING id",
        )?
        .query_row(
            params![
                run_ctx,
                run_id,
                path,
                display.unwrap_or(name),
                component,
                execution_type(kind),
                state.as_str(),
                started,
                ended,
                cache_key,
                parameters_of(inputs.as_ref()),
                parameters_of(outputs.as_ref()),
            ],
            |r| r.get(0),
        )?;
    c.prepare_cached("DELETE FROM lineage_events WHERE execution_id = ?1")?
        .execute([execution])?;
    let created = crate::db::now().unwrap_or_default();
    for (ty, io) in [
        (LineageEventType::Input, inputs.as_ref()),
        (LineageEventType::Output, outputs.as_ref()),
    ] {
        for a in artifacts_of(io) {
            let metadata = a
                .metadata
                .map_or_else(|| "{}".to_string(), Value::to_string);
            // An output is the artifact as its producer describes it; an input only makes
            // sure the artifact exists (an importer's URI, or a producer not recorded).
            let sql = match ty {
                LineageEventType::Output => {
                    "INSERT INTO lineage_artifacts (uri, name, schema_title, schema_version,
                         metadata, state, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'LIVE', ?6)
                     ON CONFLICT (uri) DO UPDATE SET name = excluded.name,
                         schema_title = excluded.schema_title,
                         schema_version = excluded.schema_version,
                         metadata = excluded.metadata, state = 'LIVE'
                     RETURNING id"
                }
                LineageEventType::Input => {
                    "INSERT INTO lineage_artifacts (uri, name, schema_title, schema_version,
                         metadata, state, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'PENDING', ?6)
                     ON CONFLICT (uri) DO UPDATE SET uri = uri
                     RETURNING id"
                }
            };
            let artifact: i64 = c.prepare_cached(sql)?.query_row(
                params![
                    a.uri,
                    a.name,
                    a.schema_title,
                    a.schema_version,
                    metadata,
                    created
                ],
                |r| r.get(0),
            )?;
            c.prepare_cached(
                "INSERT INTO lineage_events (execution_id, artifact_id, type, port, idx)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![execution, artifact, ty.as_str(), a.port, a.index])?;
        }
    }
    Ok(())
}

/// Records the lineage of every ended task of every run, oldest run first (so a producer is
/// recorded before the runs that reused its outputs from the cache): the migration to schema
/// v5 gives the runs stored before it their graph. Each run's spec is parsed once.
pub(crate) fn backfill(c: &Connection) -> rusqlite::Result<()> {
    let runs: Vec<String> = c
        .prepare("SELECT id FROM runs ORDER BY seq, rowid")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for run in runs {
        let spec = load_spec(c, &run)?;
        let paths: Vec<String> = c
            .prepare_cached("SELECT path FROM run_tasks WHERE run_id = ?1 ORDER BY rowid")?
            .query_map([&run], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for path in paths {
            record_task(c, &run, &path, spec.as_ref())?;
        }
    }
    Ok(())
}

/// What a lineage query asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageQuery {
    /// Where it starts.
    pub start: LineageStart,
    /// How many hops it follows (clamped to [`api::lineage::MAX_LINEAGE_DEPTH`]).
    pub depth: u32,
    /// Which way.
    pub direction: LineageDirection,
    /// The most artifacts and executions it returns (clamped to
    /// 1..=[`api::lineage::MAX_LINEAGE_NODES`]).
    pub max_nodes: usize,
}

impl LineageQuery {
    /// A query from `start` with the defaults: one hop, both ways,
    /// [`api::lineage::DEFAULT_LINEAGE_NODES`] nodes.
    pub fn new(start: LineageStart) -> Self {
        Self {
            start,
            depth: api::lineage::DEFAULT_LINEAGE_DEPTH,
            direction: LineageDirection::Both,
            max_nodes: api::lineage::DEFAULT_LINEAGE_NODES,
        }
    }
}

/// A node of the graph during a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    Artifact(i64),
    Execution(i64),
}

/// Ids as a JSON array, for `json_each`: one indexed query per hop or per table, whatever
/// the number of nodes.
fn id_list(ids: impl Iterator<Item = i64>) -> String {
    let ids: Vec<i64> = ids.collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".to_string())
}

fn artifact_ids<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> String {
    id_list(nodes.into_iter().filter_map(|n| match n {
        Node::Artifact(id) => Some(*id),
        Node::Execution(_) => None,
    }))
}

fn execution_ids<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> String {
    id_list(nodes.into_iter().filter_map(|n| match n {
        Node::Execution(id) => Some(*id),
        Node::Artifact(_) => None,
    }))
}

/// The nodes a walk has reached, up to its cap.
struct Reached {
    seen: BTreeSet<Node>,
    cap: usize,
    truncated: bool,
}

impl Reached {
    /// Adds `node` if it is new; `false` (and `truncated`) when the cap leaves no room for it.
    fn add(&mut self, node: Node, frontier: &mut Vec<Node>) -> bool {
        if self.seen.contains(&node) {
            return true;
        }
        if self.seen.len() >= self.cap {
            self.truncated = true;
            return false;
        }
        self.seen.insert(node);
        frontier.push(node);
        true
    }
}

/// One hop from `frontier` in `direction`, into `next` in a stable order: the executions'
/// input artifacts (upstream) and output artifacts (downstream), then the artifacts'
/// producers (upstream) and consumers (downstream). Rows are read only until the cap is
/// reached, so a hop does bounded work however many events an artifact has.
fn hop(
    c: &Connection,
    frontier: &[Node],
    direction: LineageDirection,
    reached: &mut Reached,
    next: &mut Vec<Node>,
) -> rusqlite::Result<()> {
    // Upstream of an execution is what it read; upstream of an artifact, who wrote it.
    let wanted = |ty: &str, upstream_type: &str| match direction {
        LineageDirection::Upstream => ty == upstream_type,
        LineageDirection::Downstream => ty != upstream_type,
        LineageDirection::Both => true,
    };
    let mut stmt = c.prepare_cached(
        "SELECT artifact_id, type FROM lineage_events
         WHERE execution_id IN (SELECT value FROM json_each(?1))
         ORDER BY execution_id, artifact_id",
    )?;
    let mut rows = stmt.query([execution_ids(frontier)])?;
    while let Some(r) = rows.next()? {
        let ty: String = r.get(1)?;
        if wanted(&ty, "INPUT") && !reached.add(Node::Artifact(r.get(0)?), next) {
            return Ok(());
        }
    }
    let mut stmt = c.prepare_cached(
        "SELECT execution_id, type FROM lineage_events
         WHERE artifact_id IN (SELECT value FROM json_each(?1))
         ORDER BY artifact_id, execution_id",
    )?;
    let mut rows = stmt.query([artifact_ids(frontier)])?;
    while let Some(r) = rows.next()? {
        let ty: String = r.get(1)?;
        if wanted(&ty, "OUTPUT") && !reached.add(Node::Execution(r.get(0)?), next) {
            return Ok(());
        }
    }
    Ok(())
}

/// The subgraph around `q.start`: its nodes, then `q.depth` hops of neighbours in
/// `q.direction`, breadth-first, until `q.max_nodes` nodes (then `truncated` is set). `None`
/// when the run, artifact or execution does not exist. A run's own nodes are its executions
/// (none yet while it has no ended task). Each hop, and each kind of row of the answer, is one
/// indexed query.
pub(crate) fn query(c: &Connection, q: &LineageQuery) -> rusqlite::Result<Option<Lineage>> {
    let depth = q.depth.min(api::lineage::MAX_LINEAGE_DEPTH);
    let mut reached = Reached {
        seen: BTreeSet::new(),
        cap: q.max_nodes.clamp(1, api::lineage::MAX_LINEAGE_NODES),
        truncated: false,
    };
    let mut frontier: Vec<Node> = Vec::new();
    let exists = |sql: &str, id: &dyn rusqlite::ToSql| -> rusqlite::Result<bool> {
        Ok(c.prepare_cached(sql)?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some())
    };
    match &q.start {
        LineageStart::Run(id) => {
            if !exists("SELECT 1 FROM runs WHERE id = ?1", id)? {
                return Ok(None);
            }
            let mut stmt = c.prepare_cached(
                "SELECT id FROM lineage_executions WHERE run_id = ?1 ORDER BY id",
            )?;
            let mut rows = stmt.query([id])?;
            while let Some(r) = rows.next()? {
                if !reached.add(Node::Execution(r.get(0)?), &mut frontier) {
                    break;
                }
            }
        }
        LineageStart::Artifact(id) => {
            if !exists("SELECT 1 FROM lineage_artifacts WHERE id = ?1", id)? {
                return Ok(None);
            }
            reached.add(Node::Artifact(*id), &mut frontier);
        }
        LineageStart::Execution(id) => {
            if !exists("SELECT 1 FROM lineage_executions WHERE id = ?1", id)? {
                return Ok(None);
            }
            reached.add(Node::Execution(*id), &mut frontier);
        }
    }
    let mut next = Vec::new();
    for _ in 0..depth {
        if frontier.is_empty() || reached.truncated {
            break;
        }
        hop(c, &frontier, q.direction, &mut reached, &mut next)?;
        std::mem::swap(&mut frontier, &mut next);
        next.clear();
    }
    let (artifacts, executions) = (artifact_ids(&reached.seen), execution_ids(&reached.seen));
    Ok(Some(Lineage {
        artifacts: fetch_artifacts(c, &artifacts)?,
        executions: fetch_executions(c, &executions)?,
        events: fetch_events(c, &executions, &artifacts)?,
        truncated: reached.truncated,
    }))
}

fn json_object(text: String) -> Map<String, Value> {
    match serde_json::from_str(&text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The artifacts with the ids in `ids` (a JSON array), by id.
fn fetch_artifacts(c: &Connection, ids: &str) -> rusqlite::Result<Vec<LineageArtifact>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, uri, name, schema_title, schema_version, metadata, state, created_at
         FROM lineage_artifacts WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id",
    )?;
    let rows = stmt.query_map([ids], |r| {
        Ok(LineageArtifact {
            id: r.get(0)?,
            uri: r.get(1)?,
            name: r.get(2)?,
            schema_title: r.get(3)?,
            schema_version: r.get(4)?,
            metadata: json_object(r.get(5)?),
            state: r.get(6)?,
            created_at: r.get(7)?,
        })
    })?;
    rows.collect()
}

/// The executions with the ids in `ids` (a JSON array), by id, with their run's pipeline.
fn fetch_executions(c: &Connection, ids: &str) -> rusqlite::Result<Vec<LineageExecution>> {
    let mut stmt = c.prepare_cached(
        "SELECT e.id, e.run_id, p.name, e.task_path, e.name, e.component, e.type, e.state,
                e.started_at, e.ended_at, e.cache_key, e.parameters, e.output_parameters
         FROM lineage_executions e
         JOIN lineage_contexts r ON r.id = e.context_id
         JOIN lineage_contexts p ON p.id = r.parent
         WHERE e.id IN (SELECT value FROM json_each(?1))
         ORDER BY e.id",
    )?;
    let rows = stmt.query_map([ids], |r| {
        let state: String = r.get(7)?;
        Ok(LineageExecution {
            id: r.get(0)?,
            run_id: r.get(1)?,
            pipeline_name: r.get(2)?,
            task_path: r.get(3)?,
            name: r.get(4)?,
            component: r.get(5)?,
            execution_type: r.get(6)?,
            state: TaskState::parse(&state).unwrap_or(TaskState::Failed),
            started_at: r.get(8)?,
            ended_at: r.get(9)?,
            cache_key: r.get(10)?,
            parameters: json_object(r.get(11)?),
            output_parameters: json_object(r.get(12)?),
        })
    })?;
    rows.collect()
}

/// The events between the executions and the artifacts in `executions` and `artifacts`
/// (JSON arrays of ids), by execution, type, port and position.
fn fetch_events(
    c: &Connection,
    executions: &str,
    artifacts: &str,
) -> rusqlite::Result<Vec<LineageEvent>> {
    let mut stmt = c.prepare_cached(
        "SELECT execution_id, artifact_id, type, port, idx FROM lineage_events
         WHERE execution_id IN (SELECT value FROM json_each(?1))
           AND artifact_id IN (SELECT value FROM json_each(?2))
         ORDER BY execution_id, type, port, idx",
    )?;
    let rows = stmt.query_map([executions, artifacts], |r| {
        let ty: String = r.get(2)?;
        Ok(LineageEvent {
            execution_id: r.get(0)?,
            artifact_id: r.get(1)?,
            event_type: LineageEventType::parse(&ty).unwrap_or(LineageEventType::Output),
            port: r.get(3)?,
            index: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// The artifact with `uri`, if lineage has recorded one.
pub(crate) fn execution_of_task(
    c: &Connection,
    run: &str,
    path: &str,
) -> rusqlite::Result<Option<i64>> {
    c.prepare_cached("SELECT id FROM lineage_executions WHERE run_id = ?1 AND task_path = ?2")?
        .query_row([run, path], |r| r.get(0))
        .optional()
}

pub(crate) fn artifact_by_uri(c: &Connection, uri: &str) -> rusqlite::Result<Option<i64>> {
    c.prepare_cached("SELECT id FROM lineage_artifacts WHERE uri = ?1")?
        .query_row([uri], |r| r.get(0))
        .optional()
}

/// Writes `lineage` as a Graphviz `dot` graph: artifacts as boxes (name and type), executions
/// as ellipses (task path, run and state), events as edges from input artifacts into
/// executions and from executions to their outputs, labelled with the port.
pub fn to_dot(lineage: &Lineage) -> String {
    let quote = |s: &str| {
        let mut q = String::with_capacity(s.len() + 2);
        q.push('"');
        for ch in s.chars() {
            match ch {
                '"' => q.push_str("\\\""),
                '\\' => q.push_str("\\\\"),
                '\n' => q.push_str("\\n"),
                c if c.is_control() => {}
                c => q.push(c),
            }
        }
        q.push('"');
        q
    };
    let mut out = String::from("digraph lineage {\n  rankdir=LR;\n");
    for a in &lineage.artifacts {
        out.push_str(&format!(
            "  a{} [shape=box, label={}, tooltip={}];\n",
            a.id,
            quote(&format!("{}\n{}", a.name, a.schema_title)),
            quote(&a.uri)
        ));
    }
    let mut runs: BTreeMap<&str, Vec<&LineageExecution>> = BTreeMap::new();
    for e in &lineage.executions {
        runs.entry(e.run_id.as_str()).or_default().push(e);
    }
    for (i, (run, execs)) in runs.iter().enumerate() {
        out.push_str(&format!(
            "  subgraph cluster_{i} {{\n    label={};\n",
            quote(&format!("run {run}"))
        ));
        for e in execs {
            out.push_str(&format!(
                "    e{} [shape=ellipse, label={}];\n",
                e.id,
                quote(&format!("{}\n{}", e.task_path, e.state.as_str()))
            ));
        }
        out.push_str("  }\n");
    }
    for ev in &lineage.events {
        let (from, to) = match ev.event_type {
            LineageEventType::Input => (
                format!("a{}", ev.artifact_id),
                format!("e{}", ev.execution_id),
            ),
            LineageEventType::Output => (
                format!("e{}", ev.execution_id),
                format!("a{}", ev.artifact_id),
            ),
        };
        out.push_str(&format!("  {from} -> {to} [label={}];\n", quote(&ev.port)));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
#[path = "lineage_tests.rs"]
mod tests;
