"""Compiles every pipeline of the given folders with the KFP SDK, one YAML file each.

usage: compile_collection.py OUT_DIR SRC_DIR [SRC_DIR ...]

Each `*.py` file is run as a script (`__main__`), as its author runs it. Whatever path its
`Compiler().compile(...)` call names, the spec is written to `OUT_DIR/<file stem>.yaml` (a file
that compiles several pipelines gets `<stem>.yaml`, `<stem>-2.yaml`, ...), so twins written for
`sys.argv[1]` and files that write next to themselves are run alike. Prints one line per file:
`ok <stem>` or `error <stem>: <message>`.
"""
import os
import runpy
import sys
import traceback

from kfp import compiler

out_dir = sys.argv[1]
real_compile = compiler.Compiler.compile
current = {"stem": "", "count": 0}


def redirected(self, pipeline_func, package_path, *args, **kwargs):
    current["count"] += 1
    suffix = "" if current["count"] == 1 else f"-{current['count']}"
    path = os.path.join(out_dir, f"{current['stem']}{suffix}.yaml")
    return real_compile(self, pipeline_func, path, *args, **kwargs)


compiler.Compiler.compile = redirected

for src in sys.argv[2:]:
    for name in sorted(os.listdir(src)):
        if not name.endswith(".py"):
            continue
        stem = name[:-3]
        current.update(stem=stem, count=0)
        path = os.path.join(src, name)
        saved_argv, saved_path = sys.argv, list(sys.path)
        sys.argv = [path, os.path.join(out_dir, stem + ".yaml")]
        sys.path.insert(0, src)
        try:
            runpy.run_path(path, run_name="__main__")
            print(f"ok {stem}" if current["count"] else f"error {stem}: compiled nothing", flush=True)
        except BaseException as e:  # a failing twin is reported, the others still compile
            msg = "".join(traceback.format_exception_only(type(e), e)).strip().replace("\n", " ")
            print(f"error {stem}: {msg}", flush=True)
        finally:
            sys.argv, sys.path = saved_argv, saved_path
