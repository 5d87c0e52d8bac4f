"""Local backing of build_custom_serving_image: builds the Python environment the training image
would hold instead of a container image.

The engine creates this component's managed venv (LOCAL_ML_PACKAGES) before running it, so
the "build" is that environment; the component reports what stands in for the image.
Compiled to ``components/local/prepare_serving_environment.yaml`` by
``components/regenerate.py``.
"""

from typing import NamedTuple

from kfp.dsl import component
from local_ml import LOCAL_ML_PACKAGES, describe_environment


@component(
    base_image="python:3.11",
    packages_to_install=LOCAL_ML_PACKAGES,
    additional_funcs=[describe_environment],
)
def prepare_serving_environment(
    project: str = "", gs_serving_dependencies_path: str = "", serving_image_uri: str = ""
) -> NamedTuple("Outputs", [("serving_image_uri", str)]):
    """Stands in for the serving image build on a local run: logs that no container runtime
    is used and which Python environment (interpreter, torch, CUDA or CPU) replaces the image,
    and returns that environment as ``local-venv:<prefix>``."""
    # Inputs (those of build_custom_serving_image; project and gs_serving_dependencies_path
    # are unused locally, the handler is the one generate_mar_file writes):
    #   serving_image_uri  the image the Vertex run would build, named in the log.
    # Output: serving_image_uri = "local-venv:<the environment's sys.prefix>".
    del project, gs_serving_dependencies_path
    return (describe_environment("serving", serving_image_uri),)
