"""The KFP SDK's client as the oracle of the Kubeflow Pipelines target.

Submits a compiled pipeline with `kfp.Client().create_run_from_pipeline_package`, reads the run
back and terminates it, against the server at --host (the test's stand-in of the v2beta1 REST
API, which records what it receives). The Rust test then does the same with our target against
a fresh stand-in and compares the two request sequences.

Usage: kfp_client_run.py PACKAGE --host URL --namespace NS --experiment NAME
         --pipeline-root ROOT --run-name NAME --token TOKEN [--param key=json]...
"""

import argparse
import json

import kfp


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("package")
    p.add_argument("--host", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--experiment", required=True)
    p.add_argument("--pipeline-root", required=True)
    p.add_argument("--run-name", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--param", action="append", default=[])
    a = p.parse_args()
    arguments = {}
    for kv in a.param:
        key, _, value = kv.partition("=")
        arguments[key] = json.loads(value)
    client = kfp.Client(host=a.host, existing_token=a.token, namespace=a.namespace)
    result = client.create_run_from_pipeline_package(
        a.package,
        arguments=arguments,
        run_name=a.run_name,
        experiment_name=a.experiment,
        namespace=a.namespace,
        pipeline_root=a.pipeline_root,
    )
    client.get_run(result.run_id)
    client.terminate_run(result.run_id)


if __name__ == "__main__":
    main()
