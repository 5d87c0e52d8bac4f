//! The runs table ([`runs::table`], [`api::RunTable`]) written three ways, the same for
//! `pipeline-canvas runs --format …` and `GET /api/runs/table?format=csv`: aligned text for
//! people, a JSON array of objects keyed by column name, and CSV (RFC 4180, by the `csv`
//! crate) with a header line. CSV and JSON carry the values (a duration in seconds); the text
//! table writes a duration for people (`1m 05s`).

use api::run_table::cell_text;
use api::RunTable;
use serde_json::Value;

/// The table could not be written as CSV (never expected: it is written to memory).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the runs table as CSV: {0}")]
pub struct CsvError(String);

/// A duration for people: `0.4s`, `12.3s`, `4m 05s`, `2h 03m`.
pub fn human_duration(seconds: f64) -> String {
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    // Whole seconds of at most a few years fit easily; beyond, the text only grows.
    let s = seconds.round() as u64;
    if s < 3600 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// Aligned columns under an upper-case header; the duration for people.
pub fn to_text(t: &RunTable) -> String {
    let texts: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            t.columns
                .iter()
                .zip(&r.cells)
                .map(|(c, v)| match v {
                    Value::Number(n) if c == "duration" => {
                        n.as_f64().map(human_duration).unwrap_or_default()
                    }
                    v => cell_text(v).replace(['\n', '\r'], " "),
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = t.columns.iter().map(|c| c.chars().count()).collect();
    for row in &texts {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = String>| {
        let mut l = String::new();
        for (i, (text, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            l.push_str(&text);
            let pad = w.saturating_sub(text.chars().count());
            l.extend(std::iter::repeat_n(' ', pad));
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut t.columns.iter().map(|c| c.to_uppercase()));
    for row in texts {
        line(&mut row.into_iter());
    }
    out
}

/// A JSON array of one object per run, keyed by column name.
pub fn to_json(t: &RunTable) -> String {
    let rows: Vec<Value> = t
        .rows
        .iter()
        .map(|row| {
            Value::Object(
                t.columns
                    .iter()
                    .cloned()
                    .zip(row.cells.iter().cloned())
                    .collect(),
            )
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// CSV with a header line and CRLF line ends; a field holding a comma, quote or line break is
/// quoted (quotes doubled). A text that a spreadsheet would run as a formula (it starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return — a run parameter is anybody's text) is
/// written with a leading `'`, which spreadsheets show as text; numbers are written as they are.
pub fn to_csv(t: &RunTable) -> Result<Vec<u8>, CsvError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(&t.columns)
        .map_err(|e| CsvError(e.to_string()))?;
    for row in &t.rows {
        w.write_record(row.cells.iter().map(|v| match v {
            Value::String(s) => as_text(s.clone()),
            v => cell_text(v),
        }))
        .map_err(|e| CsvError(e.to_string()))?;
    }
    w.into_inner().map_err(|e| CsvError(e.to_string()))
}

/// `s`, kept from being read as a formula by a spreadsheet (OWASP's CSV injection advice).
fn as_text(s: String) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::RunTableRow;
    use serde_json::json;

    fn table() -> RunTable {
        let row = |id: &str, state: &str, duration: Value, label: Value| RunTableRow {
            id: id.into(),
            cells: vec![
                json!("p"),
                json!(id),
                json!(state),
                json!("local"),
                json!("2026-01-01T00:00:00.000Z"),
                duration,
                label,
                json!(0.5),
            ],
            ..RunTableRow::default()
        };
        RunTable {
            columns: [
                "pipeline_name",
                "run_name",
                "state",
                "target",
                "start_time",
                "duration",
                "param.label",
                "metric.accuracy",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![
                row("r2", "RUNNING", json!(2.5), json!("a, \"b\"\nc")),
                row("r1", "SUCCEEDED", json!(65.4), json!("plain")),
                row("r0", "PENDING", Value::Null, Value::Null),
            ],
            total: 3,
        }
    }

    #[test]
    fn the_table_is_written_three_ways() {
        let t = table();
        assert_eq!(
            to_text(&t),
            "PIPELINE_NAME  RUN_NAME  STATE      TARGET  START_TIME                DURATION  PARAM.LABEL  METRIC.ACCURACY\n\
             p              r2        RUNNING    local   2026-01-01T00:00:00.000Z  2.5s      a, \"b\" c     0.5\n\
             p              r1        SUCCEEDED  local   2026-01-01T00:00:00.000Z  1m 05s    plain        0.5\n\
             p              r0        PENDING    local   2026-01-01T00:00:00.000Z                         0.5\n"
        );
        let csv = String::from_utf8(to_csv(&t).expect("csv")).expect("UTF-8");
        assert_eq!(
            csv,
            "pipeline_name,run_name,state,target,start_time,duration,param.label,metric.accuracy\r\n\
             p,r2,RUNNING,local,2026-01-01T00:00:00.000Z,2.5,\"a, \"\"b\"\"\nc\",0.5\r\n\
             p,r1,SUCCEEDED,local,2026-01-01T00:00:00.000Z,65.4,plain,0.5\r\n\
             p,r0,PENDING,local,2026-01-01T00:00:00.000Z,,,0.5\r\n"
        );
        // A CSV reader gets the cells back.
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let first = reader.records().next().expect("a row").expect("CSV");
        assert_eq!(first.get(6), Some("a, \"b\"\nc"));
        let json: Value = serde_json::from_str(&to_json(&t)).expect("JSON");
        assert_eq!(json[1]["duration"], json!(65.4));
        assert_eq!(json[1]["run_name"], "r1");
        assert_eq!(json[2]["duration"], Value::Null);
        assert_eq!(json[0]["param.label"], "a, \"b\"\nc");
    }

    #[test]
    fn text_a_spreadsheet_would_run_is_written_as_text() {
        let mut t = table();
        t.columns.push("param.=name".into());
        for (row, v) in t.rows.iter_mut().zip([
            json!("=HYPERLINK(\"http://x\")"),
            json!("@SUM(A1)"),
            json!(-1.5),
        ]) {
            row.cells.push(v);
        }
        let csv = String::from_utf8(to_csv(&t).expect("csv")).expect("UTF-8");
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        // A column name starts with its kind: never a formula.
        assert_eq!(
            reader.headers().expect("header").get(8),
            Some("param.=name")
        );
        let last: Vec<String> = reader
            .records()
            .map(|r| r.expect("CSV").get(8).unwrap_or_default().to_string())
            .collect();
        assert_eq!(last, ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)", "-1.5"]);
    }

    #[test]
    fn durations_read_well() {
        let cases = [
            (0.04, "0.0s"),
            (12.34, "12.3s"),
            (65.4, "1m 05s"),
            (7380.0, "2h 03m"),
        ];
        for (s, want) in cases {
            assert_eq!(human_duration(s), want, "{s}");
        }
    }
}
