"""The compiled YAML in components/local/ runs as the engine runs it: the component's program
(with its embedded helper functions) through kfp.dsl.executor_main with an executor input, in
this interpreter's environment (the package install step of the command is left out). Chains
training -> details -> MAR -> upload, the upload taking the google.UnmanagedContainerModel the
importer makes."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import support

LOCAL = os.path.join(support.COMPONENTS, "local")


def artifact_spec(name, schema_title, uri, metadata=None):
    return {
        "artifacts": [
            {
                "name": name,
                "type": {"schemaTitle": schema_title},
                "uri": uri,
                "metadata": metadata or {},
            }
        ]
    }


def run(component_file, folder, parameters, input_artifacts, outputs):
    """Runs a compiled local component; `outputs` maps output artifact names to schema titles.
    Returns (parameter outputs, {artifact name: runtime artifact}) from the executor output."""
    from kfp import components

    spec = components.load_component_from_file(os.path.join(LOCAL, component_file))
    container = spec.component_spec.implementation.container
    task_dir = os.path.join(folder, component_file[: -len(".yaml")])
    os.makedirs(task_dir, exist_ok=True)
    output_file = os.path.join(task_dir, "executor_output.json")
    executor_input = {
        "inputs": {"parameterValues": parameters, "artifacts": input_artifacts},
        "outputs": {
            "parameters": {
                name: {"outputFile": os.path.join(task_dir, name)}
                for name, out in spec.component_spec.outputs.items()
                if out.type in ("String", "Float", "List", "Dict", "Integer", "Boolean")
            },
            "artifacts": {
                name: artifact_spec(name, title, os.path.join(task_dir, name))
                for name, title in outputs.items()
            },
            "outputFile": output_file,
        },
    }
    # the command is [sh, -c, <pip install ...>, sh, -ec, <program runner>, <program>]
    command = container.command[3:]
    args = [json.dumps(executor_input) if a == "{{$}}" else a for a in container.args]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    result = subprocess.run(
        command + args, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    if result.returncode != 0:
        raise AssertionError(f"{component_file} failed:\n{result.stdout}\n{result.stderr}")
    with open(output_file, encoding="utf-8") as f:
        executor_output = json.load(f)
    artifacts = {
        name: value["artifacts"][0] for name, value in executor_output.get("artifacts", {}).items()
    }
    return executor_output.get("parameterValues", {}), artifacts


class CompiledTest(unittest.TestCase):
    def setUp(self):
        support.require_ml_environment()

    def test_training_to_upload_through_the_executor(self):
        with tempfile.TemporaryDirectory() as folder:
            params, _ = run(
                "custom_training_job.yaml",
                folder,
                {
                    "display_name": "train",
                    "worker_pool_specs": [{"container_spec": {"args": support.SEED_ARGS}}],
                },
                {},
                {
                    "model": "system.Model",
                    "metrics": "system.Metrics",
                    "classification_metrics": "system.ClassificationMetrics",
                    "dataset": "system.Dataset",
                    "job": "system.Artifact",
                },
            )
            params, artifacts = run(
                "get_training_job_details.yaml",
                folder,
                {
                    "job_resource": params["gcp_resources"],
                    "eval_metric_key": "eval_accuracy",
                    "model_display_name": "finetuned-bert-classifier",
                },
                {},
                {"model": "system.Model"},
            )
            self.assertGreater(params["eval_metric"], 0.8)
            params, _ = run(
                "generate_mar_file.yaml",
                folder,
                {"model_display_name": "finetuned-bert-classifier", "model_version": "1"},
                {"model": artifact_spec("model", "system.Model", artifacts["model"]["uri"])},
                {"model_mar": "system.Model"},
            )
            mar_folder = params["mar_export_uri"]
            self.assertTrue(
                os.path.isfile(os.path.join(mar_folder, "finetuned-bert-classifier.mar"))
            )
            params, artifacts = run(
                "model_upload.yaml",
                folder,
                {"display_name": "pytorch-model"},
                {
                    "unmanaged_container_model": artifact_spec(
                        "unmanaged_container_model", "google.UnmanagedContainerModel", mar_folder
                    )
                },
                {"model": "google.VertexModel"},
            )
            self.assertEqual(artifacts["model"]["uri"], mar_folder)
            self.assertEqual(
                artifacts["model"]["metadata"],
                {
                    "resourceName": "local/models/pytorch-model",
                    "displayName": "pytorch-model",
                    "marFolder": mar_folder,
                    "modelName": "finetuned-bert-classifier",
                },
            )


if __name__ == "__main__":
    unittest.main()
