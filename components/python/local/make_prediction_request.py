"""Local backing of make_prediction_request: sends each instance to the local TorchServe
endpoint the engine's deploy step started, with the standard library only.

Compiled to ``components/local/make_prediction_request.yaml`` by ``components/regenerate.py``.
"""

from typing import NamedTuple

from kfp.dsl import component


@component(base_image="python:3.11")
def make_prediction_request(
    endpoint: str, instances: list, project: str = "", bucket: str = ""
) -> NamedTuple("Outputs", [("predictions", list)]):
    """POSTs each instance (its text as the body) to the TorchServe prediction URL named in the
    deploy step's `gcp_resources`, prints each prediction and returns them all."""
    # Inputs:
    #   endpoint   the deploy step's gcp_resources: {"resources": [{"resourceType":
    #              "LocalTorchServeEndpoint", "resourceUri":
    #              "http://127.0.0.1:<port>/predictions/<model name>"}]}.
    #   instances  the texts to classify (other JSON values are sent as JSON text).
    #   project, bucket  unused locally.
    # Output: predictions, one {"instance", "prediction"} per instance, where prediction is
    #   the handler's answer ({"label", "probabilities"}).
    import json
    import urllib.error
    import urllib.request

    del project, bucket
    try:
        resources = json.loads(endpoint).get("resources", [])
    except (ValueError, AttributeError) as err:
        raise ValueError(f"endpoint is not a gcp_resources JSON ({err}): {endpoint!r}") from err
    url = None
    for resource in resources if isinstance(resources, list) else []:
        if isinstance(resource, dict) and resource.get("resourceType") == "LocalTorchServeEndpoint":
            url = resource.get("resourceUri")
            break
    if not isinstance(url, str) or not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError(
            "endpoint names no local TorchServe endpoint (a LocalTorchServeEndpoint resource "
            f"with an http://127.0.0.1:<port>/predictions/<model> URI): {endpoint}"
        )
    if not instances:
        raise ValueError("no instances to send")

    predictions = []
    for instance in instances:
        text = instance if isinstance(instance, str) else json.dumps(instance)
        request = urllib.request.Request(
            url,
            data=text.encode("utf-8"),
            headers={"Content-Type": "text/plain; charset=utf-8"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = response.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            detail = err.read().decode("utf-8", "replace").strip()
            raise RuntimeError(
                f"the endpoint {url} answered HTTP {err.code} for {text!r}: {detail}"
            ) from err
        except (urllib.error.URLError, OSError) as err:
            raise RuntimeError(
                f"the endpoint {url} is not reachable ({err}); is the deploy step's "
                "TorchServe still running? (pipeline-canvas endpoints list)"
            ) from err
        try:
            prediction = json.loads(body)
        except ValueError:
            prediction = body
        print(json.dumps({"instance": text, "prediction": prediction}), flush=True)
        predictions.append({"instance": text, "prediction": prediction})
    return (predictions,)
