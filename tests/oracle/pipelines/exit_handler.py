"""KFP SDK twin of exit_handler.pipeline.json: an exit handler whose exit task reads the final
status, retries with backoff, caching off, ignore_upstream_failure."""
import sys

from kfp import compiler, dsl
from kfp.dsl import PipelineTaskFinalStatus


@dsl.component
def work(msg: str) -> str:
    return msg


@dsl.component
def report(status: PipelineTaskFinalStatus):
    print(status.state)


@dsl.component
def cleanup(msg: str = "nothing"):
    print(msg)


@dsl.pipeline(name="exit-handler")
def exit_handler(msg: str = "hello"):
    exit_task = report()
    with dsl.ExitHandler(exit_task, name="guarded"):
        w = work(msg=msg).set_retry(num_retries=3, backoff_duration="5s", backoff_factor=2.0)
        w2 = work(msg=w.output).set_caching_options(False)
    prep = work(msg="prep")
    cleanup(msg=prep.output).ignore_upstream_failure()


if __name__ == "__main__":
    compiler.Compiler().compile(exit_handler, sys.argv[1])
