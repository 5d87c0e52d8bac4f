//! Local backings: what stands in, on the local engine, for a component that runs in Google
//! Cloud.
//!
//! The seed's workflow builds images with Cloud Build, trains with a Vertex AI CustomJob and
//! serves from a Vertex AI endpoint. On the local engine none of that may be called; instead
//! each of those steps has a **local backing**: a KFP Python function component
//! (`components/python/local/`, compiled to `components/local/*.yaml` by `regenerate.py`) that
//! takes the cloud component's inputs by the same names and produces all of its outputs (and
//! may add more: the model, metrics and data set the local job made), or, for the deployment,
//! the engine's own TorchServe endpoint ([`Backing::TorchServe`]).
//!
//! [`recognise`] looks only at a component's executor (the KFP Python function it calls, or
//! the Google Cloud Pipeline Components launcher it starts), so a pipeline imported from the
//! KFP SDK gets the same backings as one drawn on the canvas. A Google Cloud launcher without a
//! backing is [`Recognised::Cloud`]: the local engine refuses it rather than calling Google
//! Cloud from a "local" run.

use std::sync::OnceLock;

use pipeline::ir::{ComponentSpec, ContainerSpec, ExecutorSpec};

/// What the local engine runs in place of a cloud component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// A KFP Python function component from `components/local/`.
    Component(&'static LocalComponent),
    /// The engine's own TorchServe endpoint, serving the MAR of the task's `model` input
    /// (Vertex AI's `ModelDeployOp`).
    TorchServe,
}

impl Backing {
    /// What the node and the task panel show: `local: TorchServe on 127.0.0.1`.
    pub fn label(&self) -> &'static str {
        match self {
            Backing::Component(c) => c.label,
            Backing::TorchServe => "local: TorchServe on 127.0.0.1",
        }
    }
}

/// What [`recognise`] makes of an executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recognised {
    /// A cloud component with a local backing.
    Backing(Backing),
    /// A Google Cloud component without one (the launcher's module named): it runs only on
    /// the Vertex AI target.
    Cloud(String),
}

/// A local backing that is a KFP component.
#[derive(Debug, PartialEq, Eq)]
pub struct LocalComponent {
    /// Its file in `components/local/` without `.yaml`.
    pub id: &'static str,
    /// What the node shows (`local: training process`).
    pub label: &'static str,
    /// The component YAML, as the KFP SDK compiled it.
    yaml: &'static str,
}

/// The packages of the one Python environment every backing that needs PyTorch, TorchServe or
/// the model archiver shares (`components/local/packages.txt`, the `packages_to_install` of
/// those components): the engine's TorchServe runs from it.
pub fn ml_packages() -> Vec<String> {
    include_str!("../local/packages.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// How a cloud component is recognised.
enum Key {
    /// A KFP Python function component calling this function.
    Function(&'static str),
    /// A Google Cloud Pipeline Components launcher module.
    Launcher(&'static str),
}

/// The module prefix of every Google Cloud Pipeline Components launcher.
const GCPC: &str = "google_cloud_pipeline_components.";

macro_rules! local {
    ($id:literal, $label:literal) => {
        LocalComponent {
            id: $id,
            label: $label,
            yaml: include_str!(concat!("../local/", $id, ".yaml")),
        }
    };
}

static PREPARE_TRAINING: LocalComponent = local!(
    "prepare_training_environment",
    "local: Python environment instead of the training image"
);
static PREPARE_SERVING: LocalComponent = local!(
    "prepare_serving_environment",
    "local: Python environment instead of the serving image"
);
static TRAINING: LocalComponent = local!(
    "custom_training_job",
    "local: training process on this machine (GPU if present, else CPU)"
);
static JOB_DETAILS: LocalComponent = local!(
    "get_training_job_details",
    "local: reads the local training job's metrics"
);
static MAR: LocalComponent = local!("generate_mar_file", "local: torch-model-archiver");
static UPLOAD: LocalComponent =
    local!("model_upload", "local: the model is registered in this run");
static ENDPOINT: LocalComponent = local!(
    "endpoint_create",
    "local: a TorchServe endpoint on 127.0.0.1"
);
static PREDICT: LocalComponent = local!(
    "make_prediction_request",
    "local: requests to the local TorchServe endpoint"
);

/// Every local backing component, for tests and listings.
pub const COMPONENTS: &[&LocalComponent] = &[
    &PREPARE_TRAINING,
    &PREPARE_SERVING,
    &TRAINING,
    &JOB_DETAILS,
    &MAR,
    &UPLOAD,
    &ENDPOINT,
    &PREDICT,
];

/// The table: which cloud executor each backing stands in for.
fn table() -> [(Key, Backing); 9] {
    use Backing::{Component, TorchServe};
    [
        (
            Key::Function("build_custom_train_image"),
            Component(&PREPARE_TRAINING),
        ),
        (
            Key::Function("build_custom_serving_image"),
            Component(&PREPARE_SERVING),
        ),
        (
            Key::Function("get_training_job_details"),
            Component(&JOB_DETAILS),
        ),
        (Key::Function("generate_mar_file"), Component(&MAR)),
        (
            Key::Function("make_prediction_request"),
            Component(&PREDICT),
        ),
        (
            Key::Launcher("google_cloud_pipeline_components.container.v1.custom_job.launcher"),
            Component(&TRAINING),
        ),
        (
            Key::Launcher(
                "google_cloud_pipeline_components.container.v1.model.upload_model.launcher",
            ),
            Component(&UPLOAD),
        ),
        (
            Key::Launcher(
                "google_cloud_pipeline_components.container.v1.endpoint.create_endpoint.launcher",
            ),
            Component(&ENDPOINT),
        ),
        (
            Key::Launcher(
                "google_cloud_pipeline_components.container.v1.endpoint.deploy_model.launcher",
            ),
            TorchServe,
        ),
    ]
}

/// The KFP Python function a lightweight component's executor calls
/// (`--function_to_execute <name>`).
fn function_to_execute(c: &ContainerSpec) -> Option<&str> {
    let all: Vec<&String> = c.command.iter().chain(&c.args).collect();
    all.windows(2)
        .find(|w| w[0] == "--function_to_execute")
        .map(|w| w[1].as_str())
}

/// The Google Cloud Pipeline Components module an executor starts (`python3 -u -m <module>`).
fn gcpc_module(c: &ContainerSpec) -> Option<&str> {
    c.command
        .iter()
        .chain(&c.args)
        .map(String::as_str)
        .find(|a| a.starts_with(GCPC))
}

/// What the local engine makes of a container executor: a backing, a cloud component that
/// has none, or (`None`) an ordinary component that runs as it is.
pub fn recognise(c: &ContainerSpec) -> Option<Recognised> {
    let function = function_to_execute(c);
    let module = gcpc_module(c);
    for (key, backing) in table() {
        let hit = match key {
            Key::Function(f) => function == Some(f),
            Key::Launcher(m) => module == Some(m),
        };
        if hit {
            return Some(Recognised::Backing(backing));
        }
    }
    module.map(|m| Recognised::Cloud(m.to_string()))
}

/// Why a local backing's component could not be read (a broken build: the tests read each).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("local backing {id}: {message}")]
pub struct LocalError {
    /// The backing.
    pub id: &'static str,
    /// What is wrong.
    pub message: String,
}

/// A local backing as the engine runs it: its interface and its executor.
#[derive(Debug, Clone, PartialEq)]
pub struct Runnable {
    /// Inputs and outputs (the outputs include every output of the cloud component).
    pub component: ComponentSpec,
    /// The executor (a KFP Python function component).
    pub executor: ExecutorSpec,
}

impl LocalComponent {
    /// The component's interface and executor, read from its YAML once.
    pub fn runnable(&'static self) -> Result<&'static Runnable, LocalError> {
        static PARSED: OnceLock<Vec<(&'static str, Result<Runnable, LocalError>)>> =
            OnceLock::new();
        let all = PARSED.get_or_init(|| {
            COMPONENTS
                .iter()
                .map(|c| (c.id, parse(c)))
                .collect::<Vec<_>>()
        });
        match all.iter().find(|(id, _)| *id == self.id) {
            Some((_, Ok(r))) => Ok(r),
            Some((_, Err(e))) => Err(e.clone()),
            None => Err(LocalError {
                id: self.id,
                message: "not in the list of local components".into(),
            }),
        }
    }
}

/// Reads one local component's YAML.
fn parse(c: &LocalComponent) -> Result<Runnable, LocalError> {
    let err = |message: String| LocalError { id: c.id, message };
    let def = pipeline::component_from_yaml(c.yaml).map_err(|e| err(e.to_string()))?;
    let executor = def
        .executor
        .ok_or_else(|| err("the component has no executor".into()))?;
    Ok(Runnable {
        component: ComponentSpec {
            input_definitions: Some(def.input_definitions),
            output_definitions: Some(def.output_definitions),
            ..ComponentSpec::default()
        },
        executor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin_executor(id: &str) -> ContainerSpec {
        let entries = crate::builtin().expect("catalog");
        let entry = entries.iter().find(|e| e.id == id).expect("entry");
        match entry.component.executor.clone() {
            Some(ExecutorSpec::Container(c)) => c,
            other => panic!("{id}: not a container executor: {other:?}"),
        }
    }

    #[test]
    fn every_cloud_step_of_the_seed_has_a_backing() {
        let expect = [
            ("build-container-image", "prepare_training_environment"),
            ("build-serving-image", "prepare_serving_environment"),
            ("custom-training-job", "custom_training_job"),
            ("get-training-job-details", "get_training_job_details"),
            ("create-mar-file", "generate_mar_file"),
            ("model-upload", "model_upload"),
            ("endpoint-create", "endpoint_create"),
            ("online-prediction", "make_prediction_request"),
        ];
        for (entry, local) in expect {
            match recognise(&builtin_executor(entry)) {
                Some(Recognised::Backing(Backing::Component(c))) => assert_eq!(c.id, local),
                other => panic!("{entry}: {other:?}"),
            }
        }
        assert_eq!(
            recognise(&builtin_executor("model-deploy")),
            Some(Recognised::Backing(Backing::TorchServe))
        );
    }

    #[test]
    fn other_google_cloud_launchers_are_cloud_and_plain_components_are_left_alone() {
        let gcpc = ContainerSpec {
            image: "gcr.io/ml-pipeline/google-cloud-pipeline-components:2.22.0".into(),
            command: vec![
                "python3".into(),
                "-u".into(),
                "-m".into(),
                "google_cloud_pipeline_components.container.v1.batch_prediction_job.launcher"
                    .into(),
            ],
            ..ContainerSpec::default()
        };
        assert_eq!(
            recognise(&gcpc),
            Some(Recognised::Cloud(
                "google_cloud_pipeline_components.container.v1.batch_prediction_job.launcher"
                    .into()
            ))
        );
        let plain = ContainerSpec {
            image: "alpine".into(),
            command: vec!["echo".into(), "--function_to_execute".into()],
            ..ContainerSpec::default()
        };
        assert_eq!(recognise(&plain), None);
    }

    /// The contract of a backing: every output of the cloud component, by name and type.
    #[test]
    fn each_backing_produces_every_output_of_its_cloud_component() {
        let entries = crate::builtin().expect("catalog");
        for entry in &entries {
            let Some(ExecutorSpec::Container(c)) = &entry.component.executor else {
                continue;
            };
            let Some(Recognised::Backing(Backing::Component(local))) = recognise(c) else {
                continue;
            };
            let r = local.runnable().expect("parses");
            assert!(
                matches!(r.executor, ExecutorSpec::Container(_)),
                "{}",
                local.id
            );
            let outs = r.component.output_definitions.clone().unwrap_or_default();
            for (name, p) in &entry.component.output_definitions.parameters {
                let got = outs.parameters.get(name).map(|q| q.parameter_type);
                assert_eq!(
                    got,
                    Some(p.parameter_type),
                    "{}: parameter {name}",
                    local.id
                );
            }
            for (name, a) in &entry.component.output_definitions.artifacts {
                let got = outs.artifacts.get(name).map(|b| b.artifact_type.title());
                assert_eq!(
                    got,
                    Some(a.artifact_type.title()),
                    "{}: artifact {name}",
                    local.id
                );
            }
            // Inputs it declares exist on the cloud component with the same type, or have a
            // default (extra inputs are not wired by the pipeline).
            let ins = r.component.input_definitions.clone().unwrap_or_default();
            for (name, p) in &ins.parameters {
                match entry.component.input_definitions.parameters.get(name) {
                    Some(q) => {
                        assert_eq!(q.parameter_type, p.parameter_type, "{}: {name}", local.id)
                    }
                    None => assert!(
                        p.default_value.is_some() || p.is_optional,
                        "{}: input {name} is not the cloud component's and has no default",
                        local.id
                    ),
                }
            }
        }
    }
}
