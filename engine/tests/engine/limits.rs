//! Numbers from a spec or a run request that used to panic a run's task (leaving the run
//! RUNNING for ever) are clamped or refused with an error naming the field: huge durations,
//! back-off factors, deadlines, parallelism limits and timeouts.

use crate::common::*;
use engine::{RunOptions, RunRequest, RunState, TaskState};
use pipeline::ir::PipelineSpec;
use serde_json::{json, Value};

/// `spec` changed through its JSON form.
fn edit(spec: PipelineSpec, f: impl FnOnce(&mut Value)) -> PipelineSpec {
    let mut v = serde_json::to_value(&spec).expect("spec to JSON");
    f(&mut v);
    serde_json::from_value(v).expect("edited spec")
}

/// The `retries` pipeline whose task has `policy` as its retry policy.
fn retries_with(policy: Value) -> PipelineSpec {
    edit(spec("retries"), |v| {
        v["root"]["dag"]["tasks"]["flaky"]["retryPolicy"] = policy;
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_retry_values_are_clamped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    // `1e30s` used to panic `Duration::from_secs_f64`; a factor of 1e308 used to panic
    // `Duration::mul_f64` on the second wait.
    for (n, policy) in [
        json!({"maxRetryCount": 2, "backoffDuration": "0s", "backoffMaxDuration": "1e30s"}),
        json!({"maxRetryCount": 2, "backoffDuration": "0.001s", "backoffFactor": 1.0e308,
               "backoffMaxDuration": "0.01s"}),
    ]
    .into_iter()
    .enumerate()
    {
        let marker = dir.path().join(format!("markers-{n}"));
        let run = run_spec(
            &engine,
            retries_with(policy),
            params(&[
                ("marker_dir", json!(marker.display().to_string())),
                ("fail_times", json!(2)),
            ]),
            RunOptions::default(),
        )
        .await;
        assert_run(&run, RunState::Succeeded);
        assert_eq!(task(&run, "flaky").attempts, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_retry_policy_fails_the_task_and_names_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    let run = run_spec(
        &engine,
        retries_with(json!({"maxRetryCount": 1, "backoffDuration": "5m"})),
        params(&[(
            "marker_dir",
            json!(dir.path().join("m").display().to_string()),
        )]),
        RunOptions::default(),
    )
    .await;
    assert_run(&run, RunState::Failed);
    let t = task(&run, "flaky");
    assert_eq!(t.state, TaskState::Failed);
    let err = t.error.as_deref().unwrap_or_default();
    assert!(
        err.contains("retryPolicy.backoffDuration") && err.contains("\"5m\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_deadlines_and_timeouts_are_clamped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    for deadline in [json!(1.0e30), json!("1e300")] {
        let mut req = RunRequest::new(spec("chain"), params(&[]));
        req.platform_spec = Some(json!({"platforms": {"kubernetes": {"deploymentSpec": {
            "executors": {"exec-add": {"activeDeadlineSeconds": deadline}}
        }}}}));
        req.options.enable_caching = Some(false);
        let id = engine.submit(req).expect("submit");
        assert_eq!(engine.wait(&id).await.expect("wait"), RunState::Succeeded);
    }
    let run = run_spec(
        &engine,
        spec("chain"),
        params(&[]),
        RunOptions {
            enable_caching: Some(false),
            task_timeout_seconds: Some(u64::MAX),
        },
    )
    .await;
    assert_run(&run, RunState::Succeeded);

    // Not a number: the task fails, naming the field.
    let mut req = RunRequest::new(spec("chain"), params(&[]));
    req.platform_spec = Some(json!({"platforms": {"kubernetes": {"deploymentSpec": {
        "executors": {"exec-add": {"activeDeadlineSeconds": "soon"}}
    }}}}));
    let id = engine.submit(req).expect("submit");
    assert_eq!(engine.wait(&id).await.expect("wait"), RunState::Failed);
    let run = engine.store().get_run(&id).expect("get").expect("run");
    let err = task(&run, "add").error.clone().unwrap_or_default();
    assert!(
        err.contains("activeDeadlineSeconds") && err.contains("\"soon\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallelism_limit_beyond_a_semaphore_runs_every_item() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path(), 2);
    for limit in [json!(1_i64 << 62), json!(i64::MAX)] {
        let spec = edit(spec("loops"), |v| {
            let tasks = v["root"]["dag"]["tasks"]
                .as_object_mut()
                .expect("root tasks");
            let mut found = false;
            for t in tasks.values_mut() {
                if t.get("parameterIterator").is_some() {
                    t["iteratorPolicy"] = json!({"parallelismLimit": limit});
                    found = true;
                }
            }
            assert!(found, "the loops pipeline has a loop at its root");
        });
        let run = run_spec(&engine, spec, params(&[]), RunOptions::default()).await;
        assert_run(&run, RunState::Succeeded);
    }
}
