//! Component files: the one component of a compiled component file (or a v1 component).

use super::{read_file, ImportError, KfpFile};
use crate::document::ComponentDef;
use crate::ir::ComponentSpec;

/// Reads a KFP component YAML file (what `kfp.compiler.Compiler().compile(component, path)`
/// writes, and what `kfp.components.load_component_from_file` reads).
pub fn component_from_yaml(text: &str) -> Result<ComponentDef, ImportError> {
    component_from_file(read_file(text)?)
}

/// The component of a file read by [`read_file`] or [`read_documents`](super::read_documents).
pub fn component_from_file(file: KfpFile) -> Result<ComponentDef, ImportError> {
    let spec = match file {
        KfpFile::Spec(f) => f.spec,
        KfpFile::V1Component(c) => return Ok(*c),
        KfpFile::Document(_) => {
            return Err(ImportError::Shape(
                "this is a Pipeline Canvas document, not a component".into(),
            ))
        }
    };
    let root_dag = spec
        .root
        .dag
        .as_ref()
        .ok_or_else(|| ImportError::Invalid("root has no DAG".into()))?;
    if root_dag.tasks.len() != 1 {
        return Err(ImportError::Invalid(format!(
            "a component file has one task in its root DAG; this one has {} (is it a pipeline?)",
            root_dag.tasks.len()
        )));
    }
    let (_, task) = root_dag
        .tasks
        .iter()
        .next()
        .ok_or_else(|| ImportError::Invalid("root DAG has no task".into()))?;
    let comp: &ComponentSpec = spec
        .components
        .get(&task.component_ref.name)
        .ok_or_else(|| {
            ImportError::Invalid(format!(
                "task refers to component {:?}, which is not defined",
                task.component_ref.name
            ))
        })?;
    let label = comp.executor_label.as_deref().ok_or_else(|| {
        ImportError::Invalid(format!(
            "component {:?} has no executor (sub-pipelines are not components)",
            task.component_ref.name
        ))
    })?;
    let executor = spec
        .deployment_spec
        .as_ref()
        .and_then(|d| d.executors.get(label))
        .cloned()
        .ok_or_else(|| {
            ImportError::Invalid(format!("executor {label:?} is not in deploymentSpec"))
        })?;
    Ok(ComponentDef {
        name: spec.pipeline_info.name.clone(),
        title: spec.pipeline_info.display_name.clone(),
        description: spec.pipeline_info.description.clone(),
        input_definitions: comp
            .input_definitions
            .clone()
            .or_else(|| spec.root.input_definitions.clone())
            .unwrap_or_default(),
        output_definitions: comp.output_definitions.clone().unwrap_or_default(),
        executor: Some(executor),
        pipeline: None,
    })
}
