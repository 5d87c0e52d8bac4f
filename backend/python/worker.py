"""The warm Python worker of Pipeline Canvas's local engine.

One worker runs per Python environment. It imports the KFP runtime once, then forks a child
per task, so a task pays for neither the interpreter start nor the imports. The engine talks
to it in JSON lines:

  engine -> worker  {"op": "run", "id": 7, "cwd": DIR, "log": FILE, "module_path": FILE,
                     "program": SOURCE, "argv": [ARG, ...], "env": {NAME: VALUE}}
  worker -> engine  {"event": "ready", "pid": ..., "python": "3.11.7", "kfp": "2.17.3"}
                    {"id": 7, "event": "started", "pid": 1234}
                    {"id": 7, "event": "exited", "code": 0}      (negative: killed by signal)
                    {"id": 7, "event": "failed", "message": "..."} (could not fork)

The child becomes the leader of a new session (so the engine can kill the task's whole process
tree), sends its stdout and stderr to the task's log file, writes the component's program to
`module_path`, and runs `kfp.dsl.executor_main` with `argv`, exactly as the
`python3 -m kfp.dsl.executor_main --component_module_path ... "$@"` line of a KFP Python
component would. Nothing goes through a shell. When the engine goes away (stdin closes), the
worker kills the tasks it started and exits.
"""

import io
import json
import os
import select
import signal
import sys
import traceback

os.environ['_KFP_RUNTIME'] = 'true'

_proto = None


def _send(message):
    _proto.write(json.dumps(message) + '\n')
    _proto.flush()


def _run_child(request, wake_fds):
    """In the forked child: never returns."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        for fd in wake_fds:
            os.close(fd)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        log = os.open(request['log'], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdout = io.TextIOWrapper(
            io.FileIO(1, 'w', closefd=False), line_buffering=True)
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, 'w', closefd=False), line_buffering=True)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, 'r', closefd=False))
        os.chdir(request['cwd'])
        os.environ.update(request.get('env') or {})
        with open(request['module_path'], 'w') as f:
            f.write(request['program'])
        sys.argv = [
            'executor_main', '--component_module_path', request['module_path']
        ] + list(request['argv'])
        from kfp.dsl import executor_main
        executor_main.executor_main()
        code = 0
    except SystemExit as e:
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException:  # the component's own failure: show it in the task log
        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(code)


def main():
    global _proto
    _proto = os.fdopen(os.dup(1), 'w')
    # Anything the worker itself prints goes to its stderr, never into the protocol.
    os.dup2(2, 1)
    try:
        import kfp
        from kfp import dsl  # noqa: F401  (what every component module imports)
        from kfp.dsl import executor_main  # noqa: F401
        from kfp.dsl import executor  # noqa: F401
        import typing  # noqa: F401
    except BaseException as e:
        _send({'event': 'error', 'message': f'cannot import the KFP runtime: {e!r}'})
        return 3

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    _send({
        'event': 'ready',
        'pid': os.getpid(),
        'python': sys.version.split()[0],
        'kfp': getattr(kfp, '__version__', 'unknown'),
    })

    children = {}
    buffer = b''

    def reap():
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            request_id = children.pop(pid, None)
            if request_id is not None:
                _send({
                    'id': request_id,
                    'event': 'exited',
                    'code': os.waitstatus_to_exitcode(status),
                })

    while True:
        try:
            ready, _, _ = select.select([0, wake_r], [], [])
        except InterruptedError:
            ready = []
        if wake_r in ready:
            try:
                while os.read(wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        reap()
        if 0 not in ready:
            continue
        data = os.read(0, 1 << 16)
        if not data:
            for pid in list(children):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
            return 0
        buffer += data
        while b'\n' in buffer:
            line, buffer = buffer.split(b'\n', 1)
            if not line.strip():
                continue
            try:
                request = json.loads(line)
            except ValueError as e:
                _send({'event': 'error', 'message': f'bad request: {e}'})
                continue
            if request.get('op') != 'run':
                _send({'id': request.get('id'), 'event': 'failed',
                       'message': f'unknown op {request.get("op")!r}'})
                continue
            try:
                pid = os.fork()
            except OSError as e:
                _send({'id': request.get('id'), 'event': 'failed',
                       'message': f'cannot fork: {e}'})
                continue
            if pid == 0:
                _run_child(request, (wake_r, wake_w, _proto.fileno()))
            children[pid] = request.get('id')
            _send({'id': request.get('id'), 'event': 'started', 'pid': pid})
        reap()


if __name__ == '__main__':
    sys.exit(main())
