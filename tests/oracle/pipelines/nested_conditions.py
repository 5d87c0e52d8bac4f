"""The KFP SDK twin of pipeline/tests/cases/nested_conditions.pipeline.json."""
import sys

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Model, Output, OutputPath


@dsl.container_component
def echo(msg: str, out: OutputPath(str), num: OutputPath(int), items: OutputPath(list),
         ds: Output[Dataset], model: Output[Model], n: int = 1, data: Input[Dataset] = None):
    return dsl.ContainerSpec(image="python:3.11", command=["python3", "-c", "print(1)"], args=[msg])


@dsl.pipeline(name="nested-conditions")
def pipeline(ratio: float, text: str = "hi", threshold: int = 3):
    a = echo(msg=text).set_caching_options(True)
    a.set_display_name("a")
    with dsl.Condition(a.outputs["num"] > threshold, name="big-enough"):
        b = echo(msg=text, n=5)
        with dsl.Condition(b.outputs["out"] == "x"):
            c = echo(msg=b.outputs["out"], data=a.outputs["ds"])
        e = echo(msg="hello").after(a)
    d = echo(msg="done").set_caching_options(False).set_display_name("Final step").after(a)


if __name__ == "__main__":
    compiler.Compiler().compile(pipeline, sys.argv[1])
