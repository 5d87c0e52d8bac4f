"""KFP component: read a finished Vertex AI custom training job, its evaluation metrics and the
trained model it left in its base output directory.

Compiled to ``components/builtin/get_training_job_details.yaml`` by ``components/regenerate.py``.
"""
from typing import NamedTuple

from kfp.dsl import Model, Output, component


@component(base_image="python:3.9", packages_to_install=["google-cloud-aiplatform"])
def get_training_job_details(
    project: str,
    location: str,
    job_resource: str,
    eval_metric_key: str,
    model_display_name: str,
    model: Output[Model],
) -> NamedTuple("Outputs", [("eval_metric", float), ("eval_loss", float)]):
    """Reads the custom training job tracked by a `gcp_resources` JSON, loads the evaluation
    metrics the trainer wrote next to the model, and records the trained model as an artifact.
    """
    # Inputs:
    #   project, location    where the training job ran.
    #   job_resource         the `gcp_resources` JSON written by CustomTrainingJobOp, e.g.
    #                        {"resources": [{"resourceType": "CustomJob", "resourceUri":
    #                         "https://us-central1-aiplatform.googleapis.com/v1/projects/1/
    #                          locations/us-central1/customJobs/2"}]}
    #   eval_metric_key      the metric to return as eval_metric (e.g. "eval_accuracy").
    #   model_display_name   the model's name; the trainer may save under model/<name>/.
    # Outputs:
    #   model        the folder holding the trained model (under the job's base output dir).
    #   eval_metric  metrics[eval_metric_key];  eval_loss  metrics["eval_loss"].
    #
    # The trainer saves the model into $AIP_MODEL_DIR (<base_output_directory>/model), or into
    # a sub-folder named after the model, together with the metrics JSON that the Hugging Face
    # Trainer writes (all_results.json or eval_results.json).
    import json
    import logging
    import re

    from google.cloud import aiplatform, storage

    # parse the gcp_resources JSON to get the custom job's resource name
    try:
        resources = json.loads(job_resource).get("resources", [])
    except (ValueError, AttributeError) as err:
        raise ValueError(f"job_resource is not a gcp_resources JSON: {err}") from err
    job_name = None
    for resource in resources:
        uri = resource.get("resourceUri") or resource.get("resource_uri") or ""
        match = re.search(r"projects/[^/]+/locations/[^/]+/customJobs/[^/:?]+", uri)
        if match:
            job_name = match.group(0)
            break
    if job_name is None:
        raise ValueError(f"no CustomJob resource in job_resource: {job_resource}")

    # read the custom job and check that it succeeded
    aiplatform.init(project=project, location=location)
    job = aiplatform.CustomJob.get(job_name).gca_resource
    state = job.state.name
    if state != "JOB_STATE_SUCCEEDED":
        raise RuntimeError(f"custom job {job_name} is in state {state}, not succeeded")
    base_dir = job.job_spec.base_output_directory.output_uri_prefix.rstrip("/")
    if not base_dir.startswith("gs://"):
        raise RuntimeError(f"custom job {job_name} has no gs:// base output directory")
    logging.info("custom job %s wrote its outputs under %s", job_name, base_dir)

    # find the metrics file the trainer wrote next to the model
    gcs = storage.Client(project=project)
    candidates = [f"{base_dir}/model/{model_display_name}", f"{base_dir}/model"]
    metrics = None
    model_dir = None
    for folder in candidates:
        for file_name in ("all_results.json", "eval_results.json"):
            blob = storage.Blob.from_string(f"{folder}/{file_name}", client=gcs)
            if blob.exists():
                metrics = json.loads(blob.download_as_text())
                model_dir = folder
                logging.info("metrics from %s/%s: %s", folder, file_name, metrics)
                break
        if metrics is not None:
            break
    if metrics is None:
        raise RuntimeError(
            "no all_results.json or eval_results.json in " + " or ".join(candidates)
        )
    for key in (eval_metric_key, "eval_loss"):
        if key not in metrics:
            raise KeyError(
                f"metric {key!r} is not in the training metrics; have {sorted(metrics)}"
            )
    eval_metric = float(metrics[eval_metric_key])
    eval_loss = float(metrics["eval_loss"])

    # record the trained model
    model.uri = model_dir
    model.metadata["framework"] = "pytorch"
    model.metadata["display_name"] = model_display_name
    model.metadata["training_job"] = job_name
    model.metadata[eval_metric_key] = eval_metric
    model.metadata["eval_loss"] = eval_loss

    return (eval_metric, eval_loss)
