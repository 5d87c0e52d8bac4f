//! The Kubeflow Pipelines v2 intermediate representation (`pipeline_spec.proto`), in the
//! proto3 JSON mapping that `kfp.compiler` writes (camelCase field names, enums as names).
//!
//! Maps are [`Map`]s, so output keys come out sorted, the way the KFP SDK writes them.
//! Empty collections and unset optionals are omitted, as protobuf's JSON printer does.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::map::Map;

/// The schema version the compiler writes (the one KFP 2.x writes).
pub const SCHEMA_VERSION: &str = "2.1.0";

fn is_false(b: &bool) -> bool {
    !*b
}

/// A whole compiled pipeline (`PipelineSpec`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineSpec {
    /// Every component used by a task, keyed `comp-…`.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub components: Map<ComponentSpec>,
    /// Where artifacts go when the run does not say otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pipeline_root: Option<String>,
    /// The executors (`PipelineDeploymentConfig`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_spec: Option<DeploymentSpec>,
    /// Name, display name and description of the pipeline.
    pub pipeline_info: PipelineInfo,
    /// The pipeline's own interface and top-level DAG.
    pub root: ComponentSpec,
    /// Always [`SCHEMA_VERSION`] for what we write.
    pub schema_version: String,
    /// Which tool wrote the spec.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sdk_version: String,
}

/// `PipelineInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineInfo {
    /// The pipeline name (a Kubernetes-style name).
    pub name: String,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `PipelineDeploymentConfig`: the executors, keyed `exec-…`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentSpec {
    /// Executors by label.
    #[serde(default)]
    pub executors: Map<ExecutorSpec>,
}

/// `ComponentSpec`: an interface plus either a DAG or an executor label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentSpec {
    /// A nested graph (pipelines, condition groups, loops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dag: Option<DagSpec>,
    /// The key into `deploymentSpec.executors` for leaf components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor_label: Option<String>,
    /// Inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_definitions: Option<InputDefinitions>,
    /// Outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_definitions: Option<OutputDefinitions>,
    /// Platform-specific settings of the component (kept as written).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub single_platform_specs: Vec<Value>,
    /// Task configuration passed through to the component (kept as written).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub task_config_passthroughs: Vec<Value>,
}

/// `ComponentInputsSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InputDefinitions {
    /// Artifact inputs.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub artifacts: Map<ArtifactSpec>,
    /// Parameter inputs.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<ParameterSpec>,
}

impl InputDefinitions {
    /// True when no input is declared.
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

/// `ComponentOutputsSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutputDefinitions {
    /// Artifact outputs.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub artifacts: Map<ArtifactSpec>,
    /// Parameter outputs.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<ParameterSpec>,
}

impl OutputDefinitions {
    /// True when no output is declared.
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

/// An artifact input or output declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactSpec {
    /// The artifact's type.
    pub artifact_type: ArtifactTypeSchema,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A list of artifacts (`List[Artifact]`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_artifact_list: bool,
    /// May be left unconnected.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_optional: bool,
    /// Output artifacts only: properties set at compile time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
    /// Output artifacts only: custom properties set at compile time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_properties: Option<Value>,
    /// Output artifacts only: metadata set at compile time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// `ArtifactTypeSchema`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactTypeSchema {
    /// `system.Model`, `google.VertexModel`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_title: Option<String>,
    /// A schema by URI (rare).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_uri: Option<String>,
    /// An inline schema (rare).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_schema: Option<String>,
    /// Usually `0.0.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
}

impl ArtifactTypeSchema {
    /// A typed schema with a title and version `0.0.1`.
    pub fn titled(title: &str) -> Self {
        Self {
            schema_title: Some(title.to_string()),
            schema_version: Some("0.0.1".to_string()),
            ..Self::default()
        }
    }

    /// The title, or a description of the schema when it has none.
    pub fn title(&self) -> &str {
        self.schema_title
            .as_deref()
            .or(self.schema_uri.as_deref())
            .unwrap_or("system.Artifact")
    }
}

/// The type of a parameter (`ParameterType.ParameterTypeEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParameterType {
    /// `float`.
    NumberDouble,
    /// `int`.
    NumberInteger,
    /// `str`.
    String,
    /// `bool`.
    Boolean,
    /// `list`.
    List,
    /// `dict`.
    Struct,
    /// `dsl.PipelineTaskFinalStatus`.
    TaskFinalStatus,
}

impl ParameterType {
    /// All types a user can pick for a pipeline parameter.
    pub const USER_TYPES: [ParameterType; 6] = [
        ParameterType::String,
        ParameterType::NumberInteger,
        ParameterType::NumberDouble,
        ParameterType::Boolean,
        ParameterType::List,
        ParameterType::Struct,
    ];

    /// The proto enum name, e.g. `NUMBER_DOUBLE`.
    pub fn proto_name(self) -> &'static str {
        match self {
            ParameterType::NumberDouble => "NUMBER_DOUBLE",
            ParameterType::NumberInteger => "NUMBER_INTEGER",
            ParameterType::String => "STRING",
            ParameterType::Boolean => "BOOLEAN",
            ParameterType::List => "LIST",
            ParameterType::Struct => "STRUCT",
            ParameterType::TaskFinalStatus => "TASK_FINAL_STATUS",
        }
    }

    /// The Python spelling users know, e.g. `float`.
    pub fn python_name(self) -> &'static str {
        match self {
            ParameterType::NumberDouble => "float",
            ParameterType::NumberInteger => "int",
            ParameterType::String => "str",
            ParameterType::Boolean => "bool",
            ParameterType::List => "list",
            ParameterType::Struct => "dict",
            ParameterType::TaskFinalStatus => "PipelineTaskFinalStatus",
        }
    }

    /// Parses the Python spelling or the proto name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "float" | "NUMBER_DOUBLE" | "Float" | "Double" => ParameterType::NumberDouble,
            "int" | "NUMBER_INTEGER" | "Integer" => ParameterType::NumberInteger,
            "str" | "STRING" | "String" => ParameterType::String,
            "bool" | "BOOLEAN" | "Boolean" => ParameterType::Boolean,
            "list" | "LIST" | "List" | "JsonArray" => ParameterType::List,
            "dict" | "STRUCT" | "Dict" | "JsonObject" => ParameterType::Struct,
            "TASK_FINAL_STATUS" | "PipelineTaskFinalStatus" => ParameterType::TaskFinalStatus,
            _ => return None,
        })
    }

    /// Whether `value` is a valid JSON value of this type.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            ParameterType::NumberDouble => value.is_number(),
            ParameterType::NumberInteger => value
                .as_f64()
                .is_some_and(|f| f.fract() == 0.0 && f.is_finite()),
            ParameterType::String => value.is_string(),
            ParameterType::Boolean => value.is_boolean(),
            ParameterType::List => value.is_array(),
            ParameterType::Struct => value.is_object(),
            ParameterType::TaskFinalStatus => false,
        }
    }
}

/// A parameter input or output declaration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParameterSpec {
    /// Used when the input is not bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<Value>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// May be left unbound.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_optional: bool,
    /// The allowed values, when restricted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub literals: Vec<Value>,
    /// The type.
    pub parameter_type: ParameterType,
}

impl ParameterSpec {
    /// A required parameter of `ty`.
    pub fn of(ty: ParameterType) -> Self {
        Self {
            default_value: None,
            description: None,
            is_optional: false,
            literals: Vec::new(),
            parameter_type: ty,
        }
    }
}

/// `DagSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DagSpec {
    /// Outputs of the DAG, selected from its tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outputs: Option<DagOutputsSpec>,
    /// The tasks by name.
    #[serde(default)]
    pub tasks: Map<PipelineTaskSpec>,
}

/// `DagOutputsSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DagOutputsSpec {
    /// Artifact outputs.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub artifacts: Map<DagOutputArtifactSpec>,
    /// Parameter outputs.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<DagOutputParameterSpec>,
}

/// `DagOutputsSpec.DagOutputArtifactSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DagOutputArtifactSpec {
    /// The sub-task outputs the artifact(s) come from.
    #[serde(default)]
    pub artifact_selectors: Vec<ArtifactSelector>,
}

/// `DagOutputsSpec.ArtifactSelectorSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactSelector {
    /// The output's name.
    pub output_artifact_key: String,
    /// The sub-task.
    pub producer_subtask: String,
}

/// `DagOutputsSpec.DagOutputParameterSpec`: one selector, or the first of several that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DagOutputParameterSpec {
    /// From one sub-task output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from_parameter: Option<ParameterSelector>,
    /// From whichever branch ran (`dsl.OneOf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from_oneof: Option<ParameterSelectors>,
}

/// `DagOutputsSpec.ParameterSelectorSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParameterSelector {
    /// The output's name.
    pub output_parameter_key: String,
    /// The sub-task.
    pub producer_subtask: String,
}

/// `DagOutputsSpec.ParameterSelectorsSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParameterSelectors {
    /// Candidates, in order.
    #[serde(default)]
    pub parameter_selectors: Vec<ParameterSelector>,
}

/// `PipelineTaskSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PipelineTaskSpec {
    /// Cache settings; absent for DAG tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caching_options: Option<CachingOptions>,
    /// The component run by the task.
    pub component_ref: ComponentRef,
    /// Tasks that must finish first (sorted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependent_tasks: Vec<String>,
    /// Input bindings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<TaskInputsSpec>,
    /// Display name.
    pub task_info: TaskInfo,
    /// The condition that gates the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger_policy: Option<TriggerPolicy>,
    /// Retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<RetryPolicy>,
    /// `ParallelFor` over parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_iterator: Option<ParameterIterator>,
    /// `ParallelFor` over artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_iterator: Option<ArtifactIterator>,
    /// Loop parallelism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterator_policy: Option<IteratorPolicy>,
}

/// `PipelineTaskSpec.RetryPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retry_count: Option<i64>,
    /// First wait, as a protobuf duration (`"5s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_duration: Option<String>,
    /// Growth of the wait per attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_factor: Option<f64>,
    /// Longest wait (`"3600s"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_max_duration: Option<String>,
}

/// `ParameterIteratorSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParameterIterator {
    /// The name of the loop item inside the loop's DAG.
    pub item_input: String,
    /// What is iterated.
    pub items: ParameterItems,
}

/// `ParameterIteratorSpec.ItemsSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParameterItems {
    /// A JSON list, as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// An input parameter of the loop's DAG holding the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_parameter: Option<String>,
}

/// `ArtifactIteratorSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactIterator {
    /// The name of the loop item inside the loop's DAG.
    pub item_input: String,
    /// What is iterated.
    pub items: ArtifactItems,
}

/// `ArtifactIteratorSpec.ItemsSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactItems {
    /// An input artifact (list) of the loop's DAG.
    pub input_artifact: String,
}

/// `PipelineTaskSpec.IteratorPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IteratorPolicy {
    /// Most iterations running at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism_limit: Option<i64>,
}

/// `PipelineTaskSpec.CachingOptions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CachingOptions {
    /// Reuse earlier results when inputs match.
    #[serde(default, skip_serializing_if = "is_false")]
    pub enable_cache: bool,
    /// A user-supplied cache key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_key: Option<String>,
}

/// `ComponentRef`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentRef {
    /// Key into `components` (`comp-…`).
    pub name: String,
}

/// `PipelineTaskInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskInfo {
    /// The name shown in UIs.
    pub name: String,
}

/// `TriggerPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TriggerPolicy {
    /// A CEL expression over `inputs.parameter_values[...]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// `ALL_UPSTREAM_TASKS_SUCCEEDED` or `ALL_UPSTREAM_TASKS_COMPLETED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
}

/// `TaskInputsSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskInputsSpec {
    /// Artifact inputs by name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub artifacts: Map<InputArtifactSpec>,
    /// Parameter inputs by name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub parameters: Map<InputParameterSpec>,
}

impl TaskInputsSpec {
    /// True when nothing is bound.
    pub fn is_empty(&self) -> bool {
        self.artifacts.is_empty() && self.parameters.is_empty()
    }
}

/// Where a task's parameter input comes from (`InputParameterSpec`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InputParameterSpec {
    /// An input of the enclosing component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_input_parameter: Option<String>,
    /// A constant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_value: Option<ValueOrRuntimeParameter>,
    /// An output of a sibling task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_output_parameter: Option<TaskOutputParameter>,
    /// The final status of a task (exit handlers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_final_status: Option<TaskFinalStatus>,
    /// A selector applied to the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_expression_selector: Option<String>,
}

/// `ValueOrRuntimeParameter`: a constant, or the name of a runtime parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValueOrRuntimeParameter {
    /// A constant (`google.protobuf.Value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<Value>,
    /// A constant in the deprecated typed form (`{"stringValue": …}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant_value: Option<Value>,
    /// The name of an input parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_parameter: Option<String>,
}

impl ValueOrRuntimeParameter {
    /// A constant.
    pub fn constant(value: Value) -> Self {
        Self {
            constant: Some(value),
            ..Self::default()
        }
    }
}

/// `TaskInputsSpec.InputParameterSpec.TaskFinalStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskFinalStatus {
    /// The task whose final status is read.
    pub producer_task: String,
}

/// `TaskOutputParameterSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskOutputParameter {
    /// The output's name.
    pub output_parameter_key: String,
    /// The producing task.
    pub producer_task: String,
}

/// Where a task's artifact input comes from (`InputArtifactSpec`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InputArtifactSpec {
    /// An input of the enclosing component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_input_artifact: Option<String>,
    /// An output of a sibling task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_output_artifact: Option<TaskOutputArtifact>,
}

/// `TaskOutputArtifactSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskOutputArtifact {
    /// The output's name.
    pub output_artifact_key: String,
    /// The producing task.
    pub producer_task: String,
}

/// One executor (`PipelineDeploymentConfig.ExecutorSpec`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum ExecutorSpec {
    /// Runs a container.
    Container(ContainerSpec),
    /// Imports an existing artifact.
    Importer(ImporterSpec),
    /// Resolves artifacts from metadata (kept as is).
    Resolver(Value),
    /// A Vertex custom job (kept as is).
    CustomJob(Value),
}

/// `PipelineContainerSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerSpec {
    /// Arguments, with `{{$...}}` placeholders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// The entry point.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// The container image.
    pub image: String,
    /// Hooks (kept as is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Value>,
    /// CPU, memory and accelerators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceSpec>,
}

/// `PipelineContainerSpec.ResourceSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceSpec {
    /// Deprecated numeric CPU limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<f64>,
    /// Deprecated numeric memory limit (GB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<f64>,
    /// Deprecated numeric CPU request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_request: Option<f64>,
    /// Deprecated numeric memory request (GB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_request: Option<f64>,
    /// CPU limit (`"2"`, `"500m"`, or a placeholder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_cpu_limit: Option<String>,
    /// Memory limit (`"4G"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_memory_limit: Option<String>,
    /// CPU request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_cpu_request: Option<String>,
    /// Memory request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_memory_request: Option<String>,
    /// GPU or TPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator: Option<AcceleratorConfig>,
}

/// `ResourceSpec.AcceleratorConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcceleratorConfig {
    /// Deprecated accelerator type.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub ty: Option<String>,
    /// Deprecated count (protobuf int64: a string in JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Value>,
    /// Accelerator type (`nvidia.com/gpu`, `NVIDIA_TESLA_V100`, or a placeholder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Count (`"1"`, or a placeholder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_count: Option<String>,
}

/// An environment variable of a container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvVar {
    /// Variable name.
    pub name: String,
    /// Value.
    #[serde(default)]
    pub value: String,
}

/// `ImporterSpec`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImporterSpec {
    /// Where the artifact is: a constant or the name of an input parameter (`uri`).
    pub artifact_uri: ValueOrRuntimeParameter,
    /// Properties of the imported artifact (deprecated in favour of metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Value>,
    /// Custom properties of the imported artifact (deprecated in favour of metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_properties: Option<Value>,
    /// Metadata attached to the imported artifact; may hold `{{$.inputs.parameters[...]}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Import again even when the URI was imported before.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reimport: bool,
    /// Download the artifact into the pipeline workspace.
    #[serde(default, skip_serializing_if = "is_false")]
    pub download_to_workspace: bool,
    /// The imported artifact's type.
    pub type_schema: ArtifactTypeSchema,
}
