"""The KFP SDK's side of the authoring oracle (`tests/kfp_oracle.rs`,
`authored_components_match_the_kfp_sdk`).

usage: compile_draft.py MODULE.py NAME SDK_OUT.yaml [OURS.yaml PIPELINE_OUT.yaml]

Imports MODULE.py (a real file, so that `inspect.getsource` finds the function's source) and
compiles its component NAME (a `@dsl.component` or `@dsl.container_component`) with
`kfp.compiler.Compiler().compile` to SDK_OUT.yaml.

With OURS.yaml (the component file Pipeline Canvas wrote for the same draft), also loads it with
`kfp.components.load_component_from_file`, checks that the SDK reads the same interface from it
as from the Python component, uses it in a small pipeline (importers for its input artifacts,
constants for its required parameters, a second task after it) and compiles that to
PIPELINE_OUT.yaml. Prints a JSON report of what was loaded (name, inputs, outputs, the pipeline's
tasks, and the description, which the SDK reads from a Python component's docstring).
"""
import importlib.util
import json
import sys

from kfp import compiler, components, dsl
from kfp.dsl.types import artifact_types, type_utils

# A value of each parameter type, for the required inputs of the pipeline's task.
SAMPLE = {
    "String": "text",
    "Integer": 7,
    "Float": 0.5,
    "Boolean": True,
    "List": [1, 2],
    "Dict": {"a": 1},
}


def import_module(path):
    spec = importlib.util.spec_from_file_location("authored_component", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def norm(v):
    """Numbers as floats (a file holds protobuf doubles), dicts in key order."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {k: norm(v[k]) for k in sorted(v, key=repr)}
    return v


def interface(component):
    """The inputs and outputs as the SDK holds them, without descriptions (the SDK reads a
    Python component's description from its docstring one way and from a file another)."""
    spec = component.component_spec

    def ports(items):
        return {
            name: {
                "type": p.type,
                "default": getattr(p, "default", None),
                "optional": getattr(p, "optional", False),
                "list": p.is_artifact_list,
            }
            for name, p in (items or {}).items()
        }

    return norm({"name": spec.name, "inputs": ports(spec.inputs), "outputs": ports(spec.outputs)})


def use_in_pipeline(component, out_path):
    spec = component.component_spec

    @dsl.pipeline(name="uses-authored-component")
    def uses():
        arguments = {}
        for name, p in (spec.inputs or {}).items():
            if type_utils.is_parameter_type(p.type):
                if not p.optional:
                    arguments[name] = SAMPLE[p.type]
            else:
                title = p.type.split("@")[0]
                cls = artifact_types._SCHEMA_TITLE_TO_TYPE[title]
                arguments[name] = dsl.importer(
                    artifact_uri=f"gs://bucket/{name}", artifact_class=cls
                ).output
        first = component(**arguments)
        second = component(**arguments)
        second.after(first)

    compiler.Compiler().compile(uses, out_path)
    return uses.pipeline_spec


def main(module_path, name, sdk_out, ours=None, pipeline_out=None):
    original = getattr(import_module(module_path), name)
    compiler.Compiler().compile(original, sdk_out)
    if ours is None:
        return
    loaded = components.load_component_from_file(ours)
    if interface(loaded) != interface(original):
        sys.exit(
            "the SDK reads another interface from our file:\n"
            f"  ours:   {interface(loaded)}\n  python: {interface(original)}"
        )
    spec = use_in_pipeline(loaded, pipeline_out)
    print(json.dumps({
        "name": loaded.name,
        "inputs": sorted(loaded.component_spec.inputs or {}),
        "outputs": sorted(loaded.component_spec.outputs or {}),
        "tasks": sorted(spec.root.dag.tasks),
        "description": loaded.description,
    }))


if __name__ == "__main__":
    main(*sys.argv[1:])
