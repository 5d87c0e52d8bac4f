"""The KFP SDK twin of container_score.draft.json."""
from kfp import dsl
from kfp.dsl import HTML, Dataset, Input, Model, Output


@dsl.container_component
def score_model(
    data: Input[Dataset],
    model: Input[Model],
    mode: str,
    report: Output[HTML],
    scores: Output[Dataset],
    total: dsl.OutputPath(float),
    summary: dsl.OutputPath(str),
    n: int = 3,
    cutoff: float = 0.5,
    dry_run: bool = False,
    labels: list = ["a", "b"],
    extra: dict = {"k": "v"},
    tag: str = "it's \"x\"",
):
    """Scores a model.

    Writes an HTML report and the total.
    """
    return dsl.ContainerSpec(
        image="gcr.io/example/scorer:1.2",
        command=["python3", "-m", "scorer", f"--data={data.path}"],
        args=[
            "--model", model.path,
            f"--mode={mode}",
            f"--n={n}",
            "--cutoff", cutoff,
            f"--dry-run={dry_run}",
            "--labels", labels,
            "--extra", extra,
            "--tag", tag,
            "--report", report.path,
            f"--scores={scores.path}",
            "--total", total,
            f"--summary={summary}",
            "--job", "{{$.pipeline_job_name}}",
            f"{n}-of-{mode}",
        ],
    )
