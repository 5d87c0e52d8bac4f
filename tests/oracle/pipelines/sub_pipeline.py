"""KFP SDK twin of sub_pipeline.pipeline.json: a pipeline used as a component, with a parameter
input, an artifact output and a pipeline output."""
import sys

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Output


@dsl.component
def produce(text: str, out: Output[Dataset]):
    with open(out.path, "w") as f:
        f.write(text)


@dsl.component
def consume(data: Input[Dataset]) -> str:
    with open(data.path) as f:
        return f.read()


@dsl.pipeline(name="inner")
def inner(text: str) -> Dataset:
    p = produce(text=text)
    return p.outputs["out"]


@dsl.pipeline(name="sub-pipeline")
def outer(text: str = "hi") -> str:
    i = inner(text=text)
    c = consume(data=i.output)
    return c.output


if __name__ == "__main__":
    compiler.Compiler().compile(outer, sys.argv[1])
