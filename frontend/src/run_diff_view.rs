//! The visual diff of two runs' graphs (Compare runs, part of the `runs` chunk): every task of
//! either run drawn as a canvas node where the server's layout puts it
//! (`GET /api/runs/{a}/diff/{b}`), dependencies as wires, tasks added, removed and changed
//! coloured, and on each node what differs — input parameter values, the state in each run,
//! a cache flip.

use ::api::{RunDiff, TaskChange, TaskDiff, TaskState, ValueChange};
use serde_json::Value;

use crate::html::esc;

/// Node width, in pixels.
const W: f64 = 220.0;
/// Node height.
const H: f64 = 84.0;
/// Distance between columns.
const COL: f64 = 270.0;
/// Distance between rows.
const ROW: f64 = 100.0;
/// Space around the drawing.
const PAD: f64 = 12.0;
/// Input changes spelt out on a node (the rest are counted, and all are in its tooltip).
const SHOWN_INPUTS: usize = 2;

/// Where a task's node is drawn (its top-left corner).
fn at(t: &TaskDiff) -> (f64, f64) {
    (PAD + f64::from(t.layer) * COL, PAD + f64::from(t.row) * ROW)
}

/// A value as a short text (at most 24 characters); `–` for none.
fn short(v: Option<&Value>) -> String {
    let text = match v {
        None => return "–".into(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    if text.chars().count() > 24 {
        format!("{}…", text.chars().take(23).collect::<String>())
    } else {
        text
    }
}

/// `name: a → b`.
fn change_text(c: &ValueChange) -> String {
    format!(
        "{}: {} → {}",
        c.name,
        short(c.a.as_ref()),
        short(c.b.as_ref())
    )
}

/// How a task ran: its state, or "cached".
fn ran(state: Option<TaskState>, cached: bool) -> &'static str {
    match state {
        None => "–",
        Some(_) if cached => "cached",
        Some(s) => s.label(),
    }
}

/// The counts of what differs, e.g. `1 added · 2 changed · 3 cache flips`.
pub fn summary(d: &RunDiff) -> String {
    let count = |f: &dyn Fn(&TaskDiff) -> bool| d.tasks.iter().filter(|t| f(t)).count();
    let parts = [
        (count(&|t| t.change == TaskChange::Added), "added", "added"),
        (
            count(&|t| t.change == TaskChange::Removed),
            "removed",
            "removed",
        ),
        (
            count(&|t| t.change == TaskChange::Changed),
            "changed",
            "changed",
        ),
        (count(&|t| t.cache_flipped()), "cache flip", "cache flips"),
        (
            count(&|t| t.state_differs()),
            "state change",
            "state changes",
        ),
        (
            d.parameters.len(),
            "parameter changed",
            "parameters changed",
        ),
    ];
    let text: Vec<String> = parts
        .iter()
        .filter(|(n, ..)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    if text.is_empty() {
        "the same graph, parameters and states".into()
    } else {
        text.join(" · ")
    }
}

/// One task's node.
fn node_html(t: &TaskDiff) -> String {
    let (x, y) = at(t);
    let mut lines: Vec<String> = Vec::new();
    if t.component_changed {
        lines.push("component changed".into());
    }
    lines.extend(t.inputs.iter().take(SHOWN_INPUTS).map(change_text));
    if t.inputs.len() > SHOWN_INPUTS {
        lines.push(format!("+{} more inputs", t.inputs.len() - SHOWN_INPUTS));
    }
    let (a, b) = (ran(t.state_a, t.cached_a), ran(t.state_b, t.cached_b));
    let flip = t.cache_flipped() || t.state_differs();
    let mut tip = vec![format!("{} — {}", t.path, t.change.label())];
    tip.extend(t.inputs.iter().map(change_text));
    tip.push(format!("run A: {a}, run B: {b}"));
    let state_class = |s: Option<TaskState>, cached: bool| match s {
        Some(_) if cached => "state-cached",
        Some(s) => match s {
            TaskState::Pending => "state-pending",
            TaskState::Running => "state-running",
            TaskState::Succeeded => "state-succeeded",
            TaskState::Failed => "state-failed",
            TaskState::Skipped => "state-skipped",
            TaskState::Cached => "state-cached",
            TaskState::Cancelled => "state-cancelled",
        },
        None => "",
    };
    format!(
        "<div class=\"diff-node diff-{change}{flip}\" data-testid=\"diff-task-{path}\" \
         data-change=\"{change}\" title=\"{tip}\" style=\"left:{x}px;top:{y}px;width:{W}px;height:{H}px\">\
         <div class=\"diff-node-head\"><span class=\"diff-mark\">{mark}</span><b>{name}</b></div>\
         <div class=\"diff-runs\"><span class=\"{ca}\">{a}</span> → <span class=\"{cb}\" data-testid=\"diff-state-{path}\">{b}</span></div>\
         {lines}</div>",
        change = t.change.label(),
        flip = if flip { " diff-flip" } else { "" },
        path = esc(&t.path),
        tip = esc(&tip.join("\n")),
        mark = match t.change {
            TaskChange::Added => "+",
            TaskChange::Removed => "−",
            TaskChange::Changed => "~",
            TaskChange::Same => "",
        },
        name = esc(&t.name),
        ca = state_class(t.state_a, t.cached_a),
        cb = state_class(t.state_b, t.cached_b),
        lines = lines
            .iter()
            .map(|l| format!("<div class=\"diff-line mono\">{}</div>", esc(l)))
            .collect::<String>(),
    )
}

/// The drawing of `d`: nodes, and wires between them (dashed into a sub-DAG's tasks).
pub fn diff_html(d: &RunDiff) -> String {
    let by_path: std::collections::HashMap<&str, &TaskDiff> =
        d.tasks.iter().map(|t| (t.path.as_str(), t)).collect();
    let width = d
        .tasks
        .iter()
        .map(|t| at(t).0 + W + PAD)
        .fold(0.0, f64::max);
    let height = d
        .tasks
        .iter()
        .map(|t| at(t).1 + H + PAD)
        .fold(0.0, f64::max);
    let wires: String = d
        .edges
        .iter()
        .filter_map(|e| {
            let (from, to) = (by_path.get(e.from.as_str())?, by_path.get(e.to.as_str())?);
            let ((x1, y1), (x2, y2)) = (at(from), at(to));
            let (x1, y1, x2, y2) = (x1 + W, y1 + H / 2.0, x2, y2 + H / 2.0);
            let bend = (x2 - x1).abs() / 2.0;
            Some(format!(
                "<path class=\"diff-wire{}\" d=\"M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}\"/>",
                if e.contains { " contains" } else { "" },
                x1 + bend,
                x2 - bend
            ))
        })
        .collect();
    let nodes: String = d.tasks.iter().map(node_html).collect();
    let params: String = d
        .parameters
        .iter()
        .map(|c| format!("<li class=\"mono\">{}</li>", esc(&change_text(c))))
        .collect();
    format!(
        "<p data-testid=\"diff-summary\">{summary}</p>{params}\
         <div class=\"diff-legend\"><span class=\"diff-added\">+ added</span>\
         <span class=\"diff-removed\">− removed</span><span class=\"diff-changed\">~ changed</span>\
         <span class=\"diff-flip\">state or cache differs</span></div>\
         <div class=\"diff-graph\" data-testid=\"diff-graph\" style=\"width:{width}px;height:{height}px\">\
         <svg width=\"{width}\" height=\"{height}\" aria-hidden=\"true\">{wires}</svg>{nodes}</div>",
        summary = esc(&summary(d)),
        params = if params.is_empty() {
            String::new()
        } else {
            format!("<ul class=\"diff-params\" data-testid=\"diff-params\">{params}</ul>")
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn diff() -> RunDiff {
        serde_json::from_value(json!({
            "a": "run-a", "b": "run-b",
            "parameters": [{"name": "lr", "a": 0.1, "b": 0.01}],
            "tasks": [
                {"path": "make", "name": "make", "kind": "container", "change": "same",
                 "stateA": "SUCCEEDED", "stateB": "CACHED", "cachedB": true, "layer": 0, "row": 0},
                {"path": "train", "name": "train <gpu>", "kind": "container", "change": "changed",
                 "inputs": [{"name": "lr", "a": 0.1, "b": 0.01}, {"name": "x", "a": 1},
                            {"name": "y", "b": "a very long value that will not fit on a node"}],
                 "stateA": "FAILED", "stateB": "SUCCEEDED", "layer": 1, "row": 0},
                {"path": "report", "name": "report", "kind": "container", "change": "added",
                 "stateB": "SUCCEEDED", "layer": 2, "row": 0},
                {"path": "evaluate", "name": "evaluate", "kind": "container", "change": "removed",
                 "stateA": "SKIPPED", "layer": 2, "row": 1}
            ],
            "edges": [{"from": "make", "to": "train"}, {"from": "train", "to": "report"},
                      {"from": "train", "to": "evaluate"}, {"from": "train", "to": "nowhere"}]
        }))
        .expect("diff")
    }

    #[test]
    fn nodes_are_marked_by_change_with_what_differs_and_wired_by_dependency() {
        let d = diff();
        let html = diff_html(&d);
        assert_eq!(
            summary(&d),
            "1 added · 1 removed · 1 changed · 1 cache flip · 1 state change · 1 parameter changed"
        );
        for (path, change) in [
            ("make", "same"),
            ("train", "changed"),
            ("report", "added"),
            ("evaluate", "removed"),
        ] {
            assert!(
                html.contains(&format!(
                    "diff-node diff-{change}{}\" data-testid=\"diff-task-{path}\"",
                    if path == "make" || path == "train" {
                        " diff-flip"
                    } else {
                        ""
                    }
                )),
                "{path}: {html}"
            );
        }
        assert!(html.contains("lr: 0.1 → 0.01"), "{html}");
        assert!(html.contains("+1 more inputs"), "{html}");
        assert!(html.contains("train &lt;gpu&gt;"), "names are escaped");
        assert!(
            html.contains("data-testid=\"diff-state-make\">cached<"),
            "{html}"
        );
        assert!(html.contains(">failed</span> → <span class=\"state-succeeded\""));
        // Three wires: the edge to an unknown task is left out.
        assert_eq!(html.matches("<path class=\"diff-wire\"").count(), 3);
        // A long value is cut (here in the tooltip: only two inputs fit on the node).
        assert!(html.contains("y: – → a very long value that …"), "{html}");
        assert!(html.contains("data-testid=\"diff-params\""));
    }

    #[test]
    fn an_empty_difference_says_so() {
        let d = RunDiff::default();
        assert_eq!(summary(&d), "the same graph, parameters and states");
        assert!(diff_html(&d).contains("width:0px"));
    }
}
