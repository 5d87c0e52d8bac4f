//! The messages of the command line that say what is wrong and what to do (issue #19): the
//! real binary, a temp data folder, no Python.

use std::path::Path;

use serde_json::json;

use crate::binary::{cli, err};
use crate::shell::shell_spec;

/// A one-task pipeline with the parameters of the example.
fn write_params_spec(dir: &Path) -> String {
    let mut spec = shell_spec("params", &[("echo", "echo hi")]);
    spec["root"]["inputDefinitions"] = json!({"parameters": {
        "eval_acc_threshold": {"parameterType": "NUMBER_DOUBLE"},
        "epochs": {"parameterType": "NUMBER_INTEGER"},
        "items": {"parameterType": "LIST"},
        "model_name": {"parameterType": "STRING"},
        "x": {"parameterType": "NUMBER_INTEGER", "defaultValue": 1}
    }});
    let path = dir.join("params.json");
    std::fs::write(&path, spec.to_string()).expect("write spec");
    path.to_str().expect("UTF-8 path").to_string()
}

#[test]
fn every_missing_parameter_is_listed_in_one_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = write_params_spec(dir.path());
    let data = dir.path().join("data");
    let o = cli(&["run", &spec], &data);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "error: 4 problems with the parameters:\n  \
         - parameter \"epochs\" (int) is required; for example epochs=42\n  \
         - parameter \"eval_acc_threshold\" (float) is required; for example \
         eval_acc_threshold=0.5\n  \
         - parameter \"items\" (list) is required; for example items=[1, 2]\n  \
         - parameter \"model_name\" (str) is required; for example model_name=text\n"
    );
    // Nothing ran: no run was recorded.
    let o = cli(&["runs", "--format", "json"], &data);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
}

#[test]
fn invalid_values_say_what_would_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = write_params_spec(dir.path());
    let data = dir.path().join("data");
    let o = cli(
        &[
            "run",
            &spec,
            "--param",
            "x=abc",
            "--param",
            "items=notalist",
            "--param",
            "epochs=99999999999999999999999",
            "--param",
            "eval_acc_threshold=0.9",
            "--param",
            "model_name=m",
        ],
        &data,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "error: 3 problems with the parameters:\n  \
         - parameter \"x\" (int): \"abc\" is not an int: write a whole number such as 42\n  \
         - parameter \"items\" (list): \"notalist\" is not a list: expected a JSON list like \
         [1, 2] (invalid JSON at character 2)\n  \
         - parameter \"epochs\" (int): \"99999999999999999999999\" is not an int: it is outside \
         -9223372036854775808 to 9223372036854775807; write a whole number such as 42\n"
    );
    let o = cli(&["run", &spec, "--param", "x"], &data);
    assert_eq!(
        err(&o),
        "error: --param \"x\": expected NAME=VALUE, e.g. --param epochs=3\n"
    );
    // submit checks the same, before any setting or request.
    let o = cli(
        &["submit", &spec, "--target", "kfp", "--param", "x=abc"],
        &data,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with("error: 5 problems with the parameters:\n  - parameter \"x\" (int)"),
        "{}",
        err(&o)
    );
}

/// The `--json` lines of a run with the run id, times and folder replaced by placeholders.
fn normalized_json_lines(stdout: &str) -> String {
    let mut out = String::new();
    for line in stdout.lines() {
        let mut v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        v["run"] = json!("<run>");
        v["seconds"] = json!(0);
        if v.get("outputs").is_some() {
            v["outputs"] = json!("<folder>");
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

#[test]
fn json_progress_is_one_event_per_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = shell_spec("retried", &[("fail-op", "echo boom; exit 3")]);
    spec["root"]["dag"]["tasks"]["fail-op"]["retryPolicy"] =
        json!({"maxRetryCount": 2, "backoffDuration": "0s"});
    let path = dir.path().join("retried.json");
    std::fs::write(&path, spec.to_string()).expect("write spec");
    let data = dir.path().join("data");
    let o = cli(&["run", path.to_str().expect("path"), "--json"], &data);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let got = normalized_json_lines(&String::from_utf8_lossy(&o.stdout));
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/golden/run_json.jsonl");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).expect("write golden");
    }
    let want = std::fs::read_to_string(&golden).expect("read golden (UPDATE_GOLDEN=1 writes it)");
    assert_eq!(got, want);
    assert!(err(&o).starts_with("error: run "), "{}", err(&o));
    // --quiet: only the summary, naming the failed task and how to see its log.
    let o = cli(&["run", path.to_str().expect("path"), "--quiet"], &data);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("run ")
            && lines[0].contains(" FAILED in ")
            && lines[0].contains(": 1 failed; outputs in "),
        "{text}"
    );
    assert!(
        lines[1].starts_with("fail-op failed; its log: pipeline-canvas logs "),
        "{text}"
    );
    // Text: each failed attempt once, as a RETRY line; the retried attempt's start is not
    // printed again.
    let o = cli(&["run", path.to_str().expect("path")], &data);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(text.matches("RETRY      fail-op").count(), 2, "{text}");
    assert_eq!(text.matches("RUNNING    fail-op").count(), 1, "{text}");
    assert!(text.contains("attempt 2 of 3 failed"), "{text}");
}

#[test]
fn compile_given_a_compiled_spec_says_to_run_or_import_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spec.json");
    std::fs::write(&path, shell_spec("p", &[("a", "true")]).to_string()).expect("write");
    let shown = path.to_str().expect("path");
    let o = crate::binary::command()
        .args(["compile", shown])
        .env_remove("RUST_LOG")
        .output()
        .expect("run pipeline-canvas");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        format!(
            "error: {shown}: this is a compiled KFP pipeline spec, not a pipeline document: run \
             it with `pipeline-canvas run {shown}`, or turn it into a document with \
             `pipeline-canvas import {shown}`\n"
        )
    );
}

/// Starts `run` on a task that sleeps, and waits until its process runs; the
/// command and the run's id.
fn start_slow_run(dir: &Path, data: &Path) -> (std::process::Child, String) {
    let path = dir.join("slow.json");
    std::fs::write(
        &path,
        shell_spec("slow", &[("nap", "sleep 60")]).to_string(),
    )
    .expect("write");
    let mut child = crate::binary::command()
        .arg("run")
        .arg(&path)
        .arg("--data-dir")
        .arg(data)
        .env("PIPELINE_CANVAS_CONTAINER_RUNTIME", "none")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start run");
    for _ in 0..1200 {
        if data.join(runs::DB_FILE).exists() {
            let store = runs::RunStore::open(data).expect("store");
            let open = store.list_runs(&runs::RunFilter::default()).expect("list");
            // Running once its process is recorded (the engine may first make the
            // environment the task's launcher needs).
            if let Some(r) = open.first() {
                if !store.task_pids(&r.id).expect("pids").is_empty() {
                    return (child, r.id.clone());
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the run did not start");
}

#[test]
fn cancel_reaches_the_run_command_that_owns_the_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (child, id) = start_slow_run(dir.path(), &data);
    let o = cli(&["cancel", &id], &data);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("run {id} CANCELLED\n")
    );
    let status = child.wait_with_output().expect("run ends").status;
    assert_eq!(status.code(), Some(130));
    let o = cli(&["cancel", &id], &data);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        format!("error: run {id} has already ended CANCELLED; nothing to cancel\n")
    );
    let o = cli(&["cancel", "nope"], &data);
    assert!(
        err(&o).starts_with("error: no run \"nope\" in "),
        "{}",
        err(&o)
    );
}

#[test]
fn cancel_says_when_the_owner_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (mut child, id) = start_slow_run(dir.path(), &data);
    let pid = child.id();
    child.kill().expect("kill -9");
    let _ = child.wait();
    let o = cli(&["cancel", &id], &data);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        format!(
            "error: run {id} was run by process {pid}, which is gone: nothing runs it any more, \
             and it is marked FAILED the next time `pipeline-canvas serve` or `run` starts on {}\n",
            data.display()
        )
    );
}

#[test]
fn every_subcommand_help_shows_examples() {
    for command in [
        "serve", "compile", "import", "run", "submit", "runs", "logs", "cancel",
    ] {
        let o = crate::binary::command()
            .args([command, "--help"])
            .output()
            .expect("run pipeline-canvas");
        assert!(o.status.success(), "{command}: {}", err(&o));
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(
            help.contains("Examples:\n  pipeline-canvas "),
            "{command} --help has no examples:\n{help}"
        );
    }
}
