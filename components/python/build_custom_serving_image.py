"""KFP component: build the custom TorchServe serving container image with Cloud Build.

Compiled to ``components/builtin/build_custom_serving_image.yaml`` by
``components/regenerate.py``.
"""
from typing import NamedTuple

from kfp.dsl import component


@component(
    base_image="gcr.io/google.com/cloudsdktool/cloud-sdk:latest",
    packages_to_install=["google-cloud-build"],
)
def build_custom_serving_image(
    project: str, gs_serving_dependencies_path: str, serving_image_uri: str
) -> NamedTuple("Outputs", [("serving_image_uri", str)]):
    """Builds the custom serving image running TorchServe with Cloud Build from the predictor
    code and the Dockerfile stored under a Cloud Storage path, and pushes it to the registry.
    """
    # Inputs:
    #   project                       the Google Cloud project that runs the build.
    #   gs_serving_dependencies_path  gs:// folder holding `Dockerfile` and `predictor/`
    #                                 (custom handler, index_to_name.json, ...).
    #   serving_image_uri             the image to build and push.
    # Output: serving_image_uri, the pushed image.
    import logging
    import os

    from google.cloud.devtools import cloudbuild_v1 as cloudbuild
    from google.protobuf.duration_pb2 import Duration

    if not gs_serving_dependencies_path.startswith("gs://"):
        raise ValueError(
            "gs_serving_dependencies_path must be a gs:// folder, got "
            f"{gs_serving_dependencies_path!r}"
        )

    # initialize client for cloud build
    build_client = cloudbuild.services.cloud_build.CloudBuildClient()

    # parse step inputs to get path to Dockerfile and the predictor code
    gs_dockerfile_path = os.path.join(gs_serving_dependencies_path, "Dockerfile")
    gs_predictor_path = os.path.join(gs_serving_dependencies_path, "predictor/")

    # define build steps to pull the predictor code and Dockerfile
    # and build/push the custom serving container image
    build = cloudbuild.Build()
    build.steps = [
        {
            "name": "gcr.io/cloud-builders/gsutil",
            "args": ["cp", "-r", gs_predictor_path, "."],
        },
        {
            "name": "gcr.io/cloud-builders/gsutil",
            "args": ["cp", gs_dockerfile_path, "Dockerfile"],
        },
        {
            "name": "gcr.io/cloud-builders/docker",
            "args": ["build", "-t", serving_image_uri, "."],
        },
        {
            "name": "gcr.io/cloud-builders/docker",
            "args": ["push", serving_image_uri],
        },
    ]
    build.images = [serving_image_uri]
    # override default timeout of 10min
    timeout = Duration()
    timeout.seconds = 7200
    build.timeout = timeout

    # create build and wait for it to finish; result() raises if the build fails
    logging.info("building %s from %s", serving_image_uri, gs_serving_dependencies_path)
    operation = build_client.create_build(project_id=project, build=build)
    result = operation.result()
    logging.info("build %s finished with status %s", result.id, result.status.name)

    # return step outputs
    return (serving_image_uri,)
