"""Local backing of generate_mar_file: packages the locally trained sentiment classifier with
an embedded TorchServe handler into a model archive (.mar) with the real torch-model-archiver.

Compiled to ``components/local/generate_mar_file.yaml`` by ``components/regenerate.py``.
"""

from typing import NamedTuple

from kfp.dsl import Input, Model, Output, component
from local_ml import LOCAL_ML_PACKAGES, text_features


@component(
    base_image="python:3.11",
    packages_to_install=LOCAL_ML_PACKAGES,
    additional_funcs=[text_features],
)
def generate_mar_file(
    model_display_name: str,
    model_version: str,
    model: Input[Model],
    model_mar: Output[Model],
    handler: str = "",
) -> NamedTuple("Outputs", [("mar_env_var", list), ("mar_export_uri", str)]):
    """Writes a TorchServe handler for the local classifier (text in; label and class
    probabilities out; the training's text_features) and runs torch-model-archiver on the
    model; the archive <model_display_name>.mar lands in the `model_mar` folder."""
    # Inputs:
    #   model_display_name  the TorchServe model name; the archive is <name>.mar.
    #   model_version       the archive's model version.
    #   model               the local training's model folder: model.pt (TorchScript),
    #                       vocab.json, index_to_name.json.
    #   handler             the Vertex run's handler location; unused locally (the handler
    #                       is written here, matching the local model).
    # Outputs:
    #   model_mar       the folder holding <name>.mar (TorchServe's model store).
    #   mar_env_var     [{"name": "MODEL_NAME", "value": <name>}].
    #   mar_export_uri  the same folder, as a local path.
    import inspect
    import os
    import re
    import shutil
    import subprocess
    import sys
    import tempfile
    import time

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", model_display_name):
        raise ValueError(
            "model_display_name must be letters, digits, '_', '.' or '-' (it names the "
            f"TorchServe model and its .mar file), got {model_display_name!r}"
        )
    if handler:
        print(f"handler {handler!r} is not used on a local run: the handler is written here")
    model_dir = model.path
    needed = ["model.pt", "vocab.json", "index_to_name.json"]
    missing = [f for f in needed if not os.path.isfile(os.path.join(model_dir, f))]
    if missing:
        listing = sorted(os.listdir(model_dir)) if os.path.isdir(model_dir) else "no such folder"
        raise FileNotFoundError(
            f"the model folder {model_dir} lacks {', '.join(missing)} (it holds {listing}); "
            "it must come from the local custom_training_job"
        )

    handler_source = (
        '''"""TorchServe handler of the local sentiment classifier, written by generate_mar_file.

Request body: the text (plain text, or JSON {"text": ...}/{"data": ...}). Response: {"label":
..., "probabilities": {label: p}}.
"""
import json
import os

import torch

_STATE = {}


'''
        + inspect.getsource(text_features)
        + """

def _initialize(context):
    model_dir = context.system_properties.get("model_dir")
    serialized = context.manifest["model"]["serializedFile"]
    net = torch.jit.load(os.path.join(model_dir, serialized), map_location="cpu")
    net.eval()
    with open(os.path.join(model_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(model_dir, "index_to_name.json"), encoding="utf-8") as f:
        names = json.load(f)
    _STATE["labels"] = [names[str(i)] for i in range(len(names))]
    _STATE["vocab"] = vocab
    _STATE["model"] = net


def _text(request):
    body = request.get("data")
    if body is None:
        body = request.get("body")
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8")
    if isinstance(body, dict):
        body = body.get("text", body.get("data", ""))
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    return body if isinstance(body, str) else json.dumps(body)


def handle(data, context):
    if "model" not in _STATE:
        _initialize(context)
    if data is None:
        return None
    vocab = _STATE["vocab"]
    ids, offsets = [], []
    for request in data:
        offsets.append(len(ids))
        ids.extend(vocab[f] for f in text_features(_text(request)) if f in vocab)
    with torch.no_grad():
        logits = _STATE["model"](
            torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)
        )
        probabilities = torch.softmax(logits, dim=1).tolist()
    labels = _STATE["labels"]
    return [
        {
            "label": labels[max(range(len(p)), key=p.__getitem__)],
            "probabilities": {name: round(q, 6) for name, q in zip(labels, p)},
        }
        for p in probabilities
    ]
"""
    )

    archiver = os.path.join(os.path.dirname(sys.executable), "torch-model-archiver")
    if not os.path.isfile(archiver):
        archiver = shutil.which("torch-model-archiver")
    if archiver is None:
        raise FileNotFoundError(
            f"torch-model-archiver is not installed in {sys.prefix} nor on PATH; install "
            "torch-model-archiver==0.12.0 (pip) into the component's environment"
        )
    os.makedirs(model_mar.path, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        handler_path = os.path.join(tmp, "sentiment_handler.py")
        with open(handler_path, "w", encoding="utf-8") as f:
            f.write(handler_source)
        command = [
            archiver,
            "--force",
            "--model-name",
            model_display_name,
            "--version",
            model_version,
            "--serialized-file",
            os.path.join(model_dir, "model.pt"),
            "--handler",
            handler_path,
            "--extra-files",
            ",".join(os.path.join(model_dir, f) for f in needed[1:]),
            "--export-path",
            model_mar.path,
        ]
        print("running " + " ".join(command), flush=True)
        started = time.monotonic()
        run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise RuntimeError(
            f"torch-model-archiver failed with exit code {run.returncode}: "
            f"{(run.stderr or run.stdout).strip()}"
        )
    mar_file = os.path.join(model_mar.path, f"{model_display_name}.mar")
    if not os.path.isfile(mar_file):
        raise RuntimeError(f"torch-model-archiver did not write {mar_file}")
    print(
        f"wrote {mar_file} ({os.path.getsize(mar_file)} bytes) in "
        f"{time.monotonic() - started:.1f} s",
        flush=True,
    )
    model_mar.metadata.update(
        {
            "framework": "pytorch",
            "format": "torchserve-mar",
            "model_name": model_display_name,
            "model_version": model_version,
        }
    )
    mar_env_var = [{"name": "MODEL_NAME", "value": model_display_name}]
    return (mar_env_var, model_mar.path)
