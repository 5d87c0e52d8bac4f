"""KFP component: send test instances to the Vertex AI endpoint the model was deployed to.

Compiled to ``components/builtin/make_prediction_request.yaml`` by ``components/regenerate.py``.
"""
from kfp.dsl import component


@component(base_image="python:3.9", packages_to_install=["google-cloud-aiplatform"])
def make_prediction_request(project: str, bucket: str, endpoint: str, instances: list):
    """Sends each test instance to the endpoint found in a model deployment's `gcp_resources`
    JSON (online prediction against TorchServe) and logs the predictions.
    """
    # Inputs:
    #   project    the Google Cloud project.
    #   bucket     gs:// staging bucket for the Vertex AI SDK.
    #   endpoint   the `gcp_resources` JSON written by ModelDeployOp; its resource URI is the
    #              deploy operation, https://<region>-aiplatform.googleapis.com/v1/projects/P/
    #              locations/L/endpoints/E/operations/O, naming the endpoint.
    #   instances  the texts to classify.
    # Fails when the endpoint cannot be found or a prediction request fails.
    import base64
    import json
    import logging
    import re

    from google.cloud import aiplatform

    # parse the endpoint resource name out of the gcp_resources JSON
    try:
        resources = json.loads(endpoint).get("resources", [])
    except (ValueError, AttributeError) as err:
        raise ValueError(f"endpoint is not a gcp_resources JSON: {err}") from err
    endpoint_name = None
    location = None
    for resource in resources:
        uri = resource.get("resourceUri") or resource.get("resource_uri") or ""
        match = re.search(r"projects/[^/]+/locations/([^/]+)/endpoints/[^/:?]+", uri)
        if match:
            endpoint_name = match.group(0)
            location = match.group(1)
            break
    if endpoint_name is None:
        raise ValueError(f"no endpoint in the gcp_resources JSON: {endpoint}")
    if not instances:
        raise ValueError("no instances to send")

    aiplatform.init(project=project, location=location, staging_bucket=bucket)
    deployed = aiplatform.Endpoint(endpoint_name)
    logging.info("sending %d instances to %s", len(instances), endpoint_name)

    # the TorchServe handler reads base64-encoded text from the "data" field
    for instance in instances:
        text = instance if isinstance(instance, str) else json.dumps(instance)
        b64 = base64.b64encode(text.encode("utf-8")).decode("utf-8")
        response = deployed.predict(instances=[{"data": {"b64": b64}}])
        logging.info("input: %s", text)
        logging.info("prediction: %s", response.predictions)
        print(json.dumps({"instance": text, "predictions": response.predictions}))
