"""KFP SDK twin: `dsl.Collected` of one task inside a condition, outside any loop, returned as
the pipeline's output: the SDK types it as a list (a parameter list, and an artifact list)."""
import sys
from typing import List

from kfp import compiler, dsl
from kfp.dsl import Dataset, Output


@dsl.component
def square(n: int) -> int:
    return n * n


@dsl.component
def total(nums: List[int]) -> int:
    return sum(nums)


@dsl.component
def make(text: str, out: Output[Dataset]):
    with open(out.path, "w") as f:
        f.write(text)


@dsl.pipeline(name="collected-outputs")
def collected_outputs(limit: int = 2, keep: bool = True) -> List[int]:
    with dsl.ParallelFor([1, 2, 3]) as n:
        with dsl.If(n >= limit):
            sq = square(n=n)
    with dsl.If(keep == True):  # noqa: E712 (a pipeline channel, not a bool)
        s = total(nums=dsl.Collected(sq.output))
    return dsl.Collected(s.output)


@dsl.pipeline(name="collected-artifact-output")
def collected_artifact_output(keep: bool = True) -> List[Dataset]:
    with dsl.If(keep == True):  # noqa: E712
        d = make(text="kept")
    return dsl.Collected(d.outputs["out"])


if __name__ == "__main__":
    compiler.Compiler().compile(collected_outputs, sys.argv[1])
    compiler.Compiler().compile(collected_artifact_output, sys.argv[1].replace(".yaml", "-artifact.yaml"))
