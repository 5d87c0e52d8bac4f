//! The runs table (issue #16) on real local runs: a pipeline of shell commands with two
//! parameters and two tasks that log metrics (a `system.Metrics` output written through the
//! executor output file), run by the real binary; then read by `pipeline-canvas runs` in its
//! three formats and by `GET /api/runs/table` in process.

use std::path::Path;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt as _;
use pipeline_canvas::{app, AppState};
use serde_json::{json, Value};
use tower::ServiceExt as _;

use crate::binary::{cli, err, out};
use crate::shell::shell_spec;

/// `trial(lr: float, label: str)`: `train` logs accuracy and loss (accuracy = 1 - lr), `eval`
/// logs accuracy 0.5 too, so the two accuracies are told apart by task.
fn write_spec(dir: &Path) -> String {
    let metrics = |values: &str| {
        format!(
            "printf '%s' '{{\"artifacts\": {{\"metrics\": {{\"artifacts\": [{{\"name\": \"metrics\", \
             \"metadata\": {values}}}]}}}}}}' > {{{{$.outputs.output_file}}}}"
        )
    };
    let train = format!(
        "acc=$(awk \"BEGIN {{ print 1 - {{{{$.inputs.parameters['lr']}}}} }}\"); {}",
        metrics("{\"accuracy\": '\"$acc\"', \"loss\": 0.25}")
    );
    let eval = metrics("{\"accuracy\": 0.5}");
    let mut spec = shell_spec("trial", &[("train", &train), ("eval", &eval)]);
    spec["root"]["inputDefinitions"] = json!({"parameters": {
        "lr": {"parameterType": "NUMBER_DOUBLE"},
        "label": {"parameterType": "STRING"}
    }});
    spec["root"]["dag"]["tasks"]["train"]["inputs"] = json!({"parameters": {
        "lr": {"componentInputParameter": "lr"}
    }});
    spec["components"]["comp-train"]["inputDefinitions"] =
        json!({"parameters": {"lr": {"parameterType": "NUMBER_DOUBLE"}}});
    let outputs = json!({"artifacts": {"metrics": {
        "artifactType": {"schemaTitle": "system.Metrics", "schemaVersion": "0.0.1"}
    }}});
    spec["components"]["comp-train"]["outputDefinitions"] = outputs.clone();
    spec["components"]["comp-eval"]["outputDefinitions"] = outputs;
    let path = dir.join("trial.json");
    std::fs::write(&path, spec.to_string()).expect("write spec");
    path.to_str().expect("UTF-8 path").to_string()
}

fn run(spec: &str, data: &Path, lr: &str, label: &str) {
    let lr = format!("lr={lr}");
    let label = format!("label={label}");
    let o = cli(&["run", spec, "--param", &lr, "--param", &label], data);
    assert!(o.status.success(), "{}\n{}", out(&o), err(&o));
}

fn runs(data: &Path, args: &[&str]) -> String {
    let mut all = vec!["runs"];
    all.extend_from_slice(args);
    let o = cli(&all, data);
    assert!(o.status.success(), "{}", err(&o));
    out(&o)
}

/// GET `uri` on the app over `data`, with its token: status, content type, body.
async fn get(data: &Path, uri: &str) -> (StatusCode, String, String) {
    let mut engine = engine::EngineConfig::new(data);
    engine.allow_host_commands = true;
    let state = AppState::open_with(data, engine, targets::TargetsOptions::default())
        .expect("open app state");
    let token = state.guard.token().to_string();
    let req = Request::builder()
        .uri(uri)
        .header(header::HOST, "127.0.0.1")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request");
    let r = app(state).oneshot(req).await.expect("infallible");
    let status = r.status();
    let ct = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = r.into_body().collect().await.expect("body").to_bytes();
    (status, ct, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_show_their_parameters_and_metrics_sorted_filtered_and_as_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let spec = write_spec(dir.path());
    run(&spec, &data, "0.25", "first, \"quoted\"");
    run(&spec, &data, "0.125", "second");

    let columns = "pipeline_name,run_name,state,target,start_time,duration,param.label,\
                   param.lr,metric.eval.accuracy,metric.loss,metric.train.accuracy";
    // CSV: the columns, the values (durations in seconds), a cell with a comma and quotes.
    let csv = runs(
        &data,
        &["--format", "csv", "--sort", "metric.train.accuracy"],
    );
    assert!(csv.starts_with(&format!("{columns}\r\n")), "{csv}");
    assert!(
        csv.contains(",\"first, \"\"quoted\"\"\",0.25,0.5,0.25,0.75\r\n"),
        "{csv}"
    );
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("valid CSV");
    assert_eq!(rows.len(), 2);
    // Sorted by train's accuracy, smallest first: lr 0.25 (0.75), then lr 0.125 (0.875).
    assert_eq!(rows[0].get(6), Some("first, \"quoted\""));
    assert_eq!(rows[0].get(10), Some("0.75"));
    assert_eq!(rows[1].get(6), Some("second"));
    assert_eq!(rows[1].get(10), Some("0.875"));
    for row in &rows {
        assert_eq!(row.get(2), Some("SUCCEEDED"));
        assert!(
            row.get(5).and_then(|d| d.parse::<f64>().ok()).is_some(),
            "{row:?}"
        );
    }

    // JSON: objects keyed by column; descending; the text filter.
    let json: Value = serde_json::from_str(&runs(
        &data,
        &["--format", "json", "--sort", "param.lr", "--desc"],
    ))
    .expect("JSON");
    assert_eq!(json[0]["param.lr"], json!(0.25));
    assert_eq!(json[0]["metric.loss"], json!(0.25));
    assert_eq!(json[1]["param.label"], "second");
    let newest = json[1]["run_name"].as_str().expect("run name").to_string();
    let json: Value = serde_json::from_str(&runs(&data, &["--format", "json", "--text", "SECOND"]))
        .expect("JSON");
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    assert_eq!(json[0]["run_name"], newest.as_str());

    // The text table, with the same columns upper-cased.
    let table = runs(&data, &[]);
    assert!(
        table.starts_with("PIPELINE_NAME  RUN_NAME") && table.lines().count() == 3,
        "{table}"
    );
    assert!(table
        .lines()
        .next()
        .is_some_and(|l| l.ends_with("METRIC.TRAIN.ACCURACY")));

    // A column no table can have is refused, naming the ones it can.
    let o = cli(&["runs", "--sort", "colour"], &data);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with("error: --sort: cannot sort by \"colour\": a column is one of"),
        "{}",
        err(&o)
    );

    // The API: the same table as JSON, and the same CSV as a download.
    let (status, ct, body) = get(&data, "/api/runs/table?sort=param.lr&desc=true&limit=1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(ct.starts_with("application/json"), "{ct}");
    let t: api::RunTable = serde_json::from_str(&body).expect("a run table");
    assert_eq!(t.columns.join(","), columns);
    assert_eq!(t.total, 2);
    assert_eq!(t.rows.len(), 1);
    assert_eq!(t.rows[0].cells[7], json!(0.25));
    let (status, ct, body) = get(
        &data,
        "/api/runs/table?format=csv&sort=metric.train.accuracy",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ct, "text/csv; charset=utf-8");
    assert_eq!(body, csv, "the API's CSV is the command line's");
    let (status, _, body) = get(&data, "/api/runs/table?q=second&state=succeeded").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let t: api::RunTable = serde_json::from_str(&body).expect("a run table");
    assert_eq!(t.rows.len(), 1);
    assert_eq!(t.rows[0].id, newest);
    for (uri, want) in [
        ("/api/runs/table?sort=colour", "cannot sort by \"colour\""),
        ("/api/runs/table?format=xml", "unknown table format \"xml\""),
        ("/api/runs/table?state=bogus", "unknown run state \"bogus\""),
        ("/api/runs/table?nope=1", "nope"),
    ] {
        let (status, _, body) = get(&data, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let error: Value = serde_json::from_str(&body).expect("a JSON error");
        let message = error["error"].as_str().unwrap_or_default();
        assert!(message.contains(want), "{uri}: {body}");
    }
    // The run list the front end and scripts use is unchanged.
    let (status, _, body) = get(&data, "/api/runs").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list: Vec<api::RunSummary> = serde_json::from_str(&body).expect("the run list");
    assert_eq!(list.len(), 2);
}
