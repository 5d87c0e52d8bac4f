//! Following many open remote runs with one process: 500 Vertex AI pipeline jobs are submitted
//! to the in-process Vertex AI stand-in (`tests/fake_remote`), each turning RUNNING after 1 s
//! and SUCCEEDED after 10 s by the clock; the backend follows all of them until they end.
//!
//! Prints the memory of the process (RSS and peak from /proc/self/status; the stand-in server
//! runs in the same process), the time to submit, the polls the server answered, and the
//! latency from each job's state change (its SUCCEEDED instant) to the run event. Asserts
//! nothing about time.
//!
//! `cargo bench -p pipeline-canvas --bench targets` (`BENCH_RUNS`, `BENCH_POLL_INITIAL_MS`,
//! `BENCH_POLL_MAX_MS` change the run count and the polling intervals).

#[path = "../tests/targets/fake_remote.rs"]
mod fake_remote;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use fake_remote::Fake;
use runs::{EngineEvent, Events, RunRequest, RunState, RunStore};
use serde_json::{json, Value};
use targets::{
    AuthSource, FollowConfig, RetryConfig, SubmitRequest, Target, Targets, TargetsOptions,
    VertexSettings,
};

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let runs = env_u64("BENCH_RUNS", 500) as usize;
    let initial = Duration::from_millis(env_u64("BENCH_POLL_INITIAL_MS", 1000));
    let max = Duration::from_millis(env_u64("BENCH_POLL_MAX_MS", 5000));
    let running_after = Duration::from_secs(1);
    let succeed_after = Duration::from_secs(10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let rss_start = status_kib("VmRSS:");
        let fake = Fake::default();
        {
            let mut st = fake.lock();
            st.timed = Some((running_after, succeed_after));
            st.quiet_gets = true;
        }
        let base = fake.start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = RunStore::open(dir.path()).expect("store");
        let events = Events::new();
        let targets = Targets::new(
            store.clone(),
            events.clone(),
            dir.path(),
            TargetsOptions {
                follow: FollowConfig {
                    initial,
                    max,
                    multiplier: 1.5,
                },
                retry: RetryConfig::default(),
                vertex_endpoint: Some(base),
                auth: AuthSource::Static("bench".into()),
                kfp_token: None,
            },
        )
        .expect("targets");
        let spec: pipeline::ir::PipelineSpec = serde_json::from_value(json!({
            "pipelineInfo": {"name": "bench-pipeline"},
            "components": {"comp-a": {"executorLabel": "exec-a"}},
            "deploymentSpec": {"executors": {"exec-a": {"container": {"image": "alpine"}}}},
            "root": {"dag": {"tasks": {"a": {"componentRef": {"name": "comp-a"}, "taskInfo": {"name": "a"}}}}},
            "schemaVersion": "2.1.0"
        }))
        .expect("spec");
        let settings = VertexSettings {
            project: Some("bench".into()),
            region: Some("us-central1".into()),
            pipeline_root: Some("gs://bench/root".into()),
            ..VertexSettings::default()
        };
        let mut rx = events.subscribe();
        let start = Instant::now();
        let mut names: HashMap<String, String> = HashMap::new();
        for _ in 0..runs {
            let mut req = SubmitRequest::new(RunRequest::new(spec.clone(), BTreeMap::<String, Value>::new()));
            req.vertex = settings.clone();
            let s = targets.submit(Target::Vertex, req).await.expect("submit");
            names.insert(s.id, s.remote_name);
        }
        let submit_secs = start.elapsed().as_secs_f64();
        let rss_submitted = status_kib("VmRSS:");
        let mut ended: HashMap<String, Instant> = HashMap::new();
        let mut rss_following = 0;
        let deadline = Instant::now() + succeed_after + max * 4 + Duration::from_secs(60);
        while ended.len() < runs && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
                Ok(Ok(EngineEvent::Run(r))) if r.state == RunState::Succeeded => {
                    ended.entry(r.run_id).or_insert_with(Instant::now);
                }
                Ok(Ok(_)) => {}
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                    eprintln!("(lagged {n} events)");
                }
                Ok(Err(_)) => break,
                Err(_) => {}
            }
            if rss_following == 0 && start.elapsed() > succeed_after / 2 {
                rss_following = status_kib("VmRSS:");
            }
        }
        let total = start.elapsed().as_secs_f64();
        let (created, gets) = {
            let st = fake.lock();
            let created: HashMap<String, Instant> =
                st.jobs.iter().map(|(k, j)| (k.clone(), j.created)).collect();
            (created, st.gets)
        };
        let mut latencies: Vec<f64> = ended
            .iter()
            .filter_map(|(id, at)| {
                let flip = *created.get(names.get(id)?)? + succeed_after;
                Some(at.saturating_duration_since(flip).as_secs_f64() * 1000.0)
            })
            .collect();
        latencies.sort_by(f64::total_cmp);
        println!("remote targets benchmark: {runs} Vertex AI runs followed by one process");
        println!(
            "  polling: first {} ms, growing x1.5 to at most {} ms; jobs RUNNING at 1 s, SUCCEEDED at 10 s",
            initial.as_millis(),
            max.as_millis()
        );
        println!("  submitted {runs} runs in {submit_secs:.2} s ({:.1} ms each)", submit_secs * 1000.0 / runs as f64);
        println!("  runs ended: {} of {runs} after {total:.1} s; polls answered: {gets} ({:.0}/s)", ended.len(), gets as f64 / total);
        println!(
            "  memory: RSS {:.1} MiB at start, {:.1} MiB after submitting, {:.1} MiB while following, peak {:.1} MiB (stand-in server included)",
            rss_start as f64 / 1024.0,
            rss_submitted as f64 / 1024.0,
            rss_following as f64 / 1024.0,
            status_kib("VmHWM:") as f64 / 1024.0
        );
        println!(
            "  state change -> event latency: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms (bounded by the poll interval)",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            latencies.last().copied().unwrap_or(f64::NAN)
        );
    });
}
