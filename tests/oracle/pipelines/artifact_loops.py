"""KFP SDK twin of artifact_loops.pipeline.json: ParallelFor over lists of artifacts
(`artifactIterator`) — a list collected by a sub-pipeline (with parallelism) and a pipeline
input of type List[Dataset]."""
import sys
from typing import List

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Output


@dsl.component
def make(x: int, d: Output[Dataset]):
    with open(d.path, "w") as f:
        f.write(str(x))


@dsl.component
def use(d: Input[Dataset], label: str) -> str:
    with open(d.path) as f:
        return label + f.read()


@dsl.pipeline
def makes() -> List[Dataset]:
    with dsl.ParallelFor([1, 2, 3]) as x:
        t = make(x=x)
    return dsl.Collected(t.outputs["d"])


@dsl.pipeline(name="artifact-loops")
def artifact_loops(datasets: List[Dataset]):
    m = makes()
    with dsl.ParallelFor(m.output, parallelism=2) as item:
        use(d=item, label="made ")
    with dsl.ParallelFor(datasets) as ds:
        use(d=ds, label="given ")


if __name__ == "__main__":
    compiler.Compiler().compile(artifact_loops, sys.argv[1])
