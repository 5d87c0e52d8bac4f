"""KFP SDK twin: a loop inside a condition inside a loop, and if/elif/else inside a loop,
reading the loop item and outputs from outside, and conditions on fields of the item with a
loop over another field inside."""
import sys
from typing import List

from kfp import compiler, dsl


@dsl.component
def score(name: str) -> int:
    return len(name)


@dsl.component
def show(text: str):
    print(text)


@dsl.pipeline(name="loops-in-conditions")
def loops_in_conditions(
    names: List[str] = ["ab", "cde"],
    others: List[str] = ["f"],
    limit: int = 2,
    groups: List[dict] = [{"kind": "a", "children": ["x"]}, {"kind": "b", "children": []}],
):
    with dsl.ParallelFor(names) as name:
        s = score(name=name)
        with dsl.If(s.output > limit):
            with dsl.ParallelFor(["x", "y"]) as tag:
                show(text=tag)
            with dsl.ParallelFor(others) as other:
                show(text=other)
        with dsl.If(s.output == 1, name="single"):
            show(text="one")
        with dsl.Elif(s.output == 2):
            show(text=name)
        with dsl.Else():
            with dsl.ParallelFor(["1", "2"]) as n:
                show(text=n)
    # Conditions on a field of the item, a loop over another field inside one of them: KFP
    # passes the whole item down and picks each field where it is used.
    with dsl.ParallelFor(groups) as g:
        with dsl.If(g.kind == "a"):
            with dsl.ParallelFor(g.children) as c:
                show(text=c)
        with dsl.Elif(g.kind == "b"):
            show(text=g.kind)
        with dsl.Else():
            with dsl.ParallelFor(["1"]) as n:
                with dsl.If(n == "1"):
                    show(text=g.kind)
    with dsl.If(limit > 0):
        with dsl.ParallelFor(names) as name:
            with dsl.If(name == "ab"):
                show(text=name)


if __name__ == "__main__":
    compiler.Compiler().compile(loops_in_conditions, sys.argv[1])
