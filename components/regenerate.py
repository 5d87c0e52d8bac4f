"""Regenerates the built-in component YAML in components/builtin/ and the local backings in
components/local/ with the real KFP SDK.

The five custom components are compiled from their Python sources in components/python/; the
Google Cloud Pipeline Components (GCPC) ops from the installed google-cloud-pipeline-components
package; the local backings (what a local run executes instead of a cloud component) from
components/python/local/, together with components/local/packages.txt, their shared package
list. Run with the project's venv (kfp==2.17.3, google-cloud-pipeline-components==2.22.0):

    .venv/bin/python components/regenerate.py            # rewrite the YAML and packages.txt
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
import importlib.util
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILTIN = os.path.join(HERE, "builtin")
PYTHON = os.path.join(HERE, "python")
LOCAL = os.path.join(HERE, "local")
LOCAL_PYTHON = os.path.join(PYTHON, "local")
PACKAGES_TXT = os.path.join(LOCAL, "packages.txt")

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

# The local backings: (output file in components/local, module in components/python/local,
# function, the built-in component it stands in for, {input or output name: the artifact type
# it takes instead of the Python annotation's}). The overrides give the interface the
# Google Cloud artifact types (google.VertexModel, ...) without needing google-cloud-pipeline-
# components at run time: the function sees a plain dsl.Artifact.
LOCAL_COMPONENTS = [
    ("prepare_training_environment.yaml", "prepare_training_environment",
     "prepare_training_environment", "build_custom_train_image.yaml", {}),
    ("prepare_serving_environment.yaml", "prepare_serving_environment",
     "prepare_serving_environment", "build_custom_serving_image.yaml", {}),
    ("custom_training_job.yaml", "custom_training_job", "custom_training_job",
     "custom_training_job.yaml", {}),
    ("get_training_job_details.yaml", "get_training_job_details", "get_training_job_details",
     "get_training_job_details.yaml", {}),
    ("generate_mar_file.yaml", "generate_mar_file", "generate_mar_file",
     "generate_mar_file.yaml", {}),
    ("model_upload.yaml", "model_upload", "model_upload", "model_upload.yaml",
     {"model": "google.VertexModel@0.0.1",
      "unmanaged_container_model": "google.UnmanagedContainerModel@0.0.1"}),
    ("endpoint_create.yaml", "endpoint_create", "endpoint_create", "endpoint_create.yaml",
     {"endpoint": "google.VertexEndpoint@0.0.1"}),
    ("make_prediction_request.yaml", "make_prediction_request", "make_prediction_request",
     "make_prediction_request.yaml", {}),
]


def components():
    """Yields (file name, component object) for every built-in component."""
    sys.path.insert(0, PYTHON)
    for file_name, module, func in PYTHON_COMPONENTS:
        yield file_name, getattr(importlib.import_module(module), func)
    for file_name, module, op in GCPC_COMPONENTS:
        yield file_name, getattr(importlib.import_module(module), op)


def local_ml_packages():
    """LOCAL_ML_PACKAGES of components/python/local/local_ml.py."""
    if LOCAL_PYTHON not in sys.path:
        sys.path.insert(0, LOCAL_PYTHON)
    return importlib.import_module("local_ml").LOCAL_ML_PACKAGES


def local_components():
    """Yields (file name, component object) for every local backing, its artifact types set.

    The modules are loaded from their files under their own names (local_<module>): some
    share a name with a built-in component's module in components/python/."""
    if LOCAL_PYTHON not in sys.path:
        sys.path.insert(0, LOCAL_PYTHON)
    for file_name, module, func, _builtin, types in LOCAL_COMPONENTS:
        spec = importlib.util.spec_from_file_location(
            f"local_{module}", os.path.join(LOCAL_PYTHON, f"{module}.py")
        )
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        component = getattr(loaded, func)
        interface = component.component_spec
        for name, type_ in types.items():
            spec_io = (interface.outputs or {}).get(name) or (interface.inputs or {}).get(name)
            if spec_io is None:
                raise KeyError(f"{module}.{func} has no input or output {name!r}")
            spec_io.type = type_
        yield file_name, component


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
    outputs = [(os.path.join(BUILTIN, name), text) for name, text in texts.items()]
    outputs += [(os.path.join(LOCAL, name), compile_to_text(c)) for name, c in local_components()]
    outputs.append((PACKAGES_TXT, "".join(f"{p}\n" for p in local_ml_packages())))
    stale = 0
    for path, text in outputs:
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
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {path}")
    mismatches = compare(texts, args.compare_with) if args.compare_with else 0
    if stale or mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
