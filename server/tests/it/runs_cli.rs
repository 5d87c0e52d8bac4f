//! `pipeline-canvas runs` and `logs` on local runs: the real binary, a temp data folder, and
//! pipelines of shell commands (no Python, no container runtime: the commands run on the host).

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::binary::{cli, err, out};
use crate::shell::shell_spec;

fn write_spec(dir: &Path, name: &str, tasks: &[(&str, &str)]) -> String {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, shell_spec(name, tasks).to_string()).expect("write spec");
    path.to_str().expect("UTF-8 path").to_string()
}

fn runs_json(data: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["runs", "--format", "json"];
    args.extend_from_slice(extra);
    let o = cli(&args, data);
    assert!(o.status.success(), "{}", err(&o));
    serde_json::from_str::<Value>(&out(&o))
        .expect("runs --format json is JSON")
        .as_array()
        .expect("an array")
        .clone()
}

#[test]
fn an_empty_data_folder_has_no_runs_and_no_logs() {
    let data = tempfile::tempdir().expect("tempdir");
    let o = cli(&["runs"], data.path());
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "");
    assert!(err(&o).contains("no runs in "), "{}", err(&o));
    assert_eq!(runs_json(data.path(), &[]), Vec::<Value>::new());
    let o = cli(&["logs", "--latest"], data.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).starts_with("error: no runs yet in "), "{}", err(&o));
    // Nothing was created by looking.
    assert!(!data.path().join(runs::DB_FILE).exists());
    // Usage errors are clap's: status 2.
    let o = cli(&["logs"], data.path());
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    let o = cli(&["runs", "--state", "bogus"], data.path());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "error: --state \"bogus\" is not a run state; use one of pending, running, succeeded, \
         failed, cancelled\n"
    );
}

#[test]
fn runs_lists_the_history_and_logs_prints_task_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let ok = write_spec(
        dir.path(),
        "hello",
        &[
            ("greet", "echo hello; echo world"),
            (
                "count",
                "for i in 1 2 3; do echo n$i; done; printf unfinished",
            ),
        ],
    );
    let bad = write_spec(
        dir.path(),
        "broken",
        &[("fail-op", "echo oops >&2; exit 3")],
    );
    let o = cli(&["run", &ok], &data);
    assert!(o.status.success(), "{}\n{}", out(&o), err(&o));
    let o = cli(&["run", &bad], &data);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));

    // The table, newest first.
    let o = cli(&["runs"], &data);
    assert!(o.status.success(), "{}", err(&o));
    let table = out(&o);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].starts_with("PIPELINE_NAME  RUN_NAME") && lines[0].contains("  DURATION"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("broken ") && lines[1].contains(" FAILED "),
        "{table}"
    );
    assert!(
        lines[2].starts_with("hello ") && lines[2].contains(" SUCCEEDED "),
        "{table}"
    );

    let all = runs_json(&data, &[]);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["pipeline_name"], "hello");
    assert_eq!(all[1]["target"], "local");
    assert!(all[1]["duration"].is_number(), "{}", all[1]);
    let hello = all[1]["run_name"].as_str().expect("run id").to_string();
    let failed = runs_json(&data, &["--state", "FAILED"]);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["pipeline_name"], "broken");
    assert_eq!(runs_json(&data, &["--pipeline", "hello"]).len(), 1);
    assert_eq!(runs_json(&data, &["--pipeline", "nope"]).len(), 0);
    let o = cli(&["runs", "--format", "csv", "--state", "succeeded"], &data);
    let csv = out(&o);
    let rows: Vec<&str> = csv.lines().collect();
    assert!(
        csv.starts_with("pipeline_name,run_name,state,target,start_time,duration\r\n"),
        "{csv}"
    );
    assert!(
        rows[1].starts_with(&format!("hello,{hello},SUCCEEDED,local,")),
        "{csv}"
    );

    // One task's log, as written; by path or name.
    let o = cli(&["logs", &hello, "greet"], &data);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "hello\nworld\n");
    // Every task's, prefixed; an unfinished last line is ended.
    let o = cli(&["logs", &hello], &data);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    for want in [
        "greet | hello\n",
        "greet | world\n",
        "count | n1\n",
        "count | n3\n",
        "count | unfinished\n",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // --latest is the failed run; its stderr is in the log.
    let o = cli(&["logs", "--latest", "fail-op"], &data);
    assert_eq!(out(&o), "oops\n", "{}", err(&o));

    let o = cli(&["logs", &hello, "train"], &data);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        format!("error: run {hello} has no task \"train\"; its tasks are greet, count\n")
            .replace("greet, count", &task_list(&data, &hello))
    );
    let o = cli(&["logs", "no-such-run"], &data);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with("error: no run \"no-such-run\" in ")
            && err(&o).contains("`pipeline-canvas runs` lists the runs there"),
        "{}",
        err(&o)
    );
}

/// The run's task paths as the store orders them.
fn task_list(data: &Path, id: &str) -> String {
    let store = runs::RunStore::open(data).expect("store");
    let detail = store.get_run(id).expect("read").expect("the run");
    detail
        .tasks
        .iter()
        .map(|t| t.path.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn logs_follow_prints_until_the_task_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let spec = write_spec(
        dir.path(),
        "slow",
        &[(
            "tick",
            "echo first; sleep 1; echo second; sleep 1; echo third",
        )],
    );
    let mut run = crate::binary::command()
        .args(["run", &spec, "--data-dir"])
        .arg(&data)
        .env("PIPELINE_CANVAS_CONTAINER_RUNTIME", "none")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start run");
    // Wait for the run to be recorded (the store is created by the run).
    let mut id = None;
    for _ in 0..200 {
        if data.join(runs::DB_FILE).exists() {
            if let Some(r) = runs_json(&data, &[]).first() {
                id = r["run_name"].as_str().map(str::to_string);
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let id = id.expect("the run is recorded");
    let o = cli(&["logs", &id, "tick", "--follow"], &data);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "first\nsecond\nthird\n");
    assert!(run.wait().expect("run ends").success());
}
