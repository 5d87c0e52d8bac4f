//! Task caching: a second run with the same inputs takes every cached task's outputs from the
//! first (state CACHED), the way the KFP backend keys them; changed inputs, a disabled cache
//! or deleted artifacts mean running again.

use crate::common::*;
use engine::{RunOptions, RunState, TaskState};
use serde_json::json;

fn leaves(run: &engine::RunDetail) -> Vec<(&str, TaskState)> {
    run.tasks
        .iter()
        .map(|t| (t.path.as_str(), t.state))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_identical_run_is_served_from_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let first = execute(&engine, "chain", &[("a", json!(1)), ("b", json!(2))]).await;
    assert_run(&first, RunState::Succeeded);
    assert!(
        first.tasks.iter().all(|t| t.state == TaskState::Succeeded),
        "{:?}",
        leaves(&first)
    );

    let second = execute(&engine, "chain", &[("a", json!(1)), ("b", json!(2))]).await;
    assert_run(&second, RunState::Succeeded);
    for t in &second.tasks {
        assert_eq!(t.state, TaskState::Cached, "{}", t.path);
        assert!(t.cached);
        let before = task(&first, &t.path);
        assert_eq!(t.outputs, before.outputs, "{}", t.path);
        assert_eq!(t.cache_key, before.cache_key, "{}", t.path);
    }
    assert_eq!(pipeline_output(&second, "Output"), json!(113));

    // A different input: the first task and everything after it run again.
    let third = execute(&engine, "chain", &[("a", json!(5)), ("b", json!(2))]).await;
    assert_run(&third, RunState::Succeeded);
    assert_eq!(task(&third, "add").state, TaskState::Succeeded);
    assert_eq!(pipeline_output(&third, "Output"), json!(117));

    // Caching turned off for the run.
    let fourth = run_spec(
        &engine,
        spec("chain"),
        params(&[("a", json!(1)), ("b", json!(2))]),
        RunOptions {
            enable_caching: Some(false),
            ..RunOptions::default()
        },
    )
    .await;
    assert!(
        fourth.tasks.iter().all(|t| t.state == TaskState::Succeeded),
        "{:?}",
        leaves(&fourth)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_entry_whose_artifact_is_gone_is_not_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let first = execute(&engine, "chain", &[]).await;
    assert_run(&first, RunState::Succeeded);
    let uri = task(&first, "make-data").outputs.as_ref().expect("outputs")["artifacts"]["data"][0]
        ["uri"]
        .as_str()
        .expect("uri")
        .to_string();
    std::fs::remove_file(&uri).expect("remove the artifact");
    let second = execute(&engine, "chain", &[]).await;
    assert_run(&second, RunState::Succeeded);
    assert_eq!(task(&second, "add").state, TaskState::Cached);
    assert_eq!(task(&second, "make-data").state, TaskState::Succeeded);
    // count-lines reads the new artifact: a new input, so it runs too.
    assert_eq!(task(&second, "count-lines").state, TaskState::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_without_a_file_are_served_from_the_cache() {
    // The KFP SDK writes no file for Metrics and ClassificationMetrics: their metadata is all.
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let first = execute(&engine, "metrics_cache", &[]).await;
    assert_run(&first, RunState::Succeeded);
    let outputs = task(&first, "score").outputs.clone().expect("outputs");
    let metrics = &outputs["artifacts"]["metrics"][0];
    assert_eq!(metrics["metadata"]["lines"], json!(3));
    assert!(
        !std::path::Path::new(metrics["uri"].as_str().expect("uri")).exists(),
        "no metrics file: {metrics}"
    );
    let second = execute(&engine, "metrics_cache", &[]).await;
    assert_run(&second, RunState::Succeeded);
    assert_eq!(task(&second, "make-data").state, TaskState::Cached);
    assert_eq!(task(&second, "score").state, TaskState::Cached);
    let reused = task(&second, "score").outputs.clone().expect("outputs");
    assert_eq!(
        reused["artifacts"]["metrics"],
        outputs["artifacts"]["metrics"]
    );
    assert_eq!(
        reused["artifacts"]["classes"][0]["metadata"]["confusionMatrix"],
        outputs["artifacts"]["classes"][0]["metadata"]["confusionMatrix"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_with_caching_off_always_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    for _ in 0..2 {
        let run = execute(&engine, "condition", &[("x", json!(7))]).await;
        assert_run(&run, RunState::Succeeded);
        assert_eq!(task(&run, "number").state, TaskState::Succeeded);
    }
}
