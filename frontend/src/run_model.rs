//! The run shown on the canvas, kept up to date from its event stream (the API's
//! [`RunSummary`] with its [`TaskRow`]s by path), and how its tasks map onto canvas elements:
//! the compiler gives each node and group its task path (`for-loop-2/train`); the engine runs
//! loop iterations as `for-loop-2[i]/train`, so an element collects every task whose path,
//! without the `[i]` suffixes, is its own.

use api::{
    Event, LogEnd, LogPiece, RunDetail, RunEvent, RunState, RunSummary, TaskEvent, TaskKind,
    TaskRow, TaskState,
};
use pipeline::map::Map;

/// The run shown on the canvas, kept up to date from its event stream.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRun {
    /// The run: id, pipeline, state, times, error, target and console link.
    pub summary: RunSummary,
    /// Its tasks by path.
    pub tasks: Map<TaskRow>,
}

impl LiveRun {
    /// Run `id` of pipeline `pipeline_name`, just started or opened: pending and without tasks
    /// until its snapshot arrives.
    pub fn pending(id: String, pipeline_name: String) -> Self {
        Self {
            summary: RunSummary {
                id,
                pipeline_name,
                pipeline_id: None,
                state: RunState::Pending,
                created_at: String::new(),
                started_at: None,
                ended_at: None,
                error: None,
                rerun_of: None,
                target: None,
                remote_name: None,
                console_link: None,
            },
            tasks: Map::new(),
        }
    }

    /// A run from its detail (or snapshot).
    pub fn from_detail(d: RunDetail) -> Self {
        Self {
            summary: d.summary,
            tasks: d.tasks.into_iter().map(|t| (t.path.clone(), t)).collect(),
        }
    }

    /// Whether the run has ended.
    pub fn ended(&self) -> bool {
        self.summary.state.is_final()
    }

    /// Applies a `run` or `task` event.
    pub fn apply(&mut self, e: Event) {
        match e {
            Event::Run(e) => self.apply_run(e),
            Event::Task(e) => self.apply_task(e),
        }
    }

    /// Applies a `task` event (a task seen for the first time is added).
    fn apply_task(&mut self, e: TaskEvent) {
        let t = self
            .tasks
            .entry(e.path.clone())
            .or_insert_with(|| first_seen(e.path));
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
        if e.backing.is_some() {
            t.backing = e.backing;
        }
    }

    /// Applies a `run` event.
    fn apply_run(&mut self, e: RunEvent) {
        let r = &mut self.summary;
        r.state = e.state;
        if e.started_at.is_some() {
            r.started_at = e.started_at;
        }
        if e.ended_at.is_some() {
            r.ended_at = e.ended_at;
        }
        if e.error.is_some() {
            r.error = e.error;
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
            Some(t) => t.state,
            None => aggregate(counted.iter().map(|t| t.state)),
        };
        let progress = (!instances.is_empty()).then(|| {
            let done = instances
                .iter()
                .filter(|t| matches!(t.state, TaskState::Succeeded | TaskState::Cached))
                .count();
            (done, instances.len())
        });
        let started = counted
            .iter()
            .filter_map(|t| t.started_at.as_deref().map(parse_time))
            .filter(|t| t.is_finite())
            .fold(f64::NAN, f64::min);
        let ended = if counted.iter().all(|t| t.state.is_final()) {
            counted
                .iter()
                .filter_map(|t| t.ended_at.as_deref().map(parse_time))
                .filter(|t| t.is_finite())
                .fold(f64::NAN, f64::max)
        } else {
            f64::NAN
        };
        Some(ElemStatus {
            state,
            progress,
            started: started.is_finite().then_some(started),
            ended: ended.is_finite().then_some(ended),
            backing: counted.iter().find_map(|t| t.backing.clone()),
        })
    }

    /// The state of an element without tasks: skipped or cancelled with an enclosing DAG that
    /// was, pending while the run goes on.
    fn inherited(&self, path: &str) -> Option<ElemStatus> {
        let mut p = path;
        while let Some((parent, _)) = p.rsplit_once('/') {
            p = parent;
            let state = aggregate(self.tasks_of(p).iter().map(|t| t.state));
            if matches!(state, TaskState::Skipped | TaskState::Cancelled) {
                return Some(ElemStatus::plain(state));
            }
        }
        if !self.ended() {
            Some(ElemStatus::plain(TaskState::Pending))
        } else if self.summary.state == RunState::Cancelled {
            Some(ElemStatus::plain(TaskState::Cancelled))
        } else {
            None
        }
    }
}

/// A task first seen in a `task` event, before a snapshot lists it. The event does not say
/// what the task is: an iteration when its path says so (`for-loop-2[1]`), else taken to be a
/// container (which may have a log).
fn first_seen(path: String) -> TaskRow {
    TaskRow {
        name: path.rsplit('/').next().unwrap_or(&path).to_string(),
        kind: if path.ends_with(']') {
            TaskKind::Iteration
        } else {
            TaskKind::Container
        },
        path,
        parent: None,
        display_name: None,
        state: TaskState::Pending,
        started_at: None,
        ended_at: None,
        inputs: None,
        outputs: None,
        error: None,
        cached: false,
        attempts: 0,
        note: None,
        has_log: false,
        cache_key: None,
        backing: None,
    }
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

    /// Takes the `logEnd` event: the log is complete if it is this log's end.
    pub fn end(&mut self, end: &LogEnd) {
        if end.path == self.path {
            self.complete = true;
        }
    }
}

/// How a canvas element reads during or after a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ElemStatus {
    /// Its state; [`TaskState::label`] is the element's `data-state` and `state-…` class.
    pub state: TaskState,
    /// For loops and tasks inside them: (iterations done, iterations).
    pub progress: Option<(usize, usize)>,
    /// Start, ms since the epoch.
    pub started: Option<f64>,
    /// End, ms since the epoch (once every instance has ended).
    pub ended: Option<f64>,
    /// What stood in for its cloud component on the local engine (`local: TorchServe on …`).
    pub backing: Option<String>,
}

impl ElemStatus {
    fn plain(state: TaskState) -> Self {
        Self {
            state,
            progress: None,
            started: None,
            ended: None,
            backing: None,
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

/// One state for several instances of a task (pending when there are none).
pub fn aggregate(states: impl Iterator<Item = TaskState>) -> TaskState {
    let (mut n, mut pending, mut running, mut failed, mut cancelled, mut skipped, mut cached) =
        (0, 0, 0, 0, 0, 0, 0);
    for s in states {
        n += 1;
        match s {
            TaskState::Pending => pending += 1,
            TaskState::Running => running += 1,
            TaskState::Failed => failed += 1,
            TaskState::Cancelled => cancelled += 1,
            TaskState::Skipped => skipped += 1,
            TaskState::Cached => cached += 1,
            TaskState::Succeeded => {}
        }
    }
    if running > 0 || (pending > 0 && pending < n) {
        TaskState::Running
    } else if pending == n {
        TaskState::Pending
    } else if failed > 0 {
        TaskState::Failed
    } else if cancelled > 0 {
        TaskState::Cancelled
    } else if skipped == n {
        TaskState::Skipped
    } else if cached == n {
        TaskState::Cached
    } else {
        TaskState::Succeeded
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

    #[test]
    fn a_log_is_complete_at_its_own_end() {
        let end = |path: &str| LogEnd {
            path: path.into(),
            state: Some(TaskState::Succeeded),
            offset: 5,
            error: None,
        };
        let mut log = LogBuf::new("a");
        log.end(&end("b"));
        assert!(!log.complete, "another task's end");
        log.end(&end("a"));
        assert!(log.complete);
    }

    fn task(path: &str, state: TaskState) -> TaskRow {
        TaskRow {
            attempts: 1,
            has_log: true,
            state,
            ..first_seen(path.to_string())
        }
    }

    fn run(state: RunState, tasks: &[(&str, TaskState)]) -> LiveRun {
        let mut r = LiveRun::pending("r".into(), "p".into());
        r.summary.state = state;
        r.tasks = tasks
            .iter()
            .map(|(p, s)| (p.to_string(), task(p, *s)))
            .collect();
        r
    }

    /// An event as the server sends it on the run's stream.
    fn event(json: &str) -> Event {
        serde_json::from_str(json).expect("event")
    }

    #[test]
    fn events_update_the_run_and_add_tasks() {
        let mut r = LiveRun::from_detail(
            serde_json::from_str(
                r#"{"id":"r","pipelineName":"p","state":"RUNNING","createdAt":"t",
                "tasks":[{"path":"a","name":"a","kind":"dag","state":"RUNNING","attempts":1}]}"#,
            )
            .expect("snapshot"),
        );
        r.apply(event(
            r#"{"type":"task","runId":"r","path":"a","state":"FAILED","endedAt":"e","error":"boom","attempt":1}"#,
        ));
        let a = &r.tasks["a"];
        assert_eq!((a.state, a.kind), (TaskState::Failed, TaskKind::Dag));
        assert_eq!(
            (a.ended_at.as_deref(), a.error.as_deref()),
            (Some("e"), Some("boom"))
        );
        r.apply(event(
            r#"{"type":"task","runId":"r","path":"for-loop-2[3]","state":"RUNNING","attempt":2}"#,
        ));
        r.apply(event(
            r#"{"type":"task","runId":"r","path":"b/c","state":"CACHED","cached":true,"attempt":0}"#,
        ));
        let it = &r.tasks["for-loop-2[3]"];
        assert_eq!(
            (it.name.as_str(), it.kind, it.attempts),
            ("for-loop-2[3]", TaskKind::Iteration, 2)
        );
        let c = &r.tasks["b/c"];
        assert_eq!(
            (c.name.as_str(), c.kind, c.state, c.cached),
            ("c", TaskKind::Container, TaskState::Cached, true)
        );
        assert!(!r.ended());
        r.apply(event(
            r#"{"type":"run","runId":"r","state":"FAILED","endedAt":"e","error":"a failed"}"#,
        ));
        assert_eq!(r.summary.state, RunState::Failed);
        assert_eq!(r.summary.error.as_deref(), Some("a failed"));
        assert!(r.ended());
    }

    #[test]
    fn iteration_suffixes_are_removed() {
        assert_eq!(strip_iterations("c-1/for-loop-2[10]/t"), "c-1/for-loop-2/t");
        assert_eq!(strip_iterations("a[0]/b[1]"), "a/b");
    }

    #[test]
    fn loops_and_their_tasks_count_iterations() {
        use TaskState::*;
        let r = run(
            RunState::Running,
            &[
                ("for-loop-2", Running),
                ("for-loop-2[0]", Succeeded),
                ("for-loop-2[1]", Running),
                ("for-loop-2[0]/sq", Succeeded),
                ("for-loop-2[1]/sq", Running),
            ],
        );
        let g = r.status_of("for-loop-2").expect("loop status");
        assert_eq!((g.state, g.progress), (Running, Some((1, 2))));
        let n = r.status_of("for-loop-2/sq").expect("task status");
        assert_eq!((n.state, n.progress), (Running, Some((1, 2))));
        // Not started yet while the run goes on: pending.
        assert_eq!(r.status_of("later").expect("pending").state, Pending);
    }

    #[test]
    fn tasks_under_a_skipped_condition_are_skipped() {
        use TaskState::*;
        let r = run(
            RunState::Succeeded,
            &[("condition-1", Skipped), ("a", Cached)],
        );
        assert_eq!(
            r.status_of("condition-1/t").expect("skipped").state,
            Skipped
        );
        assert_eq!(r.status_of("a").expect("cached").state, Cached);
        assert_eq!(r.status_of("elsewhere"), None);
        // What was not reached in a cancelled run reads cancelled.
        let c = run(RunState::Cancelled, &[("a", Succeeded)]);
        assert_eq!(c.status_of("b").expect("cancelled").state, Cancelled);
    }

    #[test]
    fn instances_aggregate_to_one_state() {
        use TaskState::*;
        let agg = |s: &[TaskState]| aggregate(s.iter().copied());
        assert_eq!(agg(&[Succeeded, Failed]), Failed);
        assert_eq!(agg(&[Succeeded, Pending]), Running);
        assert_eq!(agg(&[Pending, Pending]), Pending);
        assert_eq!(agg(&[Skipped, Skipped]), Skipped);
        assert_eq!(agg(&[Cached, Succeeded]), Succeeded);
        assert_eq!(agg(&[Cached, Cached]), Cached);
        assert_eq!(agg(&[Cancelled, Succeeded]), Cancelled);
        assert_eq!(agg(&[]), Pending);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(850.0), "850ms");
        assert_eq!(format_duration(12_400.0), "12s");
        assert_eq!(format_duration(185_000.0), "3m 05s");
        assert_eq!(format_duration(7_260_000.0), "2h 01m");
    }
}
