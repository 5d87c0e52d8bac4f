//! The runs table (`GET /api/runs/table`): one row per run, like the Vertex AI SDK's
//! `aiplatform.get_pipeline_df` — the run's base columns ([`BASE_COLUMNS`]), then a
//! `param.<name>` column per run parameter and a `metric.<name>` column per scalar metric its
//! tasks logged (see the `runs` crate's `table` module for the naming rule).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The columns every runs table starts with, in order: the pipeline's name, the run's name
/// (its id), its state, where it ran (`local`, `vertex`, `kfp`), when it started (RFC 3339;
/// when it was submitted, for a run not started yet) and its duration in seconds (to now while
/// it runs; empty before it starts).
pub const BASE_COLUMNS: [&str; 6] = [
    "pipeline_name",
    "run_name",
    "state",
    "target",
    "start_time",
    "duration",
];

/// The prefix of a run parameter's column (`param.learning_rate`).
pub const PARAM_PREFIX: &str = "param.";

/// The prefix of a scalar metric's column (`metric.accuracy`, `metric.train.accuracy`).
pub const METRIC_PREFIX: &str = "metric.";

/// The runs table: named columns and one row of cells per run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTable {
    /// Column names, in order: [`BASE_COLUMNS`], then the `param.` columns, then the
    /// `metric.` columns (each group sorted by name). They are the union over every run that
    /// matches the filter, not only the rows returned.
    pub columns: Vec<String>,
    /// The rows, sorted as asked, at most the limit.
    pub rows: Vec<RunTableRow>,
    /// How many runs match the filter (the rows are the first `limit` of them).
    pub total: usize,
}

/// One run of a [`RunTable`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTableRow {
    /// The run's id.
    pub id: String,
    /// One value per column of the table, in its order; `null` where the run has none.
    pub cells: Vec<Value>,
    /// Why the run failed, if it did (shown with the row; not a column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The console page of a run on a remote target (not a column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_link: Option<String>,
}

impl RunTable {
    /// The position of column `name`, if the table has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// A cell as text, the way the CSV export and the text table write it: strings as they are,
/// numbers and booleans as JSON writes them, `null` as nothing, lists and objects as JSON.
pub fn cell_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_camel_case_json_with_cells_in_column_order() {
        let t = RunTable {
            columns: vec!["run_name".into(), "param.lr".into()],
            rows: vec![RunTableRow {
                id: "r1".into(),
                cells: vec![Value::from("r1"), Value::Null],
                error: Some("boom".into()),
                console_link: None,
            }],
            total: 3,
        };
        let json = serde_json::to_value(&t).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"columns": ["run_name", "param.lr"],
                "rows": [{"id": "r1", "cells": ["r1", null], "error": "boom"}], "total": 3})
        );
        let back: RunTable = serde_json::from_value(json).expect("back");
        assert_eq!(back, t);
        assert_eq!(t.column("param.lr"), Some(1));
        assert_eq!(t.column("nope"), None);
    }

    #[test]
    fn cells_read_as_text() {
        let cases = [
            (Value::Null, ""),
            (Value::from("a, \"b\""), "a, \"b\""),
            (Value::from(0.5), "0.5"),
            (Value::from(true), "true"),
            (serde_json::json!([1, 2]), "[1,2]"),
        ];
        for (v, want) in cases {
            assert_eq!(cell_text(&v), want, "{v}");
        }
    }
}
