"""KFP SDK twin: resource fields set from values (KFP's string machine fields): CPU and memory
limits and requests and the accelerator type and count from pipeline parameters and task
outputs, beside constant ones (KFP passes each value in as an extra task input named after
the field, `cpu_limit`, `memory_request`, …, holding a placeholder)."""
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
        # Inside a group only constants: the SDK does not pass values set this way into
        # control-flow groups (its spec would read inputs the group does not have).
        train(steps=1).set_memory_limit("1G")
    c = train(steps=2)
    c.set_cpu_limit("1").set_memory_limit("1G").set_accelerator_type("TPU_V3").set_accelerator_limit(2)


if __name__ == "__main__":
    compiler.Compiler().compile(machine_fields, sys.argv[1])
