"""Local backing of the Google Cloud ModelUploadOp: registers the local model archive folder as
the model a deployment serves, with no Vertex AI Model Registry.

Compiled to ``components/local/model_upload.yaml`` by ``components/regenerate.py``, which
types `model` as google.VertexModel and `unmanaged_container_model` as
google.UnmanagedContainerModel (the ModelUploadOp types; no Google Cloud package is needed).
"""

from typing import NamedTuple

from kfp.dsl import Artifact, Input, Output, component


@component(base_image="python:3.11")
def model_upload(
    display_name: str,
    model: Output[Artifact],
    unmanaged_container_model: Input[Artifact] = None,
) -> NamedTuple("Outputs", [("gcp_resources", str)]):
    """Records the model archive folder given by `unmanaged_container_model` (the MAR folder)
    as the uploaded model: metadata resourceName, marFolder and modelName (the .mar's name)."""
    # Inputs:
    #   display_name               the model's name: resourceName local/models/<display_name>.
    #   unmanaged_container_model  the importer's artifact; its URI is the folder holding the
    #                              .mar (generate_mar_file's mar_export_uri).
    # Outputs:
    #   model          URI the MAR folder; metadata {"resourceName", "marFolder", "modelName"},
    #                  what the local deploy step starts TorchServe with.
    #   gcp_resources  {"resources": [{"resourceType": "LocalModel", "resourceUri": "file://..."}]}
    import json
    import os

    if unmanaged_container_model is None:
        raise ValueError(
            "unmanaged_container_model is required on a local run: the artifact whose URI is "
            "the folder holding the model archive (.mar)"
        )
    folder = unmanaged_container_model.uri
    if folder.startswith("file://"):
        folder = folder[len("file://") :]
    if "://" in folder:
        raise ValueError(
            f"the model archive folder must be local on a local run, got {folder!r}; connect "
            "the importer to generate_mar_file's mar_export_uri"
        )
    folder = os.path.abspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"the model archive folder {folder} does not exist")
    archives = sorted(f[: -len(".mar")] for f in os.listdir(folder) if f.endswith(".mar"))
    if len(archives) != 1:
        raise ValueError(
            f"the model archive folder {folder} must hold exactly one .mar file, "
            f"it holds {len(archives)}: {archives}"
        )
    model.uri = folder
    model.metadata.update(
        {
            "resourceName": f"local/models/{display_name}",
            "displayName": display_name,
            "marFolder": folder,
            "modelName": archives[0],
        }
    )
    print(f"model {display_name!r}: TorchServe model {archives[0]!r} from {folder}")
    gcp_resources = json.dumps(
        {"resources": [{"resourceType": "LocalModel", "resourceUri": "file://" + folder}]}
    )
    return (gcp_resources,)
