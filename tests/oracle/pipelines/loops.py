"""KFP SDK twin of loops.pipeline.json: ParallelFor over a literal list (with parallelism), a
list parameter and a task output; collected outputs; a condition inside a loop."""
import sys
from typing import List

from kfp import compiler, dsl


@dsl.component
def make_list(n: int) -> List[str]:
    return [str(i) for i in range(n)]


@dsl.component
def square(x: int) -> int:
    return x * x


@dsl.component
def shout(s: str) -> str:
    return s.upper()


@dsl.component
def total(xs: List[int]) -> int:
    return sum(xs)


@dsl.component
def echo(s: str):
    print(s)


@dsl.pipeline(name="loops")
def loops(words: list = ["a", "b"], n: int = 3):
    with dsl.ParallelFor([1, 2, 3], parallelism=2) as x:
        sq = square(x=x)
    total(xs=dsl.Collected(sq.output))
    with dsl.ParallelFor(words) as w:
        echo(s=w)
    made = make_list(n=n)
    with dsl.ParallelFor(made.output) as item:
        s = shout(s=item)
        with dsl.If(s.output == "A"):
            echo(s=s.output)


if __name__ == "__main__":
    compiler.Compiler().compile(loops, sys.argv[1])
