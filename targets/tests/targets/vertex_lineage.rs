//! Contract tests of lineage from Vertex ML Metadata against the in-process server speaking
//! the Vertex AI v1 REST wire format (`fake_remote`): camelCase JSON, integer enums (the
//! client asks `$alt=json;enum-encoding=int`) and once string enums, and the service's
//! `FAILED_PRECONDITION` refusal of a large subgraph, which the client pages by hops.

use std::collections::BTreeSet;

use crate::fake_remote::{self, Fake, MetadataGraph};
use api::{Lineage, TaskState};
use runs::RunStore;
use serde_json::json;
use targets::vertex_lineage::node_id;
use targets::TargetError;

use crate::fake_remote::{
    artifact_name, execution_name, lineage_chain as chain, METADATA_STORE as STORE,
};

const JOB: &str = "projects/my-project/locations/us-central1/pipelineJobs/train-job-1";

/// A fake serving `graph`, and targets pointed at it.
async fn serve(graph: MetadataGraph) -> (Fake, targets::Targets, tempfile::TempDir) {
    let fake = Fake::default();
    fake.lock().metadata = graph;
    let base = fake.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let t = fake_remote::targets(dir.path(), &base, 1);
    (fake, t, dir)
}

/// The nodes (ids) and edges (execution, artifact, type, port) of an answer.
type Shape = (BTreeSet<i64>, BTreeSet<(i64, i64, String, String)>);

fn shape(l: &Lineage) -> Shape {
    let nodes = l
        .artifacts
        .iter()
        .map(|a| a.id)
        .chain(l.executions.iter().map(|e| e.id))
        .collect();
    let edges = l
        .events
        .iter()
        .map(|e| {
            (
                e.execution_id,
                e.artifact_id,
                e.event_type.as_str().to_string(),
                e.port.clone(),
            )
        })
        .collect();
    (nodes, edges)
}

fn lineage_paths(fake: &Fake) -> Vec<String> {
    fake.requests()
        .into_iter()
        .map(|r| format!("{}?{}", r.path, r.query))
        .collect()
}

#[tokio::test]
async fn artifact_lineage_is_asked_in_one_query_with_max_hops() {
    let (fake, t, _dir) = serve(chain(false)).await;
    let l = t
        .vertex_artifact_lineage(&artifact_name("dataset"), 6, 100)
        .await
        .expect("lineage");
    assert_eq!(
        (l.artifacts.len(), l.executions.len(), l.events.len()),
        (4, 3, 6)
    );
    assert!(!l.truncated);
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1, "{:?}", lineage_paths(&fake));
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(
        reqs[0].path,
        format!(
            "/v1/{}:queryArtifactLineageSubgraph",
            artifact_name("dataset")
        )
    );
    assert!(reqs[0].query.contains("maxHops=6"), "{}", reqs[0].query);
    assert!(
        reqs[0].query.contains("enum-encoding=int"),
        "{}",
        reqs[0].query
    );
    assert_eq!(reqs[0].auth.as_deref(), Some("Bearer test-token"));
    // The mapping, from integer enums.
    let dataset = &l.artifacts[0];
    assert_eq!(dataset.id, node_id(&artifact_name("dataset")));
    assert_eq!(dataset.uri, "gs://bucket/dataset");
    assert_eq!(dataset.state, "LIVE");
    assert_eq!(dataset.metadata["rows"], 10);
    let states: Vec<TaskState> = l.executions.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [TaskState::Succeeded, TaskState::Cached, TaskState::Failed]
    );
    let train_in = l
        .events
        .iter()
        .find(|e| e.execution_id == node_id(&execution_name("train")) && e.port == "examples")
        .expect("the port from the label");
    assert_eq!(train_in.event_type.as_str(), "INPUT");
    assert!(l
        .events
        .iter()
        .any(|e| e.port == "model" && e.event_type.as_str() == "OUTPUT"));
}

#[tokio::test]
async fn a_refused_subgraph_is_paged_by_hops_into_the_same_graph() {
    let (_, whole_t, _d1) = serve(chain(false)).await;
    let whole = whole_t
        .vertex_artifact_lineage(&artifact_name("dataset"), 6, 100)
        .await
        .expect("whole");
    let mut limited = chain(false);
    limited.refuse_large = true;
    let (fake, t, _d2) = serve(limited).await;
    let paged = t
        .vertex_artifact_lineage(&artifact_name("dataset"), 6, 100)
        .await
        .expect("paged");
    assert_eq!(shape(&paged), shape(&whole));
    assert_eq!(paged.artifacts.len(), 4);
    assert!(!paged.truncated);
    let paths = lineage_paths(&fake);
    assert!(paths[0].contains(":queryArtifactLineageSubgraph?") && paths[0].contains("maxHops=6"));
    let one_hop = paths.iter().filter(|p| p.contains("maxHops=1")).count();
    let io = paths
        .iter()
        .filter(|p| p.contains(":queryExecutionInputsAndOutputs"))
        .count();
    // Each artifact within reach asked once for its executions (not `report`, 6 hops away:
    // the last), each execution once for its artifacts.
    assert_eq!((one_hop, io), (3, 3), "{paths:#?}");
    // Deeper than the graph asks nothing more.
    let deeper = t
        .vertex_artifact_lineage(&artifact_name("dataset"), 50, 100)
        .await
        .expect("deeper");
    assert_eq!(shape(&deeper), shape(&whole));
}

#[tokio::test]
async fn depth_limits_the_walk_with_and_without_paging() {
    for refuse in [false, true] {
        let mut g = chain(false);
        g.refuse_large = refuse;
        let (_, t, _d) = serve(g).await;
        let names = |l: &Lineage| -> Vec<String> {
            let mut v: Vec<String> = l.artifacts.iter().map(|a| a.name.clone()).collect();
            v.extend(l.executions.iter().map(|e| e.name.clone()));
            v.sort();
            v
        };
        let two = t
            .vertex_artifact_lineage(&artifact_name("dataset"), 2, 100)
            .await
            .expect("depth 2");
        assert_eq!(
            names(&two),
            ["dataset", "model", "train"],
            "refuse={refuse}"
        );
        assert_eq!(two.events.len(), 2);
        let three = t
            .vertex_artifact_lineage(&artifact_name("model"), 3, 100)
            .await
            .expect("depth 3 from the middle");
        assert_eq!(
            names(&three),
            ["dataset", "deploy", "endpoint", "model", "monitor", "train"],
            "refuse={refuse}"
        );
        let zero = t
            .vertex_artifact_lineage(&artifact_name("model"), 0, 100)
            .await
            .expect("depth 0");
        assert_eq!(names(&zero), ["model"]);
        assert!(!two.truncated && !three.truncated && !zero.truncated);
    }
}

#[tokio::test]
async fn the_node_cap_sets_truncated() {
    for refuse in [false, true] {
        let mut g = chain(false);
        g.refuse_large = refuse;
        let (_, t, _d) = serve(g).await;
        let l = t
            .vertex_artifact_lineage(&artifact_name("dataset"), 6, 3)
            .await
            .expect("capped");
        assert!(l.truncated, "refuse={refuse}");
        assert_eq!(l.artifacts.len() + l.executions.len(), 3);
        let names: BTreeSet<&str> = l
            .artifacts
            .iter()
            .map(|a| a.name.as_str())
            .chain(l.executions.iter().map(|e| e.name.as_str()))
            .collect();
        assert_eq!(
            names,
            BTreeSet::from(["dataset", "train", "model"]),
            "the nearest"
        );
        let exact = t
            .vertex_artifact_lineage(&artifact_name("dataset"), 6, 7)
            .await
            .expect("exactly the graph");
        assert!(!exact.truncated, "refuse={refuse}");
    }
}

#[tokio::test]
async fn string_enums_decode_too() {
    let (_, t, _d) = serve(chain(true)).await;
    let l = t
        .vertex_artifact_lineage(&artifact_name("dataset"), 6, 100)
        .await
        .expect("lineage");
    let (_, ti, _d2) = serve(chain(false)).await;
    let ints = ti
        .vertex_artifact_lineage(&artifact_name("dataset"), 6, 100)
        .await
        .expect("lineage");
    assert_eq!(l, ints);
    assert_eq!(l.executions[1].state, TaskState::Cached);
}

fn remote_run(dir: &std::path::Path, job: Option<&str>, target: &str) -> String {
    let store = RunStore::open(dir).expect("store");
    let id = format!("run-{target}-{}", job.unwrap_or("none").len());
    let run = runs::NewRun {
        id: id.clone(),
        pipeline_name: "train-pipeline".into(),
        pipeline_id: None,
        parameters: json!({}),
        spec: "{}".into(),
        platform_spec: None,
        document: None,
        options: json!({}),
        root: "gs://bucket/root".into(),
        rerun_of: None,
    };
    store.insert_run(&run).expect("insert");
    if let Some(job) = job {
        store
            .set_remote(
                &id,
                target,
                job,
                None,
                &json!({"project": "my-project", "region": "us-central1"}),
            )
            .expect("remote");
    }
    id
}

#[tokio::test]
async fn a_vertex_runs_lineage_is_its_jobs_context_paged_when_refused() {
    for refuse in [false, true] {
        let mut g = chain(false);
        g.refuse_large = refuse;
        let (fake, t, dir) = serve(g).await;
        let id = remote_run(dir.path(), Some(JOB), "vertex");
        let l = t.vertex_run_lineage(&id, 100).await.expect("run lineage");
        assert_eq!(
            (l.artifacts.len(), l.executions.len(), l.events.len()),
            (4, 3, 6),
            "refuse={refuse}"
        );
        assert!(!l.truncated);
        assert!(l
            .executions
            .iter()
            .all(|e| e.run_id == "train-job-1" && e.pipeline_name == "train-pipeline"));
        let paths = lineage_paths(&fake);
        assert!(
            paths[0].starts_with(&format!(
                "/v1/{STORE}/contexts/train-job-1:queryContextLineageSubgraph"
            )),
            "{paths:?}"
        );
        if refuse {
            let lists: Vec<&String> = paths
                .iter()
                .filter(|p| p.ends_with("/executions") || p.contains("/executions?"))
                .collect();
            assert_eq!(lists.len(), 2, "two pages of two: {paths:#?}");
            assert!(
                lists[0].contains(&format!(
                    "filter=in_context(\"{STORE}/contexts/train-job-1\")"
                )),
                "{}",
                lists[0]
            );
            assert!(lists[1].contains("pageToken=2"), "{}", lists[1]);
        }
        let capped = t.vertex_run_lineage(&id, 2).await.expect("capped");
        assert!(capped.truncated);
        assert_eq!(capped.artifacts.len() + capped.executions.len(), 2);
    }
}

#[tokio::test]
async fn errors_say_what_failed() {
    let (_, t, dir) = serve(chain(false)).await;
    let missing = t
        .vertex_artifact_lineage(&artifact_name("nope"), 2, 100)
        .await
        .expect_err("unknown artifact");
    assert!(
        matches!(missing, TargetError::Remote { status: 404, .. }),
        "{missing:?}"
    );
    let bad = t
        .vertex_artifact_lineage("gs://bucket/model", 2, 100)
        .await
        .expect_err("not a name");
    assert!(
        matches!(bad, TargetError::Invalid(_)) && bad.to_string().contains("metadataStores"),
        "{bad}"
    );
    let region = t
        .vertex_artifact_lineage(
            "projects/p/locations/evil.com:1/metadataStores/default/artifacts/a",
            2,
            100,
        )
        .await
        .expect_err("bad region");
    assert!(
        matches!(region, TargetError::Setting(_) | TargetError::Invalid(_)),
        "{region:?}"
    );
    let kfp = remote_run(dir.path(), Some("run-0001"), "kfp");
    let e = t
        .vertex_run_lineage(&kfp, 100)
        .await
        .expect_err("not vertex");
    assert!(e.to_string().contains("not a Vertex AI run"), "{e}");
    let e = t
        .vertex_run_lineage("no-such-run", 100)
        .await
        .expect_err("unknown");
    assert!(matches!(e, TargetError::NotFound(_)), "{e:?}");
    // The job's context is unknown to the service: its 404, verbatim.
    let gone = remote_run(
        dir.path(),
        Some("projects/my-project/locations/us-central1/pipelineJobs/gone"),
        "vertex",
    );
    let e = t
        .vertex_run_lineage(&gone, 100)
        .await
        .expect_err("unknown context");
    assert!(
        matches!(e, TargetError::Remote { status: 404, .. }),
        "{e:?}"
    );
}
