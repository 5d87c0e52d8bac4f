"""Helpers of the local backings' tests: imports of the component modules, output artifacts
in temporary folders, and skips (with a printed reason) when the ML environment is absent.

The component functions are called through `.python_func`, as the KFP executor would call
them, with dsl artifacts whose URIs are local folders.
"""

import importlib.util
import os
import sys
import unittest

LOCAL_PYTHON = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPONENTS = os.path.dirname(os.path.dirname(LOCAL_PYTHON))
if LOCAL_PYTHON not in sys.path:
    sys.path.insert(0, LOCAL_PYTHON)


def skip(reason):
    """Prints why a test is skipped and skips it."""
    print(f"\nSKIPPED: {reason}", file=sys.stderr, flush=True)
    raise unittest.SkipTest(reason)


def require_ml_environment():
    """Skips unless this interpreter has the LOCAL_ML_PACKAGES environment (torch, TorchServe,
    the model archiver) and kfp."""
    missing = [
        name
        for name in ("kfp", "torch", "ts", "model_archiver")
        if importlib.util.find_spec(name) is None
    ]
    if missing:
        skip(
            f"{sys.executable} lacks {', '.join(missing)}: run these tests with the python of a "
            "venv holding components/local/packages.txt and kfp==2.17.3 "
            "(scripts/test uses the managed environment the seed's tests install under "
            "~/.cache/pipeline-canvas-tests/envs)"
        )


def component(module):
    """The component object of components/python/local/<module>.py."""
    spec = importlib.util.spec_from_file_location(
        f"local_{module}", os.path.join(LOCAL_PYTHON, f"{module}.py")
    )
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return getattr(loaded, module)


def artifact(cls, folder, name, **metadata):
    """A dsl artifact of class `cls` whose URI is `<folder>/<name>`."""
    return cls(uri=os.path.join(folder, name), name=name, metadata=dict(metadata))


SEED_ARGS = ["--num-epochs", "2", "--model-name", "finetuned-bert-classifier"]


def train(folder, args=None):
    """Runs the local custom_training_job with the seed's arguments into `folder`; returns
    (gcp_resources, {output name: artifact})."""
    from kfp import dsl

    outputs = {
        "model": artifact(dsl.Model, folder, "model"),
        "metrics": artifact(dsl.Metrics, folder, "metrics"),
        "classification_metrics": artifact(dsl.ClassificationMetrics, folder, "cm"),
        "dataset": artifact(dsl.Dataset, folder, "dataset"),
        "job": artifact(dsl.Artifact, folder, "job"),
    }
    (gcp_resources,) = component("custom_training_job").python_func(
        display_name="finetuned-bert-classifier-train",
        worker_pool_specs=[
            {
                "container_spec": {"args": SEED_ARGS if args is None else args},
                "machine_spec": {"machine_type": "n1-standard-8"},
                "replica_count": 1,
            }
        ],
        base_output_directory="gs://my-bucket/pipeline_root",
        **outputs,
    )
    return gcp_resources, outputs


def package(folder, gcp_resources, model_name="finetuned-bert-classifier"):
    """get_training_job_details then generate_mar_file on a training's job; returns
    (eval_metric, mar folder)."""
    from kfp import dsl

    details_model = artifact(dsl.Model, folder, "details_model")
    eval_metric, _ = component("get_training_job_details").python_func(
        job_resource=gcp_resources,
        eval_metric_key="eval_accuracy",
        model_display_name=model_name,
        model=details_model,
    )
    model_mar = artifact(dsl.Model, folder, "model_mar")
    _, mar_export_uri = component("generate_mar_file").python_func(
        model_display_name=model_name,
        model_version="1",
        model=details_model,
        model_mar=model_mar,
        handler="gs://my-bucket/serving",
    )
    return eval_metric, mar_export_uri
