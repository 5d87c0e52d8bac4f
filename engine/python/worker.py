"""The warm Python worker of Pipeline Canvas's local engine.

One worker runs per Python environment. It imports the KFP runtime once, then forks a child
per task, so a task pays for neither the interpreter start nor the imports. The engine talks
to it in JSON lines:

  engine -> worker  {"op": "run", "id": 7, "cwd": DIR, "log": FILE, "module_path": FILE,
                     "program": SOURCE, "argv": [ARG, ...], "env": {NAME: VALUE},
                     "log_limit": BYTES}
  worker -> engine  {"event": "ready", "pid": ..., "python": "3.11.7", "kfp": "2.17.3"}
                    {"id": 7, "event": "started", "pid": 1234}
                    {"id": 7, "event": "exited", "code": 0, "log_truncated": false}
                                                   (code negative: killed by that signal)
                    {"id": 7, "event": "failed", "message": "..."} (could not fork)

The child becomes the leader of a new session (so the engine can kill the task's whole process
tree), dies with the worker (PR_SET_PDEATHSIG), sends its stdout and stderr into a pipe the
worker copies to the task's log file (at most `log_limit` bytes; past that one line says the
log was truncated and the rest is read and discarded, so the task never blocks on its output),
writes the component's program to `module_path`, and runs `kfp.dsl.executor_main` with `argv`,
exactly as the `python3 -m kfp.dsl.executor_main --component_module_path ... "$@"` line of a
KFP Python component would. Nothing goes through a shell. When the engine goes away (stdin
closes, or SIGTERM, which the engine arranges to be sent when it dies), the worker kills the
tasks it started and exits.
"""

import ctypes
import io
import json
import os
import select
import signal
import sys
import traceback

os.environ['_KFP_RUNTIME'] = 'true'

_proto = None

_PR_SET_PDEATHSIG = 1
_LOG_CHUNK = 1 << 16
_DEFAULT_LOG_LIMIT = 64 * 1024 * 1024


def _size_text(n):
    for unit, size in (('GiB', 1 << 30), ('MiB', 1 << 20), ('KiB', 1 << 10)):
        if n >= size and n % size == 0:
            return f'{n // size} {unit}'
    return f'{n} bytes'


class _Log:
    """A task's log file, written from its output pipe, capped at `limit` bytes."""

    def __init__(self, path, limit):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self.used = os.fstat(self.fd).st_size
        self.limit = limit
        self.truncated = False

    def _write_all(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def write(self, data):
        room = max(self.limit - self.used, 0)
        if room:
            kept = data[:room]
            self._write_all(kept)
            self.used += len(kept)
        if len(data) > room and not self.truncated:
            self.truncated = True
            self._write_all(
                f'\n[pipeline-canvas] log truncated at {_size_text(self.limit)}: '
                'later output was discarded\n'.encode())

    def close(self):
        os.close(self.fd)


def _send(message):
    _proto.write(json.dumps(message) + '\n')
    _proto.flush()


def _die_with(parent):
    """Asks the kernel to kill this process when `parent` (its parent) dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)


def _run_child(request, output, parent, close_fds):
    """In the forked child: never returns."""
    code = 1
    try:
        os.setsid()
        _die_with(parent)
        signal.set_wakeup_fd(-1)
        for fd in close_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
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

    children = {}  # pid -> (request id, read end of its output pipe, its _Log)
    logs = {}  # read end of a task's output pipe -> its _Log
    buffer = b''

    def kill_all():
        for pid in list(children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    def on_term(*_):
        kill_all()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)

    def pump(fd, chunks):
        """Copies up to `chunks` reads of what is waiting on `fd` into its log; closes both at
        the end of the pipe."""
        log = logs.get(fd)
        if log is None:
            return
        for _ in range(chunks):
            try:
                data = os.read(fd, _LOG_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                data = b''
            if not data:
                del logs[fd]
                os.close(fd)
                log.close()
                return
            log.write(data)

    def reap():
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            request_id, fd, log = children.pop(pid, (None, None, None))
            if log is None:
                continue
            # The child is gone: what it wrote is in the pipe (at most its capacity, 1 MiB
            # unless raised); copy it before reporting. A process it left behind may go on
            # writing: that is pumped later, never waited for here.
            pump(fd, 16)
            _send({
                'id': request_id,
                'event': 'exited',
                'code': os.waitstatus_to_exitcode(status),
                'log_truncated': log.truncated,
            })

    def start(request):
        try:
            log = _Log(request['log'], int(request.get('log_limit') or _DEFAULT_LOG_LIMIT))
        except (OSError, ValueError, TypeError) as e:
            _send({'id': request.get('id'), 'event': 'failed',
                   'message': f'cannot write the log {request.get("log")!r}: {e}'})
            return
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
        except OSError as e:
            for fd in (read_end, write_end):
                os.close(fd)
            log.close()
            _send({'id': request.get('id'), 'event': 'failed', 'message': f'cannot fork: {e}'})
            return
        if pid == 0:
            inherited = [wake_r, wake_w, _proto.fileno(), read_end, log.fd]
            inherited += list(logs) + [other.fd for other in logs.values()]
            _run_child(request, write_end, parent, inherited)
        os.close(write_end)
        os.set_blocking(read_end, False)
        logs[read_end] = log
        children[pid] = (request.get('id'), read_end, log)
        _send({'id': request.get('id'), 'event': 'started', 'pid': pid})

    parent = os.getpid()
    while True:
        try:
            ready, _, _ = select.select([0, wake_r] + list(logs), [], [])
        except InterruptedError:
            ready = []
        if wake_r in ready:
            try:
                while os.read(wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        for fd in ready:
            if fd in logs:
                pump(fd, 1)
        reap()
        if 0 not in ready:
            continue
        data = os.read(0, 1 << 16)
        if not data:
            kill_all()
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
            start(request)
        reap()


if __name__ == '__main__':
    sys.exit(main())
