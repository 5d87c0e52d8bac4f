//! The local engine on real pipelines compiled by the KFP SDK, with real processes and the
//! real KFP runtime: chains, parallelism, conditions, branches, loops, exit handlers,
//! retries, sub-pipelines, container components, importers and timeouts.

use crate::common::*;
use engine::{RunOptions, RunState, TaskKind, TaskState};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_of_python_components_passes_parameters_and_artifacts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let run = execute(&engine, "chain", &[("a", json!(2)), ("b", json!(3))]).await;
    assert_run(&run, RunState::Succeeded);
    assert_eq!(output(&run, "add", "Output"), json!(5));
    assert_eq!(output(&run, "add-2", "Output"), json!(15));
    assert_eq!(output(&run, "count-lines", "Output"), json!(15));
    assert_eq!(pipeline_output(&run, "Output"), json!(115));
    // The artifact: under the run's folder, with the metadata the component wrote.
    let data = &task(&run, "make-data").outputs.as_ref().expect("outputs")["artifacts"]["data"][0];
    let uri = data["uri"].as_str().expect("uri");
    assert!(
        uri.starts_with(&run.root),
        "{uri} is not under {}",
        run.root
    );
    assert_eq!(
        std::fs::read_to_string(uri)
            .expect("artifact")
            .lines()
            .count(),
        15
    );
    assert_eq!(data["metadata"]["lines"], json!(15));
    assert_eq!(data["type"]["schemaTitle"], json!("system.Dataset"));
    // Inputs are recorded as the executor got them; every task has a log.
    let t = task(&run, "add-2");
    assert_eq!(
        t.inputs.as_ref().expect("inputs")["parameters"]["a"],
        json!(5)
    );
    assert!(t.has_log);
    assert_eq!(t.kind, TaskKind::Container);
    assert_eq!(t.attempts, 1);
    assert!(t.started_at.is_some() && t.ended_at.is_some());
    assert!(t
        .note
        .as_deref()
        .unwrap_or_default()
        .contains("python:3.11"));
    let (_, log) = engine
        .store()
        .get_task(&run.summary.id, "add-2")
        .expect("get")
        .expect("task");
    let log = std::fs::read_to_string(log.expect("log path")).expect("log");
    assert!(log.contains("KFP Executor"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_tasks_run_at_the_same_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 4);
    let started = std::time::Instant::now();
    let run = execute(&engine, "parallel_sleeps", &[("seconds", json!(1.0))]).await;
    let took = started.elapsed();
    assert_run(&run, RunState::Succeeded);
    let spans: Vec<(f64, f64)> = ["stamp", "stamp-2", "stamp-3", "stamp-4"]
        .iter()
        .map(|t| {
            let v: Vec<f64> =
                serde_json::from_str(output(&run, t, "Output").as_str().expect("stamp output"))
                    .expect("json");
            (v[0], v[1])
        })
        .collect();
    let latest_start = spans.iter().map(|s| s.0).fold(f64::MIN, f64::max);
    let earliest_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
    assert!(
        latest_start < earliest_end,
        "the four 1 s sleeps did not overlap: {spans:?}"
    );
    assert!(
        took.as_secs_f64() < 3.5,
        "4 parallel 1 s sleeps took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_limit_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 1);
    let run = execute(&engine, "parallel_sleeps", &[("seconds", json!(0.3))]).await;
    assert_run(&run, RunState::Succeeded);
    let mut spans: Vec<(f64, f64)> = ["stamp", "stamp-2", "stamp-3", "stamp-4"]
        .iter()
        .map(|t| {
            let v: Vec<f64> =
                serde_json::from_str(output(&run, t, "Output").as_str().expect("output"))
                    .expect("json");
            (v[0], v[1])
        })
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in spans.windows(2) {
        assert!(
            w[1].0 >= w[0].1,
            "tasks overlapped with a limit of 1: {spans:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_skip_the_tasks_of_a_false_branch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let big = execute(&engine, "condition", &[("x", json!(7))]).await;
    assert_run(&big, RunState::Succeeded);
    assert_eq!(task(&big, "condition-1").state, TaskState::Succeeded);
    assert_eq!(task(&big, "condition-1/say").state, TaskState::Succeeded);
    assert_eq!(output(&big, "condition-1/say", "Output"), json!("big"));
    assert_eq!(task(&big, "condition-2").state, TaskState::Skipped);
    assert_eq!(task(&big, "condition-2/say-2").state, TaskState::Skipped);
    assert!(task(&big, "condition-2")
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("condition is false"));

    let small = execute(&engine, "condition", &[("x", json!(3))]).await;
    assert_run(&small, RunState::Succeeded);
    assert_eq!(task(&small, "condition-1/say").state, TaskState::Skipped);
    assert_eq!(
        output(&small, "condition-2/say-2", "Output"),
        json!("small")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_elif_else_runs_one_branch_and_one_of_picks_its_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    for (x, chosen, ran) in [
        (20, "big", "condition-branches-1/condition-2/say"),
        (7, "medium", "condition-branches-1/condition-3/say-2"),
        (1, "small", "condition-branches-1/condition-4/say-3"),
    ] {
        let run = execute(&engine, "branches", &[("x", json!(x))]).await;
        assert_run(&run, RunState::Succeeded);
        assert_eq!(pipeline_output(&run, "Output"), json!(chosen), "x = {x}");
        assert_eq!(output(&run, "echo", "Output"), json!(chosen));
        let leaves: Vec<_> = run
            .tasks
            .iter()
            .filter(|t| t.path.contains("/say"))
            .collect();
        assert_eq!(leaves.len(), 3);
        for t in leaves {
            let want = if t.path == ran {
                TaskState::Succeeded
            } else {
                TaskState::Skipped
            };
            assert_eq!(t.state, want, "x = {x}: {}", t.path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_for_runs_every_item_and_collects_outputs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let run = execute(&engine, "loops", &[("n", json!(5))]).await;
    assert_run(&run, RunState::Succeeded);
    // A raw list, with parallelism 2.
    assert_eq!(task(&run, "for-loop-2").kind, TaskKind::Loop);
    for i in 0..3 {
        let it = task(&run, &format!("for-loop-2[{i}]"));
        assert_eq!(it.kind, TaskKind::Iteration);
        assert_eq!(it.state, TaskState::Succeeded);
        assert_eq!(
            output(&run, &format!("for-loop-2[{i}]/square"), "Output"),
            json!((i + 1) * (i + 1))
        );
    }
    assert_eq!(output(&run, "total", "Output"), json!(14));
    assert_eq!(pipeline_output(&run, "Output"), json!(14));
    // A pipeline parameter of dicts, with fields picked from each item.
    assert_eq!(output(&run, "join", "Output"), json!("x1,y2"));
    // A task's output list.
    assert_eq!(
        run.tasks
            .iter()
            .filter(|t| t.path.starts_with("for-loop-4[") && t.kind == TaskKind::Iteration)
            .count(),
        5
    );
    assert_eq!(output(&run, "stats", "lo"), json!(0));
    assert_eq!(output(&run, "stats", "hi"), json!(16));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_handlers_run_after_a_failure_and_see_the_final_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let run = execute(&engine, "exit_handler", &[]).await;
    assert_run(&run, RunState::Failed);
    assert_eq!(task(&run, "exit-handler-1/say").state, TaskState::Succeeded);
    let failed = task(&run, "exit-handler-1/fail-task");
    assert_eq!(failed.state, TaskState::Failed);
    assert!(
        failed.error.as_deref().unwrap_or_default().contains("boom"),
        "{:?}",
        failed.error
    );
    assert_eq!(task(&run, "exit-handler-1").state, TaskState::Failed);
    assert_eq!(task(&run, "report").state, TaskState::Succeeded);
    assert_eq!(
        output(&run, "report", "Output"),
        json!("FAILED:exit-handler-1")
    );
    assert!(run
        .summary
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("exit-handler-1/fail-task"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_skips_what_depends_on_it_unless_told_to_run_anyway() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let run = execute(&engine, "ignore_failure", &[]).await;
    assert_run(&run, RunState::Failed);
    assert_eq!(task(&run, "fail-task").state, TaskState::Failed);
    let by_msg = |msg: &str| {
        run.tasks
            .iter()
            .find(|t| {
                t.inputs
                    .as_ref()
                    .is_some_and(|i| i["parameters"]["msg"] == json!(msg))
            })
            .map(|t| t.path.clone())
    };
    // ignore_upstream_failure(): runs after the failure.
    let cleanup = by_msg("cleanup").expect("cleanup ran");
    assert_eq!(task(&run, &cleanup).state, TaskState::Succeeded);
    assert_eq!(output(&run, &cleanup, "Output"), json!("cleanup"));
    // Independent work still runs.
    let independent = by_msg("independent").expect("independent ran");
    assert_eq!(task(&run, &independent).state, TaskState::Succeeded);
    // Downstream of the failure: skipped, and so is what comes after.
    let skipped: Vec<_> = run
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Skipped)
        .collect();
    assert_eq!(skipped.len(), 2, "{}", states(&run));
    assert!(skipped.iter().all(|t| t
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("did not succeed")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_rerun_a_failing_task() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let markers = dir.path().join("markers");
    let run = execute(
        &engine,
        "retries",
        &[
            ("marker_dir", json!(markers.display().to_string())),
            ("fail_times", json!(2)),
        ],
    )
    .await;
    assert_run(&run, RunState::Succeeded);
    let t = task(&run, "flaky");
    assert_eq!(t.attempts, 3);
    assert_eq!(output(&run, "flaky", "Output"), json!(3));
    assert!(t.error.is_none(), "{:?}", t.error);

    let markers = dir.path().join("markers-2");
    let run = execute(
        &engine,
        "retries",
        &[
            ("marker_dir", json!(markers.display().to_string())),
            ("fail_times", json!(5)),
        ],
    )
    .await;
    assert_run(&run, RunState::Failed);
    let t = task(&run, "flaky");
    assert_eq!(t.state, TaskState::Failed);
    assert_eq!(t.attempts, 3);
    assert_eq!(std::fs::read_dir(&markers).expect("markers").count(), 3);
    assert!(t
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("after 3 attempts"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_pipelines_run_as_nested_dags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let run = execute(&engine, "outer", &[("a", json!(5))]).await;
    assert_run(&run, RunState::Succeeded);
    assert_eq!(task(&run, "inner").kind, TaskKind::Dag);
    assert_eq!(output(&run, "inner/add", "Output"), json!(6));
    assert_eq!(output(&run, "inner", "Output"), json!(6));
    assert_eq!(pipeline_output(&run, "Output"), json!(1006));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_for_over_artifacts_runs_once_per_artifact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    // A sub-pipeline collects three datasets; the loop (artifactIterator) reads each.
    let run = execute(&engine, "artifact_loop", &[]).await;
    assert_run(&run, RunState::Succeeded);
    assert_eq!(task(&run, "for-loop-1").kind, TaskKind::Loop);
    let mut read: Vec<i64> = (0..3)
        .map(|i| {
            output(&run, &format!("for-loop-1[{i}]/read-number"), "Output")
                .as_i64()
                .expect("an integer")
        })
        .collect();
    read.sort_unstable();
    assert_eq!(read, vec![10, 20, 30]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditions_read_loop_items_and_their_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let run = execute(&engine, "loop_conditions", &[("limit", json!(1))]).await;
    assert_run(&run, RunState::Succeeded);
    // `x.a == 2`: the field reaches the condition through a `-subvar-a` input and a selector.
    assert_eq!(
        task(&run, "for-loop-2[0]/condition-3").state,
        TaskState::Skipped
    );
    assert_eq!(
        output(&run, "for-loop-2[1]/condition-3/say", "Output"),
        json!("second")
    );
    // `i > limit` over make_list(4) = [0, 1, 2, 3]: only 2 and 3 pass.
    let ran: Vec<(String, TaskState)> = (0..4)
        .map(|k| {
            let t = task(&run, &format!("for-loop-4[{k}]/condition-5"));
            (t.path.clone(), t.state)
        })
        .collect();
    let states: Vec<TaskState> = ran.iter().map(|(_, s)| *s).collect();
    assert_eq!(
        states,
        vec![
            TaskState::Skipped,
            TaskState::Skipped,
            TaskState::Succeeded,
            TaskState::Succeeded
        ],
        "{ran:?}"
    );
    assert_eq!(
        output(&run, "for-loop-4[3]/condition-5/square", "Output"),
        json!(9)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_components_run_on_the_host_with_placeholders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let run = execute(&engine, "containers", &[("msg", json!("hello world"))]).await;
    assert_run(&run, RunState::Succeeded);
    assert_eq!(pipeline_output(&run, "Output"), json!(4));
    let w = task(&run, "write-lines");
    let note = w.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("busybox:1.36") && note.contains("not in the image"),
        "{note}"
    );
    // The node shows it too.
    let backing = w.backing.as_deref().unwrap_or_default();
    assert!(backing.starts_with("host: "), "{backing:?}");
    let uri = w.outputs.as_ref().expect("outputs")["artifacts"]["data"][0]["uri"]
        .as_str()
        .expect("uri")
        .to_string();
    assert_eq!(
        std::fs::read_to_string(uri).expect("artifact"),
        "hello world\n".repeat(4)
    );
    // IfPresent and Concat.
    let flags: Vec<String> = ["optional-flags", "optional-flags-2"]
        .iter()
        .map(|t| {
            output(&run, t, "out")
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(flags.contains(&"x\n".to_string()), "{flags:?}");
    assert!(flags.contains(&"x --flag <on>\n".to_string()), "{flags:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_program_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let run = execute(&engine, "missing_program", &[]).await;
    assert_run(&run, RunState::Failed);
    let err = task(&run, "needs-gcloud").error.clone().unwrap_or_default();
    assert!(err.contains("`gcloud-that-is-not-installed`"), "{err}");
    assert!(err.contains("cloud-sdk:slim"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importers_bring_a_local_file_into_the_pipeline_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let src = dir.path().join("outside.csv");
    std::fs::write(&src, "a,b\n").expect("write");
    let run = execute(
        &engine,
        "importer",
        &[("uri", json!(src.display().to_string()))],
    )
    .await;
    assert_run(&run, RunState::Succeeded);
    assert_eq!(task(&run, "importer").kind, TaskKind::Importer);
    assert_eq!(pipeline_output(&run, "Output"), json!("a,b\n|test"));
    let uri = task(&run, "importer").outputs.as_ref().expect("outputs")["artifacts"]["artifact"][0]
        ["uri"]
        .as_str()
        .expect("uri")
        .to_string();
    assert!(uri.starts_with(&run.root), "{uri}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_past_its_timeout_is_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let started = std::time::Instant::now();
    let run = run_spec(
        &engine,
        spec("timeout"),
        params(&[]),
        RunOptions {
            task_timeout_seconds: Some(1),
            ..RunOptions::default()
        },
    )
    .await;
    assert_run(&run, RunState::Failed);
    assert!(started.elapsed().as_secs() < 20);
    let err = task(&run, "sleep-secs").error.clone().unwrap_or_default();
    assert!(err.contains("timed out after 1s"), "{err}");

    // The Kubernetes platform spec's activeDeadlineSeconds (kfp-kubernetes set_timeout).
    let mut req = engine::RunRequest::new(spec("timeout"), params(&[]));
    req.platform_spec = Some(json!({"platforms": {"kubernetes": {"deploymentSpec": {
        "executors": {"exec-sleep-secs": {"activeDeadlineSeconds": 1}}
    }}}}));
    let id = engine.submit(req).expect("submit");
    assert_eq!(engine.wait(&id).await.expect("wait"), RunState::Failed);
    let run = engine.store().get_run(&id).expect("get").expect("run");
    let err = task(&run, "sleep-secs").error.clone().unwrap_or_default();
    assert!(err.contains("timed out after 1s"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_missing_parameters_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let req = engine::RunRequest::new(spec("chain"), params(&[("zz", json!(1))]));
    let err = engine
        .submit(req)
        .expect_err("unknown parameter")
        .to_string();
    assert!(err.contains("\"zz\"") && err.contains("a, b"), "{err}");
    let req = engine::RunRequest::new(spec("retries"), params(&[]));
    let err = engine.submit(req).expect_err("missing").to_string();
    assert!(err.contains("marker_dir"), "{err}");
    let req = engine::RunRequest::new(spec("chain"), params(&[("a", json!("x"))]));
    let err = engine.submit(req).expect_err("wrong type").to_string();
    assert!(err.contains("int"), "{err}");
}
