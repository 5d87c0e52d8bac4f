"""KFP SDK twin: lists of artifacts from several producers: a `List[Dataset]` input fed by the
outputs of every iteration of a loop (`dsl.Collected`), also through two loop levels, from a
pipeline's artifact-list input, into a sub-pipeline's artifact-list input, and returned as
the pipeline's output; also from a task in a condition inside the loop."""
import sys
from typing import List

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Output


@dsl.component
def make(text: str, out: Output[Dataset]):
    with open(out.path, "w") as f:
        f.write(text)


@dsl.component
def join(datasets: Input[List[Dataset]]) -> str:
    return "".join(open(d.path).read() for d in datasets)


@dsl.pipeline(name="joiner")
def joiner(datasets: Input[List[Dataset]]) -> str:
    return join(datasets=datasets).output


@dsl.pipeline(name="artifact-lists")
def artifact_lists(texts: list = ["a", "b"]) -> List[Dataset]:
    with dsl.ParallelFor(texts) as t:
        m = make(text=t)
        with dsl.ParallelFor(texts) as u:
            deep = make(text=u)
        # Collected from a condition inside the loop: the iterations where it ran.
        with dsl.If(t == "a"):
            picked = make(text=t)
    join(datasets=dsl.Collected(m.outputs["out"]))
    join(datasets=dsl.Collected(picked.outputs["out"]))
    join(datasets=dsl.Collected(deep.outputs["out"]))
    joiner(datasets=dsl.Collected(m.outputs["out"]))
    return dsl.Collected(m.outputs["out"])


if __name__ == "__main__":
    compiler.Compiler().compile(artifact_lists, sys.argv[1])
