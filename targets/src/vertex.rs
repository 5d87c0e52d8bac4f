//! Vertex AI Pipelines through Google's client (`google-cloud-aiplatform-v1`,
//! `PipelineService`): create a `PipelineJob` from the compiled spec, read its state and task
//! details, cancel it.
//!
//! The job is built as the official Python SDK builds it (`aiplatform.PipelineJob(...)`):
//! `pipelineSpec` is the compiled spec, `runtimeConfig` has `gcsOutputDirectory` (the pipeline
//! root) and the given `parameterValues`, the job id is `{pipeline-name}-{YYYYmmddHHMMSS}`
//! (plus a short random suffix, so two submissions in one second do not collide), and the
//! caching override sets `cachingOptions.enableCache` of every task, as `enable_caching=` does.

use std::collections::HashMap;

use google_cloud_aiplatform_v1::client::PipelineService;
use google_cloud_aiplatform_v1::model::{
    execution::State as ExecutionState, pipeline_job::RuntimeConfig,
    pipeline_task_detail::ArtifactList, pipeline_task_detail::State as TaskStateV, Artifact,
    EncryptionSpec, Execution, PipelineJob, PipelineState,
};
use google_cloud_gax::retry_policy::NeverRetry;
use serde_json::{Map, Value};

use crate::config::{check_project, check_region};
use crate::{RemoteStatus, RemoteTask, SubmitRequest, TargetError, VertexSettings};
use runs::{RunState, TaskState};

const SERVICE: &str = "Vertex AI";

/// The Vertex AI base URL of `region` (`https://{region}-aiplatform.googleapis.com`), or
/// `override_endpoint` for every region; an error when `region` is not a region name, which
/// could otherwise send the token to another host.
pub fn endpoint_for(override_endpoint: Option<&str>, region: &str) -> Result<String, TargetError> {
    check_region(region)?;
    Ok(match override_endpoint {
        Some(e) => e.to_string(),
        None => format!("https://{region}-aiplatform.googleapis.com"),
    })
}

/// The console page of a pipeline run.
pub fn console_link(project: &str, region: &str, job_id: &str) -> String {
    format!(
        "https://console.cloud.google.com/vertex-ai/locations/{region}/pipelines/runs/{job_id}?project={project}"
    )
}

/// Everything needed to create one pipeline job, checked before any request.
#[derive(Debug, Clone)]
pub struct VertexPlan {
    /// The project.
    pub project: String,
    /// The region.
    pub region: String,
    /// The pipeline root (`gs://…`).
    pub pipeline_root: String,
    /// `projects/{project}/locations/{region}`.
    pub parent: String,
    /// The job id chosen for it.
    pub job_id: String,
    /// `{parent}/pipelineJobs/{job_id}`.
    pub name: String,
    /// The console page.
    pub console_link: String,
    /// The job to create.
    pub job: PipelineJob,
}

fn required(
    value: &Option<String>,
    what: &str,
    flag: &str,
    key: &str,
) -> Result<String, TargetError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        _ => Err(TargetError::Setting(format!(
            "the Vertex AI {what} is not set: pass {flag} or set \"{key}\" in the vertex settings \
             (targets.json, PUT /api/targets)"
        ))),
    }
}

/// The job id the way the Python SDK makes it: the pipeline name lower-cased with runs of
/// other characters turned into `-`, then `-{YYYYmmddHHMMSS}`; plus `-{6 random hex}`.
pub fn job_id(pipeline_name: &str) -> String {
    let mut name = String::new();
    for c in pipeline_name.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let mut name = name.trim_matches('-').to_string();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "pipeline-");
    }
    let format = time::macros::format_description!("[year][month][day][hour][minute][second]");
    let stamp = time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default();
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let tail = format!("-{stamp}-{suffix}");
    name.truncate(128 - tail.len());
    let name = name.trim_end_matches('-');
    format!("{name}{tail}")
}

/// Sets `cachingOptions.enableCache` of every task of every DAG in the spec, as the SDK's
/// `enable_caching=` does.
pub fn set_caching(spec: &mut Map<String, Value>, enable: bool) {
    let mut dags: Vec<&mut Value> = Vec::new();
    for (key, value) in spec.iter_mut() {
        match (key.as_str(), value) {
            ("root", root) => dags.push(root),
            ("components", Value::Object(components)) => dags.extend(components.values_mut()),
            _ => {}
        }
    }
    for component in dags {
        if let Some(Value::Object(tasks)) = component.pointer_mut("/dag/tasks") {
            for task in tasks.values_mut() {
                if let Value::Object(t) = task {
                    t.insert(
                        "cachingOptions".into(),
                        serde_json::json!({ "enableCache": enable }),
                    );
                }
            }
        }
    }
}

/// Checks the settings (project, region, pipeline root) and builds the job.
pub fn plan(req: &SubmitRequest, s: &VertexSettings) -> Result<VertexPlan, TargetError> {
    let project = required(&s.project, "project", "--project", "project")?;
    check_project(&project)?;
    let region = required(&s.region, "region", "--region", "region")?;
    check_region(&region)?;
    let root = s
        .pipeline_root
        .clone()
        .or_else(|| req.run.spec.default_pipeline_root.clone());
    let pipeline_root = required(&root, "pipeline root", "--pipeline-root", "pipelineRoot")?;
    if !pipeline_root.starts_with("gs://") {
        return Err(TargetError::Setting(format!(
            "the Vertex AI pipeline root must be a Cloud Storage URI (gs://bucket/path), not {pipeline_root:?}"
        )));
    }
    let Value::Object(mut spec) = serde_json::to_value(&req.run.spec)
        .map_err(|e| TargetError::Invalid(format!("cannot serialize the spec: {e}")))?
    else {
        return Err(TargetError::Invalid("the spec is not a JSON object".into()));
    };
    if let Some(enable) = s.enable_caching {
        set_caching(&mut spec, enable);
    }
    let parameter_values: HashMap<String, Value> = req
        .run
        .parameters
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let display_name = req
        .display_name
        .clone()
        .unwrap_or_else(|| req.run.spec.pipeline_info.name.clone());
    let mut job = PipelineJob::new()
        .set_display_name(display_name)
        .set_pipeline_spec(spec)
        .set_labels(s.labels.clone())
        .set_runtime_config(
            RuntimeConfig::new()
                .set_gcs_output_directory(pipeline_root.clone())
                .set_parameter_values(parameter_values),
        );
    if let Some(sa) = s.service_account.as_deref().filter(|v| !v.is_empty()) {
        job = job.set_service_account(sa);
    }
    if let Some(n) = s.network.as_deref().filter(|v| !v.is_empty()) {
        job = job.set_network(n);
    }
    if let Some(k) = s.encryption_key.as_deref().filter(|v| !v.is_empty()) {
        job = job.set_encryption_spec(EncryptionSpec::new().set_kms_key_name(k));
    }
    let job_id = job_id(&req.run.spec.pipeline_info.name);
    let parent = format!("projects/{project}/locations/{region}");
    Ok(VertexPlan {
        name: format!("{parent}/pipelineJobs/{job_id}"),
        console_link: console_link(&project, &region, &job_id),
        project,
        region,
        pipeline_root,
        parent,
        job_id,
        job,
    })
}

/// A Google client error as a [`TargetError`]: the HTTP status and Google's error body
/// (`{"error": {code, message, status, details}}`) when the service answered, else what
/// failed. The client parses the body into a `google.rpc.Status`; it is written back in the
/// wire format, details included.
pub fn from_gax(e: google_cloud_gax::error::Error) -> TargetError {
    if let Some(status) = e.http_status_code() {
        let body = match (e.status(), e.http_payload()) {
            (_, Some(p)) if !p.is_empty() => String::from_utf8_lossy(p).into_owned(),
            (Some(s), _) => serde_json::json!({"error": {
                "code": status,
                "message": s.message,
                "status": s.code.name(),
                "details": serde_json::to_value(&s.details).unwrap_or(Value::Null),
            }})
            .to_string(),
            _ => e.to_string(),
        };
        return TargetError::Remote {
            service: SERVICE,
            status,
            body,
        };
    }
    if e.is_connect() || e.is_io() || e.is_timeout() || e.is_transport() {
        return TargetError::Connection {
            service: SERVICE,
            message: e.to_string(),
        };
    }
    if e.is_authentication() {
        // The client's own text ("Fetching the token resulted in transient errors. Subsequent
        // calls …") says nothing of the fix: keep its first sentence, then say what to do.
        let cause = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
        let first = cause
            .split(". ")
            .next()
            .unwrap_or(&cause)
            .trim_end_matches('.');
        return TargetError::Auth(format!(
            "cannot get Google credentials to call Vertex AI ({first}): run `gcloud auth \
             application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a service \
             account key file, or set {} to an access token (`gcloud auth print-access-token`)",
            crate::auth::ACCESS_TOKEN_ENV
        ));
    }
    TargetError::Service {
        service: SERVICE,
        message: e.to_string(),
    }
}

/// A timestamp as RFC 3339 text.
pub(crate) fn stamp<T: serde::Serialize>(t: Option<&T>) -> Option<String> {
    t.and_then(|t| serde_json::to_value(t).ok())
        .and_then(|v| v.as_str().map(str::to_string))
}

/// A task's inputs or outputs (`side`: `input` or `output`) in the engine's shape, from its
/// task detail: the artifacts by port as ML Metadata describes them (URI, schema, metadata,
/// the resource name), and the parameters its execution's metadata records as
/// `input:<name>` / `output:<name>`, as KFP writes them on Vertex AI. None when there is
/// neither.
fn task_io(
    artifacts: &HashMap<String, ArtifactList>,
    execution: Option<&Execution>,
    side: &str,
) -> Option<Value> {
    let mut ports = Map::new();
    for (port, list) in artifacts {
        let items: Vec<Value> = list.artifacts.iter().map(artifact_json).collect();
        ports.insert(port.clone(), Value::Array(items));
    }
    let prefix = format!("{side}:");
    let parameters: Map<String, Value> = execution
        .and_then(|e| e.metadata.as_ref())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
                .collect()
        })
        .unwrap_or_default();
    if ports.is_empty() && parameters.is_empty() {
        return None;
    }
    let mut io = Map::new();
    io.insert("parameters".into(), Value::Object(parameters));
    io.insert("artifacts".into(), Value::Object(ports));
    Some(Value::Object(io))
}

/// One ML Metadata artifact as the engine writes a runtime artifact.
fn artifact_json(a: &Artifact) -> Value {
    let name = if a.display_name.is_empty() {
        a.name.rsplit('/').next().unwrap_or_default().to_string()
    } else {
        a.display_name.clone()
    };
    let mut ty = Map::new();
    ty.insert("schemaTitle".into(), Value::String(a.schema_title.clone()));
    if !a.schema_version.is_empty() {
        ty.insert(
            "schemaVersion".into(),
            Value::String(a.schema_version.clone()),
        );
    }
    let mut out = Map::new();
    out.insert("name".into(), Value::String(name));
    out.insert("uri".into(), Value::String(a.uri.clone()));
    out.insert("type".into(), Value::Object(ty));
    out.insert(
        "metadata".into(),
        Value::Object(a.metadata.clone().unwrap_or_default()),
    );
    if !a.name.is_empty() {
        out.insert("resourceName".into(), Value::String(a.name.clone()));
    }
    Value::Object(out)
}

/// The run store's view of a job.
pub fn status_of(job: &PipelineJob) -> RemoteStatus {
    let state = match &job.state {
        PipelineState::Succeeded => RunState::Succeeded,
        PipelineState::Failed => RunState::Failed,
        PipelineState::Cancelled => RunState::Cancelled,
        PipelineState::Running | PipelineState::Cancelling | PipelineState::Paused => {
            RunState::Running
        }
        _ => RunState::Pending,
    };
    let remote_state = job
        .state
        .name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:?}", job.state));
    let error = job
        .error
        .as_ref()
        .filter(|s| !s.message.is_empty() || s.code != 0)
        .map(|s| s.message.clone());
    let details = job
        .job_detail
        .as_ref()
        .map(|d| d.task_details.as_slice())
        .unwrap_or_default();
    let by_id: HashMap<i64, &google_cloud_aiplatform_v1::model::PipelineTaskDetail> =
        details.iter().map(|t| (t.task_id, t)).collect();
    let is_root = |t: &google_cloud_aiplatform_v1::model::PipelineTaskDetail| {
        t.parent_task_id == 0 || !by_id.contains_key(&t.parent_task_id)
    };
    let path_of = |t: &google_cloud_aiplatform_v1::model::PipelineTaskDetail| -> String {
        let mut parts = vec![t.task_name.clone()];
        let mut cur = t;
        let mut guard = 0;
        while let Some(p) = by_id.get(&cur.parent_task_id) {
            if is_root(p) || guard > 64 {
                break;
            }
            parts.push(p.task_name.clone());
            cur = p;
            guard += 1;
        }
        parts.reverse();
        parts.join("/")
    };
    let mut tasks = Vec::new();
    for t in details {
        if is_root(t) {
            continue;
        }
        let path = path_of(t);
        let parent = by_id
            .get(&t.parent_task_id)
            .filter(|p| !is_root(p))
            .map(|p| path_of(p));
        let (state, note) = match &t.state {
            TaskStateV::Pending | TaskStateV::Unspecified => (TaskState::Pending, None),
            TaskStateV::Running | TaskStateV::CancelPending | TaskStateV::Cancelling => {
                (TaskState::Running, None)
            }
            TaskStateV::Succeeded => (TaskState::Succeeded, None),
            TaskStateV::Failed => (TaskState::Failed, None),
            TaskStateV::Cancelled => (TaskState::Cancelled, None),
            TaskStateV::Skipped => (TaskState::Skipped, None),
            TaskStateV::NotTriggered => (
                TaskState::Skipped,
                Some("not triggered: its condition was false".to_string()),
            ),
            _ => (TaskState::Running, None),
        };
        let error = t
            .error
            .as_ref()
            .filter(|s| !s.message.is_empty())
            .map(|s| s.message.clone())
            .or(note);
        // A task Vertex AI took from its cache has an execution in state CACHED.
        let cached = t
            .execution
            .as_ref()
            .is_some_and(|e| e.state == ExecutionState::Cached);
        let state = if cached { TaskState::Cached } else { state };
        tasks.push(RemoteTask {
            path,
            parent,
            name: t.task_name.clone(),
            state,
            inputs: task_io(&t.inputs, t.execution.as_ref(), "input"),
            outputs: task_io(&t.outputs, t.execution.as_ref(), "output"),
            started_at: stamp(t.start_time.as_ref()),
            ended_at: stamp(t.end_time.as_ref()),
            error,
            is_dag: details.iter().any(|c| c.parent_task_id == t.task_id),
        });
    }
    RemoteStatus {
        state,
        remote_state,
        error,
        tasks,
    }
}

/// A Vertex AI `PipelineService` client for one endpoint. Cheap to clone.
#[derive(Clone, Debug)]
pub struct VertexClient {
    client: PipelineService,
}

impl VertexClient {
    /// A client of `endpoint` with the given credentials; retries are done by the caller.
    pub async fn new(endpoint: &str, auth: &super::AuthSource) -> Result<Self, TargetError> {
        super::install_crypto_provider();
        let credentials = auth.credentials()?;
        let client = PipelineService::builder()
            .with_endpoint(endpoint)
            .with_credentials(credentials)
            .with_retry_policy(NeverRetry)
            .build()
            .await
            .map_err(|e| TargetError::Config(format!("cannot set up the Vertex AI client: {e}")))?;
        Ok(Self { client })
    }

    /// Creates the planned job; when it already exists (a retried create that had gone
    /// through), reads it instead.
    pub async fn create(&self, plan: &VertexPlan) -> Result<RemoteStatus, TargetError> {
        let created = self
            .client
            .create_pipeline_job()
            .set_parent(plan.parent.clone())
            .set_pipeline_job(plan.job.clone())
            .set_pipeline_job_id(plan.job_id.clone())
            .send()
            .await
            .map_err(from_gax);
        match created {
            Ok(job) => Ok(status_of(&job)),
            Err(TargetError::Remote { status: 409, .. }) => self.get(&plan.name).await,
            Err(e) => Err(e),
        }
    }

    /// The job's state and task details.
    pub async fn get(&self, name: &str) -> Result<RemoteStatus, TargetError> {
        let job = self
            .client
            .get_pipeline_job()
            .set_name(name)
            .send()
            .await
            .map_err(from_gax)?;
        Ok(status_of(&job))
    }

    /// Asks Vertex AI to cancel the job.
    pub async fn cancel(&self, name: &str) -> Result<(), TargetError> {
        self.client
            .cancel_pipeline_job()
            .set_name(name)
            .send()
            .await
            .map_err(from_gax)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_follow_the_sdk_pattern() {
        let id = job_id("My Pipeline_v2");
        assert!(id.starts_with("my-pipeline-v2-"), "{id}");
        assert!(id.len() <= 128);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
        let long = job_id(&"x".repeat(300));
        assert!(long.len() <= 128, "{}", long.len());
        assert!(job_id("9lives").starts_with("pipeline-9lives-"));
    }

    #[test]
    fn caching_override_reaches_nested_dags() {
        let mut spec = serde_json::json!({
            "root": {"dag": {"tasks": {"a": {}, "b": {"cachingOptions": {"enableCache": true}}}}},
            "components": {"comp-x": {"dag": {"tasks": {"c": {}}}}, "comp-y": {"executorLabel": "e"}}
        });
        let Value::Object(map) = &mut spec else {
            panic!("object")
        };
        set_caching(map, false);
        assert_eq!(
            spec["root"]["dag"]["tasks"]["a"]["cachingOptions"]["enableCache"],
            false
        );
        assert_eq!(
            spec["root"]["dag"]["tasks"]["b"]["cachingOptions"]["enableCache"],
            false
        );
        assert_eq!(
            spec["components"]["comp-x"]["dag"]["tasks"]["c"]["cachingOptions"]["enableCache"],
            false
        );
    }
}
