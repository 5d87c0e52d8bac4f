//! Lineage from Vertex ML Metadata, through Google's client (`google-cloud-aiplatform-v1`,
//! `MetadataService`), mapped into the run store's lineage model ([`api::Lineage`]).
//!
//! - Around an artifact ([`VertexMetadataClient::artifact_lineage`]):
//!   `QueryArtifactLineageSubgraph` with `maxHops = depth`. A hop is one artifact–execution
//!   edge, as in ML Metadata and the local store (`runs::lineage`).
//! - A whole pipeline job ([`VertexMetadataClient::context_lineage`]):
//!   `QueryContextLineageSubgraph` on the job's context
//!   (`projects/P/locations/L/metadataStores/default/contexts/<job id>`).
//!
//! The service refuses a subgraph of more than 1,000 nodes with `FAILED_PRECONDITION`. Then
//! the query is paged: around an artifact, breadth-first by hops — an artifact's executions
//! from `QueryArtifactLineageSubgraph` with `maxHops = 1`, an execution's artifacts from
//! `QueryExecutionInputsAndOutputs` — until `depth` hops or the node cap; for a job, its
//! executions are listed (`ListExecutions` with the documented filter
//! `in_context("<context>")`, page by page) and each one's inputs and outputs asked with
//! `QueryExecutionInputsAndOutputs`, until the node cap. Nodes are deduplicated by resource
//! name; the answer says `truncated` when the cap cut it.
//!
//! [`to_lineage`] is the pure mapping. Its ids are stable positive `i64`s derived from the
//! resource names ([`node_id`], 63-bit FNV-1a): the same artifact has the same id in every
//! answer. Two names would share an id with a probability of about n²/2⁶⁴ (for a million
//! nodes, about 1 in 36 million), so collisions are astronomically unlikely, but such ids are
//! not the run store's ids: they name nodes of this answer only.

use std::collections::{HashMap, HashSet, VecDeque};

use google_cloud_aiplatform_v1::client::MetadataService;
use google_cloud_aiplatform_v1::model::{
    artifact::State as ArtifactState, event::Type as EventType, execution::State as ExecState,
    Artifact, Event, Execution, LineageSubgraph,
};
use google_cloud_gax::error::rpc::Code;
use google_cloud_gax::retry_policy::NeverRetry;
use serde_json::{Map, Value};

use api::{Lineage, LineageArtifact, LineageEvent, LineageEventType, LineageExecution, TaskState};

use crate::config::check_region;
use crate::vertex::{from_gax, stamp};
use crate::TargetError;

/// The page size of `ListExecutions` when a job's lineage is paged.
const LIST_PAGE: i32 = 100;

/// A stable positive id for a resource name: its 64-bit FNV-1a hash with the top bit cleared
/// (0 becomes 1). Deterministic across runs and machines.
pub fn node_id(resource_name: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in resource_name.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let id = (h & (u64::MAX >> 1)) as i64;
    id.max(1)
}

/// The parts of a Vertex metadata resource name
/// `projects/P/locations/L/metadataStores/S/{kind}/ID`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataName {
    /// The project.
    pub project: String,
    /// The region.
    pub region: String,
    /// The metadata store (`default`).
    pub store: String,
    /// The id.
    pub id: String,
}

impl MetadataName {
    /// Parses `name`, which must be of kind `kind` (`artifacts`, `contexts`, `executions`);
    /// the error says the expected shape.
    pub fn parse(name: &str, kind: &str) -> Result<Self, TargetError> {
        let parts: Vec<&str> = name.split('/').collect();
        let shape = || {
            TargetError::Invalid(format!(
                "{name:?} is not a Vertex ML Metadata resource name: expected \
                 projects/PROJECT/locations/REGION/metadataStores/default/{kind}/ID"
            ))
        };
        match parts.as_slice() {
            ["projects", p, "locations", l, "metadataStores", s, k, id]
                if *k == kind && [p, l, s, id].iter().all(|x| !x.is_empty()) =>
            {
                check_region(l)?;
                Ok(Self {
                    project: p.to_string(),
                    region: l.to_string(),
                    store: s.to_string(),
                    id: id.to_string(),
                })
            }
            _ => Err(shape()),
        }
    }
}

/// The ML Metadata context of a pipeline job
/// (`projects/P/locations/L/pipelineJobs/ID` → `projects/P/locations/L/metadataStores/default/contexts/ID`),
/// with the job id.
pub fn job_context(job_name: &str) -> Result<(String, String), TargetError> {
    match job_name.split('/').collect::<Vec<_>>().as_slice() {
        ["projects", p, "locations", l, "pipelineJobs", id]
            if [p, l, id].iter().all(|x| !x.is_empty()) =>
        {
            check_region(l)?;
            Ok((
                format!("projects/{p}/locations/{l}/metadataStores/default/contexts/{id}"),
                id.to_string(),
            ))
        }
        _ => Err(TargetError::Invalid(format!(
            "{job_name:?} is not a Vertex AI pipeline job name \
             (projects/PROJECT/locations/REGION/pipelineJobs/ID)"
        ))),
    }
}

/// A lineage subgraph as gathered: nodes by resource name, events deduplicated, whether the
/// node cap cut it.
#[derive(Debug, Default, Clone)]
pub struct Gathered {
    /// The artifacts, in the order reached.
    pub artifacts: Vec<Artifact>,
    /// The executions, in the order reached.
    pub executions: Vec<Execution>,
    /// The events between them.
    pub events: Vec<Event>,
    /// Whether the node cap cut the walk short.
    pub truncated: bool,
}

impl Gathered {
    fn nodes(&self) -> usize {
        self.artifacts.len() + self.executions.len()
    }

    /// As a `LineageSubgraph` (for [`to_lineage`]).
    pub fn subgraph(&self) -> LineageSubgraph {
        LineageSubgraph::new()
            .set_artifacts(self.artifacts.clone())
            .set_executions(self.executions.clone())
            .set_events(self.events.clone())
    }
}

/// Accumulates nodes and events, deduplicated by resource name, up to a cap.
struct Builder {
    cap: usize,
    artifacts: HashMap<String, usize>,
    executions: HashMap<String, usize>,
    events: HashSet<(String, String, i32)>,
    out: Gathered,
}

impl Builder {
    fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            artifacts: HashMap::new(),
            executions: HashMap::new(),
            events: HashSet::new(),
            out: Gathered::default(),
        }
    }

    /// Adds an artifact; `Some(true)` when new, `Some(false)` when known, `None` when the cap
    /// refused it (and `truncated` is set).
    fn artifact(&mut self, a: &Artifact) -> Option<bool> {
        if self.artifacts.contains_key(&a.name) {
            return Some(false);
        }
        if self.out.nodes() >= self.cap {
            self.out.truncated = true;
            return None;
        }
        self.artifacts
            .insert(a.name.clone(), self.out.artifacts.len());
        self.out.artifacts.push(a.clone());
        Some(true)
    }

    fn execution(&mut self, e: &Execution) -> Option<bool> {
        if self.executions.contains_key(&e.name) {
            return Some(false);
        }
        if self.out.nodes() >= self.cap {
            self.out.truncated = true;
            return None;
        }
        self.executions
            .insert(e.name.clone(), self.out.executions.len());
        self.out.executions.push(e.clone());
        Some(true)
    }

    /// Keeps the events whose two ends are both kept.
    fn finish(mut self, events: impl IntoIterator<Item = Event>) -> Gathered {
        for ev in events {
            if !self.artifacts.contains_key(&ev.artifact)
                || !self.executions.contains_key(&ev.execution)
            {
                continue;
            }
            let key = (
                ev.artifact.clone(),
                ev.execution.clone(),
                ev.r#type.value().unwrap_or(0),
            );
            if self.events.insert(key) {
                self.out.events.push(ev);
            }
        }
        self.out
    }
}

/// Which node a walk reached.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Node {
    Artifact(String),
    Execution(String),
}

/// Cuts a subgraph the service returned whole to `depth` hops and `cap` nodes, breadth-first
/// from artifact `start` (the nearest nodes are kept).
pub fn cut_around(sub: &LineageSubgraph, start: &str, depth: u32, cap: usize) -> Gathered {
    let artifacts: HashMap<&str, &Artifact> =
        sub.artifacts.iter().map(|a| (a.name.as_str(), a)).collect();
    let executions: HashMap<&str, &Execution> = sub
        .executions
        .iter()
        .map(|e| (e.name.as_str(), e))
        .collect();
    let mut by_artifact: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut by_execution: HashMap<&str, Vec<&str>> = HashMap::new();
    for ev in &sub.events {
        by_artifact
            .entry(ev.artifact.as_str())
            .or_default()
            .push(ev.execution.as_str());
        by_execution
            .entry(ev.execution.as_str())
            .or_default()
            .push(ev.artifact.as_str());
    }
    let mut b = Builder::new(cap);
    let Some(first) = artifacts.get(start) else {
        return b.finish([]);
    };
    b.artifact(first);
    let mut queue = VecDeque::from([(Node::Artifact(start.to_string()), 0u32)]);
    'walk: while let Some((node, d)) = queue.pop_front() {
        if d >= depth {
            continue;
        }
        match node {
            Node::Artifact(name) => {
                for e in by_artifact.get(name.as_str()).into_iter().flatten() {
                    let Some(exec) = executions.get(e) else {
                        continue;
                    };
                    match b.execution(exec) {
                        Some(true) => queue.push_back((Node::Execution(e.to_string()), d + 1)),
                        Some(false) => {}
                        None => break 'walk,
                    }
                }
            }
            Node::Execution(name) => {
                for a in by_execution.get(name.as_str()).into_iter().flatten() {
                    let Some(art) = artifacts.get(a) else {
                        continue;
                    };
                    match b.artifact(art) {
                        Some(true) => queue.push_back((Node::Artifact(a.to_string()), d + 1)),
                        Some(false) => {}
                        None => break 'walk,
                    }
                }
            }
        }
    }
    b.finish(sub.events.iter().cloned())
}

/// Keeps a job's executions in the order given, each with its artifacts, until `cap` nodes.
pub fn cut_by_executions(sub: &LineageSubgraph, cap: usize) -> Gathered {
    let artifacts: HashMap<&str, &Artifact> =
        sub.artifacts.iter().map(|a| (a.name.as_str(), a)).collect();
    let mut by_execution: HashMap<&str, Vec<&str>> = HashMap::new();
    for ev in &sub.events {
        by_execution
            .entry(ev.execution.as_str())
            .or_default()
            .push(ev.artifact.as_str());
    }
    let mut b = Builder::new(cap);
    'walk: for e in &sub.executions {
        if b.execution(e).is_none() {
            break;
        }
        for a in by_execution.get(e.name.as_str()).into_iter().flatten() {
            if let Some(art) = artifacts.get(a) {
                if b.artifact(art).is_none() {
                    break 'walk;
                }
            }
        }
    }
    // Artifacts linked to no execution (a context may hold some) come last.
    if !b.out.truncated {
        for a in &sub.artifacts {
            if b.artifact(a).is_none() {
                break;
            }
        }
    }
    b.finish(sub.events.iter().cloned())
}

/// Whether a Google error is the service's refusal of a subgraph too large to answer at once
/// (`FAILED_PRECONDITION`).
fn too_large(e: &google_cloud_gax::error::Error) -> bool {
    if e.status()
        .is_some_and(|s| s.code == Code::FailedPrecondition)
    {
        return true;
    }
    e.http_status_code() == Some(400)
        && e.http_payload()
            .is_some_and(|p| String::from_utf8_lossy(p).contains("FAILED_PRECONDITION"))
}

/// Says which call failed, keeping the error's kind.
fn during(e: TargetError, what: &str) -> TargetError {
    match e {
        TargetError::Service { service, message } => TargetError::Service {
            service,
            message: format!("{what}: {message}"),
        },
        TargetError::Connection { service, message } => TargetError::Connection {
            service,
            message: format!("{what}: {message}"),
        },
        other => {
            tracing::warn!(error = %other, what, "Vertex ML Metadata call failed");
            other
        }
    }
}

/// A Vertex AI `MetadataService` client for one endpoint. Cheap to clone.
#[derive(Clone, Debug)]
pub struct VertexMetadataClient {
    client: MetadataService,
}

impl VertexMetadataClient {
    /// A client of `endpoint` with the given credentials (as [`crate::vertex::VertexClient`]
    /// is built); no retries.
    pub async fn new(endpoint: &str, auth: &crate::AuthSource) -> Result<Self, TargetError> {
        crate::install_crypto_provider();
        let credentials = auth.credentials()?;
        let client = MetadataService::builder()
            .with_endpoint(endpoint)
            .with_credentials(credentials)
            .with_retry_policy(NeverRetry)
            .build()
            .await
            .map_err(|e| {
                TargetError::Config(format!("cannot set up the Vertex ML Metadata client: {e}"))
            })?;
        Ok(Self { client })
    }

    async fn artifact_subgraph(
        &self,
        artifact: &str,
        hops: i32,
    ) -> Result<LineageSubgraph, google_cloud_gax::error::Error> {
        self.client
            .query_artifact_lineage_subgraph()
            .set_artifact(artifact)
            .set_max_hops(hops)
            .send()
            .await
    }

    async fn execution_io(&self, execution: &str) -> Result<LineageSubgraph, TargetError> {
        self.client
            .query_execution_inputs_and_outputs()
            .set_execution(execution)
            .send()
            .await
            .map_err(|e| {
                during(
                    from_gax(e),
                    &format!("the inputs and outputs of execution {execution}"),
                )
            })
    }

    /// The lineage around artifact `artifact` (its resource name): `depth` hops, at most
    /// `max_nodes` artifacts and executions. Paged by hops when the service refuses the whole
    /// subgraph (see the module's documentation).
    pub async fn artifact_lineage(
        &self,
        artifact: &str,
        depth: u32,
        max_nodes: usize,
    ) -> Result<Gathered, TargetError> {
        MetadataName::parse(artifact, "artifacts")?;
        let hops = i32::try_from(depth).unwrap_or(i32::MAX);
        match self.artifact_subgraph(artifact, hops).await {
            Ok(sub) => {
                if !sub.artifacts.iter().any(|a| a.name == artifact) {
                    return Err(TargetError::NotFound(artifact.to_string()));
                }
                Ok(cut_around(&sub, artifact, depth, max_nodes))
            }
            Err(e) if too_large(&e) => {
                tracing::info!(
                    artifact,
                    depth,
                    "Vertex ML Metadata refused the whole subgraph; paging it by hops"
                );
                self.artifact_lineage_paged(artifact, depth, max_nodes)
                    .await
            }
            Err(e) => Err(during(
                from_gax(e),
                &format!("the lineage subgraph of artifact {artifact}"),
            )),
        }
    }

    /// [`Self::artifact_lineage`] one hop per request, breadth-first.
    async fn artifact_lineage_paged(
        &self,
        artifact: &str,
        depth: u32,
        max_nodes: usize,
    ) -> Result<Gathered, TargetError> {
        let hop = |name: &str| format!("one hop of the lineage of artifact {name}");
        let first = self
            .artifact_subgraph(artifact, i32::from(depth > 0))
            .await
            .map_err(|e| during(from_gax(e), &hop(artifact)))?;
        let Some(start) = first.artifacts.iter().find(|a| a.name == artifact) else {
            return Err(TargetError::NotFound(artifact.to_string()));
        };
        let mut b = Builder::new(max_nodes);
        b.artifact(start);
        let mut events: Vec<Event> = Vec::new();
        let mut pending = Some(first);
        let mut frontier = vec![Node::Artifact(artifact.to_string())];
        let mut requests = 1u32;
        for _ in 0..depth {
            let mut next = Vec::new();
            for node in &frontier {
                match node {
                    Node::Artifact(name) => {
                        let sub = match pending.take() {
                            Some(sub) => sub,
                            None => {
                                requests += 1;
                                self.artifact_subgraph(name, 1)
                                    .await
                                    .map_err(|e| during(from_gax(e), &hop(name)))?
                            }
                        };
                        let linked: HashSet<&str> = sub
                            .events
                            .iter()
                            .filter(|ev| &ev.artifact == name)
                            .map(|ev| ev.execution.as_str())
                            .collect();
                        for exec in sub
                            .executions
                            .iter()
                            .filter(|e| linked.contains(e.name.as_str()))
                        {
                            match b.execution(exec) {
                                Some(true) => next.push(Node::Execution(exec.name.clone())),
                                Some(false) => {}
                                None => break,
                            }
                        }
                        events.extend(sub.events.iter().cloned());
                    }
                    Node::Execution(name) => {
                        requests += 1;
                        let sub = self.execution_io(name).await?;
                        for art in &sub.artifacts {
                            match b.artifact(art) {
                                Some(true) => next.push(Node::Artifact(art.name.clone())),
                                Some(false) => {}
                                None => break,
                            }
                        }
                        events.extend(sub.events.into_iter().map(|ev| {
                            // An answer about one execution may leave its events' execution
                            // empty.
                            if ev.execution.is_empty() {
                                ev.set_execution(name.clone())
                            } else {
                                ev
                            }
                        }));
                    }
                }
                if b.out.truncated {
                    break;
                }
            }
            if b.out.truncated || next.is_empty() {
                break;
            }
            frontier = next;
        }
        tracing::debug!(artifact, requests, "paged Vertex ML Metadata lineage");
        Ok(b.finish(events))
    }

    /// The lineage of a whole pipeline job (its resource name,
    /// `projects/P/locations/L/pipelineJobs/ID`): its context's subgraph, at most `max_nodes`
    /// artifacts and executions; paged through its executions when the service refuses the
    /// whole subgraph (see the module's documentation).
    pub async fn job_lineage(
        &self,
        job_name: &str,
        max_nodes: usize,
    ) -> Result<Gathered, TargetError> {
        let (context, _) = job_context(job_name)?;
        self.context_lineage(&context, max_nodes).await
    }

    /// The lineage of a context (its resource name), as [`Self::job_lineage`].
    pub async fn context_lineage(
        &self,
        context: &str,
        max_nodes: usize,
    ) -> Result<Gathered, TargetError> {
        MetadataName::parse(context, "contexts")?;
        let answer = self
            .client
            .query_context_lineage_subgraph()
            .set_context(context)
            .send()
            .await;
        match answer {
            Ok(sub) => Ok(cut_by_executions(&sub, max_nodes)),
            Err(e) if too_large(&e) => {
                tracing::info!(
                    context,
                    "Vertex ML Metadata refused the whole subgraph; paging through its executions"
                );
                self.context_lineage_paged(context, max_nodes).await
            }
            Err(e) => Err(during(
                from_gax(e),
                &format!("the lineage subgraph of context {context}"),
            )),
        }
    }

    async fn context_lineage_paged(
        &self,
        context: &str,
        max_nodes: usize,
    ) -> Result<Gathered, TargetError> {
        let parent = context
            .rsplit_once("/contexts/")
            .map(|(p, _)| p.to_string())
            .unwrap_or_default();
        let mut b = Builder::new(max_nodes);
        let mut events = Vec::new();
        let mut token = String::new();
        'pages: loop {
            let page = self
                .client
                .list_executions()
                .set_parent(parent.clone())
                .set_filter(format!("in_context(\"{context}\")"))
                .set_page_size(LIST_PAGE)
                .set_page_token(token.clone())
                .send()
                .await
                .map_err(|e| {
                    during(from_gax(e), &format!("the executions of context {context}"))
                })?;
            for exec in &page.executions {
                match b.execution(exec) {
                    Some(true) => {}
                    Some(false) => continue,
                    None => break 'pages,
                }
                let sub = self.execution_io(&exec.name).await?;
                for art in &sub.artifacts {
                    if b.artifact(art).is_none() {
                        events.extend(sub.events);
                        break 'pages;
                    }
                }
                events.extend(sub.events.into_iter().map(|ev| {
                    if ev.execution.is_empty() {
                        ev.set_execution(exec.name.clone())
                    } else {
                        ev
                    }
                }));
            }
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        Ok(b.finish(events))
    }
}

/// Which pipeline job the executions belong to, when known: the job id and the pipeline's
/// name (the run store's), written into each execution's `runId` and `pipelineName`.
#[derive(Debug, Clone, Default)]
pub struct JobOf {
    /// The pipeline job id.
    pub job_id: String,
    /// The pipeline's name.
    pub pipeline_name: String,
}

/// An execution state as a task state: NEW → Pending, RUNNING → Running, COMPLETE →
/// Succeeded, FAILED → Failed, CACHED → Cached, CANCELLED → Cancelled (anything else, Pending).
pub fn task_state(s: &ExecState) -> TaskState {
    match s {
        ExecState::Running => TaskState::Running,
        ExecState::Complete => TaskState::Succeeded,
        ExecState::Failed => TaskState::Failed,
        ExecState::Cached => TaskState::Cached,
        ExecState::Cancelled => TaskState::Cancelled,
        _ => TaskState::Pending,
    }
}

/// The pipeline job id an execution names in its metadata (`pipeline_job_id`, or the last
/// segment of `pipeline_job_resource_name`), if it does.
fn job_in_metadata(e: &Execution) -> Option<String> {
    let m = e.metadata.as_ref()?;
    if let Some(id) = m.get("pipeline_job_id").and_then(Value::as_str) {
        return Some(id.to_string());
    }
    m.get("pipeline_job_resource_name")
        .and_then(Value::as_str)
        .and_then(|n| n.rsplit('/').next())
        .map(str::to_string)
}

/// The last segment of a resource name.
fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// The port an event names: its `port` label, else the artifact's display name (KFP names an
/// output artifact after its port), else the last segment of the artifact's resource name.
fn port_of(ev: &Event, artifact: Option<&Artifact>) -> String {
    if let Some(p) = ev.labels.get("port").filter(|p| !p.is_empty()) {
        return p.clone();
    }
    match artifact {
        Some(a) if !a.display_name.is_empty() => a.display_name.clone(),
        _ => last_segment(&ev.artifact).to_string(),
    }
}

/// Maps an ML Metadata subgraph into the run store's lineage model: ids from [`node_id`],
/// artifacts with their URI, display name (else the id), schema, metadata and state (`LIVE`,
/// `PENDING`); executions with their display name as task path and name, schema title as
/// execution type, state as [`task_state`], the job's id as `runId` when `job` says or the
/// execution's metadata names it (else empty), `input:<name>`/`output:<name>` metadata as
/// parameters; INPUT/OUTPUT events with their port ([`port_of`]) and index among the events
/// of one execution, port and direction. Events of unknown nodes, or of no type, are left out.
pub fn to_lineage(sub: &LineageSubgraph, job: Option<&JobOf>, truncated: bool) -> Lineage {
    let artifacts_by_name: HashMap<&str, &Artifact> =
        sub.artifacts.iter().map(|a| (a.name.as_str(), a)).collect();
    let execution_names: HashSet<&str> = sub.executions.iter().map(|e| e.name.as_str()).collect();
    let artifacts = sub
        .artifacts
        .iter()
        .map(|a| LineageArtifact {
            id: node_id(&a.name),
            uri: a.uri.clone(),
            name: if a.display_name.is_empty() {
                last_segment(&a.name).to_string()
            } else {
                a.display_name.clone()
            },
            schema_title: a.schema_title.clone(),
            schema_version: Some(a.schema_version.clone()).filter(|v| !v.is_empty()),
            metadata: a.metadata.clone().unwrap_or_default(),
            state: match a.state {
                ArtifactState::Live => "LIVE",
                ArtifactState::Pending => "PENDING",
                _ => "STATE_UNSPECIFIED",
            }
            .to_string(),
            created_at: stamp(a.create_time.as_ref()).unwrap_or_default(),
        })
        .collect();
    let params = |e: &Execution, side: &str| -> Map<String, Value> {
        let prefix = format!("{side}:");
        e.metadata
            .as_ref()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.to_string(), v.clone())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let executions = sub
        .executions
        .iter()
        .map(|e| {
            let state = task_state(&e.state);
            let done = !matches!(state, TaskState::Pending | TaskState::Running);
            let name = if e.display_name.is_empty() {
                last_segment(&e.name).to_string()
            } else {
                e.display_name.clone()
            };
            LineageExecution {
                id: node_id(&e.name),
                run_id: job
                    .map(|j| j.job_id.clone())
                    .or_else(|| job_in_metadata(e))
                    .unwrap_or_default(),
                pipeline_name: job.map(|j| j.pipeline_name.clone()).unwrap_or_default(),
                task_path: name.clone(),
                name,
                component: None,
                execution_type: e.schema_title.clone(),
                state,
                started_at: stamp(e.create_time.as_ref()),
                ended_at: if done {
                    stamp(e.update_time.as_ref())
                } else {
                    None
                },
                cache_key: None,
                parameters: params(e, "input"),
                output_parameters: params(e, "output"),
            }
        })
        .collect();
    let mut counts: HashMap<(i64, String, LineageEventType), u32> = HashMap::new();
    let mut events = Vec::new();
    for ev in &sub.events {
        let event_type = match ev.r#type {
            EventType::Input => LineageEventType::Input,
            EventType::Output => LineageEventType::Output,
            _ => continue,
        };
        let artifact = artifacts_by_name.get(ev.artifact.as_str()).copied();
        if artifact.is_none() || !execution_names.contains(ev.execution.as_str()) {
            continue;
        }
        let execution_id = node_id(&ev.execution);
        let port = port_of(ev, artifact);
        let n = counts
            .entry((execution_id, port.clone(), event_type))
            .or_default();
        events.push(LineageEvent {
            execution_id,
            artifact_id: node_id(&ev.artifact),
            event_type,
            port,
            index: *n,
        });
        *n += 1;
    }
    Lineage {
        artifacts,
        executions,
        events,
        truncated,
    }
}

/// The endpoint of a Vertex region (or the override) and the metadata client of it, cached.
impl crate::Targets {
    async fn metadata_client(&self, region: &str) -> Result<VertexMetadataClient, TargetError> {
        let endpoint =
            crate::vertex::endpoint_for(self.inner.options.vertex_endpoint.as_deref(), region)?;
        let mut clients = self.inner.metadata.lock().await;
        if let Some(c) = clients.get(&endpoint) {
            return Ok(c.clone());
        }
        let client = VertexMetadataClient::new(&endpoint, &self.inner.options.auth).await?;
        clients.insert(endpoint, client.clone());
        Ok(client)
    }

    /// The lineage around Vertex ML Metadata artifact `artifact` (its resource name,
    /// `projects/P/locations/L/metadataStores/default/artifacts/ID`), `depth` hops and at most
    /// `max_nodes` nodes, in the run store's model (see [`VertexMetadataClient::artifact_lineage`]).
    /// An executions's `runId` is the pipeline job id its metadata names, else empty.
    pub async fn vertex_artifact_lineage(
        &self,
        artifact: &str,
        depth: u32,
        max_nodes: usize,
    ) -> Result<Lineage, TargetError> {
        let name = MetadataName::parse(artifact, "artifacts")?;
        let client = self.metadata_client(&name.region).await?;
        let g = client.artifact_lineage(artifact, depth, max_nodes).await?;
        Ok(to_lineage(&g.subgraph(), None, g.truncated))
    }

    /// The lineage of Vertex run `run_id` (the run store's id of a run on target `vertex`)
    /// from Vertex ML Metadata: its pipeline job's context, at most `max_nodes` nodes, each
    /// execution with the job id as `runId` and the run's pipeline name.
    pub async fn vertex_run_lineage(
        &self,
        run_id: &str,
        max_nodes: usize,
    ) -> Result<Lineage, TargetError> {
        let lookup = run_id.to_string();
        let summary = self
            .on_store(move |store| store.get_summary(&lookup))
            .await?
            .ok_or_else(|| TargetError::NotFound(run_id.to_string()))?;
        let job = match (summary.target.as_deref(), summary.remote_name.as_deref()) {
            (Some("vertex"), Some(job)) => job.to_string(),
            (Some("vertex"), None) => {
                return Err(TargetError::Invalid(format!(
                    "run {run_id} has no Vertex AI pipeline job yet"
                )))
            }
            _ => {
                return Err(TargetError::Invalid(format!(
                    "run {run_id} is not a Vertex AI run: its lineage is in the run store \
                     (GET /api/lineage?run={run_id})"
                )))
            }
        };
        let (context, job_id) = job_context(&job)?;
        let region = MetadataName::parse(&context, "contexts")?.region;
        let client = self.metadata_client(&region).await?;
        let g = client.context_lineage(&context, max_nodes).await?;
        let of = JobOf {
            job_id,
            pipeline_name: summary.pipeline_name,
        };
        Ok(to_lineage(&g.subgraph(), Some(&of), g.truncated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const STORE: &str = "projects/p/locations/us-central1/metadataStores/default";

    fn art(id: &str, title: &str) -> Artifact {
        Artifact::new()
            .set_name(format!("{STORE}/artifacts/{id}"))
            .set_display_name(id)
            .set_uri(format!("gs://b/{id}"))
            .set_schema_title(title)
            .set_schema_version("0.0.1")
            .set_state(ArtifactState::Live)
    }

    fn exec(id: &str, state: ExecState) -> Execution {
        Execution::new()
            .set_name(format!("{STORE}/executions/{id}"))
            .set_display_name(id)
            .set_schema_title("system.ContainerExecution")
            .set_state(state)
    }

    fn ev(a: &str, e: &str, t: EventType) -> Event {
        Event::new()
            .set_artifact(format!("{STORE}/artifacts/{a}"))
            .set_execution(format!("{STORE}/executions/{e}"))
            .set_type(t)
    }

    fn chain() -> LineageSubgraph {
        LineageSubgraph::new()
            .set_artifacts([
                art("dataset", "system.Dataset"),
                art("model", "system.Model"),
                art("endpoint", "google.VertexEndpoint"),
            ])
            .set_executions([
                exec("train", ExecState::Complete),
                exec("deploy", ExecState::Cached),
            ])
            .set_events([
                ev("dataset", "train", EventType::Input),
                ev("model", "train", EventType::Output),
                ev("model", "deploy", EventType::Input),
                ev("endpoint", "deploy", EventType::Output),
            ])
    }

    #[test]
    fn ids_are_stable_positive_and_distinct() {
        let a = node_id(&format!("{STORE}/artifacts/1"));
        assert_eq!(a, node_id(&format!("{STORE}/artifacts/1")));
        assert!(a > 0);
        assert_ne!(a, node_id(&format!("{STORE}/artifacts/2")));
        // FNV-1a of the empty string, top bit cleared.
        assert_eq!(
            node_id(""),
            (0xcbf2_9ce4_8422_2325u64 & (u64::MAX >> 1)) as i64
        );
        let ids: HashSet<i64> = (0..10_000)
            .map(|i| node_id(&format!("{STORE}/artifacts/{i}")))
            .collect();
        assert_eq!(ids.len(), 10_000);
    }

    #[test]
    fn a_subgraph_maps_into_the_lineage_model() {
        let mut sub = chain();
        sub.artifacts[1] = sub.artifacts[1]
            .clone()
            .set_metadata(
                json!({"accuracy": 0.9})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            )
            .set_state(ArtifactState::Pending)
            .set_display_name("");
        sub.executions[0] = sub.executions[0].clone().set_metadata(
            json!({"input:lr": 0.1, "output:loss": 0.2, "other": 1})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        sub.events[1] = sub.events[1]
            .clone()
            .set_labels([("port", "trained_model")]);
        let job = JobOf {
            job_id: "job-1".into(),
            pipeline_name: "train-pipeline".into(),
        };
        let l = to_lineage(&sub, Some(&job), false);
        assert_eq!(l.artifacts.len(), 3);
        let model = &l.artifacts[1];
        assert_eq!(model.id, node_id(&format!("{STORE}/artifacts/model")));
        assert_eq!(model.name, "model", "the id when there is no display name");
        assert_eq!(model.uri, "gs://b/model");
        assert_eq!(model.schema_title, "system.Model");
        assert_eq!(model.schema_version.as_deref(), Some("0.0.1"));
        assert_eq!(model.metadata["accuracy"], 0.9);
        assert_eq!(model.state, "PENDING");
        assert_eq!(l.artifacts[0].state, "LIVE");
        let train = &l.executions[0];
        assert_eq!(train.run_id, "job-1");
        assert_eq!(train.pipeline_name, "train-pipeline");
        assert_eq!(
            (train.name.as_str(), train.task_path.as_str()),
            ("train", "train")
        );
        assert_eq!(train.execution_type, "system.ContainerExecution");
        assert_eq!(train.state, TaskState::Succeeded);
        assert_eq!(
            train.parameters,
            *json!({"lr": 0.1}).as_object().unwrap_or(&Map::new())
        );
        assert_eq!(train.output_parameters["loss"], 0.2);
        assert_eq!(l.executions[1].state, TaskState::Cached);
        assert_eq!(l.events.len(), 4);
        assert_eq!(l.events[0].event_type, LineageEventType::Input);
        assert_eq!(l.events[0].port, "dataset", "the artifact's display name");
        assert_eq!(l.events[1].port, "trained_model", "the port label");
        assert_eq!(l.events[1].event_type, LineageEventType::Output);
        assert_eq!(l.events[1].execution_id, train.id);
        assert_eq!(l.events[1].artifact_id, model.id);
        assert_eq!(l.events[2].port, "model", "the name's last segment");
        assert!(!l.truncated);
        // The wire shape is the local store's.
        let v = serde_json::to_value(&l).unwrap_or_default();
        assert_eq!(v["events"][0]["type"], "INPUT");
        assert_eq!(v["executions"][1]["state"], "CACHED");
    }

    #[test]
    fn every_execution_state_maps() {
        let cases = [
            (ExecState::New, TaskState::Pending),
            (ExecState::Running, TaskState::Running),
            (ExecState::Complete, TaskState::Succeeded),
            (ExecState::Failed, TaskState::Failed),
            (ExecState::Cached, TaskState::Cached),
            (ExecState::Cancelled, TaskState::Cancelled),
            (ExecState::Unspecified, TaskState::Pending),
        ];
        for (from, to) in cases {
            assert_eq!(task_state(&from), to, "{from:?}");
        }
    }

    #[test]
    fn run_id_comes_from_the_metadata_without_a_job() {
        let sub = LineageSubgraph::new().set_executions([
            exec("a", ExecState::Running).set_metadata(
                json!({"pipeline_job_resource_name": "projects/p/locations/l/pipelineJobs/j-7"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
            exec("b", ExecState::New),
        ]);
        let l = to_lineage(&sub, None, true);
        assert_eq!(l.executions[0].run_id, "j-7");
        assert_eq!(l.executions[1].run_id, "");
        assert!(l.executions[0].ended_at.is_none());
        assert!(l.truncated);
    }

    #[test]
    fn events_of_unknown_nodes_are_left_out_and_indexes_count_per_port() {
        let sub = chain().set_events([
            ev("dataset", "train", EventType::Input).set_labels([("port", "data")]),
            ev("model", "train", EventType::Input).set_labels([("port", "data")]),
            ev("gone", "train", EventType::Input),
            ev("model", "nowhere", EventType::Output),
            ev("model", "deploy", EventType::Unspecified),
        ]);
        let l = to_lineage(&sub, None, false);
        assert_eq!(l.events.len(), 2);
        assert_eq!((l.events[0].index, l.events[1].index), (0, 1));
    }

    #[test]
    fn cutting_keeps_the_nearest_nodes() {
        let start = format!("{STORE}/artifacts/dataset");
        let whole = cut_around(&chain(), &start, 10, 100);
        assert_eq!(
            (
                whole.artifacts.len(),
                whole.executions.len(),
                whole.events.len()
            ),
            (3, 2, 4)
        );
        assert!(!whole.truncated);
        let one = cut_around(&chain(), &start, 1, 100);
        assert_eq!(
            (one.artifacts.len(), one.executions.len(), one.events.len()),
            (1, 1, 1)
        );
        let capped = cut_around(&chain(), &start, 10, 3);
        assert_eq!(capped.artifacts.len() + capped.executions.len(), 3);
        assert!(capped.truncated);
        let jobs = cut_by_executions(&chain(), 3);
        assert_eq!(jobs.executions.len(), 1);
        assert_eq!(jobs.artifacts.len(), 2);
        assert!(jobs.truncated);
        assert!(!cut_by_executions(&chain(), 5).truncated);
    }

    #[test]
    fn names_are_checked() {
        assert!(MetadataName::parse(&format!("{STORE}/artifacts/1"), "artifacts").is_ok());
        assert!(MetadataName::parse(&format!("{STORE}/contexts/1"), "artifacts").is_err());
        assert!(MetadataName::parse(
            "projects/p/locations/evil.com#/metadataStores/default/artifacts/1",
            "artifacts"
        )
        .is_err());
        let (ctx, id) =
            job_context("projects/p/locations/us-central1/pipelineJobs/j-1").unwrap_or_default();
        assert_eq!(ctx, format!("{STORE}/contexts/j-1"));
        assert_eq!(id, "j-1");
        assert!(job_context("projects/p/pipelineJobs/j").is_err());
    }
}
