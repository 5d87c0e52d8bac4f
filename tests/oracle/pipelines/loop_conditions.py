"""KFP SDK twin of loop_conditions.pipeline.json: conditions that read loop items — the item of
a literal list, of a list parameter and of a typed task output (`List[int]`), a field of a dict
item (`item.a`), the item of an outer loop from an inner one, and an if/elif/else on an item."""
import sys
from typing import List

from kfp import compiler, dsl


@dsl.component
def echo(s: str):
    print(s)


@dsl.component
def show(n: int):
    print(n)


@dsl.component
def nums() -> List[int]:
    return [1, 2, 3]


@dsl.pipeline(name="loop-conditions")
def loop_conditions(names: List[str] = ["a", "b", "c"], limit: int = 2):
    with dsl.ParallelFor([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]) as x:
        with dsl.If(x.a == 1):
            echo(s="first")
    with dsl.ParallelFor(names) as n:
        with dsl.If(n == "a"):
            echo(s=n)
        with dsl.Elif(n == "b"):
            echo(s="b")
        with dsl.Else():
            echo(s="other")
    t = nums()
    with dsl.ParallelFor(t.output) as i:
        with dsl.If(i > limit):
            show(n=i)
    with dsl.ParallelFor([1, 2]) as y:
        with dsl.ParallelFor([3, 4]) as z:
            with dsl.If(y < z):
                show(n=y)


if __name__ == "__main__":
    compiler.Compiler().compile(loop_conditions, sys.argv[1])
