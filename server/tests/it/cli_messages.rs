//! The messages of the command line that say what is wrong and what to do (issue #19): the
//! real binary, a temp data folder, no Python.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::json;

use crate::shell::shell_spec;

const BIN: &str = env!("CARGO_BIN_EXE_pipeline-canvas");

fn cli(args: &[&str], data: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("PIPELINE_CANVAS_CONTAINER_RUNTIME", "none")
        .env_remove("RUST_LOG")
        .env_remove("PIPELINE_CANVAS_DATA_DIR")
        .output()
        .expect("run pipeline-canvas")
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

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
