"""KFP SDK twin of artifacts.pipeline.json: an importer (static and dynamic URI), artifacts of
several types passed between tasks, metrics, resources and environment variables."""
import sys

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output


@dsl.component
def uri() -> str:
    return "gs://bucket/data.csv"


@dsl.component
def train(data: Input[Dataset], model: Output[Model], metrics: Output[Metrics], epochs: int = 2):
    metrics.log_metric("accuracy", 0.9)


@dsl.component
def evaluate(model: Input[Model], data: Input[Dataset]) -> float:
    return 0.9


@dsl.pipeline(name="artifacts")
def artifacts():
    static = dsl.importer(artifact_uri="gs://bucket/static.csv", artifact_class=Dataset,
                          reimport=False, metadata={"source": "static"})
    u = uri()
    dynamic = dsl.importer(artifact_uri=u.output, artifact_class=Dataset, reimport=True)
    t = (train(data=static.output, epochs=5)
         .set_cpu_limit("2").set_memory_limit("4G").set_accelerator_type("nvidia.com/gpu")
         .set_accelerator_limit(1).set_env_variable("MODE", "fast"))
    evaluate(model=t.outputs["model"], data=dynamic.output)


if __name__ == "__main__":
    compiler.Compiler().compile(artifacts, sys.argv[1])
