"""Runs a compiled KFP pipeline spec with `kfp.local` (SubprocessRunner, no venv) and prints,
as one JSON object on stdout, what happened: the pipeline's status, every task kfp.local ran
(in the order it finished them) with its status and outputs, the pipeline outputs, and the
wall-clock time.

    python kfp_local_run.py SPEC.yaml [--params JSON] [--root DIR]

This is the oracle the engine tests and benchmark compare against. kfp.local refuses some
pipelines (container components without Docker, ...); then "status" is "REFUSED" and "error"
says why, and there is nothing to compare.

The runner runs each component's command as written, including its `pip install kfp==<the
version that compiled it> --no-deps`, which, without a venv, would replace the kfp of this
Python. So a pin to another kfp version is taken out of the install line first (the components
then run with this Python's kfp, like the engine's managed environment does); a pin to the
installed version stays (pip finds it installed, as it would on a real kfp.local setup), and
other packages are installed as the component asks.
"""

import argparse
import contextlib
import io
import json
import os
import re
import sys
import tempfile
import time

os.environ.setdefault('PIP_DISABLE_PIP_VERSION_CHECK', '1')

import yaml  # noqa: E402  (kfp depends on PyYAML)
import kfp  # noqa: E402
from kfp import local  # noqa: E402
from kfp.local import status as local_status  # noqa: E402
from kfp.local.orchestrator import task_executor  # noqa: E402
from kfp.local import pipeline_orchestrator  # noqa: E402
from kfp.pipeline_spec import pipeline_spec_pb2  # noqa: E402
from google.protobuf import json_format  # noqa: E402

_KFP_PIN = re.compile(r"'kfp==([^']*)'\s*'--no-deps'\s*'typing-extensions>=3\.7\.4,<5;\s*python_version<\"3\.9\"'")


def _unpin_kfp(spec: dict) -> None:
    """Drops the `pip install kfp==X --no-deps typing-extensions...` part of every Python
    component's command, keeping any other package installs."""
    executors = spec.get('deploymentSpec', {}).get('executors', {})
    for executor in executors.values():
        container = executor.get('container')
        if not container:
            continue
        command = container.get('command', [])
        for i, part in enumerate(command):
            pin = _KFP_PIN.search(part) if 'pip install' in part else None
            if pin is None or pin.group(1) == kfp.__version__:
                # Absent, or the version installed here: pip finds it and changes nothing.
                continue
            # `... python3 -m pip install <opts> 'kfp==X' '--no-deps' 'typing...' && "$0" "$@"`
            # becomes `... true && "$0" "$@"` (a lone kfp install) or keeps the other installs.
            segments = part.split('&&')
            kept = []
            for seg in segments:
                if _KFP_PIN.search(seg):
                    continue
                kept.append(seg)
            command[i] = '&&'.join(kept) if len(kept) > 1 else 'true && "$0" "$@"'
            if len(kept) > 1 and not command[i].rstrip().endswith('"$0" "$@"'):
                command[i] = command[i] + ' && "$0" "$@"'


def _jsonable(value):
    """An output value as plain JSON (artifacts as uri/metadata/type)."""
    from kfp import dsl
    if isinstance(value, dsl.Artifact):
        return {
            'artifact': True,
            'name': value.name,
            'uri': value.uri,
            'metadata': value.metadata,
            'schemaTitle': type(value).schema_title,
        }
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and value.is_integer():
        return value
    return value


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument('spec')
    parser.add_argument('--params', default='{}')
    parser.add_argument('--root', default=None)
    args = parser.parse_args()

    with open(args.spec) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    spec_dict = docs[0]
    _unpin_kfp(spec_dict)
    pipeline_spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(spec_dict, pipeline_spec, ignore_unknown_fields=True)

    root = args.root or tempfile.mkdtemp(prefix='kfp-local-')
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=root,
        raise_on_error=False,
    )

    tasks = []
    original = task_executor.execute_single_task

    def recording(task_name, *a, **kw):
        outputs, task_status = original(task_name, *a, **kw)
        tasks.append({
            'name': task_name,
            'state': 'SUCCEEDED'
                     if task_status == local_status.Status.SUCCESS else 'FAILED',
            'outputs': _jsonable(outputs),
        })
        return outputs, task_status

    task_executor.execute_single_task = recording

    params = json.loads(args.params)
    result = {'tasks': tasks}
    log = io.StringIO()
    start = time.monotonic()
    try:
        with contextlib.redirect_stdout(log):
            outputs = pipeline_orchestrator.run_local_pipeline(
                pipeline_spec=pipeline_spec, arguments=params)
        failed = any(t['state'] == 'FAILED' for t in tasks)
        # run_local_pipeline returns {} for a failed pipeline (raise_on_error=False).
        result['status'] = 'FAILED' if failed else 'SUCCEEDED'
        result['outputs'] = _jsonable(outputs or {})
    except Exception as e:  # kfp.local refused the pipeline or a task
        result['status'] = 'REFUSED'
        result['error'] = f'{type(e).__name__}: {e}'
    result['seconds'] = time.monotonic() - start
    result['log'] = log.getvalue()[-4000:]
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
