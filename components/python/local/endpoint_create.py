"""Local backing of the Google Cloud EndpointCreateOp: names the local endpoint the deploy step
serves on; TorchServe itself is started by the engine's deploy step.

Compiled to ``components/local/endpoint_create.yaml`` by ``components/regenerate.py``, which
types `endpoint` as google.VertexEndpoint (the EndpointCreateOp type).
"""

from typing import NamedTuple

from kfp.dsl import Artifact, Output, component


@component(base_image="python:3.11")
def endpoint_create(display_name: str, endpoint: Output[Artifact]) -> NamedTuple(
    "Outputs", [("gcp_resources", str)]
):
    """Records the local endpoint `display_name` (metadata resourceName
    local/endpoints/<display_name>)."""
    # Outputs:
    #   endpoint       metadata {"resourceName": "local/endpoints/<display_name>", "displayName"}.
    #   gcp_resources  {"resources": [{"resourceType": "LocalEndpoint", "resourceUri": ...}]}
    import json

    resource_name = f"local/endpoints/{display_name}"
    endpoint.metadata.update({"resourceName": resource_name, "displayName": display_name})
    print(f"endpoint {display_name!r}: served by TorchServe on 127.0.0.1 once a model is deployed")
    gcp_resources = json.dumps(
        {"resources": [{"resourceType": "LocalEndpoint", "resourceUri": resource_name}]}
    )
    return (gcp_resources,)
