"""PyYAML (YAML 1.1, as the KFP SDK reads files) against our YAML.

usage: yaml_reads_back.py read OURS.yaml EXPECTED.json
    Loads every document of OURS.yaml with `yaml.safe_load_all` and compares them with the JSON
    array EXPECTED.json strictly (types too: the string "yes" is not the bool true, 1.0 is not
    1). Prints "same" or the differences, and exits 1 on any.

usage: yaml_reads_back.py resolve STRINGS.json
    Prints, as a JSON array of booleans, whether PyYAML's implicit resolver reads each string
    of the JSON array STRINGS.json, written as a plain scalar, as something other than a string.
"""
import json
import sys

import yaml


def differences(a, b, path, out):
    if type(a) is not type(b):
        out.append(f"{path}: {a!r} ({type(a).__name__}) != {b!r} ({type(b).__name__})")
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b), key=repr):
            if k not in a or k not in b:
                out.append(f"{path}: key {k!r} only in {'ours' if k in a else 'expected'}")
            else:
                differences(a[k], b[k], f"{path}/{k}", out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items, expected {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            differences(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {a!r} != {b!r}")


def read(ours_path, expected_path):
    with open(ours_path, encoding="utf-8") as f:
        ours = list(yaml.safe_load_all(f))
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    out = []
    differences(ours, expected, "", out)
    if out:
        print("\n".join(out[:50]))
        print(f"{len(out)} differences")
        sys.exit(1)
    print("same")


def resolve(strings_path):
    with open(strings_path, encoding="utf-8") as f:
        strings = json.load(f)
    resolver = yaml.resolver.Resolver()
    str_tag = resolver.DEFAULT_SCALAR_TAG
    print(json.dumps([
        resolver.resolve(yaml.ScalarNode, s, (True, False)) != str_tag for s in strings
    ]))


if __name__ == "__main__":
    {"read": read, "resolve": resolve}[sys.argv[1]](*sys.argv[2:])
