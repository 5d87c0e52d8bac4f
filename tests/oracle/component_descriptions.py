"""The description the KFP SDK's loader reads from each component file, as JSON (file -> text).

usage: component_descriptions.py FILE...

Each file is loaded with `kfp.components.load_component_from_text` as it is and without its
header comment (the comment lines it starts with), so that a Python component's description
comes from its function's docstring: {"FILE": {"full": ..., "headless": ...}}.
"""
import json
import sys

from kfp import components


def headless(text):
    lines = text.split("\n")
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "\n".join(lines)


def main(paths):
    out = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        out[path] = {
            "full": components.load_component_from_text(text).description,
            "headless": components.load_component_from_text(headless(text)).description,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
