"""KFP SDK twin: pipeline outputs from a conditional branch: `dsl.OneOf` across if/elif/else
returned as the pipeline's output (a parameter and an artifact), and as the output of a
sub-pipeline that a later task reads (in a pipeline of its own: when a sub-pipeline's groups
have the names of the enclosing pipeline's, the SDK writes one's DAG over the other's)."""
import sys
from typing import NamedTuple

from kfp import compiler, dsl
from kfp.dsl import Artifact, Dataset, Output


@dsl.component
def flip() -> str:
    return "heads"


@dsl.component
def text(s: str) -> str:
    return s


@dsl.component
def data(s: str, out: Output[Dataset]):
    with open(out.path, "w") as f:
        f.write(s)


@dsl.component
def show(s: str):
    print(s)


@dsl.pipeline(name="choose")
def choose(x: str) -> str:
    f = flip()
    with dsl.If(f.output == "heads"):
        a = text(s=x)
    with dsl.Elif(f.output == "tails"):
        b = text(s="tails")
    with dsl.Else():
        c = text(s="edge")
    return dsl.OneOf(a.output, b.output, c.output)


class Outputs(NamedTuple):
    word: str
    dataset: Dataset


@dsl.pipeline(name="oneof-outputs")
def oneof_outputs(x: str = "hi") -> Outputs:
    f = flip()
    with dsl.If(f.output == "heads"):
        a = text(s=x)
        da = data(s=x)
    with dsl.Else():
        b = text(s="no")
        db = data(s="no")
    return Outputs(word=dsl.OneOf(a.output, b.output), dataset=dsl.OneOf(da.outputs["out"], db.outputs["out"]))


@dsl.pipeline(name="oneof-sub-pipeline")
def oneof_sub_pipeline(x: str = "hi"):
    inner = choose(x=x)
    show(s=inner.output)


if __name__ == "__main__":
    compiler.Compiler().compile(oneof_outputs, sys.argv[1])
    compiler.Compiler().compile(oneof_sub_pipeline, sys.argv[1])
