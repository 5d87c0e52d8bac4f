//! The runs table, like the Vertex AI SDK's `aiplatform.get_pipeline_df`: one row per run with
//! its base columns ([`api::run_table::BASE_COLUMNS`]), a `param.<name>` column per run
//! parameter and a `metric.<name>` column per scalar metric its tasks logged; filtered,
//! sorted by any column and cut to a limit ([`RunStore::run_table`]).
//!
//! **Metrics** come from the lineage record ([`crate::lineage`]): the numeric metadata keys of
//! every `system.Metrics` artifact a run's executions output (a cached task's execution links
//! to the artifact the earlier run wrote, so a cached run shows the same metrics). They are
//! read for every matching run at once, in one query over the lineage indexes, not run by run.
//!
//! **Metric names**: a metric one task of the run logs is `metric.<name>`. When two or more
//! tasks of a run log the same name, each is `metric.<task>.<name>` (the task's name); when
//! that still does not tell them apart (the iterations of a loop share their task's name),
//! each is `metric.<task path>.<name>` (`metric.for-loop-2[0]/train.accuracy`). Should one
//! task log the same name twice (two metrics outputs), the first (by output name) is kept.
//!
//! **Columns** are the union over every run that matches the filter (not only the rows the
//! limit keeps), so a column chooser sees them all: the base columns, then the `param.`
//! columns, then the `metric.` columns, each group sorted by name.
//!
//! **Sorting** is by one column, ascending or descending; runs without a value come last
//! either way (as in pandas), and ties keep the default order, newest first. Numbers compare
//! as numbers, text as text (times are fixed-width RFC 3339, so text order is time order);
//! in a column of mixed kinds, numbers come before text, then booleans, then lists and
//! objects.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use api::run_table::{cell_text, BASE_COLUMNS, METRIC_PREFIX, PARAM_PREFIX};
use api::{RunState, RunTable, RunTableRow};
use rusqlite::{params, Connection};
use serde_json::{Map, Value};

use crate::db::{now, StoreError};
use crate::store::{RunStore, DEFAULT_RUN_LIST};

/// The most rows one table returns ([`TableQuery::limit`] is clamped to it).
pub const MAX_TABLE_ROWS: usize = 10_000;

/// The schema title of the artifacts whose metadata are a task's scalar metrics.
const METRICS_SCHEMA: &str = "system.Metrics";

/// Which runs the table shows, in what order, and how many.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableQuery {
    /// Only runs of this pipeline name (exactly).
    pub pipeline: Option<String>,
    /// Only runs in this state.
    pub state: Option<RunState>,
    /// Only runs with a cell that contains this text, ignoring case (blank: every run).
    pub text: Option<String>,
    /// The column to sort by ([`check_sort_column`]); `None`: newest first.
    pub sort: Option<String>,
    /// Sort from the largest value down.
    pub descending: bool,
    /// At most this many rows; 0 means [`DEFAULT_RUN_LIST`], more than [`MAX_TABLE_ROWS`]
    /// means [`MAX_TABLE_ROWS`].
    pub limit: usize,
}

/// Why a runs table could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The run store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The sort column cannot be a column of the table.
    #[error(
        "cannot sort by {0:?}: a column is one of {base}, or param.<name> or metric.<name>",
        base = BASE_COLUMNS.join(", ")
    )]
    SortColumn(String),
}

impl From<rusqlite::Error> for TableError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Store(StoreError::Sql(e))
    }
}

/// Refuses a sort column that no table can have: one that is neither a base column nor a
/// `param.`/`metric.` column. (A `param.`/`metric.` column the matching runs lack sorts
/// nothing: every value is missing.)
pub fn check_sort_column(column: &str) -> Result<(), TableError> {
    let named = |prefix: &str| column.strip_prefix(prefix).is_some_and(|n| !n.is_empty());
    if BASE_COLUMNS.contains(&column) || named(PARAM_PREFIX) || named(METRIC_PREFIX) {
        Ok(())
    } else {
        Err(TableError::SortColumn(column.to_string()))
    }
}

impl RunStore {
    /// The runs table `q` asks for ([module docs](crate::table)).
    pub fn run_table(&self, q: &TableQuery) -> Result<RunTable, TableError> {
        if let Some(column) = &q.sort {
            check_sort_column(column)?;
        }
        let now = now()?;
        let mut names = Names::default();
        let runs = self.with_conn(|c| read(c, q, &now, &mut names))?;
        Ok(build(q, runs, &mut names))
    }
}

/// A run as the runs table reads it, before it becomes cells.
struct RunRow {
    id: String,
    error: Option<String>,
    console_link: Option<String>,
    base: [Value; 6],
    params: Map<String, Value>,
    /// The metrics artifacts its tasks output.
    logged: Vec<Logged>,
    /// Metric columns (`metric.…`, shared names) and their values.
    metrics: BTreeMap<Rc<str>, Value>,
}

/// One metrics artifact a task output: the task's path and name, the output (port, index) and
/// the artifact's numeric metadata, its scalar metrics. Names are shared ([`Names`]).
struct Logged {
    path: Rc<str>,
    task: Rc<str>,
    port: Rc<str>,
    idx: i64,
    metrics: Vec<(Rc<str>, Value)>,
}

/// The `WHERE` clause both queries filter runs `r` with (`?1` state, `?2` pipeline name).
const RUN_FILTER: &str = "(?1 IS NULL OR r.state = ?1) AND (?2 IS NULL OR r.pipeline_name = ?2)";

/// The query of the metrics the runs `?1`/`?2` filters logged (`?3` is [`METRICS_SCHEMA`]):
/// from the metrics artifacts (by the schema-title index), their OUTPUT events (by artifact),
/// the executions and their runs (by key) — work in proportion to the metrics, not to all
/// lineage. Runs come as their row ids, in no order.
fn metrics_sql() -> String {
    format!(
        "SELECT r.rowid, e.task_path, e.name, v.port, v.idx, a.metadata
         FROM runs r
         JOIN lineage_executions e ON e.run_id = r.id
         JOIN lineage_events v ON v.execution_id = e.id AND v.type = 'OUTPUT'
         JOIN lineage_artifacts a ON a.id = v.artifact_id
         WHERE a.schema_title = ?3 AND {RUN_FILTER}"
    )
}

/// Reads the runs `q` filters (newest first) with the metrics artifacts their tasks output
/// (each run's in the order of task path and output).
fn read(
    c: &Connection,
    q: &TableQuery,
    now: &str,
    names: &mut Names,
) -> rusqlite::Result<Vec<RunRow>> {
    let state = q.state.map(RunState::as_str);
    let pipeline = q.pipeline.as_deref();
    let mut stmt = c.prepare(&format!(
        "SELECT r.id, r.pipeline_name, r.state, COALESCE(r.target, 'local'),
                COALESCE(r.started_at, r.created_at),
                CASE WHEN r.started_at IS NULL THEN NULL ELSE
                    ROUND(MAX(0.0, (julianday(COALESCE(r.ended_at, ?3))
                                    - julianday(r.started_at)) * 86400.0), 1) END,
                r.parameters, r.error, r.console_link, r.rowid
         FROM runs r WHERE {RUN_FILTER} ORDER BY r.seq DESC"
    ))?;
    // Where each run (by row id) is in the list.
    let mut at: HashMap<i64, usize> = HashMap::new();
    let mut runs = Vec::new();
    let mut rows = stmt.query(params![state, pipeline, now])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let duration: Option<f64> = r.get(5)?;
        let params = r.get_ref(6)?.as_str().unwrap_or("{}");
        at.insert(r.get(9)?, runs.len());
        runs.push(RunRow {
            base: [
                Value::String(r.get(1)?),
                Value::String(id.clone()),
                Value::String(r.get(2)?),
                Value::String(r.get(3)?),
                Value::String(r.get(4)?),
                duration
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number),
            ],
            id,
            error: r.get(7)?,
            console_link: r.get(8)?,
            params: match serde_json::from_str(params) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            },
            logged: Vec::new(),
            metrics: BTreeMap::new(),
        });
    }
    let mut stmt = c.prepare(&metrics_sql())?;
    let mut rows = stmt.query(params![state, pipeline, METRICS_SCHEMA])?;
    while let Some(r) = rows.next()? {
        let Some(run) = at.get(&r.get::<_, i64>(0)?).and_then(|&i| runs.get_mut(i)) else {
            continue;
        };
        let text = r.get_ref(5)?.as_str().unwrap_or("{}");
        // Keys are borrowed from the text unless they hold escapes.
        let metrics: Vec<(Rc<str>, Value)> =
            match serde_json::from_str::<BTreeMap<&str, Value>>(text) {
                Ok(m) => numbers(m.into_iter(), names),
                Err(_) => match serde_json::from_str::<Map<String, Value>>(text) {
                    Ok(m) => numbers(m.iter().map(|(k, v)| (k.as_str(), v.clone())), names),
                    Err(_) => continue,
                },
            };
        run.logged.push(Logged {
            path: names.get(r.get_ref(1)?.as_str()?),
            task: names.get(r.get_ref(2)?.as_str()?),
            port: names.get(r.get_ref(3)?.as_str()?),
            idx: r.get(4)?,
            metrics,
        });
    }
    for run in &mut runs {
        run.logged
            .sort_by(|a, b| (&a.path, &a.port, a.idx).cmp(&(&b.path, &b.port, b.idx)));
    }
    Ok(runs)
}

/// The numbers of an artifact's metadata, its scalar metrics (`log_metric` writes numbers).
fn numbers<'a>(
    metadata: impl Iterator<Item = (&'a str, Value)>,
    names: &mut Names,
) -> Vec<(Rc<str>, Value)> {
    metadata
        .filter(|(_, v)| v.is_number())
        .map(|(k, v)| (names.get(k), v))
        .collect()
}

/// Column names made once and shared by every run that has the column.
#[derive(Default)]
struct Names {
    known: HashMap<String, Rc<str>>,
    buf: String,
}

impl Names {
    /// `s`, shared.
    fn get(&mut self, s: &str) -> Rc<str> {
        if let Some(name) = self.known.get(s) {
            return name.clone();
        }
        let name: Rc<str> = Rc::from(s);
        self.known.insert(s.to_string(), name.clone());
        name
    }

    /// The column `metric.` + each of `parts` joined by `.`.
    fn metric(&mut self, parts: &[&str]) -> Rc<str> {
        self.buf.clear();
        self.buf.push_str(METRIC_PREFIX);
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                self.buf.push('.');
            }
            self.buf.push_str(p);
        }
        let buf = std::mem::take(&mut self.buf);
        let name = self.get(&buf);
        self.buf = buf;
        name
    }
}

/// The columns of one run's metrics, named by the rule of the module docs. A run logs a few
/// metrics, so plain lists are searched rather than maps built.
fn metric_columns(logged: &[Logged], names: &mut Names) -> BTreeMap<Rc<str>, Value> {
    let logs = |l: &Logged, name: &Rc<str>| l.metrics.iter().any(|(n, _)| n == name);
    let mut out = BTreeMap::new();
    for l in logged {
        for (name, value) in &l.metrics {
            // Another task (path) logs the same name: then the task's name tells them apart,
            // unless another path has that name too.
            let shared = logged.iter().any(|o| o.path != l.path && logs(o, name));
            let column = if !shared {
                names.metric(&[name])
            } else if logged.iter().any(|o| o.task == l.task && o.path != l.path) {
                names.metric(&[&l.path, name])
            } else {
                names.metric(&[&l.task, name])
            };
            out.entry(column).or_insert_with(|| value.clone());
        }
    }
    out
}

/// Where a column's cells come from.
enum Source<'a> {
    /// The run's base cell at this index.
    Base(usize),
    /// The run parameter of this name.
    Param(&'a str),
    /// This metric column.
    Metric(&'a str),
}

/// The table of `runs` (newest first) with their `metrics`: filtered by text, sorted, cut.
/// Runs are sorted and cut before their cells are laid out, so the rows cut cost no cells.
fn build(q: &TableQuery, mut runs: Vec<RunRow>, names: &mut Names) -> RunTable {
    for run in &mut runs {
        let logged = std::mem::take(&mut run.logged);
        run.metrics = metric_columns(&logged, names);
    }
    let needle = q
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase);
    if let Some(needle) = &needle {
        runs.retain(|run| {
            let hit = |v: &Value| cell_text(v).to_lowercase().contains(needle.as_str());
            run.base.iter().any(hit)
                || run.params.values().any(hit)
                || run.metrics.values().any(hit)
        });
    }
    // Runs share their columns: a parameter's name is copied once, when first seen (metric
    // columns are shared names already).
    let mut params = BTreeSet::new();
    let mut metric_names: BTreeSet<Rc<str>> = BTreeSet::new();
    for run in &runs {
        for k in run.params.keys() {
            if !params.contains(k) {
                params.insert(k.clone());
            }
        }
        metric_names.extend(run.metrics.keys().cloned());
    }
    let total = runs.len();
    if let Some(column) = &q.sort {
        let source = Source::of(column);
        let mut keyed: Vec<(&Value, usize)> = runs
            .iter()
            .enumerate()
            .map(|(i, run)| (source.cell(run).unwrap_or(&Value::Null), i))
            .collect();
        // Stable: ties keep newest first.
        keyed.sort_by(|a, b| compare(a.0, b.0, q.descending));
        let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
        let mut taken: Vec<Option<RunRow>> = runs.into_iter().map(Some).collect();
        runs = order
            .into_iter()
            .filter_map(|i| taken.get_mut(i).and_then(Option::take))
            .collect();
    }
    runs.truncate(match q.limit {
        0 => DEFAULT_RUN_LIST,
        n => n.min(MAX_TABLE_ROWS),
    });
    let sources: Vec<Source<'_>> = (0..BASE_COLUMNS.len())
        .map(Source::Base)
        .chain(params.iter().map(|p| Source::Param(p)))
        .chain(metric_names.iter().map(|m| Source::Metric(m)))
        .collect();
    let rows: Vec<RunTableRow> = runs
        .into_iter()
        .map(|mut run| {
            let cells = sources.iter().map(|s| s.take(&mut run)).collect();
            RunTableRow {
                id: run.id,
                cells,
                error: run.error,
                console_link: run.console_link,
            }
        })
        .collect();
    drop(sources);
    let columns: Vec<String> = BASE_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(params.into_iter().map(|p| format!("{PARAM_PREFIX}{p}")))
        .chain(metric_names.iter().map(|m| m.to_string()))
        .collect();
    RunTable {
        columns,
        rows,
        total,
    }
}

impl<'a> Source<'a> {
    /// The source of column `name` (a name that is none of the table's reads as a metric no
    /// run has).
    fn of(name: &'a str) -> Self {
        if let Some(i) = BASE_COLUMNS.iter().position(|c| *c == name) {
            Source::Base(i)
        } else if let Some(p) = name.strip_prefix(PARAM_PREFIX) {
            Source::Param(p)
        } else {
            Source::Metric(name)
        }
    }

    /// The cell of `run` in this column, if it has one.
    fn cell<'r>(&self, run: &'r RunRow) -> Option<&'r Value> {
        match self {
            Source::Base(i) => run.base.get(*i),
            Source::Param(p) => run.params.get(*p),
            Source::Metric(m) => run.metrics.get(*m),
        }
    }

    /// Takes the cell of `run` in this column out (`null` if it has none).
    fn take(&self, run: &mut RunRow) -> Value {
        match self {
            Source::Base(i) => run.base.get_mut(*i).map(std::mem::take),
            Source::Param(p) => run.params.remove(*p),
            Source::Metric(m) => run.metrics.remove(*m),
        }
        .unwrap_or(Value::Null)
    }
}

/// The order of two cells of a column ([module docs](crate::table)): missing values last in
/// either direction.
fn compare(a: &Value, b: &Value, descending: bool) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) | Value::Object(_) => 3,
            Value::Null => 4,
        }
    }
    let order = match (a, b) {
        (Value::Null, Value::Null) => return Ordering::Equal,
        (Value::Null, _) => return Ordering::Greater,
        (_, Value::Null) => return Ordering::Less,
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x
                .as_f64()
                .unwrap_or(f64::NAN)
                .total_cmp(&y.as_f64().unwrap_or(f64::NAN)),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ if rank(a) == rank(b) => a.to_string().cmp(&b.to_string()),
        _ => rank(a).cmp(&rank(b)),
    };
    if descending {
        order.reverse()
    } else {
        order
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
