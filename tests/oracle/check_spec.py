"""Loads a compiled pipeline spec with the real KFP SDK, the way Vertex AI and KFP would.

usage: check_spec.py SPEC.json|SPEC.yaml
Fails (non-zero exit, message on stderr) when the spec has unknown fields, when its deployment
config is not a PipelineDeploymentConfig, or when kfp cannot load it as a component.
"""
import json
import sys

import yaml
from google.protobuf import json_format
from kfp import components
from kfp.pipeline_spec import pipeline_spec_pb2


def main(path: str) -> None:
    with open(path) as f:
        text = f.read()
    docs = list(yaml.safe_load_all(text)) if not path.endswith(".json") else [json.loads(text)]
    spec_dict = docs[0]
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(spec_dict, spec, ignore_unknown_fields=False)
    deployment = pipeline_spec_pb2.PipelineDeploymentConfig()
    json_format.ParseDict(spec_dict.get("deploymentSpec", {}), deployment, ignore_unknown_fields=False)
    component = components.load_component_from_file(path)
    print(json.dumps({
        "name": component.name,
        "tasks": len(spec.root.dag.tasks),
        "components": len(spec.components),
        "executors": len(deployment.executors),
        "inputs": sorted(component.component_spec.inputs or {}),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
