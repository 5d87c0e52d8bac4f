"""KFP SDK twin: final status in sub-pipelines: a sub-pipeline used as an exit task that reads
`PipelineTaskFinalStatus` (its own task reads the final status from the pipeline's input),
and an exit task of a component inside a sub-pipeline."""
import sys

from kfp import compiler, dsl
from kfp.dsl import PipelineTaskFinalStatus


@dsl.component
def work(message: str):
    print(message)


@dsl.component
def report(status: PipelineTaskFinalStatus, note: str = "") -> str:
    print(note, status.state)
    return status.state


@dsl.component
def get_state(status: dict) -> str:
    return status["state"]


@dsl.pipeline(name="notify")
def notify(status: PipelineTaskFinalStatus, channel: str = "ops"):
    s = get_state(status=status)
    with dsl.If(s.output == "FAILED"):
        work(message=channel)
    get_state(status=status)


@dsl.pipeline(name="guarded")
def guarded(message: str):
    exit_task = report(note=message)
    with dsl.ExitHandler(exit_task):
        work(message=message)


@dsl.pipeline(name="final-status")
def final_status(message: str = "hi"):
    exit_task = notify(channel="alerts")
    with dsl.ExitHandler(exit_task, name="main"):
        work(message=message)
        guarded(message=message)


if __name__ == "__main__":
    compiler.Compiler().compile(final_status, sys.argv[1])
