"""KFP component: build the custom training container image with Cloud Build.

Compiled to ``components/builtin/build_custom_train_image.yaml`` by ``components/regenerate.py``.
"""
from typing import NamedTuple

from kfp.dsl import component


@component(
    base_image="gcr.io/google.com/cloudsdktool/cloud-sdk:latest",
    packages_to_install=["google-cloud-build"],
)
def build_custom_train_image(
    project: str, gs_train_src_path: str, training_image_uri: str
) -> NamedTuple("Outputs", [("training_image_uri", str)]):
    """Builds the custom training image with Cloud Build from the training application code
    and the Dockerfile stored under a Cloud Storage path, and pushes it to the registry.
    """
    # Inputs:
    #   project             the Google Cloud project that runs the build.
    #   gs_train_src_path   gs:// folder holding `Dockerfile` and the `trainer/` package.
    #   training_image_uri  the image to build and push (gcr.io/... or ...-docker.pkg.dev/...).
    # Output: training_image_uri, the pushed image, for the training job.
    import logging
    import os

    from google.cloud.devtools import cloudbuild_v1 as cloudbuild
    from google.protobuf.duration_pb2 import Duration

    if not gs_train_src_path.startswith("gs://"):
        raise ValueError(
            f"gs_train_src_path must be a gs:// folder, got {gs_train_src_path!r}"
        )

    # initialize client for cloud build
    build_client = cloudbuild.services.cloud_build.CloudBuildClient()

    # parse step inputs to get path to Dockerfile and training application code
    gs_dockerfile_path = os.path.join(gs_train_src_path, "Dockerfile")
    gs_train_code_path = os.path.join(gs_train_src_path, "trainer/")

    # define build steps to pull the training code and Dockerfile
    # and build/push the custom training container image
    build = cloudbuild.Build()
    build.steps = [
        {
            "name": "gcr.io/cloud-builders/gsutil",
            "args": ["cp", "-r", gs_train_code_path, "."],
        },
        {
            "name": "gcr.io/cloud-builders/gsutil",
            "args": ["cp", gs_dockerfile_path, "Dockerfile"],
        },
        # enabling Kaniko cache in a Docker build that caches intermediate
        # layers and pushes image automatically to Container Registry
        # https://cloud.google.com/build/docs/kaniko-cache
        {
            "name": "gcr.io/kaniko-project/executor:latest",
            "args": [f"--destination={training_image_uri}", "--cache=true"],
        },
    ]
    # override default timeout of 10min
    timeout = Duration()
    timeout.seconds = 7200
    build.timeout = timeout

    # create build and wait for it to finish; result() raises if the build fails
    logging.info("building %s from %s", training_image_uri, gs_train_src_path)
    operation = build_client.create_build(project_id=project, build=build)
    result = operation.result()
    logging.info("build %s finished with status %s", result.id, result.status.name)

    # return step outputs
    return (training_image_uri,)
