"""KFP SDK twin: nested pipelines passing list and dict parameters with defaults through
several levels, some left to their defaults, some set, some from the level above."""
import sys
from typing import Dict, List

from kfp import compiler, dsl


@dsl.component
def use(values: List[str], config: Dict[str, int], label: str = "x") -> str:
    return f"{label}{values}{config}"


@dsl.pipeline(name="level-three")
def level_three(values: List[str] = ["a"], config: Dict[str, int] = {"k": 1}, label: str = "three") -> str:
    return use(values=values, config=config, label=label).output


@dsl.pipeline(name="level-two")
def level_two(values: List[str] = ["b", "c"], config: dict = {"n": 2}) -> str:
    level_three()
    level_three(values=values)
    return level_three(values=values, config=config, label="two").output


@dsl.pipeline(name="nested-parameters")
def nested_parameters(values: List[str] = ["d"], config: Dict[str, int] = {"m": 3}):
    level_two()
    level_two(values=values, config=config)
    with dsl.ParallelFor(values) as v:
        level_three(values=[v], config=config)


if __name__ == "__main__":
    compiler.Compiler().compile(nested_parameters, sys.argv[1])
