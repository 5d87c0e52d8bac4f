"""Compares two compiled pipeline specs structurally: tasks, dependencies, component interfaces,
trigger policies, input bindings and executor images. Prints the differences and exits 1 if any.

usage: compare_specs.py [--exact] OURS THEIRS
Components are matched through the tasks that use them, so their keys may differ. With --exact,
the whole specs must be equal (numbers as floats, sdkVersion aside), keys included.
"""
import json
import sys

import yaml


def load(path):
    with open(path) as f:
        return next(iter(yaml.safe_load_all(f)))


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


def without_program(command):
    """A lightweight Python component embeds its function's source as the last command item;
    the reference pipeline's bodies are placeholders, so that item is left out of the comparison."""
    if isinstance(command, list) and any("kfp.dsl.executor_main" in str(c) for c in command):
        return command[:-1]
    return command


def executor_of(spec, comp):
    label = comp.get("executorLabel")
    return spec.get("deploymentSpec", {}).get("executors", {}).get(label) if label else None


def compare_component(ours, theirs, a, b, path, diffs):
    for key in ("inputDefinitions", "outputDefinitions"):
        if norm(a.get(key)) != norm(b.get(key)):
            diffs.append(f"{path}: {key} differ:\n  ours:   {json.dumps(a.get(key), sort_keys=True)[:600]}\n  theirs: {json.dumps(b.get(key), sort_keys=True)[:600]}")
    if ("dag" in a) != ("dag" in b):
        diffs.append(f"{path}: one is a DAG, the other an executor")
        return
    if "dag" in a:
        compare_dag(ours, theirs, a["dag"], b["dag"], path, diffs)
        return
    ea, eb = executor_of(ours, a), executor_of(theirs, b)
    if (ea is None) != (eb is None):
        diffs.append(f"{path}: executor missing on one side")
        return
    if ea is None:
        return
    kinds_a, kinds_b = sorted(ea), sorted(eb)
    if kinds_a != kinds_b:
        diffs.append(f"{path}: executor kinds {kinds_a} vs {kinds_b}")
        return
    if "container" in ea:
        ca, cb = ea["container"], eb["container"]
        if ca.get("image") != cb.get("image"):
            diffs.append(f"{path}: image {ca.get('image')!r} vs {cb.get('image')!r}")
        for k in ("command", "args"):
            va, vb = without_program(ca.get(k)), without_program(cb.get(k))
            if norm(va) != norm(vb):
                diffs.append(f"{path}: container {k} differ:\n  ours:   {json.dumps(va)[:400]}\n  theirs: {json.dumps(vb)[:400]}")
    else:
        if norm(ea) != norm(eb):
            diffs.append(f"{path}: executor differs:\n  ours:   {json.dumps(ea, sort_keys=True)}\n  theirs: {json.dumps(eb, sort_keys=True)}")


def compare_dag(ours, theirs, da, db, path, diffs):
    ta, tb = da.get("tasks", {}), db.get("tasks", {})
    if sorted(ta) != sorted(tb):
        diffs.append(f"{path}: task names {sorted(ta)} vs {sorted(tb)}")
    for name in sorted(set(ta) & set(tb)):
        a, b = ta[name], tb[name]
        tpath = f"{path}/{name}"
        for key in ("dependentTasks",):
            if sorted(a.get(key, [])) != sorted(b.get(key, [])):
                diffs.append(f"{tpath}: {key} {sorted(a.get(key, []))} vs {sorted(b.get(key, []))}")
        for key in ("taskInfo", "triggerPolicy", "cachingOptions", "retryPolicy", "iteratorPolicy",
                    "parameterIterator", "artifactIterator"):
            if norm(a.get(key)) != norm(b.get(key)):
                diffs.append(f"{tpath}: {key} {a.get(key)} vs {b.get(key)}")
        if norm(a.get("inputs")) != norm(b.get("inputs")):
            diffs.append(f"{tpath}: inputs differ:\n  ours:   {json.dumps(a.get('inputs'), sort_keys=True)[:800]}\n  theirs: {json.dumps(b.get('inputs'), sort_keys=True)[:800]}")
        ca = ours["components"].get(a["componentRef"]["name"])
        cb = theirs["components"].get(b["componentRef"]["name"])
        if ca is None or cb is None:
            diffs.append(f"{tpath}: component reference does not resolve")
            continue
        compare_component(ours, theirs, ca, cb, tpath, diffs)


def first_difference(a, b, path="spec"):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k}: only in {'theirs' if k not in a else 'ours'}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{path}: ours {json.dumps(a)[:200]} / theirs {json.dumps(b)[:200]}"


def main(ours_path, theirs_path, exact=False):
    ours, theirs = load(ours_path), load(theirs_path)
    diffs = []
    if exact:
        a, b = norm(ours), norm(theirs)
        a.pop("sdkVersion", None)
        b.pop("sdkVersion", None)
        d = first_difference(a, b)
        if d:
            diffs.append(d)
    if ours.get("pipelineInfo", {}).get("name") != theirs.get("pipelineInfo", {}).get("name"):
        diffs.append(f"pipeline name {ours.get('pipelineInfo')} vs {theirs.get('pipelineInfo')}")
    if ours.get("schemaVersion") != theirs.get("schemaVersion"):
        diffs.append(f"schemaVersion {ours.get('schemaVersion')} vs {theirs.get('schemaVersion')}")
    if ours.get("defaultPipelineRoot") != theirs.get("defaultPipelineRoot"):
        diffs.append(f"defaultPipelineRoot {ours.get('defaultPipelineRoot')} vs {theirs.get('defaultPipelineRoot')}")
    compare_component(ours, theirs, ours["root"], theirs["root"], "root", diffs)
    if len(ours.get("components", {})) != len(theirs.get("components", {})):
        diffs.append(f"component count {len(ours.get('components', {}))} vs {len(theirs.get('components', {}))}")
    for d in diffs:
        print(d)
    print(f"{len(diffs)} differences")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--exact"]
    main(args[0], args[1], exact="--exact" in sys.argv)
