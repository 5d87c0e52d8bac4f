"""Regenerates the built-in component YAML in components/builtin/ with the real KFP SDK.

The five custom components are compiled from their Python sources in components/python/; the
Google Cloud Pipeline Components (GCPC) ops from the installed google-cloud-pipeline-components
package. Run with the project's venv (kfp==2.17.3, google-cloud-pipeline-components==2.22.0):

    .venv/bin/python components/regenerate.py            # rewrite components/builtin/*.yaml
    .venv/bin/python components/regenerate.py --check    # exit 1 if any file is out of date
    .venv/bin/python components/regenerate.py --compare-with spec.json
        # also check each component's interface and executor against a compiled pipeline
        # (e.g. the KFP SDK's compile of the seed pipeline); components are matched by name

The Python components' executors embed their function's source, so against a pipeline compiled
from other function bodies only the embedded program text may differ; --compare-with reports
that separately and does not count it as a mismatch.
"""
import argparse
import difflib
import importlib
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILTIN = os.path.join(HERE, "builtin")
PYTHON = os.path.join(HERE, "python")

# (output file, module in components/python, function)
PYTHON_COMPONENTS = [
    ("build_custom_train_image.yaml", "build_custom_train_image", "build_custom_train_image"),
    ("get_training_job_details.yaml", "get_training_job_details", "get_training_job_details"),
    ("generate_mar_file.yaml", "generate_mar_file", "generate_mar_file"),
    ("build_custom_serving_image.yaml", "build_custom_serving_image", "build_custom_serving_image"),
    ("make_prediction_request.yaml", "make_prediction_request", "make_prediction_request"),
]

# (output file, GCPC module, op)
GCPC_COMPONENTS = [
    ("custom_training_job.yaml", "google_cloud_pipeline_components.v1.custom_job", "CustomTrainingJobOp"),
    ("model_upload.yaml", "google_cloud_pipeline_components.v1.model", "ModelUploadOp"),
    ("endpoint_create.yaml", "google_cloud_pipeline_components.v1.endpoint", "EndpointCreateOp"),
    ("model_deploy.yaml", "google_cloud_pipeline_components.v1.endpoint", "ModelDeployOp"),
]


def components():
    """Yields (file name, component object) for every built-in component."""
    sys.path.insert(0, PYTHON)
    for file_name, module, func in PYTHON_COMPONENTS:
        yield file_name, getattr(importlib.import_module(module), func)
    for file_name, module, op in GCPC_COMPONENTS:
        yield file_name, getattr(importlib.import_module(module), op)


def compile_to_text(component):
    """The component YAML the KFP SDK writes for `component`."""
    from kfp import compiler

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "component.yaml")
        compiler.Compiler().compile(component, path)
        with open(path, encoding="utf-8") as f:
            return f.read()


def load_yaml(text):
    import yaml

    return next(iter(yaml.safe_load_all(text)))


def single_component(spec):
    """(name, component spec, executor) of a component YAML."""
    (task,) = spec["root"]["dag"]["tasks"].values()
    comp = spec["components"][task["componentRef"]["name"]]
    executor = spec["deploymentSpec"]["executors"][comp["executorLabel"]]
    return spec["pipelineInfo"]["name"], comp, executor


def norm(v):
    """Numbers compare as floats, as protobuf stores them."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    return v


def without_program(executor):
    """The executor with the embedded Python program (the last `command` item of a
    lightweight Python component) blanked out."""
    executor = json.loads(json.dumps(executor))
    command = executor.get("container", {}).get("command", [])
    if command and "def " in command[-1]:
        command[-1] = "<program>"
    return executor


def compare(texts, reference_path):
    """Compares each component with the same-named component of a compiled pipeline.
    Returns the number of mismatches."""
    with open(reference_path, encoding="utf-8") as f:
        reference = load_yaml(f.read())
    ref_components = reference.get("components", {})
    ref_executors = reference.get("deploymentSpec", {}).get("executors", {})
    mismatches = 0
    for file_name, text in texts.items():
        name, comp, executor = single_component(load_yaml(text))
        ref = ref_components.get(f"comp-{name}")
        if ref is None:
            print(f"{file_name}: no comp-{name} in {reference_path}")
            mismatches += 1
            continue
        problems = []
        for key in ("inputDefinitions", "outputDefinitions"):
            if norm(comp.get(key)) != norm(ref.get(key)):
                problems.append(f"{key} differ")
        ref_executor = ref_executors.get(ref.get("executorLabel"))
        if norm(executor) == norm(ref_executor):
            note = "executor identical"
        elif norm(without_program(executor)) == norm(without_program(ref_executor)):
            note = "executor identical except the embedded function source"
        else:
            problems.append("executors differ")
            note = ""
        if problems:
            mismatches += 1
            print(f"{file_name}: MISMATCH with comp-{name}: {', '.join(problems)}")
        else:
            print(f"{file_name}: interface matches comp-{name}; {note}")
    return mismatches


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if out of date")
    parser.add_argument("--compare-with", metavar="SPEC", help="a compiled pipeline spec")
    args = parser.parse_args()

    texts = {file_name: compile_to_text(c) for file_name, c in components()}
    stale = 0
    for file_name, text in texts.items():
        path = os.path.join(BUILTIN, file_name)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old == text:
            continue
        if args.check:
            stale += 1
            print(f"{path} is out of date:")
            sys.stdout.writelines(
                difflib.unified_diff(
                    (old or "").splitlines(True), text.splitlines(True), path, "regenerated", n=1
                )
            )
        else:
            os.makedirs(BUILTIN, exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {path}")
    mismatches = compare(texts, args.compare_with) if args.compare_with else 0
    if stale or mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
