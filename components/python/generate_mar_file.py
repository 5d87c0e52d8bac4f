"""KFP component: package a trained PyTorch model as a TorchServe model archive (.mar).

Compiled to ``components/builtin/generate_mar_file.yaml`` by ``components/regenerate.py``.
"""
from typing import NamedTuple

from kfp.dsl import Input, Model, Output, component


@component(base_image="python:3.9", packages_to_install=["torch-model-archiver"])
def generate_mar_file(
    model_display_name: str,
    model_version: str,
    handler: str,
    model: Input[Model],
    model_mar: Output[Model],
) -> NamedTuple("Outputs", [("mar_env_var", list), ("mar_export_uri", str)]):
    """Runs torch-model-archiver on the trained model and writes the model archive (.mar)
    for TorchServe; returns the serving container's environment and the archive's folder.
    """
    # Inputs:
    #   model_display_name  the TorchServe model name (the archive is <name>.mar).
    #   model_version       the archive's model version.
    #   handler             the TorchServe handler: a .py file, or a folder holding
    #                       predictor/custom_handler.py (the serving dependencies folder).
    #                       gs:// paths are read through the /gcs/ mount.
    #   model               the trained model folder (weights, config, tokenizer files).
    # Outputs:
    #   model_mar       folder holding model-store/<name>.mar.
    #   mar_env_var     [{"name": "MODEL_NAME", "value": <name>}] for the serving container.
    #   mar_export_uri  gs:// folder holding the archive, the model's artifact URI.
    import logging
    import os
    import subprocess

    def local_path(path: str) -> str:
        return "/gcs/" + path[len("gs://"):] if path.startswith("gs://") else path

    # locate the handler and the files that go with it
    handler_path = local_path(handler)
    if not handler_path.endswith(".py"):
        handler_path = os.path.join(handler_path, "predictor", "custom_handler.py")
    if not os.path.isfile(handler_path):
        raise FileNotFoundError(f"TorchServe handler not found: {handler_path}")
    predictor_dir = os.path.dirname(handler_path)

    # locate the serialized model and the files that go with it
    model_dir = model.path
    if not os.path.isdir(model_dir):
        raise FileNotFoundError(f"model folder not found: {model_dir} ({model.uri})")
    serialized_file = None
    for name in ("pytorch_model.bin", "model.safetensors", "model.pt", "model.pth"):
        if os.path.isfile(os.path.join(model_dir, name)):
            serialized_file = os.path.join(model_dir, name)
            break
    if serialized_file is None:
        raise FileNotFoundError(
            f"no pytorch_model.bin, model.safetensors, model.pt or model.pth in {model_dir}; "
            f"it holds {sorted(os.listdir(model_dir))}"
        )
    training_only = {
        "training_args.bin",
        "trainer_state.json",
        "all_results.json",
        "eval_results.json",
        "train_results.json",
    }
    extra_files = [
        os.path.join(model_dir, f)
        for f in sorted(os.listdir(model_dir))
        if os.path.isfile(os.path.join(model_dir, f))
        and os.path.join(model_dir, f) != serialized_file
        and f not in training_only
    ]
    index_to_name = os.path.join(predictor_dir, "index_to_name.json")
    if os.path.isfile(index_to_name):
        extra_files.append(index_to_name)

    # create the model archive under the output artifact's folder
    export_path = os.path.join(model_mar.path, "model-store")
    os.makedirs(export_path, exist_ok=True)
    archiver_cmd = [
        "torch-model-archiver",
        "--force",
        "--model-name",
        model_display_name,
        "--version",
        model_version,
        "--serialized-file",
        serialized_file,
        "--handler",
        handler_path,
        "--export-path",
        export_path,
    ]
    if extra_files:
        archiver_cmd += ["--extra-files", ",".join(extra_files)]
    logging.info("running %s", " ".join(archiver_cmd))
    run = subprocess.run(archiver_cmd, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(
            f"torch-model-archiver failed with exit code {run.returncode}: {run.stderr.strip()}"
        )
    mar_file = os.path.join(export_path, f"{model_display_name}.mar")
    if not os.path.isfile(mar_file):
        raise RuntimeError(f"torch-model-archiver did not write {mar_file}")
    logging.info("wrote %s (%d bytes)", mar_file, os.path.getsize(mar_file))

    # set output variables
    model_mar.metadata["framework"] = "pytorch"
    model_mar.metadata["format"] = "torchserve-mar"
    model_mar.metadata["model_name"] = model_display_name
    model_mar.metadata["model_version"] = model_version
    mar_env_var = [{"name": "MODEL_NAME", "value": model_display_name}]
    mar_export_uri = f"{model_mar.uri.rstrip('/')}/model-store/"

    return (mar_env_var, mar_export_uri)
