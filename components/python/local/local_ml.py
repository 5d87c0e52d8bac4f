"""Shared by the local backings in this folder: the one package list of every backing that
needs torch or the model archiver, and the helper functions embedded into the components'
programs (through the KFP ``additional_funcs`` option, so a compiled component carries them).

Plain top-level functions only: KFP embeds their source as it stands.
"""

# The packages of the managed environment shared by every backing that needs torch, TorchServe
# or the model archiver (the engine keys its venvs by the sorted list, so they share one). The
# engine's TorchServe deploy step reads the same list from components/local/packages.txt, which
# components/regenerate.py writes from this one. torch 2.4 is the release TorchServe 0.12 was
# built and tested against; numpy is not required by torch, but without it every torch import
# (the training, the TorchServe worker) warns "Failed to initialize NumPy".
LOCAL_ML_PACKAGES = [
    "torch==2.4.1",
    "torchserve==0.12.0",
    "torch-model-archiver==0.12.0",
    "numpy==2.2.6",
]


def text_features(text: str) -> list:
    """The features of a text for the sentiment classifier: its lower-cased words and the
    pairs of neighbouring words ("not good" -> "not", "good", "not good"). The training
    component and the TorchServe handler generate_mar_file writes both use this function, so
    serving reads a text exactly as training did."""
    import re

    words = re.findall(r"[a-z0-9']+", text.lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def describe_environment(stands_in_for: str, image_uri: str) -> str:
    """The image build of a local run. With a working container runtime (podman, else docker:
    its ``info`` answers) it builds ``image_uri`` from a Dockerfile installing this
    environment's packages and returns the image; otherwise, or when that build fails (a base
    image that cannot be pulled), it says so and returns the Python environment that stands in
    for the image (interpreter, torch, TorchServe, CUDA or CPU), ``local-venv:<sys.prefix>``.
    Either way the local steps run in this environment."""
    import importlib.metadata
    import os
    import platform
    import shutil
    import subprocess
    import sys
    import tempfile

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    packages = ["torch", "torchserve", "torch-model-archiver", "numpy"]
    why_not = "no container runtime (podman or docker) is installed"
    for runtime in ("podman", "docker"):
        program = shutil.which(runtime)
        if program is None:
            continue
        try:
            info = subprocess.run(
                [program, "info"], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            why_not = f"{runtime} info failed ({err})"
            continue
        if info.returncode != 0:
            last = (info.stderr or info.stdout).strip().splitlines()[-1:] or ["no output"]
            why_not = f"{runtime} is installed but not working ({last[0]})"
            continue
        requirements = " ".join(
            f"{p}=={version(p)}" for p in packages if version(p) != "not installed"
        )
        with tempfile.TemporaryDirectory() as context:
            with open(os.path.join(context, "Dockerfile"), "w", encoding="utf-8") as f:
                f.write(
                    f"FROM python:{platform.python_version()}-slim\n"
                    f"RUN pip install --no-cache-dir {requirements}\n"
                )
            print(f"Building the {stands_in_for} image {image_uri!r} with {program} ...", flush=True)
            built = subprocess.run(
                [program, "build", "-t", image_uri, context], check=False
            )
        if built.returncode == 0:
            print(f"Built the {stands_in_for} image {image_uri!r} with {runtime}.", flush=True)
            return image_uri
        why_not = (
            f"the build with {runtime} failed (exit {built.returncode}; a base image that "
            "cannot be pulled?)"
        )
        break

    import torch

    if torch.cuda.is_available():
        device = f"CUDA {torch.version.cuda} on {torch.cuda.get_device_name(0)}"
    else:
        device = "CPU (no CUDA device visible)"
    print(
        f"Local run: no container runtime is used and the {stands_in_for} image "
        f"{image_uri!r} is not built: {why_not}.",
        flush=True,
    )
    print(
        f"The Python environment {sys.prefix} stands in for it: Python "
        f"{platform.python_version()}, torch {version('torch')}, torchserve "
        f"{version('torchserve')}, torch-model-archiver {version('torch-model-archiver')}, "
        f"device {device}.",
        flush=True,
    )
    return "local-venv:" + sys.prefix
