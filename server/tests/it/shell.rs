//! Pipelines of shell commands, written as specs by hand: container components whose command
//! is `sh -c <script>` (on the host when no container runtime is there). Used by the runs API
//! tests and the load benchmark; no Python needed.

#![allow(dead_code)]

use serde_json::{json, Map, Value};

/// A spec named `name` of independent tasks `(task name, shell script)`.
pub fn shell_spec(name: &str, tasks: &[(&str, &str)]) -> Value {
    let mut components = Map::new();
    let mut executors = Map::new();
    let mut dag = Map::new();
    for (task, script) in tasks {
        components.insert(
            format!("comp-{task}"),
            json!({ "executorLabel": format!("exec-{task}") }),
        );
        executors.insert(
            format!("exec-{task}"),
            json!({ "container": { "image": "alpine:3.19", "command": ["sh", "-c", script] } }),
        );
        dag.insert(
            (*task).to_string(),
            json!({
                "cachingOptions": {},
                "componentRef": { "name": format!("comp-{task}") },
                "taskInfo": { "name": task },
            }),
        );
    }
    json!({
        "components": components,
        "deploymentSpec": { "executors": executors },
        "pipelineInfo": { "name": name },
        "root": { "dag": { "tasks": dag } },
        "schemaVersion": "2.1.0",
        "sdkVersion": "kfp-2.17.3",
    })
}
