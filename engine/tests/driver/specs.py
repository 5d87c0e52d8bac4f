"""Writes the specs of the driver's table tests (`specs/<name>.json`) with the KFP SDK.

    python specs.py            # rewrites engine/tests/driver/specs/

Each spec is what `kfp.compiler` writes for the pipeline below, with one change: the
executors' commands and arguments (the Python source of each component) are cut to a
placeholder, since the driver never reads them. The tests need no Python: the specs are
checked in, and this script is only run to change them. `handmade.json` is written by hand
(what the SDK never writes: a dependency cycle, a missing component, executors the engine does
not run, constants in the deprecated typed form); this script leaves it alone. A pipeline
with Kubernetes settings also gets `specs/<name>.platform.json`, its platform spec.
"""

import json
import os
import sys
import tempfile
import warnings
from typing import List, Optional

warnings.filterwarnings('ignore', category=FutureWarning)

import yaml
from kfp import compiler, dsl, kubernetes
from kfp.dsl import Dataset, Input, Output


@dsl.component
def add(a: int, b: int) -> int:
    return a + b


@dsl.component
def make_data(lines: int, data: Output[Dataset]):
    with open(data.path, 'w') as f:
        f.write('x\n' * lines)


@dsl.component
def count_lines(data: Input[Dataset]) -> int:
    with open(data.path) as f:
        return len(f.readlines())


@dsl.component
def number(x: int) -> int:
    return x


@dsl.component
def say(msg: str) -> str:
    return msg


@dsl.component
def square(x: int) -> int:
    return x * x


@dsl.component
def add3(a: int, b: int, c: int) -> int:
    return a + b + c


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
def fail_task(msg: str):
    raise RuntimeError(msg)


@dsl.component
def report(status: dsl.PipelineTaskFinalStatus) -> str:
    return f'{status.state}:{status.pipeline_task_name}'


@dsl.component
def greet(name: str = 'world', punctuation: Optional[str] = None) -> str:
    return f'hello {name}{punctuation or ""}'


@dsl.component
def write_number(x: int, d: Output[Dataset]):
    with open(d.path, 'w') as f:
        f.write(str(x))


@dsl.component
def read_number(d: Input[Dataset]) -> int:
    with open(d.path) as f:
        return int(f.read())


@dsl.pipeline(name='chain')
def chain(a: int = 1, b: int = 2) -> int:
    s1 = add(a=a, b=b)
    s2 = add(a=s1.output, b=10)
    d = make_data(lines=s2.output)
    c = count_lines(data=d.outputs['data'])
    return add(a=c.output, b=100).set_caching_options(False).output


@dsl.pipeline(name='fan')
def fan(x: int = 3) -> int:
    n = number(x=x)
    a = square(x=n.output)
    b = square(x=n.output)
    c = square(x=n.output)
    return add3(a=a.output, b=b.output, c=c.output).output


@dsl.pipeline(name='condition')
def condition(x: int = 7):
    n = number(x=x)
    with dsl.If(n.output > 5):
        say(msg='big')
    with dsl.If(n.output <= 5):
        say(msg='small')


@dsl.pipeline(name='branches')
def branches(x: int = 7) -> str:
    n = number(x=x)
    with dsl.If(n.output > 10):
        a = say(msg='big')
    with dsl.Elif(n.output > 5):
        b = say(msg='medium')
    with dsl.Else():
        c = say(msg='small')
    return say(msg=dsl.OneOf(a.output, b.output, c.output)).output


@dsl.pipeline(name='loops')
def loops(items: list = [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}], n: int = 3) -> int:
    with dsl.ParallelFor([1, 2, 3], parallelism=2) as x:
        sq = square(x=x)
    t = total(xs=dsl.Collected(sq.output))
    with dsl.ParallelFor(items) as item:
        pick(a=item.a, b=item.b)
    ml = make_list(n=n)
    with dsl.ParallelFor(ml.output) as i:
        square(x=i)
    return t.output


@dsl.pipeline(name='nested-loops')
def nested_loops():
    with dsl.ParallelFor([1, 2]) as x:
        with dsl.ParallelFor(['a', 'b']) as y:
            pick(a=x, b=y)


@dsl.pipeline(name='loop-conditions')
def loop_conditions(limit: int = 1):
    with dsl.ParallelFor([{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'y'}]) as x:
        with dsl.If(x.a == 2):
            say(msg='second')
    ml = make_list(n=4)
    with dsl.ParallelFor(ml.output) as i:
        with dsl.If(i > limit):
            square(x=i)


@dsl.pipeline(name='exit-handler')
def exit_handler(msg: str = 'boom'):
    r = report()
    with dsl.ExitHandler(r):
        ok = say(msg='before')
        fail_task(msg=msg).after(ok)


@dsl.pipeline(name='ignore-failure')
def ignore_failure():
    f = fail_task(msg='first')
    say(msg='cleanup').after(f).ignore_upstream_failure()
    blocked = say(msg='blocked').after(f)
    say(msg='later').after(blocked)
    say(msg='independent')


@dsl.pipeline(name='retries')
def retries(n: int = 1):
    number(x=n).set_retry(num_retries=3, backoff_duration='2s', backoff_factor=2.0,
                          backoff_max_duration='5s')
    say(msg='once')


@dsl.pipeline(name='inner')
def inner(a: int, b: int = 1) -> int:
    return add(a=a, b=b).output


@dsl.pipeline(name='outer')
def outer(a: int = 5) -> int:
    i = inner(a=a)
    return add(a=i.output, b=1000).output


@dsl.pipeline(name='defaults')
def defaults(who: str = 'you', flag: Optional[str] = None):
    greet()
    greet(name=who)
    greet(punctuation=flag)


@dsl.pipeline(name='write-numbers')
def write_numbers() -> List[Dataset]:
    with dsl.ParallelFor([1, 2]) as x:
        t = write_number(x=x)
    return dsl.Collected(t.outputs['d'])


@dsl.pipeline(name='artifact-loop')
def artifact_loop() -> List[int]:
    made = write_numbers()
    with dsl.ParallelFor(made.output, parallelism=1) as item:
        r = read_number(d=item)
    return dsl.Collected(r.output)


@dsl.pipeline(name='importer')
def importer_pipeline(uri: str = 'gs://bucket/data.csv') -> int:
    imp = dsl.importer(artifact_uri=uri, artifact_class=Dataset, metadata={'source': 'test'})
    return count_lines(data=imp.output).output


@dsl.component
def get_state(status: dict) -> str:
    return status['state']


@dsl.pipeline(name='item-loops')
def item_loops(groups: List[dict] = [{'name': 'a', 'children': [1, 2]},
                                     {'name': 'b', 'children': [3]}]):
    with dsl.ParallelFor(groups) as g:
        with dsl.ParallelFor(g.children) as c:
            pick(a=c, b=g.name)


@dsl.pipeline(name='nested-collected')
def nested_collected() -> int:
    with dsl.ParallelFor([1, 2]) as x:
        with dsl.ParallelFor([10, 20]) as y:
            a = add(a=x, b=y)
    return total(xs=dsl.Collected(a.output)).output


@dsl.pipeline(name='machine-fields')
def machine_fields(cpu: str = '2'):
    m = say(msg='4G')
    square(x=3).set_cpu_limit(cpu).set_memory_limit(m.output)


@dsl.pipeline(name='notify')
def notify(status: dsl.PipelineTaskFinalStatus):
    get_state(status=status)


@dsl.pipeline(name='exit-pipeline')
def exit_pipeline():
    exit_task = notify()
    with dsl.ExitHandler(exit_task):
        fail_task(msg='boom')


@dsl.pipeline(name='platform')
def platform(claim: str = 'shared'):
    pvc = kubernetes.CreatePVC(pvc_name_suffix='-scratch', access_modes=['ReadWriteOnce'],
                               size='1Gi')
    w = say(msg='/data/out.txt')
    kubernetes.mount_pvc(w, pvc_name=pvc.outputs['name'], mount_path='/data')
    kubernetes.mount_pvc(w, pvc_name=claim, mount_path='/shared')
    kubernetes.use_secret_as_env(w, secret_name='db', secret_key_to_env={'password': 'DB_PASSWORD'})
    kubernetes.use_config_map_as_volume(w, config_map_name='settings', mount_path='/etc/settings',
                                        optional=True)
    kubernetes.add_node_selector(w, label_key='pool', label_value='gpu')
    kubernetes.add_toleration(w, key='gpu', operator='Exists')
    kubernetes.DeletePVC(pvc_name=pvc.outputs['name']).after(w)


PIPELINES = {
    'chain': chain,
    'fan': fan,
    'condition': condition,
    'branches': branches,
    'loops': loops,
    'nested_loops': nested_loops,
    'loop_conditions': loop_conditions,
    'exit_handler': exit_handler,
    'ignore_failure': ignore_failure,
    'retries': retries,
    'outer': outer,
    'defaults': defaults,
    'artifact_loop': artifact_loop,
    'importer': importer_pipeline,
    'item_loops': item_loops,
    'nested_collected': nested_collected,
    'machine_fields': machine_fields,
    'exit_pipeline': exit_pipeline,
    'platform': platform,
}


def shorten(spec: dict) -> dict:
    for executor in spec.get('deploymentSpec', {}).get('executors', {}).values():
        container = executor.get('container')
        if container:
            container['command'] = ['<kfp python function>']
            container['args'] = ['--executor_input', '{{$}}']
    return spec


def main() -> int:
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'specs')
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in PIPELINES.items():
            path = os.path.join(tmp, f'{name}.yaml')
            compiler.Compiler().compile(fn, path)
            with open(path) as f:
                docs = list(yaml.safe_load_all(f))
            spec = shorten(docs[0])
            with open(os.path.join(out, f'{name}.json'), 'w') as f:
                json.dump(spec, f, indent=2, sort_keys=True)
                f.write('\n')
            # The platform spec (kfp-kubernetes), when there is one: the table's rows run
            # with it.
            if len(docs) > 1:
                with open(os.path.join(out, f'{name}.platform.json'), 'w') as f:
                    json.dump(docs[1], f, indent=2, sort_keys=True)
                    f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
