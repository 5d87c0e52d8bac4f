"""Compiles the pipelines the engine tests and benchmark run, with the KFP SDK, into OUT_DIR.

    python engine_pipelines.py OUT_DIR

Each pipeline is a real KFP v2 spec (`OUT_DIR/<name>.yaml`), written by `kfp.compiler` exactly
as a user would get it, so the engine is tested on what KFP writes rather than on
hand-made specs.
"""

import sys
import warnings
from typing import List, NamedTuple

warnings.filterwarnings('ignore', category=FutureWarning)

from kfp import compiler, dsl
from kfp.dsl import ClassificationMetrics, Dataset, Input, Metrics, Output


# --- Python function components ------------------------------------------------------------

@dsl.component
def add(a: int, b: int) -> int:
    return a + b


@dsl.component
def make_data(lines: int, data: Output[Dataset]):
    with open(data.path, 'w') as f:
        for i in range(lines):
            f.write(f'line {i}\n')
    data.metadata['lines'] = lines


@dsl.component
def score(data: Input[Dataset], metrics: Output[Metrics], classes: Output[ClassificationMetrics]):
    n = len(open(data.path).read().splitlines())
    metrics.log_metric('lines', n)
    classes.log_confusion_matrix(['a', 'b'], [[n, 0], [0, n]])


@dsl.component
def count_lines(data: Input[Dataset]) -> int:
    with open(data.path) as f:
        return len(f.readlines())


@dsl.component
def noop(x: int) -> int:
    return x


@dsl.component
def stamp(seconds: float) -> str:
    import json
    import time
    start = time.time()
    time.sleep(seconds)
    return json.dumps([start, time.time()])


@dsl.component
def number(x: int) -> int:
    return x


@dsl.component
def say(msg: str) -> str:
    print(f'saying {msg}')
    return msg


@dsl.component
def echo(msg: str) -> str:
    return msg


@dsl.component
def square(x: int) -> int:
    return x * x


@dsl.component
def total(xs: List[int]) -> int:
    return sum(xs)


@dsl.component
def make_list(n: int) -> List[int]:
    return list(range(n))


@dsl.component
def pick(a: int, b: str) -> str:
    return f'{b}{a}'


@dsl.component
def join(parts: List[str]) -> str:
    return ','.join(sorted(parts))


@dsl.component
def fail_task(msg: str):
    raise RuntimeError(msg)


@dsl.component
def report(status: dsl.PipelineTaskFinalStatus) -> str:
    print('final status', status.state, status.pipeline_task_name, status.error_message)
    return f'{status.state}:{status.pipeline_task_name}'


@dsl.component
def flaky(marker_dir: str, fail_times: int) -> int:
    import os
    os.makedirs(marker_dir, exist_ok=True)
    attempt = len(os.listdir(marker_dir)) + 1
    open(os.path.join(marker_dir, f'attempt-{attempt}'), 'w').close()
    if attempt <= fail_times:
        raise RuntimeError(f'attempt {attempt} fails on purpose')
    return attempt


@dsl.component
def spawn_and_wait(pid_file: str):
    import subprocess
    import time
    child = subprocess.Popen(['sleep', '300'])
    with open(pid_file + '.tmp', 'w') as f:
        f.write(f'{child.pid}\n')
    import os
    os.rename(pid_file + '.tmp', pid_file)
    time.sleep(300)


@dsl.component
def passthrough(text: str) -> str:
    return text


@dsl.component
def read_dataset(data: Input[Dataset]) -> str:
    with open(data.path) as f:
        return f.read() + '|' + str(data.metadata.get('source'))


@dsl.component
def escape(out: Output[Dataset]):
    # Points its output artifact outside the pipeline root: the engine must refuse it.
    out.uri = '/etc/passwd'


@dsl.component
def stats(xs: List[int]) -> NamedTuple('Stats', [('lo', int), ('hi', int)]):
    from collections import namedtuple
    return namedtuple('Stats', ['lo', 'hi'])(min(xs), max(xs))


@dsl.component
def print_env() -> str:
    import os
    import subprocess
    for name, value in sorted(os.environ.items()):
        print(f'{name}={value}')
    # A process the task starts sees the same.
    print(subprocess.run(['env'], capture_output=True, text=True).stdout)
    return 'printed'


@dsl.component
def chatty(n_bytes: int) -> str:
    import sys
    line = 'x' * 1023 + '\n'
    written = 0
    while written < n_bytes:
        sys.stdout.write(line)
        written += len(line)
    sys.stdout.flush()
    print('finished')
    return 'done'


# --- Container components -------------------------------------------------------------------

@dsl.container_component
def shell_env():
    return dsl.ContainerSpec(image='alpine:3.19', command=['sh', '-c', 'env'])


@dsl.container_component
def chatty_shell(n_bytes: int):
    return dsl.ContainerSpec(
        image='alpine:3.19',
        command=['sh', '-c', 'head -c "$0" /dev/zero | tr "\\0" y; echo; echo finished'],
        args=[n_bytes],
    )


@dsl.container_component
def shell_echo(text: str, out: dsl.OutputPath(str)):
    # The placeholders land inside a shell script: the engine must not let the shell parse
    # the value.
    return dsl.ContainerSpec(
        image='alpine:3.19',
        command=['sh', '-c'],
        args=[f'mkdir -p "$(dirname {out})"; echo {text} > {out}'],
    )


@dsl.container_component
def write_lines(msg: str, data: Output[Dataset], n: int = 3):
    return dsl.ContainerSpec(
        image='busybox:1.36',
        command=[
            'sh', '-c',
            'mkdir -p "$(dirname "$1")"; i=0; while [ "$i" -lt "$2" ]; do echo "$0"; i=$((i+1)); done > "$1"',
        ],
        args=[msg, data.path, n],
    )


@dsl.container_component
def optional_flags(out: dsl.OutputPath(str), flag: str = None):
    return dsl.ContainerSpec(
        image='alpine:3.19',
        command=['sh', '-c', 'mkdir -p "$(dirname "$0")"; echo "$@" > "$0"'],
        args=[
            out,
            'x',
            dsl.IfPresentPlaceholder(
                input_name='flag', then=['--flag', dsl.ConcatPlaceholder(['<', flag, '>'])]),
        ],
    )


@dsl.container_component
def sleeper_tree(pid_file: str):
    return dsl.ContainerSpec(
        image='alpine:3.19',
        command=['sh', '-c', 'sleep 300 & echo $! > "$0.tmp"; mv "$0.tmp" "$0"; wait'],
        args=[pid_file],
    )


@dsl.container_component
def sleep_secs(seconds: int):
    return dsl.ContainerSpec(image='alpine:3.19', command=['sleep'], args=[seconds])


@dsl.container_component
def needs_gcloud():
    return dsl.ContainerSpec(
        image='gcr.io/google.com/cloudsdktool/cloud-sdk:slim',
        command=['gcloud-that-is-not-installed', 'version'])


# --- Pipelines ------------------------------------------------------------------------------

@dsl.pipeline(name='chain')
def chain(a: int = 1, b: int = 2) -> int:
    s1 = add(a=a, b=b)
    s2 = add(a=s1.output, b=10)
    d = make_data(lines=s2.output)
    c = count_lines(data=d.outputs['data'])
    s3 = add(a=c.output, b=100)
    return s3.output


@dsl.pipeline(name='parallel-sleeps')
def parallel_sleeps(seconds: float = 1.0):
    for _ in range(4):
        stamp(seconds=seconds).set_caching_options(False)


@dsl.pipeline(name='condition')
def condition(x: int = 7):
    n = number(x=x).set_caching_options(False)
    with dsl.If(n.output > 5):
        say(msg='big').set_caching_options(False)
    with dsl.If(n.output <= 5):
        say(msg='small').set_caching_options(False)


@dsl.pipeline(name='branches')
def branches(x: int = 7) -> str:
    n = number(x=x).set_caching_options(False)
    with dsl.If(n.output > 10):
        a = say(msg='big').set_caching_options(False)
    with dsl.Elif(n.output > 5):
        b = say(msg='medium').set_caching_options(False)
    with dsl.Else():
        c = say(msg='small').set_caching_options(False)
    chosen = dsl.OneOf(a.output, b.output, c.output)
    e = echo(msg=chosen).set_caching_options(False)
    return e.output


@dsl.pipeline(name='loops')
def loops(items: list = [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}], n: int = 3) -> int:
    with dsl.ParallelFor([1, 2, 3], parallelism=2) as x:
        sq = square(x=x).set_caching_options(False)
    t = total(xs=dsl.Collected(sq.output)).set_caching_options(False)
    with dsl.ParallelFor(items) as item:
        p = pick(a=item.a, b=item.b).set_caching_options(False)
    join(parts=dsl.Collected(p.output)).set_caching_options(False)
    ml = make_list(n=n).set_caching_options(False)
    with dsl.ParallelFor(ml.output) as i:
        sq2 = square(x=i).set_caching_options(False)
    stats(xs=dsl.Collected(sq2.output)).set_caching_options(False)
    return t.output


@dsl.pipeline(name='exit-handler')
def exit_handler(msg: str = 'boom'):
    r = report().set_caching_options(False)
    with dsl.ExitHandler(r):
        ok = say(msg='before').set_caching_options(False)
        fail_task(msg=msg).set_caching_options(False).after(ok)


@dsl.pipeline(name='ignore-failure')
def ignore_failure():
    f = fail_task(msg='first').set_caching_options(False)
    say(msg='cleanup').set_caching_options(False).after(f).ignore_upstream_failure()
    blocked = say(msg='blocked').set_caching_options(False).after(f)
    say(msg='later').set_caching_options(False).after(blocked)
    say(msg='independent').set_caching_options(False)


@dsl.pipeline(name='retries')
def retries(marker_dir: str, fail_times: int = 2):
    flaky(marker_dir=marker_dir, fail_times=fail_times).set_caching_options(False).set_retry(
        num_retries=2, backoff_duration='0s', backoff_factor=1.0)


@dsl.pipeline(name='cancel-python')
def cancel_python(pid_file: str):
    spawn_and_wait(pid_file=pid_file).set_caching_options(False)


@dsl.pipeline(name='cancel-container')
def cancel_container(pid_file: str):
    sleeper_tree(pid_file=pid_file).set_caching_options(False)


@dsl.pipeline(name='security')
def security(text: str) -> str:
    shell_echo(text=text).set_caching_options(False)
    return passthrough(text=text).set_caching_options(False).output


@dsl.pipeline(name='escape')
def escape_pipeline():
    escape().set_caching_options(False)


@dsl.pipeline(name='containers')
def containers(msg: str = 'hello world') -> int:
    w = write_lines(msg=msg, n=4).set_caching_options(False)
    optional_flags().set_caching_options(False)
    optional_flags(flag='on').set_caching_options(False)
    return count_lines(data=w.outputs['data']).set_caching_options(False).output


@dsl.pipeline(name='missing-program')
def missing_program():
    needs_gcloud().set_caching_options(False)


@dsl.pipeline(name='google-cloud')
def google_cloud():
    from google_cloud_pipeline_components.v1.dataset import TabularDatasetCreateOp

    TabularDatasetCreateOp(
        project='my-project', display_name='d', gcs_source='gs://b/data.csv'
    ).set_caching_options(False)


@dsl.pipeline(name='importer')
def importer_pipeline(uri: str) -> str:
    imp = dsl.importer(
        artifact_uri=uri, artifact_class=Dataset, metadata={'source': 'test'})
    return read_dataset(data=imp.output).set_caching_options(False).output


@dsl.pipeline(name='inner')
def inner(a: int) -> int:
    return add(a=a, b=1).set_caching_options(False).output


@dsl.pipeline(name='outer')
def outer(a: int = 5) -> int:
    i = inner(a=a)
    return add(a=i.output, b=1000).set_caching_options(False).output


@dsl.component
def write_number(x: int, d: Output[Dataset]):
    with open(d.path, 'w') as f:
        f.write(str(x * 10))


@dsl.component
def read_number(d: Input[Dataset]) -> int:
    with open(d.path) as f:
        return int(f.read())


@dsl.pipeline(name='write-numbers')
def write_numbers() -> List[Dataset]:
    with dsl.ParallelFor([1, 2, 3]) as x:
        t = write_number(x=x)
    return dsl.Collected(t.outputs['d'])


@dsl.pipeline(name='artifact-loop')
def artifact_loop() -> List[int]:
    made = write_numbers()
    with dsl.ParallelFor(made.output, parallelism=2) as item:
        r = read_number(d=item)
    return dsl.Collected(r.output)


@dsl.pipeline(name='loop-conditions')
def loop_conditions(limit: int = 1):
    with dsl.ParallelFor([{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]) as x:
        with dsl.If(x.a == 2):
            say(msg='second').set_caching_options(False)
    ml = make_list(n=4).set_caching_options(False)
    with dsl.ParallelFor(ml.output) as i:
        with dsl.If(i > limit):
            square(x=i).set_caching_options(False)


@dsl.pipeline(name='timeout')
def timeout_pipeline():
    sleep_secs(seconds=30).set_caching_options(False)


@dsl.pipeline(name='environment')
def environment():
    print_env().set_caching_options(False)
    shell_env().set_caching_options(False)


@dsl.pipeline(name='chatty')
def chatty_pipeline(n_bytes: int = 10_000_000) -> str:
    chatty_shell(n_bytes=n_bytes).set_caching_options(False)
    return chatty(n_bytes=n_bytes).set_caching_options(False).output


# The benchmark's pipelines (compiled by the installed kfp, so kfp.local's own
# `pip install kfp==<version>` line finds it already installed).
@dsl.pipeline(name='bench-chain')
def bench_chain(x: int = 0) -> int:
    t = noop(x=x).set_caching_options(False)
    for _ in range(9):
        t = noop(x=t.output).set_caching_options(False)
    return t.output


@dsl.pipeline(name='bench-sleeps')
def bench_sleeps(seconds: float = 1.0):
    for _ in range(8):
        stamp(seconds=seconds).set_caching_options(False)


@dsl.pipeline(name='metrics-cache')
def metrics_cache(lines: int = 3):
    data = make_data(lines=lines)
    score(data=data.outputs['data'])


PIPELINES = {
    'metrics_cache': metrics_cache,
    'chain': chain,
    'parallel_sleeps': parallel_sleeps,
    'condition': condition,
    'branches': branches,
    'loops': loops,
    'exit_handler': exit_handler,
    'retries': retries,
    'ignore_failure': ignore_failure,
    'cancel_python': cancel_python,
    'cancel_container': cancel_container,
    'security': security,
    'containers': containers,
    'escape': escape_pipeline,
    'missing_program': missing_program,
    'google_cloud': google_cloud,
    'importer': importer_pipeline,
    'outer': outer,
    'artifact_loop': artifact_loop,
    'loop_conditions': loop_conditions,
    'timeout': timeout_pipeline,
    'environment': environment,
    'chatty': chatty_pipeline,
    'bench_chain': bench_chain,
    'bench_sleeps': bench_sleeps,
}


def main() -> int:
    out = sys.argv[1]
    import os
    os.makedirs(out, exist_ok=True)
    for name, fn in PIPELINES.items():
        compiler.Compiler().compile(fn, os.path.join(out, f'{name}.yaml'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
