//! What the runs API answers (`/api/runs…`), and how a run's tasks map onto canvas elements:
//! the compiler gives each node and group its task path (`for-loop-2/train`); the engine runs
//! loop iterations as `for-loop-2[i]/train`, so an element collects every task whose path,
//! without the `[i]` suffixes, is its own.

use pipeline::map::Map;
use serde::Deserialize;
use serde_json::Value;

/// One row of `GET /api/runs`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// `pipelineInfo.name`.
    pub pipeline_name: String,
    /// `PENDING`, `RUNNING`, `SUCCEEDED`, `FAILED` or `CANCELLED`.
    pub state: String,
    /// Submission time, RFC 3339.
    #[serde(default)]
    pub created_at: String,
    /// Start time.
    #[serde(default)]
    pub started_at: Option<String>,
    /// End time.
    #[serde(default)]
    pub ended_at: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// `vertex` or `kfp`; none for the local engine.
    #[serde(default)]
    pub target: Option<String>,
    /// The remote run's page in its service's console.
    #[serde(default)]
    pub console_link: Option<String>,
}

/// `GET /api/runs/{id}` and the `snapshot` event: the run with its tasks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetail {
    /// Run id.
    pub id: String,
    /// `pipelineInfo.name`.
    pub pipeline_name: String,
    /// Run state.
    pub state: String,
    /// Start time.
    #[serde(default)]
    pub started_at: Option<String>,
    /// End time.
    #[serde(default)]
    pub ended_at: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// `vertex` or `kfp`; none for the local engine.
    #[serde(default)]
    pub target: Option<String>,
    /// The remote run's page in its service's console.
    #[serde(default)]
    pub console_link: Option<String>,
    /// Every task.
    #[serde(default)]
    pub tasks: Vec<TaskRow>,
}

/// One task of a run (`GET /api/runs/{id}/tasks/{path}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRow {
    /// Its path, e.g. `condition-1/for-loop-2[1]/train`.
    pub path: String,
    /// Name in its DAG.
    #[serde(default)]
    pub name: String,
    /// `taskInfo.name`.
    #[serde(default)]
    pub display_name: Option<String>,
    /// `container`, `importer`, `dag`, `loop` or `iteration`.
    #[serde(default)]
    pub kind: String,
    /// Task state.
    pub state: String,
    /// Start time.
    #[serde(default)]
    pub started_at: Option<String>,
    /// End time.
    #[serde(default)]
    pub ended_at: Option<String>,
    /// `{"parameters": {…}, "artifacts": {…}}`.
    #[serde(default)]
    pub inputs: Option<Value>,
    /// `{"parameters": {…}, "artifacts": {name: [{uri, metadata, type}]}}`.
    #[serde(default)]
    pub outputs: Option<Value>,
    /// Why it failed or was skipped.
    #[serde(default)]
    pub error: Option<String>,
    /// Outputs came from the cache.
    #[serde(default)]
    pub cached: bool,
    /// Attempts made.
    #[serde(default)]
    pub attempts: u32,
    /// Something the user should know.
    #[serde(default)]
    pub note: Option<String>,
    /// Whether it has a log.
    #[serde(default)]
    pub has_log: bool,
}

/// A `run` or `task` event of `GET /api/runs/{id}/events`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateEvent {
    /// The task path (task events only).
    #[serde(default)]
    pub path: Option<String>,
    /// The new state.
    pub state: String,
    /// Start time.
    #[serde(default)]
    pub started_at: Option<String>,
    /// End time.
    #[serde(default)]
    pub ended_at: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Outputs from the cache (task events).
    #[serde(default)]
    pub cached: bool,
    /// Attempt number (task events).
    #[serde(default)]
    pub attempt: u32,
}

/// The run shown on the canvas, kept up to date from its event stream.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRun {
    /// Run id.
    pub id: String,
    /// Pipeline name.
    pub pipeline_name: String,
    /// Run state.
    pub state: String,
    /// Start time.
    pub started_at: Option<String>,
    /// End time.
    pub ended_at: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// `vertex` or `kfp`; none for the local engine.
    pub target: Option<String>,
    /// The remote run's page in its service's console.
    pub console_link: Option<String>,
    /// Tasks by path.
    pub tasks: Map<TaskRow>,
}

impl LiveRun {
    /// A run from its detail (or snapshot).
    pub fn from_detail(d: RunDetail) -> Self {
        Self {
            id: d.id,
            pipeline_name: d.pipeline_name,
            state: d.state,
            started_at: d.started_at,
            ended_at: d.ended_at,
            error: d.error,
            target: d.target,
            console_link: d.console_link,
            tasks: d.tasks.into_iter().map(|t| (t.path.clone(), t)).collect(),
        }
    }

    /// Whether the run has ended.
    pub fn ended(&self) -> bool {
        is_final(&self.state)
    }

    /// Applies a `task` event (a task seen for the first time is added).
    pub fn apply_task(&mut self, e: StateEvent) {
        let Some(path) = e.path else { return };
        let t = self.tasks.entry(path.clone()).or_insert_with(|| TaskRow {
            name: path.rsplit('/').next().unwrap_or(&path).to_string(),
            kind: if path.ends_with(']') {
                "iteration".into()
            } else {
                String::new()
            },
            path: path.clone(),
            display_name: None,
            state: String::new(),
            started_at: None,
            ended_at: None,
            inputs: None,
            outputs: None,
            error: None,
            cached: false,
            attempts: 0,
            note: None,
            has_log: false,
        });
        t.state = e.state;
        if e.started_at.is_some() {
            t.started_at = e.started_at;
        }
        if e.ended_at.is_some() {
            t.ended_at = e.ended_at;
        }
        if e.error.is_some() {
            t.error = e.error;
        }
        t.cached = e.cached;
        t.attempts = t.attempts.max(e.attempt);
    }

    /// Applies a `run` event.
    pub fn apply_run(&mut self, e: StateEvent) {
        self.state = e.state;
        if e.started_at.is_some() {
            self.started_at = e.started_at;
        }
        if e.ended_at.is_some() {
            self.ended_at = e.ended_at;
        }
        if e.error.is_some() {
            self.error = e.error;
        }
    }

    /// The tasks that stand for canvas element at `path` (see the module doc): the task with
    /// exactly that path first (a loop's own task), then its instances in loop iterations.
    pub fn tasks_of(&self, path: &str) -> Vec<&TaskRow> {
        let mut out: Vec<&TaskRow> = self.tasks.get(path).into_iter().collect();
        out.extend(
            self.tasks
                .values()
                .filter(|t| t.path != path && strip_iterations(&t.path) == path),
        );
        out
    }

    /// The state of the canvas element at task path `path`.
    pub fn status_of(&self, path: &str) -> Option<ElemStatus> {
        let tasks = self.tasks_of(path);
        if tasks.is_empty() {
            return self.inherited(path);
        }
        let exact = tasks.first().filter(|t| t.path == path).copied();
        let instances: Vec<&TaskRow> = tasks.iter().filter(|t| t.path != path).copied().collect();
        let counted: Vec<&TaskRow> = if instances.is_empty() {
            tasks.clone()
        } else {
            instances.clone()
        };
        let state = match exact {
            Some(t) => t.state.clone(),
            None => aggregate(counted.iter().map(|t| t.state.as_str())).to_string(),
        };
        let progress = (!instances.is_empty()).then(|| {
            let done = instances
                .iter()
                .filter(|t| matches!(t.state.as_str(), "SUCCEEDED" | "CACHED"))
                .count();
            (done, instances.len())
        });
        let started = counted
            .iter()
            .filter_map(|t| t.started_at.as_deref().map(parse_time))
            .filter(|t| t.is_finite())
            .fold(f64::NAN, f64::min);
        let ended = if counted.iter().all(|t| is_final(&t.state)) {
            counted
                .iter()
                .filter_map(|t| t.ended_at.as_deref().map(parse_time))
                .filter(|t| t.is_finite())
                .fold(f64::NAN, f64::max)
        } else {
            f64::NAN
        };
        Some(ElemStatus {
            state: state.to_ascii_lowercase(),
            progress,
            started: started.is_finite().then_some(started),
            ended: ended.is_finite().then_some(ended),
        })
    }

    /// The state of an element without tasks: skipped or cancelled with an enclosing DAG that
    /// was, pending while the run goes on.
    fn inherited(&self, path: &str) -> Option<ElemStatus> {
        let mut p = path;
        while let Some((parent, _)) = p.rsplit_once('/') {
            p = parent;
            let state = aggregate(self.tasks_of(p).iter().map(|t| t.state.as_str()));
            if matches!(state, "SKIPPED" | "CANCELLED") {
                return Some(ElemStatus::plain(state));
            }
        }
        if !self.ended() {
            Some(ElemStatus::plain("PENDING"))
        } else if self.state == "CANCELLED" {
            Some(ElemStatus::plain("CANCELLED"))
        } else {
            None
        }
    }
}

/// A `log` event of the run's stream: a piece of the followed task's log.
#[derive(Debug, Clone, Deserialize)]
pub struct LogPiece {
    /// The byte offset of the piece in the log file.
    pub from: u64,
    /// Its text (pieces are cut anywhere, even inside a line).
    pub text: String,
}

/// The most log text kept in the page; older output is dropped (the whole log stays on the
/// server, behind "open raw").
pub const MAX_LOG_BYTES: usize = 1024 * 1024;

/// The log of the task followed on the run's stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogBuf {
    /// The task (empty: no log is followed).
    pub path: String,
    /// The text received, at most [`MAX_LOG_BYTES`].
    pub text: String,
    /// Output before `text` is not shown: the stream started at the log's tail, or old text
    /// was dropped.
    pub earlier: bool,
    /// Whether a piece has arrived.
    started: bool,
    /// The task has ended and its whole log has arrived (`logEnd`).
    pub complete: bool,
}

impl LogBuf {
    /// An empty log of task `path`.
    pub fn new(path: &str) -> Self {
        Self {
            path: path.to_string(),
            ..Self::default()
        }
    }

    /// Appends a piece; drops the oldest lines beyond [`MAX_LOG_BYTES`] (down to three
    /// quarters of it, so that dropping is rare).
    pub fn push(&mut self, piece: &LogPiece) {
        if !self.started {
            self.started = true;
            self.earlier |= piece.from > 0;
        }
        self.text.push_str(&piece.text);
        if self.text.len() <= MAX_LOG_BYTES {
            return;
        }
        let mut cut = self.text.len() - MAX_LOG_BYTES * 3 / 4;
        match self.text[cut..].find('\n') {
            Some(i) => cut += i + 1,
            None => {
                while !self.text.is_char_boundary(cut) {
                    cut += 1;
                }
            }
        }
        self.text.drain(..cut);
        self.earlier = true;
    }
}

/// How a canvas element reads during or after a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ElemStatus {
    /// `pending`, `running`, `succeeded`, `failed`, `skipped`, `cached` or `cancelled`.
    pub state: String,
    /// For loops and tasks inside them: (iterations done, iterations).
    pub progress: Option<(usize, usize)>,
    /// Start, ms since the epoch.
    pub started: Option<f64>,
    /// End, ms since the epoch (once every instance has ended).
    pub ended: Option<f64>,
}

impl ElemStatus {
    fn plain(state: &str) -> Self {
        Self {
            state: state.to_ascii_lowercase(),
            progress: None,
            started: None,
            ended: None,
        }
    }

    /// The badge text: `3/5 · 12s`, elapsed until now (`now_ms`) while it runs.
    pub fn badge(&self, now_ms: f64) -> String {
        let mut parts = Vec::new();
        if let Some((done, all)) = self.progress {
            parts.push(format!("{done}/{all}"));
        }
        if let Some(start) = self.started {
            let end = self.ended.unwrap_or(now_ms);
            parts.push(format_duration(end - start));
        }
        parts.join(" · ")
    }
}

/// Whether a run or task state is final.
pub fn is_final(state: &str) -> bool {
    !matches!(state, "PENDING" | "RUNNING" | "")
}

/// One state for several instances of a task.
pub fn aggregate<'a>(states: impl Iterator<Item = &'a str>) -> &'static str {
    let (mut n, mut pending, mut running, mut failed, mut cancelled, mut skipped, mut cached) =
        (0, 0, 0, 0, 0, 0, 0);
    for s in states {
        n += 1;
        match s {
            "RUNNING" => running += 1,
            "FAILED" => failed += 1,
            "CANCELLED" => cancelled += 1,
            "SKIPPED" => skipped += 1,
            "CACHED" => cached += 1,
            "SUCCEEDED" => {}
            _ => pending += 1,
        }
    }
    if n == 0 {
        ""
    } else if running > 0 || (pending > 0 && pending < n) {
        "RUNNING"
    } else if pending == n {
        "PENDING"
    } else if failed > 0 {
        "FAILED"
    } else if cancelled > 0 {
        "CANCELLED"
    } else if skipped == n {
        "SKIPPED"
    } else if cached == n {
        "CACHED"
    } else {
        "SUCCEEDED"
    }
}

/// A path without loop iteration suffixes: `a/for-loop-2[1]/b` → `a/for-loop-2/b`.
pub fn strip_iterations(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// An RFC 3339 time as ms since the epoch (NaN when unreadable).
pub fn parse_time(s: &str) -> f64 {
    js_sys::Date::parse(s)
}

/// Milliseconds as `850ms`, `12s`, `3m 05s` or `2h 01m`.
pub fn format_duration(ms: f64) -> String {
    let ms = ms.max(0.0);
    if ms < 1000.0 {
        return format!("{}ms", ms as u64);
    }
    let s = (ms / 1000.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// A run's duration as text (until now while it runs), empty before it started.
pub fn run_duration(started: Option<&str>, ended: Option<&str>, now_ms: f64) -> String {
    let Some(start) = started.map(parse_time).filter(|t| t.is_finite()) else {
        return String::new();
    };
    let end = ended
        .map(parse_time)
        .filter(|t| t.is_finite())
        .unwrap_or(now_ms);
    format_duration(end - start)
}

/// Local time `YYYY-MM-DD HH:MM:SS` of an RFC 3339 time.
pub fn local_time(s: &str) -> String {
    let t = parse_time(s);
    if !t.is_finite() {
        return s.to_string();
    }
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(t));
    format!(
        "{}-{:02}-{:02} {:02}:{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(from: u64, text: &str) -> LogPiece {
        LogPiece {
            from,
            text: text.into(),
        }
    }

    #[test]
    fn log_pieces_join_and_old_output_is_dropped_at_line_starts() {
        let mut log = LogBuf::new("t");
        log.push(&piece(0, "one\ntw"));
        log.push(&piece(7, "o\nthree"));
        assert_eq!(log.text, "one\ntwo\nthree");
        assert!(!log.earlier, "started at the beginning");

        let mut tail = LogBuf::new("t");
        tail.push(&piece(4096, "last\n"));
        assert!(tail.earlier, "started at the tail");

        let mut big = LogBuf::new("t");
        let line = format!("{}\n", "x".repeat(999));
        for i in 0..MAX_LOG_BYTES / 1000 + 10 {
            big.push(&piece((i * 1000) as u64, &line));
        }
        assert!(big.text.len() <= MAX_LOG_BYTES && big.text.len() >= MAX_LOG_BYTES / 2);
        assert!(big.text.starts_with('x') && big.text.ends_with("x\n"));
        assert_eq!(big.text.len() % 1000, 0, "whole lines are kept");
        assert!(big.earlier);

        // One line longer than the limit is cut at a character boundary.
        let mut wide = LogBuf::new("t");
        wide.push(&piece(0, &"é".repeat(MAX_LOG_BYTES)));
        assert!(wide.text.len() <= MAX_LOG_BYTES && wide.text.chars().all(|c| c == 'é'));
        assert!(wide.earlier);
    }

    fn task(path: &str, state: &str) -> TaskRow {
        TaskRow {
            path: path.into(),
            name: path.rsplit('/').next().unwrap_or(path).into(),
            display_name: None,
            kind: String::new(),
            state: state.into(),
            started_at: None,
            ended_at: None,
            inputs: None,
            outputs: None,
            error: None,
            cached: false,
            attempts: 1,
            note: None,
            has_log: true,
        }
    }

    fn run(state: &str, tasks: &[(&str, &str)]) -> LiveRun {
        LiveRun {
            id: "r".into(),
            pipeline_name: "p".into(),
            state: state.into(),
            started_at: None,
            ended_at: None,
            error: None,
            target: None,
            console_link: None,
            tasks: tasks
                .iter()
                .map(|(p, s)| (p.to_string(), task(p, s)))
                .collect(),
        }
    }

    #[test]
    fn iteration_suffixes_are_removed() {
        assert_eq!(strip_iterations("c-1/for-loop-2[10]/t"), "c-1/for-loop-2/t");
        assert_eq!(strip_iterations("a[0]/b[1]"), "a/b");
    }

    #[test]
    fn loops_and_their_tasks_count_iterations() {
        let r = run(
            "RUNNING",
            &[
                ("for-loop-2", "RUNNING"),
                ("for-loop-2[0]", "SUCCEEDED"),
                ("for-loop-2[1]", "RUNNING"),
                ("for-loop-2[0]/sq", "SUCCEEDED"),
                ("for-loop-2[1]/sq", "RUNNING"),
            ],
        );
        let g = r.status_of("for-loop-2").expect("loop status");
        assert_eq!((g.state.as_str(), g.progress), ("running", Some((1, 2))));
        let n = r.status_of("for-loop-2/sq").expect("task status");
        assert_eq!((n.state.as_str(), n.progress), ("running", Some((1, 2))));
        // Not started yet while the run goes on: pending.
        assert_eq!(r.status_of("later").expect("pending").state, "pending");
    }

    #[test]
    fn tasks_under_a_skipped_condition_are_skipped() {
        let r = run("SUCCEEDED", &[("condition-1", "SKIPPED"), ("a", "CACHED")]);
        assert_eq!(
            r.status_of("condition-1/t").expect("skipped").state,
            "skipped"
        );
        assert_eq!(r.status_of("a").expect("cached").state, "cached");
        assert_eq!(r.status_of("elsewhere"), None);
    }

    #[test]
    fn instances_aggregate_to_one_state() {
        assert_eq!(aggregate(["SUCCEEDED", "FAILED"].into_iter()), "FAILED");
        assert_eq!(aggregate(["SUCCEEDED", "PENDING"].into_iter()), "RUNNING");
        assert_eq!(aggregate(["PENDING", "PENDING"].into_iter()), "PENDING");
        assert_eq!(aggregate(["SKIPPED", "SKIPPED"].into_iter()), "SKIPPED");
        assert_eq!(aggregate(["CACHED", "SUCCEEDED"].into_iter()), "SUCCEEDED");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(850.0), "850ms");
        assert_eq!(format_duration(12_400.0), "12s");
        assert_eq!(format_duration(185_000.0), "3m 05s");
        assert_eq!(format_duration(7_260_000.0), "2h 01m");
    }
}
