"""Local backing of get_training_job_details: reads the local training job's metrics and model
as the builtin reads a Vertex AI custom job's.

Compiled to ``components/local/get_training_job_details.yaml`` by ``components/regenerate.py``.
"""

from typing import NamedTuple

from kfp.dsl import Model, Output, component


@component(base_image="python:3.11")
def get_training_job_details(
    job_resource: str,
    eval_metric_key: str,
    model_display_name: str,
    model: Output[Model],
    project: str = "",
    location: str = "",
) -> NamedTuple("Outputs", [("eval_metric", float), ("eval_loss", float)]):
    """Reads the local training job named by a `gcp_resources` JSON (LocalCustomJob), returns
    its evaluation metric and loss from metrics.json, and copies its model into `model`."""
    # Inputs:
    #   job_resource        {"resources": [{"resourceType": "LocalCustomJob",
    #                        "resourceUri": "file://<job folder>"}]}, written by the local
    #                        custom_training_job; the folder holds metrics.json and model/.
    #   eval_metric_key     the metric to return as eval_metric (e.g. "eval_accuracy").
    #   model_display_name  recorded in the model's metadata.
    #   project, location   unused locally.
    # Outputs: eval_metric = metrics[eval_metric_key]; eval_loss = metrics["eval_loss"];
    #   model, a copy of the job's model folder.
    import json
    import os
    import shutil

    del project, location
    try:
        resources = json.loads(job_resource).get("resources", [])
    except (ValueError, AttributeError) as err:
        raise ValueError(
            f"job_resource is not a gcp_resources JSON ({err}): {job_resource!r}"
        ) from err
    job_dir = None
    model_uri = ""
    for resource in resources if isinstance(resources, list) else []:
        uri = resource.get("resourceUri", "") if isinstance(resource, dict) else ""
        if resource.get("resourceType") == "LocalCustomJob" and uri.startswith("file://"):
            job_dir = uri[len("file://") :]
            model_uri = resource.get("modelUri") or ""
            break
    if job_dir is None:
        raise ValueError(
            "job_resource names no local training job (a LocalCustomJob resource with a "
            f"file:// URI); a Vertex AI job cannot be read on a local run: {job_resource}"
        )
    metrics_file = os.path.join(job_dir, "metrics.json")
    try:
        with open(metrics_file, encoding="utf-8") as f:
            metrics = json.load(f)
    except (OSError, ValueError) as err:
        raise RuntimeError(f"cannot read the training metrics {metrics_file}: {err}") from err
    if not isinstance(metrics, dict):
        raise RuntimeError(f"{metrics_file} is not a JSON object")
    for key in (eval_metric_key, "eval_loss"):
        if key not in metrics:
            raise KeyError(
                f"metric {key!r} is not in the training metrics {metrics_file}; "
                f"available: {', '.join(sorted(metrics))}"
            )
    eval_metric = float(metrics[eval_metric_key])
    eval_loss = float(metrics["eval_loss"])
    print(f"training job {job_dir}: {eval_metric_key} = {eval_metric}, eval_loss = {eval_loss}")

    source = os.path.join(job_dir, "model")
    if not os.path.isdir(source):
        raise FileNotFoundError(f"the training job left no model folder at {source}")
    if model_uri and os.path.isdir(model_uri):
        # The training job's model artifact itself (as the Vertex step names the job's model
        # folder), so the lineage runs from the deployment back to the training run.
        model.uri = model_uri
    else:
        shutil.copytree(source, model.path, dirs_exist_ok=True)
    model.metadata.update(
        {
            "framework": "pytorch",
            "display_name": model_display_name,
            "training_job": "file://" + job_dir,
            eval_metric_key: eval_metric,
            "eval_loss": eval_loss,
        }
    )
    return (eval_metric, eval_loss)
