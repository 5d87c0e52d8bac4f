//! A task that writes more than the log limit keeps running: its log ends with a note that
//! later output was discarded, and the task says so.

use crate::common::*;
use engine::{Engine, EngineConfig, RunState};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_past_the_limit_are_truncated_and_the_task_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = EngineConfig::new(dir.path());
    config.concurrency = 2;
    config.python = python();
    config.log_limit = 64 * 1024;
    config.allow_host_commands = true;
    let engine = Engine::open(config).expect("open engine");
    // 5 MB through a 64 KiB pipe: a task whose output is no longer read would block for ever.
    let run = execute(&engine, "chatty", &[("n_bytes", json!(5_000_000))]).await;
    assert_run(&run, RunState::Succeeded);
    assert_eq!(pipeline_output(&run, "Output"), json!("done"));
    let note = "log truncated at 64 KiB: later output was discarded";
    for path in ["chatty", "chatty-shell"] {
        let log = std::path::Path::new(&run.root).join(path).join("log.txt");
        let text = std::fs::read_to_string(&log).expect("the task's log");
        assert!(
            text.len() <= 64 * 1024 + 200,
            "{path}: {} bytes",
            text.len()
        );
        assert!(
            text.trim_end().ends_with(note),
            "{path}: ends {:?}",
            tail(&text)
        );
        assert!(!text.contains("finished"), "{path}: later output was kept");
        let t = task(&run, path);
        assert!(
            t.note.as_deref().unwrap_or_default().contains(note),
            "{path}: {:?}",
            t.note
        );
    }
    // A small log is left alone.
    let run = execute(&engine, "chatty", &[("n_bytes", json!(1000))]).await;
    assert_run(&run, RunState::Succeeded);
    let text =
        std::fs::read_to_string(std::path::Path::new(&run.root).join("chatty-shell/log.txt"))
            .expect("log");
    assert!(text.ends_with("finished\n"), "{text}");
    assert!(!task(&run, "chatty")
        .note
        .as_deref()
        .unwrap_or_default()
        .contains("truncated"));
}

fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(200);
    text.get(start..).unwrap_or(text)
}
