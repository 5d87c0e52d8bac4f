"""The local backings keep the contract the engine relies on: each local YAML takes inputs by
the names and types of the cloud component it stands in for (a subset; optional ones optional),
produces all its outputs by name and type, and installs either no package or exactly
LOCAL_ML_PACKAGES (written also to components/local/packages.txt). Needs only kfp (and PyYAML,
which kfp brings)."""

import os
import re
import sys
import unittest

import support

if support.COMPONENTS not in sys.path:
    sys.path.insert(0, support.COMPONENTS)

import regenerate  # noqa: E402  (components/regenerate.py)

# the backings whose code needs torch or the model archiver
ML_BACKINGS = {
    "prepare_training_environment.yaml",
    "prepare_serving_environment.yaml",
    "custom_training_job.yaml",
    "generate_mar_file.yaml",
}


def interface(path):
    """{(direction, name): (type, optional)} and the executor of a component YAML."""
    with open(path, encoding="utf-8") as f:
        _, comp, executor = regenerate.single_component(regenerate.load_yaml(f.read()))
    result = {}
    for direction in ("input", "output"):
        definitions = comp.get(f"{direction}Definitions", {})
        for name, spec in definitions.get("parameters", {}).items():
            result[(direction, name)] = (spec["parameterType"], bool(spec.get("isOptional")))
        for name, spec in definitions.get("artifacts", {}).items():
            kind = spec["artifactType"]["schemaTitle"]
            result[(direction, name)] = (kind, bool(spec.get("isOptional")))
    return result, executor


def packages(executor):
    """The packages the executor's command installs, kfp and its helpers left out."""
    command = " ".join(executor["container"]["command"])
    quoted = re.findall(r"'([^']+)'", command.split("&&")[0])
    if any(q.startswith("kfp==") for q in quoted):
        return []
    return quoted


class ContractTest(unittest.TestCase):
    def test_every_backing_covers_its_cloud_component(self):
        for local_file, _module, _func, builtin_file, _types in regenerate.LOCAL_COMPONENTS:
            with self.subTest(local_file):
                local, _ = interface(os.path.join(regenerate.LOCAL, local_file))
                cloud, _ = interface(os.path.join(regenerate.BUILTIN, builtin_file))
                for (direction, name), (kind, optional) in cloud.items():
                    if direction == "output":
                        self.assertIn(("output", name), local, f"{local_file} lacks output {name}")
                        self.assertEqual(local[("output", name)][0], kind, f"output {name}")
                    elif ("input", name) in local:
                        self.assertEqual(local[("input", name)][0], kind, f"input {name}")
                        if optional:
                            self.assertTrue(
                                local[("input", name)][1], f"{name} is optional in {builtin_file}"
                            )
                for direction, name in local:
                    if direction == "input":
                        self.assertIn(
                            ("input", name),
                            cloud,
                            f"{local_file}: input {name} is not an input of {builtin_file}",
                        )

    def test_packages_are_none_or_the_shared_list(self):
        shared = regenerate.local_ml_packages()
        self.assertTrue(shared and all("==" in p for p in shared), f"unpinned: {shared}")
        for local_file, *_ in regenerate.LOCAL_COMPONENTS:
            with self.subTest(local_file):
                _, executor = interface(os.path.join(regenerate.LOCAL, local_file))
                expected = shared if local_file in ML_BACKINGS else []
                self.assertEqual(packages(executor), expected)

    def test_packages_txt_is_the_shared_list(self):
        with open(regenerate.PACKAGES_TXT, encoding="utf-8") as f:
            self.assertEqual(f.read().splitlines(), regenerate.local_ml_packages())


if __name__ == "__main__":
    unittest.main()
