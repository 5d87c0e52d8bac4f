//! The component palette: the built-in catalog and components users add as files.
//!
//! The built-in components are KFP component YAML files compiled by the real KFP SDK (see
//! `components/regenerate.py`): five Python function components of the PyTorch text
//! classification workflow (sources in `components/python/`) and four Google Cloud Pipeline
//! Components ops. `catalog.json` orders them and gives each a palette id, title, category and
//! description. They are embedded in the binary, so [`builtin`] does no I/O and works in the
//! browser (wasm32) as well as on the server.
//!
//! With the `fs` feature, `load_user_components` reads further component YAML files from a
//! folder.

use serde::{Deserialize, Serialize};

use pipeline::ir::{
    ArtifactSpec, ArtifactTypeSchema, ExecutorSpec, ImporterSpec, InputDefinitions,
    OutputDefinitions, ParameterSpec, ParameterType, ValueOrRuntimeParameter,
};
use pipeline::{ComponentDef, ImportError};

pub mod local;
#[cfg(feature = "fs")]
mod user;
#[cfg(feature = "fs")]
pub use user::{load_user_components, LoadProblem, LoadReason, MAX_FILE_BYTES};

/// One palette entry: a component with the id, title and category the palette shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogEntry {
    /// Stable id (`build-container-image`); documents use it as the component key.
    pub id: String,
    /// Palette title (`Build container image`); also the component's `title`.
    pub title: String,
    /// Palette section (`Build`, `Training`, `Serving`, `Data`, `User`).
    pub category: String,
    /// One or two sentences on what the component does.
    pub description: String,
    /// The component itself, ready to embed in a document.
    pub component: ComponentDef,
}

/// Why the built-in catalog could not be loaded. Each names the entry at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CatalogError {
    /// `catalog.json` is not a list of entries.
    #[error("catalog.json is invalid: {0}")]
    Catalog(String),
    /// Two entries share an id.
    #[error("catalog.json: the id {0:?} is used twice")]
    DuplicateId(String),
    /// An entry names neither a component file nor an importer, or both.
    #[error("catalog.json: entry {0:?} must name exactly one of \"file\" and \"importer\"")]
    Source(String),
    /// An entry names a file that is not embedded.
    #[error("catalog.json: entry {id:?} names {file:?}, which is not a built-in component file")]
    MissingFile {
        /// The entry.
        id: String,
        /// The file it names.
        file: String,
    },
    /// A component file does not parse.
    #[error("built-in component {file} (entry {id:?}): {source}")]
    Component {
        /// The entry.
        id: String,
        /// The file.
        file: String,
        /// What is wrong with it.
        source: ImportError,
    },
}

/// The palette order and texts.
const CATALOG_JSON: &str = include_str!("../catalog.json");

/// The embedded component files, by file name.
const FILES: &[(&str, &str)] = &[
    (
        "build_custom_train_image.yaml",
        include_str!("../builtin/build_custom_train_image.yaml"),
    ),
    (
        "custom_training_job.yaml",
        include_str!("../builtin/custom_training_job.yaml"),
    ),
    (
        "get_training_job_details.yaml",
        include_str!("../builtin/get_training_job_details.yaml"),
    ),
    (
        "generate_mar_file.yaml",
        include_str!("../builtin/generate_mar_file.yaml"),
    ),
    (
        "build_custom_serving_image.yaml",
        include_str!("../builtin/build_custom_serving_image.yaml"),
    ),
    (
        "model_upload.yaml",
        include_str!("../builtin/model_upload.yaml"),
    ),
    (
        "endpoint_create.yaml",
        include_str!("../builtin/endpoint_create.yaml"),
    ),
    (
        "model_deploy.yaml",
        include_str!("../builtin/model_deploy.yaml"),
    ),
    (
        "make_prediction_request.yaml",
        include_str!("../builtin/make_prediction_request.yaml"),
    ),
];

/// An entry of `catalog.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    title: String,
    category: String,
    description: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    importer: Option<RawImporter>,
}

/// The artifact type an importer entry imports.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawImporter {
    schema_title: String,
}

/// The built-in palette, in display order.
///
/// Parses the embedded catalog and component files; an error means the build embeds a broken
/// file (the tests load every entry), so callers may treat it as fatal.
pub fn builtin() -> Result<Vec<CatalogEntry>, CatalogError> {
    let raw: Vec<RawEntry> =
        serde_json::from_str(CATALOG_JSON).map_err(|e| CatalogError::Catalog(e.to_string()))?;
    let mut entries: Vec<CatalogEntry> = Vec::with_capacity(raw.len());
    for r in raw {
        if entries.iter().any(|e| e.id == r.id) {
            return Err(CatalogError::DuplicateId(r.id));
        }
        let mut component = match (&r.file, &r.importer) {
            (Some(file), None) => {
                let text = FILES
                    .iter()
                    .find(|(name, _)| name == file)
                    .map(|(_, text)| *text)
                    .ok_or_else(|| CatalogError::MissingFile {
                        id: r.id.clone(),
                        file: file.clone(),
                    })?;
                pipeline::component_from_yaml(text).map_err(|source| CatalogError::Component {
                    id: r.id.clone(),
                    file: file.clone(),
                    source,
                })?
            }
            (None, Some(importer)) => importer_component(&importer.schema_title),
            _ => return Err(CatalogError::Source(r.id)),
        };
        // The catalog's title and description are written for the palette: they win over the
        // file's (its header comment, or its function's docstring).
        component.title = Some(r.title.clone());
        component.description = Some(r.description.clone());
        entries.push(CatalogEntry {
            id: r.id,
            title: r.title,
            category: r.category,
            description: r.description,
            component,
        });
    }
    Ok(entries)
}

/// A KFP importer (`dsl.importer`) as a component: takes the artifact's URI as the `uri`
/// parameter and outputs it as `artifact`, an artifact of type `schema_title`. Metadata for
/// the imported artifact goes in the executor's `metadata` (none here).
pub fn importer_component(schema_title: &str) -> ComponentDef {
    let type_schema = ArtifactTypeSchema::titled(schema_title);
    let mut input_definitions = InputDefinitions::default();
    input_definitions
        .parameters
        .insert("uri".into(), ParameterSpec::of(ParameterType::String));
    let mut output_definitions = OutputDefinitions::default();
    output_definitions.artifacts.insert(
        "artifact".into(),
        ArtifactSpec {
            artifact_type: type_schema.clone(),
            ..ArtifactSpec::default()
        },
    );
    ComponentDef {
        name: "importer".into(),
        title: None,
        description: None,
        input_definitions,
        output_definitions,
        executor: Some(ExecutorSpec::Importer(ImporterSpec {
            artifact_uri: ValueOrRuntimeParameter {
                runtime_parameter: Some("uri".into()),
                ..ValueOrRuntimeParameter::default()
            },
            type_schema,
            ..ImporterSpec::default()
        })),
        pipeline: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn entry(entries: &[CatalogEntry], id: &str) -> CatalogEntry {
        entries
            .iter()
            .find(|e| e.id == id)
            .cloned()
            .unwrap_or_else(|| panic!("no catalog entry {id}"))
    }

    fn interface(c: &ComponentDef) -> Value {
        json!({
            "inputDefinitions": serde_json::to_value(&c.input_definitions).expect("inputs"),
            "outputDefinitions": serde_json::to_value(&c.output_definitions).expect("outputs"),
        })
    }

    #[test]
    fn every_builtin_loads_in_order() {
        let entries = builtin().expect("the built-in catalog loads");
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "build-container-image",
                "custom-training-job",
                "get-training-job-details",
                "create-mar-file",
                "build-serving-image",
                "import-unmanaged-container-model",
                "model-upload",
                "endpoint-create",
                "model-deploy",
                "online-prediction",
                "importer",
            ]
        );
        for e in &entries {
            assert_eq!(
                e.component.title.as_deref(),
                Some(e.title.as_str()),
                "{}",
                e.id
            );
            assert!(e.component.description.is_some(), "{}", e.id);
            assert!(
                !e.category.is_empty() && !e.description.is_empty(),
                "{}",
                e.id
            );
        }
        // Every embedded file is used by some entry.
        for (file, _) in FILES {
            assert!(
                CATALOG_JSON.contains(&format!("\"{file}\"")),
                "{file} is embedded but not in catalog.json"
            );
        }
    }

    #[test]
    fn seed_titles_are_the_palette_titles() {
        let entries = builtin().expect("catalog");
        for (id, title) in [
            ("build-container-image", "Build container image"),
            ("custom-training-job", "Custom training job (GPU)"),
            ("create-mar-file", "Create MAR file"),
            ("model-deploy", "Deploy model to endpoint"),
            ("online-prediction", "Online prediction"),
        ] {
            assert_eq!(entry(&entries, id).title, title);
        }
    }

    /// The interfaces of the KFP SDK's compile of `seed_pipeline.py` (the oracle), copied from
    /// its `components` section.
    #[test]
    fn python_components_have_the_oracle_interfaces() {
        let entries = builtin().expect("catalog");
        let s = json!({"parameterType": "STRING"});
        let d = json!({"parameterType": "NUMBER_DOUBLE"});
        let l = json!({"parameterType": "LIST"});
        let model =
            json!({"artifactType": {"schemaTitle": "system.Model", "schemaVersion": "0.0.1"}});
        let cases = [
            (
                "build-container-image",
                "build-custom-train-image",
                json!({
                    "inputDefinitions": {"parameters": {"gs_train_src_path": s, "project": s, "training_image_uri": s}},
                    "outputDefinitions": {"parameters": {"training_image_uri": s}},
                }),
            ),
            (
                "get-training-job-details",
                "get-training-job-details",
                json!({
                    "inputDefinitions": {"parameters": {"eval_metric_key": s, "job_resource": s, "location": s, "model_display_name": s, "project": s}},
                    "outputDefinitions": {"artifacts": {"model": model}, "parameters": {"eval_loss": d, "eval_metric": d}},
                }),
            ),
            (
                "create-mar-file",
                "generate-mar-file",
                json!({
                    "inputDefinitions": {"artifacts": {"model": model}, "parameters": {"handler": s, "model_display_name": s, "model_version": s}},
                    "outputDefinitions": {"artifacts": {"model_mar": model}, "parameters": {"mar_env_var": l, "mar_export_uri": s}},
                }),
            ),
            (
                "build-serving-image",
                "build-custom-serving-image",
                json!({
                    "inputDefinitions": {"parameters": {"gs_serving_dependencies_path": s, "project": s, "serving_image_uri": s}},
                    "outputDefinitions": {"parameters": {"serving_image_uri": s}},
                }),
            ),
            (
                "online-prediction",
                "make-prediction-request",
                json!({
                    "inputDefinitions": {"parameters": {"bucket": s, "endpoint": s, "instances": l, "project": s}},
                    "outputDefinitions": {},
                }),
            ),
        ];
        for (id, name, expected) in cases {
            let c = entry(&entries, id).component;
            assert_eq!(c.name, name);
            assert_eq!(interface(&c), expected, "{id}");
            let Some(ExecutorSpec::Container(container)) = &c.executor else {
                panic!("{id}: not a container executor");
            };
            assert_eq!(
                container.args,
                [
                    "--executor_input",
                    "{{$}}",
                    "--function_to_execute",
                    &name.replace('-', "_")
                ]
            );
            let program = container.command.last().expect("program");
            assert!(
                program.contains(&format!("def {}(", name.replace('-', "_"))),
                "{id}"
            );
        }
        let image = |id: &str| match entry(&entries, id).component.executor {
            Some(ExecutorSpec::Container(c)) => c.image,
            other => panic!("{id}: {other:?}"),
        };
        assert_eq!(
            image("build-container-image"),
            "gcr.io/google.com/cloudsdktool/cloud-sdk:latest"
        );
        assert_eq!(image("create-mar-file"), "python:3.9");
        let mar = entry(&entries, "create-mar-file").component.executor;
        let Some(ExecutorSpec::Container(mar)) = mar else {
            panic!("container");
        };
        assert!(mar
            .command
            .iter()
            .any(|c| c.contains("'torch-model-archiver'")));
    }

    #[test]
    fn gcpc_components_have_the_ports_the_seed_uses() {
        let entries = builtin().expect("catalog");
        let port = |id: &str, input: bool, port: &str| {
            let c = entry(&entries, id).component;
            let t = if input {
                c.input_port(port)
            } else {
                c.output_port(port)
            };
            t.map(|t| t.label())
                .unwrap_or_else(|| panic!("{id} has no port {port}"))
        };
        assert_eq!(
            port("custom-training-job", true, "worker_pool_specs"),
            "list"
        );
        assert_eq!(
            port("custom-training-job", true, "base_output_directory"),
            "str"
        );
        assert_eq!(port("custom-training-job", false, "gcp_resources"), "str");
        assert_eq!(
            port("model-upload", true, "unmanaged_container_model"),
            "google.UnmanagedContainerModel"
        );
        assert_eq!(port("model-upload", false, "model"), "google.VertexModel");
        assert_eq!(
            port("endpoint-create", false, "endpoint"),
            "google.VertexEndpoint"
        );
        assert_eq!(port("model-deploy", true, "model"), "google.VertexModel");
        assert_eq!(
            port("model-deploy", true, "endpoint"),
            "google.VertexEndpoint"
        );
        assert_eq!(port("model-deploy", true, "traffic_split"), "dict");
        assert_eq!(
            port(
                "model-deploy",
                true,
                "dedicated_resources_min_replica_count"
            ),
            "int"
        );
        assert_eq!(port("model-deploy", false, "gcp_resources"), "str");
        let upload = entry(&entries, "model-upload").component;
        assert!(upload.input_required("display_name"));
        assert!(!upload.input_required("project"), "project has a default");
        let Some(ExecutorSpec::Container(deploy)) =
            entry(&entries, "model-deploy").component.executor
        else {
            panic!("container");
        };
        assert!(
            deploy
                .image
                .starts_with("gcr.io/ml-pipeline/google-cloud-pipeline-components:"),
            "{}",
            deploy.image
        );
    }

    #[test]
    fn importer_entries_match_the_kfp_importer() {
        let entries = builtin().expect("catalog");
        let c = entry(&entries, "import-unmanaged-container-model").component;
        assert_eq!(c.name, "importer");
        assert_eq!(
            serde_json::to_value(&c.executor).expect("executor"),
            json!({"importer": {
                "artifactUri": {"runtimeParameter": "uri"},
                "typeSchema": {"schemaTitle": "google.UnmanagedContainerModel", "schemaVersion": "0.0.1"},
            }})
        );
        assert_eq!(
            interface(&c),
            json!({
                "inputDefinitions": {"parameters": {"uri": {"parameterType": "STRING"}}},
                "outputDefinitions": {"artifacts": {"artifact": {"artifactType": {"schemaTitle": "google.UnmanagedContainerModel", "schemaVersion": "0.0.1"}}}},
            })
        );
        let generic = entry(&entries, "importer").component;
        assert_eq!(
            generic
                .output_port("artifact")
                .map(|t| t.label())
                .as_deref(),
            Some("system.Artifact")
        );
    }

    #[test]
    fn entries_serialize_for_the_api() {
        let entries = builtin().expect("catalog");
        let v = serde_json::to_value(&entries[0]).expect("json");
        assert_eq!(v["id"], "build-container-image");
        assert_eq!(v["title"], "Build container image");
        assert_eq!(v["category"], "Build");
        assert_eq!(v["component"]["name"], "build-custom-train-image");
        assert_eq!(v["component"]["title"], "Build container image");
        let back: CatalogEntry = serde_json::from_value(v).expect("round trip");
        assert_eq!(back, entries[0]);
    }
}
