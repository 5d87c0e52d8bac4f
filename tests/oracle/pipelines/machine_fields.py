"""KFP SDK twin: resource fields set from values (KFP's string machine fields): CPU and memory
limits and requests and the accelerator type and count from pipeline parameters and task
outputs, beside constant ones."""
import sys

from kfp import compiler, dsl


@dsl.component
def pick_memory() -> str:
    return "2G"


@dsl.component
def pick_accelerator() -> str:
    return "NVIDIA_TESLA_T4"


@dsl.component
def train(steps: int) -> int:
    return steps


@dsl.pipeline(name="machine-fields")
def machine_fields(cpu: str = "2", memory: str = "4G", gpus: str = "1", flag: bool = True):
    m = pick_memory()
    a = pick_accelerator()
    t = train(steps=3)
    t.set_cpu_limit(cpu)
    t.set_memory_limit(m.output)
    t.set_cpu_request("500m")
    t.set_memory_request(memory)
    t.set_accelerator_type(a.output)
    t.set_accelerator_limit(gpus)
    with dsl.If(flag == True):
        inner = train(steps=1)
        inner.set_memory_limit(memory)
        inner.set_cpu_limit(cpu)
    c = train(steps=2)
    c.set_cpu_limit("1").set_memory_limit("1G").set_accelerator_type("TPU_V3").set_accelerator_limit(2)


if __name__ == "__main__":
    compiler.Compiler().compile(machine_fields, sys.argv[1])
