//! What `run` and `submit --wait` print while a run goes on, in one of three modes:
//!
//! - text (the default): one line per state change, `  1.23s  RUNNING    train`; a failed
//!   attempt that will be retried is one `RETRY` line (the attempt's error and the wait), and
//!   the next attempt's start is not printed again;
//! - `--quiet`: nothing while the run goes on, only the final summary (and errors on stderr);
//! - `--json`: one JSON object per line, for CI tools (see [`JsonLine`]).
//!
//! Every mode ends with a summary: the run's state, its duration, its tasks counted by state,
//! and where its outputs are.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::Instant;

use api::{RunDetail, RunState, TaskKind, TaskState};
use runs::EngineEvent;
use serde::Serialize;
use serde_json::Value;

/// How progress is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A line per state change, then the summary.
    Text,
    /// Only the summary.
    Quiet,
    /// A JSON object per line, the summary too.
    Json,
}

impl Mode {
    /// The mode of the `--json` and `--quiet` flags (`--json` wins).
    pub fn from_flags(json: bool, quiet: bool) -> Self {
        match (json, quiet) {
            (true, _) => Mode::Json,
            (false, true) => Mode::Quiet,
            (false, false) => Mode::Text,
        }
    }
}

/// One line of `--json` output. `event` is `run` (the run changed state), `task` (a task
/// did), `retry` (a task's attempt failed and another follows after a wait: the task is
/// `PENDING` again), or `summary` (the last line).
/// Fields that do not apply are left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonLine {
    /// `run`, `task`, `retry` or `summary`.
    pub event: &'static str,
    /// The run's id.
    pub run: String,
    /// The task's path (`task`, `retry`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The new state (`PENDING`, `RUNNING`, `SUCCEEDED`, …); the final one for `summary`.
    pub state: String,
    /// The task's attempt (1 = the first): the one that runs, or for `retry` the one that
    /// failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// The task's outputs came from the cache.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
    /// Why the task or run failed, was skipped, or is retried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds since the command started (three decimals).
    pub seconds: f64,
    /// `summary`: the run's tasks (not their groups) counted by state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<BTreeMap<String, usize>>,
    /// `summary`: the run's folder (local runs) or console page (remote runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<String>,
    /// `summary`: the pipeline's output values, when it has any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Value>,
}

/// Prints a run's progress in one [`Mode`].
#[derive(Debug)]
pub struct Progress {
    mode: Mode,
    start: Instant,
    /// Tasks whose next attempt was announced by a `RETRY` line.
    retrying: BTreeMap<String, u32>,
    /// The last line printed (a remote run's re-read may repeat one).
    last: Option<String>,
}

/// Seconds with three decimals.
fn round3(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

impl Progress {
    /// Starts timing now.
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            start: Instant::now(),
            retrying: BTreeMap::new(),
            last: None,
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Prints a text line (not in quiet or JSON mode), after the time since the start.
    pub fn say(&self, text: &str) {
        if self.mode == Mode::Text {
            print_line(text);
        }
    }

    /// The line (text or JSON) for an event, or `None` when it is not shown.
    pub fn line(&mut self, e: &EngineEvent) -> Option<String> {
        let seconds = self.start.elapsed().as_secs_f64();
        let json = |line: JsonLine| serde_json::to_string(&line).ok();
        match e {
            EngineEvent::Run(r) if r.state == RunState::Pending => None,
            EngineEvent::Run(r) => match self.mode {
                Mode::Json => json(JsonLine {
                    event: "run",
                    run: r.run_id.clone(),
                    task: None,
                    state: r.state.as_str().into(),
                    attempt: None,
                    cached: false,
                    error: r.error.clone(),
                    seconds: round3(seconds),
                    tasks: None,
                    outputs: None,
                    values: None,
                }),
                _ => Some(format!("{seconds:7.2}s  run {}", r.state.as_str())),
            },
            EngineEvent::Task(t) => {
                // A task not ended, with an error: the attempt failed and another follows
                // (the engine has it PENDING while it waits).
                let retry = !t.state.is_final() && t.error.is_some();
                if retry {
                    self.retrying.insert(t.path.clone(), t.attempt);
                } else if t.state == TaskState::Running
                    && self.retrying.get(&t.path).is_some_and(|a| t.attempt > *a)
                {
                    // The retried attempt starts: announced by the RETRY line.
                    self.retrying.remove(&t.path);
                    return None;
                }
                match self.mode {
                    Mode::Json => json(JsonLine {
                        event: if retry { "retry" } else { "task" },
                        run: t.run_id.clone(),
                        task: Some(t.path.clone()),
                        state: t.state.as_str().into(),
                        attempt: (t.attempt > 0).then_some(t.attempt),
                        cached: t.cached,
                        error: t.error.clone(),
                        seconds: round3(seconds),
                        tasks: None,
                        outputs: None,
                        values: None,
                    }),
                    _ => {
                        let state = if retry { "RETRY" } else { t.state.as_str() };
                        let mut s = format!("{seconds:7.2}s  {state:<9}  {}", t.path);
                        if t.cached {
                            s.push_str("  (from cache)");
                        }
                        if let Some(err) = &t.error {
                            s.push_str(&format!("  — {err}"));
                        }
                        Some(s)
                    }
                }
            }
        }
    }

    /// Prints an event's line, if it has one in this mode (and differs from the last).
    pub fn event(&mut self, e: &EngineEvent) {
        if self.mode == Mode::Quiet {
            return;
        }
        if let Some(l) = self.line(e) {
            // Remote runs are re-read: the same change twice in a row is printed once. The
            // time prefix differs, so compare without it.
            let key = l.get(10..).unwrap_or(&l).to_string();
            if self.mode == Mode::Text && self.last.as_deref() == Some(key.as_str()) {
                return;
            }
            self.last = Some(key);
            print_line(&l);
        }
    }

    /// Prints the final summary of `detail`: `run ID SUCCEEDED in 4.2s: 3 succeeded, 1 cached;
    /// outputs in FOLDER` (failed tasks are named, with the command that prints their logs),
    /// or its `summary` JSON line.
    pub fn summary(&self, detail: &RunDetail, outputs_at: Option<&str>) {
        let seconds = self.start.elapsed().as_secs_f64();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for t in &detail.tasks {
            if matches!(t.kind, TaskKind::Container | TaskKind::Importer) {
                *counts.entry(t.state.as_str().to_string()).or_default() += 1;
            }
        }
        let values = detail.outputs.clone().filter(|o| {
            let full = |k: &str| o[k].as_object().is_some_and(|m| !m.is_empty());
            full("parameters") || full("artifacts")
        });
        let s = &detail.summary;
        if self.mode == Mode::Json {
            let line = JsonLine {
                event: "summary",
                run: s.id.clone(),
                task: None,
                state: s.state.as_str().into(),
                attempt: None,
                cached: false,
                error: s.error.clone(),
                seconds: round3(seconds),
                tasks: Some(counts),
                outputs: outputs_at.map(str::to_string),
                values,
            };
            if let Ok(l) = serde_json::to_string(&line) {
                print_line(&l);
            }
            return;
        }
        let counted: Vec<String> = counts
            .iter()
            .map(|(state, n)| format!("{n} {}", state.to_ascii_lowercase()))
            .collect();
        let mut text = format!(
            "run {} {} in {}",
            s.id,
            s.state.as_str(),
            crate::runs_table::human_duration(seconds)
        );
        if !counted.is_empty() {
            text.push_str(&format!(": {}", counted.join(", ")));
        }
        if let Some(at) = outputs_at {
            text.push_str(&format!("; outputs in {at}"));
        }
        if let Some(v) = &values {
            text.push_str(&format!("\noutputs: {v}"));
        }
        if s.target.is_none() {
            for t in detail.tasks.iter().filter(|t| {
                t.state == TaskState::Failed
                    && matches!(t.kind, TaskKind::Container | TaskKind::Importer)
            }) {
                text.push_str(&format!(
                    "\n{} failed; its log: pipeline-canvas logs {} {}",
                    t.path, s.id, t.path
                ));
            }
        }
        print_line(&text);
    }
}
