//! Kubeflow Pipelines through its v2beta1 REST API (`reqwest`, rustls), request for request as
//! the KFP SDK's `kfp.Client().create_run_from_pipeline_package` does it:
//! the experiment is looked up by name in the namespace
//! (`GET {host}/apis/v2beta1/experiments?filter=…&namespace=…`) and created when missing
//! (`POST …/experiments`); the run is created with its experiment id and the spec inline
//! (`POST …/runs`; `pipeline_spec` holds `{pipeline_spec, platform_spec}` when the pipeline has a
//! Kubernetes platform spec); followed with `GET …/runs/{id}`; cancelled with
//! `POST …/runs/{id}:terminate`. Field names are snake_case, states are strings (`PENDING`,
//! `RUNNING`, `SUCCEEDED`, `SKIPPED`, `FAILED`, `CANCELING`, `CANCELED`, `PAUSED`).

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::{KfpSettings, RemoteStatus, RemoteTask, SubmitRequest, TargetError};
use runs::{RunState, TaskState};

const SERVICE: &str = "Kubeflow Pipelines";

/// Everything needed to create one run, checked before any request.
#[derive(Debug, Clone)]
pub struct KfpPlan {
    /// The API's base URL, without a trailing `/`.
    pub host: String,
    /// The namespace.
    pub namespace: Option<String>,
    /// The name of the experiment the run is filed under (`Default` unless set).
    pub experiment: String,
    /// The pipeline root, when one is set.
    pub pipeline_root: Option<String>,
    /// The request body, without its `experiment_id` (see [`KfpPlan::body_in`]).
    pub body: Value,
}

/// The experiment runs go to when none is set, as with the KFP SDK.
pub const DEFAULT_EXPERIMENT: &str = "Default";

impl KfpPlan {
    /// The create-run body filed under the experiment `experiment_id`.
    pub fn body_in(&self, experiment_id: &str) -> Value {
        let mut body = self.body.clone();
        body["experiment_id"] = json!(experiment_id);
        body
    }
}

/// Checks the settings (host) and builds the request body.
pub fn plan(req: &SubmitRequest, s: &KfpSettings) -> Result<KfpPlan, TargetError> {
    let host = s
        .host
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            TargetError::Setting(
                "the Kubeflow Pipelines host is not set: pass --host or set \"host\" in the kfp \
                 settings (targets.json, PUT /api/targets)"
                    .into(),
            )
        })?
        .trim_end_matches('/')
        .to_string();
    if !(host.starts_with("http://") || host.starts_with("https://")) {
        return Err(TargetError::Setting(format!(
            "the Kubeflow Pipelines host must be an http:// or https:// URL, not {host:?}"
        )));
    }
    let spec = serde_json::to_value(&req.run.spec)
        .map_err(|e| TargetError::Invalid(format!("cannot serialize the spec: {e}")))?;
    let parameters: serde_json::Map<String, Value> = req
        .run
        .parameters
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let pipeline_root = s
        .pipeline_root
        .clone()
        .filter(|r| !r.is_empty())
        .or_else(|| req.run.spec.default_pipeline_root.clone());
    let mut runtime = json!({ "parameters": parameters });
    if let Some(root) = &pipeline_root {
        runtime["pipeline_root"] = json!(root);
    }
    let display_name = req
        .display_name
        .clone()
        .unwrap_or_else(|| req.run.spec.pipeline_info.name.clone());
    // The KFP client sends the platform spec next to the pipeline spec, in one object.
    let pipeline_spec = match req.run.platform_spec.as_ref() {
        Some(Value::Object(p)) if !p.is_empty() => json!({
            "pipeline_spec": spec,
            "platform_spec": p,
        }),
        _ => spec,
    };
    let body = json!({
        "display_name": display_name,
        "pipeline_spec": pipeline_spec,
        "runtime_config": runtime,
    });
    let experiment = s
        .experiment
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .unwrap_or(DEFAULT_EXPERIMENT)
        .to_string();
    Ok(KfpPlan {
        host,
        namespace: s
            .namespace
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string),
        experiment,
        pipeline_root,
        body,
    })
}

/// A warning when a bearer token would be sent over plain `http://` to `host` and `host` is
/// not this machine (`localhost`, `*.localhost`, a loopback address): anyone on the way can
/// read it. `None` for `https://`, loopback hosts, or no token.
pub fn plain_http_warning(host: &str, has_token: bool) -> Option<String> {
    if !has_token {
        return None;
    }
    let url = reqwest::Url::parse(host).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let name = url.host_str()?;
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    let loopback = match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let d = bare.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    };
    (!loopback).then(|| {
        format!(
            "the Kubeflow Pipelines token ({}) is sent over plain http to {host}, which is not \
             this machine: anyone on the network path can read it; use an https:// host",
            super::auth::KFP_TOKEN_ENV
        )
    })
}

/// The KFP UI page of a run.
pub fn console_link(host: &str, run_id: &str) -> String {
    format!("{}/#/runs/details/{run_id}", host.trim_end_matches('/'))
}

fn run_state(s: &str) -> RunState {
    match s {
        "SUCCEEDED" | "SKIPPED" => RunState::Succeeded,
        "FAILED" => RunState::Failed,
        "CANCELED" | "CANCELLED" => RunState::Cancelled,
        "RUNNING" | "CANCELING" | "PAUSED" => RunState::Running,
        _ => RunState::Pending,
    }
}

fn task_state(s: &str) -> TaskState {
    match s {
        "SUCCEEDED" => TaskState::Succeeded,
        "FAILED" => TaskState::Failed,
        "SKIPPED" => TaskState::Skipped,
        "CANCELED" | "CANCELLED" => TaskState::Cancelled,
        "RUNNING" | "CANCELING" | "PAUSED" => TaskState::Running,
        _ => TaskState::Pending,
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The run store's view of a v2beta1 run.
pub fn status_of(run: &Value) -> RemoteStatus {
    let remote_state = run["state"].as_str().unwrap_or("PENDING").to_string();
    let error = run["error"]["message"]
        .as_str()
        .filter(|m| !m.is_empty())
        .map(str::to_string);
    let details: Vec<&Value> = run["run_details"]["task_details"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let by_id: HashMap<String, &Value> = details
        .iter()
        .filter_map(|t| text(&t["task_id"]).map(|id| (id, *t)))
        .collect();
    let is_root = |t: &Value| text(&t["parent_task_id"]).is_none_or(|p| !by_id.contains_key(&p));
    let path_of = |t: &Value| -> String {
        let mut parts = vec![t["display_name"].as_str().unwrap_or_default().to_string()];
        let mut cur = t;
        for _ in 0..64 {
            let Some(p) = text(&cur["parent_task_id"]).and_then(|p| by_id.get(&p).copied()) else {
                break;
            };
            if is_root(p) {
                break;
            }
            parts.push(p["display_name"].as_str().unwrap_or_default().to_string());
            cur = p;
        }
        parts.reverse();
        parts.join("/")
    };
    let mut tasks = Vec::new();
    for t in &details {
        if is_root(t) {
            continue;
        }
        let id = text(&t["task_id"]);
        let parent = text(&t["parent_task_id"])
            .and_then(|p| by_id.get(&p).copied())
            .filter(|p| !is_root(p))
            .map(path_of);
        tasks.push(RemoteTask {
            path: path_of(t),
            parent,
            name: t["display_name"].as_str().unwrap_or_default().to_string(),
            state: task_state(t["state"].as_str().unwrap_or_default()),
            started_at: text(&t["start_time"]),
            ended_at: text(&t["end_time"]),
            error: t["error"]["message"]
                .as_str()
                .filter(|m| !m.is_empty())
                .map(str::to_string),
            is_dag: id.is_some_and(|id| {
                details
                    .iter()
                    .any(|c| text(&c["parent_task_id"]).as_deref() == Some(id.as_str()))
            }),
            inputs: None,
            outputs: None,
        });
    }
    RemoteStatus {
        state: run_state(&remote_state),
        remote_state,
        error,
        tasks,
    }
}

/// A client of one KFP installation. Cheap to clone.
#[derive(Clone)]
pub struct KfpClient {
    http: reqwest::Client,
    host: String,
    token: Option<String>,
}

impl std::fmt::Debug for KfpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KfpClient")
            .field("host", &self.host)
            .finish()
    }
}

fn from_reqwest(e: reqwest::Error) -> TargetError {
    if e.is_connect() {
        // Nothing answers there (refused, no such host): a wrong host or a port-forward not
        // running, which waiting does not mend, so it is not retried.
        let mut cause: &dyn std::error::Error = &e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        let at = e
            .url()
            .map(|u| format!(" at {}", u.origin().ascii_serialization()))
            .unwrap_or_default();
        return TargetError::Service {
            service: SERVICE,
            message: format!(
                "nothing answers{at} ({cause}): check the host (--host, or kfp.host in \
                 targets.json) and that the KFP API is reachable there, e.g. `kubectl \
                 port-forward -n kubeflow svc/ml-pipeline-ui 8080:80`"
            ),
        };
    }
    TargetError::Connection {
        service: SERVICE,
        message: e.to_string(),
    }
}

impl KfpClient {
    /// A client of `host`, sending `token` as a bearer token when given.
    pub fn new(http: reqwest::Client, host: &str, token: Option<String>) -> Self {
        Self {
            http,
            host: host.trim_end_matches('/').to_string(),
            token,
        }
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, TargetError> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req.send().await.map_err(from_reqwest)?;
        let status = resp.status();
        let body = resp.text().await.map_err(from_reqwest)?;
        if !status.is_success() {
            return Err(TargetError::Remote {
                service: SERVICE,
                status: status.as_u16(),
                body,
            });
        }
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).map_err(|e| TargetError::Service {
            service: SERVICE,
            message: format!("the answer is not JSON ({e}): {body}"),
        })
    }

    /// Creates a run; returns its id and status.
    pub async fn create(&self, body: &Value) -> Result<(String, RemoteStatus), TargetError> {
        let url = format!("{}/apis/v2beta1/runs", self.host);
        let run = self.call(self.http.post(url).json(body)).await?;
        let id = run["run_id"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| TargetError::Service {
                service: SERVICE,
                message: format!("the created run has no run_id: {run}"),
            })?
            .to_string();
        Ok((id, status_of(&run)))
    }

    /// The run's state and task details.
    pub async fn get(&self, run_id: &str) -> Result<RemoteStatus, TargetError> {
        let url = format!("{}/apis/v2beta1/runs/{run_id}", self.host);
        Ok(status_of(&self.call(self.http.get(url)).await?))
    }

    /// Asks KFP to stop the run (v2beta1's `:terminate`; it has no `:cancel`).
    pub async fn cancel(&self, run_id: &str) -> Result<(), TargetError> {
        let url = format!("{}/apis/v2beta1/runs/{run_id}:terminate", self.host);
        self.call(self.http.post(url)).await.map(|_| ())
    }

    /// The id of the experiment named `name` in `namespace`, created when there is none, as
    /// the KFP client does (a multi-user installation refuses runs without an experiment).
    pub async fn experiment_id(
        &self,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<String, TargetError> {
        let filter = json!({"predicates": [{
            // The KFP client's form: `EQUALS` as its enum number.
            "operation": 1,
            "key": "display_name",
            "stringValue": name,
        }]})
        .to_string();
        let url = format!("{}/apis/v2beta1/experiments", self.host);
        let mut query = vec![("filter", filter.as_str())];
        if let Some(ns) = namespace {
            query.push(("namespace", ns));
        }
        let found = self.call(self.http.get(&url).query(&query)).await?;
        let where_ = match namespace {
            Some(ns) => format!("in namespace {ns:?}"),
            None => "on the server".to_string(),
        };
        let experiments = found["experiments"].as_array().cloned().unwrap_or_default();
        let id_of = |e: &Value| -> Result<String, TargetError> {
            text(&e["experiment_id"]).ok_or_else(|| TargetError::Service {
                service: SERVICE,
                message: format!("the experiment {name:?} {where_} has no experiment_id: {e}"),
            })
        };
        match experiments.as_slice() {
            [one] => return id_of(one),
            [] => {}
            _ => {
                return Err(TargetError::Setting(format!(
                    "{} experiments are named {name:?} {where_}: set the kfp \"experiment\" to \
                     a name that is unique",
                    experiments.len()
                )))
            }
        }
        let mut body = json!({ "display_name": name });
        if let Some(ns) = namespace {
            body["namespace"] = json!(ns);
        }
        let created = self.call(self.http.post(&url).json(&body)).await?;
        id_of(&created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_over_plain_http_to_other_machines_are_warned_about() {
        for host in [
            "http://10.0.0.5:8080",
            "http://kfp.example.com",
            "http://[2001:db8::1]",
        ] {
            let w = plain_http_warning(host, true).expect(host);
            assert!(
                w.contains(host) && w.contains("PIPELINE_CANVAS_KFP_TOKEN"),
                "{w}"
            );
            assert_eq!(
                plain_http_warning(host, false),
                None,
                "no token, no warning"
            );
        }
        for host in [
            "https://kfp.example.com",
            "http://localhost:8080",
            "http://127.0.0.1:8888",
            "http://[::1]:8080",
            "http://kfp.localhost",
        ] {
            assert_eq!(plain_http_warning(host, true), None, "{host}");
        }
    }

    #[test]
    fn task_details_map_to_paths_and_states() {
        let run = json!({
            "run_id": "r1",
            "state": "RUNNING",
            "run_details": {"task_details": [
                {"task_id": "1", "display_name": "root", "state": "RUNNING"},
                {"task_id": "2", "parent_task_id": "1", "display_name": "condition-1", "state": "RUNNING"},
                {"task_id": "3", "parent_task_id": "2", "display_name": "train", "state": "FAILED",
                 "start_time": "2026-01-01T00:00:00Z", "error": {"message": "boom"}},
                {"task_id": "4", "parent_task_id": "1", "display_name": "prep", "state": "SKIPPED"}
            ]}
        });
        let s = status_of(&run);
        assert_eq!(s.state, RunState::Running);
        let paths: Vec<&str> = s.tasks.iter().map(|t| t.path.as_str()).collect();
        assert_eq!(paths, ["condition-1", "condition-1/train", "prep"]);
        assert!(s.tasks[0].is_dag);
        assert_eq!(s.tasks[1].parent.as_deref(), Some("condition-1"));
        assert_eq!(s.tasks[1].state, TaskState::Failed);
        assert_eq!(s.tasks[1].error.as_deref(), Some("boom"));
        assert_eq!(s.tasks[2].state, TaskState::Skipped);
        assert_eq!(run_state("CANCELED"), RunState::Cancelled);
    }
}
