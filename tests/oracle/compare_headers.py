"""Compares the header comments of two YAML files the way they must match: byte for byte.

usage: compare_headers.py OURS THEIRS

The header is the comment lines a file starts with (`# PIPELINE DEFINITION`, `# Name:`,
`# Description:` and its continuation lines, `# Inputs:`, `# Outputs:`). The one allowed
difference is the order of a dict's keys in a `[Default: …]`: the KFP SDK writes a dict default
as Python's str() of a protobuf map, whose order changes from run to run; ours has sorted keys,
so our text must be that of the value with its keys sorted, and the SDK's the same value.
Prints "headers equal" or each differing line pair, and exits 1 if any.
"""
import ast
import sys

DEFAULT = " [Default: "


def header(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line)
    return out


def canonical(v):
    """Python's str() of v with every dict's keys sorted."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k!r}: {canonical(v[k])}" for k in sorted(v)) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(canonical(x) for x in v) + "]"
    return repr(v)


def dict_order_only(ours, theirs):
    """Whether two input lines differ only in the order of dict keys of their defaults."""
    if DEFAULT not in ours or DEFAULT not in theirs or "{" not in ours:
        return False
    head, value = ours.split(DEFAULT, 1)
    their_head, their_value = theirs.split(DEFAULT, 1)
    if head != their_head or not value.endswith("]") or not their_value.endswith("]"):
        return False
    try:
        mine = ast.literal_eval(value[:-1])
        sdk = ast.literal_eval(their_value[:-1])
    except (ValueError, SyntaxError):
        return False
    return value[:-1] == canonical(mine) == canonical(sdk)


def main(ours_path, theirs_path):
    ours, theirs = header(ours_path), header(theirs_path)
    problems = []
    if len(ours) != len(theirs):
        problems.append(f"{len(ours)} header lines, the SDK wrote {len(theirs)}")
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b and not dict_order_only(a, b):
            problems.append(f"line {i + 1}:\n  ours:   {a!r}\n  theirs: {b!r}")
    if problems:
        print("\n".join(problems))
        print("ours:\n" + "\n".join(ours) + "\ntheirs:\n" + "\n".join(theirs))
        sys.exit(1)
    print("headers equal")


if __name__ == "__main__":
    main(*sys.argv[1:])
