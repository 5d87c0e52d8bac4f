"""KFP SDK twin of branches.pipeline.json: If/Elif/Else with a OneOf output, and a pipeline
output taken from it."""
import sys

from kfp import compiler, dsl


@dsl.component
def flip() -> str:
    import random
    return random.choice(["heads", "tails", "edge"])


@dsl.component
def say(msg: str) -> str:
    print(msg)
    return msg


@dsl.pipeline(name="branches")
def branches(threshold: float = 0.5) -> str:
    f = flip()
    with dsl.If(f.output == "heads"):
        a = say(msg="heads")
    with dsl.Elif(f.output == "tails"):
        b = say(msg="tails")
    with dsl.Else():
        c = say(msg="edge")
    picked = dsl.OneOf(a.output, b.output, c.output)
    say(msg=picked)
    return picked


if __name__ == "__main__":
    compiler.Compiler().compile(branches, sys.argv[1])
