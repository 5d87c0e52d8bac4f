"""KFP SDK twin: a loop inside a condition inside a loop, and if/elif/else inside a loop,
reading the loop item and outputs from outside."""
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
def loops_in_conditions(names: List[str] = ["ab", "cde"], others: List[str] = ["f"], limit: int = 2):
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
    with dsl.If(limit > 0):
        with dsl.ParallelFor(names) as name:
            with dsl.If(name == "ab"):
                show(text=name)


if __name__ == "__main__":
    compiler.Compiler().compile(loops_in_conditions, sys.argv[1])
