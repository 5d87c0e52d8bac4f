"""The KFP SDK twin of container_plain.draft.json: no inputs, no outputs, no arguments."""
from kfp import dsl


@dsl.container_component
def list_files():
    return dsl.ContainerSpec(
        image="alpine:3.20",
        command=["sh", "-c", "ls -la / && echo {{$.pipeline_job_name}} {{$.pipeline_task_name}}"],
    )
