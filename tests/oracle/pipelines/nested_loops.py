"""KFP SDK twin: loops inside loops over what the outer loop gives: a field of the outer item
(`for a in items: for b in a.children`), a task output made inside the outer loop, a pipeline
parameter list, and a raw list, with a value collected out of two loop levels, also into tasks
in conditions beside the loops."""
import sys
from typing import List

from kfp import compiler, dsl


@dsl.component
def split(text: str) -> List[str]:
    return text.split(",")


@dsl.component
def show(a: str, b: str) -> str:
    return f"{a}/{b}"


@dsl.component
def count(values: List[str]) -> int:
    return len(values)


@dsl.pipeline(name="nested-loops")
def nested_loops(
    groups: List[dict] = [{"name": "a", "children": ["x", "y"]}, {"name": "b", "children": ["z"]}],
    words: List[str] = ["p", "q"],
    others: List[str] = ["r"],
    flag: bool = True,
):
    with dsl.ParallelFor(groups) as g:
        with dsl.ParallelFor(g.children) as child:
            show(a=g.children, b=child)
    with dsl.ParallelFor(words) as w:
        parts = split(text=w)
        with dsl.ParallelFor(parts.output) as part:
            with dsl.ParallelFor(others, parallelism=2) as other:
                shown = show(a=part, b=other)
        with dsl.ParallelFor(["1", "2"]) as n:
            show(a=w, b=n)
    count(values=dsl.Collected(shown.output))
    # Collected beside the loops, read in conditions: passed down into them. (The SDK fails on
    # artifacts collected this way.)
    with dsl.If(flag == True):
        with dsl.If(flag != False):
            count(values=dsl.Collected(shown.output))


if __name__ == "__main__":
    compiler.Compiler().compile(nested_loops, sys.argv[1])
