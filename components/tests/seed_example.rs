//! The seed example, `examples/pytorch-text-classification.pipeline.json`, is built here from
//! the built-in catalog: the PyTorch text classification workflow on Vertex AI, exactly as the
//! KFP SDK reference (`seed_pipeline.py`) defines it — same constants, task names, display
//! names, `after` edges, condition and pipeline parameters.
//!
//! The committed file is the golden copy; run with `UPDATE_GOLDEN=1` to rewrite it.

use std::path::PathBuf;

use pipeline::ir::ExecutorSpec;
use pipeline::ir::ParameterType;
use pipeline::map::Map;
use pipeline::{
    Binding, Document, Group, GroupKind, Node, PipelineParameter, Point, PortRef, Size, Wire,
};
use serde_json::{json, Value};

const PROJECT_ID: &str = "my-project";
const REGION: &str = "us-central1";
const BUCKET: &str = "gs://my-bucket";
const MODEL_NAME: &str = "finetuned-bert-classifier";

fn train_image_uri() -> String {
    format!("gcr.io/{PROJECT_ID}/pytorch_gpu_train_{MODEL_NAME}")
}

fn serve_image_uri() -> String {
    format!("gcr.io/{PROJECT_ID}/pytorch_predict_{MODEL_NAME}")
}

fn value(v: Value) -> Binding {
    Binding::Value(v)
}

fn param(name: &str) -> Binding {
    Binding::Parameter(name.to_string())
}

struct Builder {
    doc: Document,
}

impl Builder {
    #[allow(clippy::too_many_arguments)]
    fn node(
        &mut self,
        id: &str,
        name: &str,
        display_name: &str,
        component: &str,
        group: Option<&str>,
        inputs: &[(&str, Binding)],
        after: &[&str],
    ) {
        let mut node = Node::new(id, name, component);
        node.display_name = Some(display_name.into());
        node.group = group.map(str::to_string);
        node.inputs = inputs
            .iter()
            .map(|(k, b)| (k.to_string(), b.clone()))
            .collect::<Map<_>>();
        node.after = after.iter().map(|a| a.to_string()).collect();
        self.doc.nodes.push(node);
    }

    fn wire(&mut self, from: (&str, &str), to: (&str, &str)) {
        let id = format!("w{}", self.doc.wires.len() + 1);
        self.doc.wires.push(Wire {
            id,
            from: PortRef {
                node: from.0.into(),
                port: from.1.into(),
            },
            to: PortRef {
                node: to.0.into(),
                port: to.1.into(),
            },
        });
    }
}

/// The seed workflow, built from the catalog.
fn seed_document() -> Document {
    let catalog = components::builtin().expect("built-in catalog");
    let mut doc = Document::new("pytorch-text-classifier-pipeline");
    doc.description = Some(
        "PyTorch text classification on Vertex AI: build the training image, fine-tune the \
         model on a GPU with a custom training job, and when its evaluation accuracy beats \
         eval_acc_threshold, package it for TorchServe, build the serving image, upload the \
         model, deploy it to an endpoint and test it with online predictions."
            .into(),
    );
    doc.pipeline_root = Some(format!("{BUCKET}/pipeline_root"));
    let string = |name: &str| PipelineParameter {
        name: name.into(),
        ty: ParameterType::String,
        default: None,
        description: None,
        optional: None,
    };
    // Every parameter has a default, so the example runs locally with one click: the paths
    // only Vertex AI reads are placeholders, and the threshold sits below the local training's
    // accuracy (about 0.9) so the deployment branch runs.
    let with_default = |name: &str, value: Value| PipelineParameter {
        default: Some(value),
        ..string(name)
    };
    doc.parameters = vec![
        with_default("pipeline_job_id", json!("pytorch-text-classifier")),
        with_default(
            "gs_train_script_path",
            json!(format!("{BUCKET}/pytorch-text-classifier/train")),
        ),
        with_default(
            "gs_serving_dependencies_path",
            json!(format!("{BUCKET}/pytorch-text-classifier/serve")),
        ),
        PipelineParameter {
            ty: ParameterType::NumberDouble,
            ..with_default("eval_acc_threshold", json!(0.7))
        },
        PipelineParameter {
            default: Some(json!("n")),
            ..string("is_hp_tuning_enabled")
        },
    ];
    for id in [
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
    ] {
        let entry = catalog
            .iter()
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("no catalog entry {id}"));
        doc.components.insert(id.into(), entry.component.clone());
    }
    // The importer's metadata names the serving container for ModelUploadOp.
    let importer = doc
        .components
        .get_mut("import-unmanaged-container-model")
        .expect("importer component");
    let Some(ExecutorSpec::Importer(spec)) = &mut importer.executor else {
        panic!("the importer entry has an importer executor");
    };
    spec.metadata = Some(json!({
        "containerSpec": {
            "imageUri": serve_image_uri(),
            "predictRoute": format!("/predictions/{MODEL_NAME}"),
            "healthRoute": "/ping",
            "ports": [{"containerPort": 7080.0}],
        }
    }));

    let mut b = Builder { doc };
    let project = || ("project", value(json!(PROJECT_ID)));
    let g = Some("g1");

    // Top level, left to right.
    b.node(
        "n1",
        "build-custom-train-image",
        "Build custom training image",
        "build-container-image",
        None,
        &[
            project(),
            ("gs_train_src_path", param("gs_train_script_path")),
            ("training_image_uri", value(json!(train_image_uri()))),
        ],
        &[],
    );
    b.node(
        "n2",
        "custom-training-job",
        "Run custom training job",
        "custom-training-job",
        None,
        &[
            project(),
            ("location", value(json!(REGION))),
            ("display_name", value(json!(format!("{MODEL_NAME}-train")))),
            (
                "base_output_directory",
                value(json!(format!("{BUCKET}/staging"))),
            ),
            (
                "worker_pool_specs",
                value(json!([{
                    "machine_spec": {
                        "machine_type": "n1-standard-8",
                        "accelerator_type": "NVIDIA_TESLA_V100",
                        "accelerator_count": 1.0,
                    },
                    "replica_count": 1.0,
                    "container_spec": {
                        "image_uri": train_image_uri(),
                        "args": ["--num-epochs", "2", "--model-name", MODEL_NAME],
                    },
                }])),
            ),
        ],
        &["n1"],
    );
    b.node(
        "n3",
        "get-training-job-details",
        "Get custom training job details",
        "get-training-job-details",
        None,
        &[
            project(),
            ("location", value(json!(REGION))),
            ("eval_metric_key", value(json!("eval_accuracy"))),
            ("model_display_name", value(json!(MODEL_NAME))),
        ],
        &[],
    );
    b.wire(("n2", "gcp_resources"), ("n3", "job_resource"));

    // Inside the condition: the main chain on row 0, the side steps on row 1.
    b.node(
        "n4",
        "generate-mar-file",
        "Create MAR file",
        "create-mar-file",
        g,
        &[
            ("model_display_name", value(json!(MODEL_NAME))),
            ("model_version", value(json!("1"))),
            ("handler", param("gs_serving_dependencies_path")),
        ],
        &[],
    );
    b.wire(("n3", "model"), ("n4", "model"));
    b.node(
        "n5",
        "build-custom-serving-image",
        "Build custom serving image",
        "build-serving-image",
        g,
        &[
            project(),
            (
                "gs_serving_dependencies_path",
                param("gs_serving_dependencies_path"),
            ),
            ("serving_image_uri", value(json!(serve_image_uri()))),
        ],
        &[],
    );
    b.node(
        "n6",
        "importer",
        "Import serving container model",
        "import-unmanaged-container-model",
        g,
        &[],
        &[],
    );
    b.wire(("n4", "mar_export_uri"), ("n6", "uri"));
    b.node(
        "n7",
        "model-upload",
        "Upload model",
        "model-upload",
        g,
        &[project(), ("display_name", value(json!(MODEL_NAME)))],
        &["n5"],
    );
    b.wire(("n6", "artifact"), ("n7", "unmanaged_container_model"));
    b.node(
        "n8",
        "endpoint-create",
        "Create endpoint",
        "endpoint-create",
        g,
        &[
            project(),
            (
                "display_name",
                value(json!(format!("{MODEL_NAME}-endpoint"))),
            ),
        ],
        &["n4"],
    );
    b.node(
        "n9",
        "model-deploy",
        "Deploy model to endpoint",
        "model-deploy",
        g,
        &[
            ("deployed_model_display_name", value(json!(MODEL_NAME))),
            (
                "dedicated_resources_machine_type",
                value(json!("n1-standard-4")),
            ),
            ("dedicated_resources_min_replica_count", value(json!(1.0))),
            ("dedicated_resources_max_replica_count", value(json!(1.0))),
            ("traffic_split", value(json!({"0": 100.0}))),
        ],
        &[],
    );
    b.wire(("n8", "endpoint"), ("n9", "endpoint"));
    b.wire(("n7", "model"), ("n9", "model"));
    b.node(
        "n10",
        "make-prediction-request",
        "Test model deployment making online predictions",
        "online-prediction",
        g,
        &[
            project(),
            ("bucket", value(json!(BUCKET))),
            (
                "instances",
                value(json!([
                    "Jaw dropping visual affects and action! One of the best I have seen to date.",
                    "Take away the CGI and the A-list cast and you end up with film with less punch."
                ])),
            ),
        ],
        &[],
    );
    b.wire(("n9", "gcp_resources"), ("n10", "endpoint"));

    b.doc.groups.push(Group {
        id: "g1".into(),
        name: None,
        kind: GroupKind::Condition {
            expression: "get-training-job-details.eval_metric > eval_acc_threshold".into(),
        },
        display_name: Some("model-deploy-decision".into()),
        parent: None,
        position: Point::default(),
        size: Size::default(),
    });
    // Positions come from the same automatic layout imported pipelines get.
    pipeline::layout::layout(&mut b.doc);
    b.doc
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/pytorch-text-classification.pipeline.json")
}

#[test]
fn seed_example_matches_the_committed_file() {
    let text = seed_document().to_json();
    let path = golden_path();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).expect("write the golden file");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} ({e}); run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    assert!(
        committed == text,
        "{} is out of date; run `UPDATE_GOLDEN=1 cargo test -p components --test seed_example`",
        path.display()
    );
    let parsed = Document::from_json(&committed).expect("the example parses");
    assert_eq!(parsed, seed_document());
}

#[test]
fn seed_example_compiles_without_diagnostics() {
    let doc = seed_document();
    let compiled = pipeline::compile(&doc);
    assert!(
        compiled.diagnostics.is_empty(),
        "{:#?}",
        compiled.diagnostics
    );
    let spec = compiled.spec.expect("a spec");
    assert_eq!(spec.pipeline_info.name, "pytorch-text-classifier-pipeline");
    assert_eq!(
        spec.default_pipeline_root.as_deref(),
        Some("gs://my-bucket/pipeline_root")
    );
    let root = spec.root.dag.as_ref().expect("root DAG");
    let top: Vec<&str> = root.tasks.keys().map(String::as_str).collect();
    assert_eq!(
        top,
        [
            "build-custom-train-image",
            "condition-1",
            "custom-training-job",
            "get-training-job-details"
        ]
    );
    assert_eq!(
        root.tasks["condition-1"].task_info.name,
        "model-deploy-decision"
    );
    assert_eq!(
        root.tasks["custom-training-job"].dependent_tasks,
        ["build-custom-train-image"]
    );
    let condition = spec.components["comp-condition-1"]
        .dag
        .as_ref()
        .expect("condition DAG");
    let inner: Vec<&str> = condition.tasks.keys().map(String::as_str).collect();
    assert_eq!(
        inner,
        [
            "build-custom-serving-image",
            "endpoint-create",
            "generate-mar-file",
            "importer",
            "make-prediction-request",
            "model-deploy",
            "model-upload"
        ]
    );
    assert_eq!(
        condition.tasks["model-upload"].dependent_tasks,
        ["build-custom-serving-image", "importer"]
    );
    assert_eq!(
        condition.tasks["endpoint-create"].dependent_tasks,
        ["generate-mar-file"]
    );
    assert_eq!(
        condition.tasks["make-prediction-request"].task_info.name,
        "Test model deployment making online predictions"
    );
}

#[test]
fn seed_layout_reads_left_to_right_inside_its_frame() {
    let doc = seed_document();
    let g = &doc.groups[0];
    for n in &doc.nodes {
        let height = pipeline::layout::node_height(doc.component_of(n));
        let inside = n.position.x >= g.position.x
            && n.position.x + pipeline::layout::NODE_WIDTH <= g.position.x + g.size.width
            && n.position.y >= g.position.y
            && n.position.y + height <= g.position.y + g.size.height;
        assert_eq!(inside, n.group.is_some(), "{} and the frame", n.name);
    }
    for w in &doc.wires {
        let x = |id: &str| doc.node(id).map(|n| n.position.x).expect("node");
        assert!(
            x(&w.from.node) < x(&w.to.node),
            "wire {} runs backwards",
            w.id
        );
    }
    for n in &doc.nodes {
        for a in &n.after {
            let before = doc.node(a).expect("after node");
            assert!(before.position.x < n.position.x, "{} after {}", n.name, a);
        }
    }
}
