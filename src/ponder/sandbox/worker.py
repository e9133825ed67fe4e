"""The worker: a persistent Python REPL that runs INSIDE the sandbox.

The host starts it as ``python -I -S -B -X utf8 -c <this file's source> <limits json>``,
so this file must use the standard library only and never import ponder. The source
sent is :mod:`worker_guard` (the process hardening: rlimits, keyring, stray
processes) followed by this file (the REPL and its protocol); see
``process.worker_source``.

Protocol: frames of a 4-byte big-endian length and a UTF-8 JSON object, read from the
worker's original stdin and written to its original stdout. Both descriptors are
duplicated away first; fd 0 then reads ``/dev/null`` and fds 1 and 2 point at private
unlinked files, so nothing the user code (or a child process it starts) prints can
reach the protocol. Python-level ``print`` goes to in-memory buffers capped at
``max_output`` characters.

Host -> worker: ``exec`` {id, code, timeout}, ``set`` {id, name, value}, ``save`` {id, skip, timeout,
limit}, ``load`` {id, data, timeout}, ``reply`` {result | error}.
Worker -> host: ``ready``, ``result`` {id, stdout, stderr, error, interrupted, truncated, names}
(``save`` adds ``data``, ``kept``, ``skipped``; ``load`` adds ``kept``, ``skipped``),
``call`` {name, payload} (a ``host_call`` from user code; the host answers with ``reply``).

``save`` and ``load``: see :mod:`worker_snapshot`.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import json
import linecache
import os
import resource
import signal
import struct
import sys
import traceback
import types
from typing import Any

# imported as ponder.sandbox.worker (tests, type checks); run as ``python -c``, the import
# fails and worker_guard's source, sent first, has defined these (see process.worker_source)
with contextlib.suppress(ImportError):
    from .worker_guard import (
        _in_private_pid_namespace,
        _leave_session_keyring,
        _private_file,
        _reap_strays,
        _stop_strays,
        apply_limits,
    )
    from .worker_snapshot import snapshot_op

_HEADER = struct.Struct(">I")
_MAX_FRAME = 1 << 30
_MARKER = "\n[... output truncated: {n} more characters not shown ...]\n"
_WORKER_FILE = "<string>"  # how Python names code run with -c: frames to hide from tracebacks
_MAX_NAMES = 1000  # variable names a result lists (the host tells them when a worker is lost)


class SandboxInterrupt(BaseException):  # like KeyboardInterrupt: `except Exception` does not swallow it
    """Raised inside user code when the call reaches its wall-clock or CPU-time limit."""


class HostCallError(Exception):
    """The host could not serve a ``host_call`` (no handler, or the handler failed)."""


class _Capture(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int, fd: int) -> None:
        super().__init__()
        self._parts: list[str] = []
        self._size = 0
        self._limit = limit
        self._fd = fd
        self.dropped = 0
        self.buffer = _BytesCapture(self)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:  # so subprocess(stdout=sys.stdout) writes to the captured fd file
        return self._fd

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        room = self._limit - self._size
        if room > 0:
            piece = text[:room]
            self._parts.append(piece)
            self._size += len(piece)
            self.dropped += len(text) - len(piece)
        else:
            self.dropped += len(text)
        return len(text)

    def getvalue(self) -> str:
        return "".join(self._parts)


class _BytesCapture:
    """``sys.stdout.buffer``: bytes written here are decoded into the text capture."""

    def __init__(self, text: _Capture) -> None:
        self._text = text

    def write(self, data: bytes) -> int:
        self._text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        return None


class Channel:
    """Length-prefixed JSON frames over two file descriptors."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in = fd_in
        self.fd_out = fd_out
        self._dumps = json.dumps
        self._loads = json.loads

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(self.encode(message))

    def encode(self, message: dict[str, Any]) -> bytes:
        return self._dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")

    def send_bytes(self, body: bytes) -> None:
        data = memoryview(_HEADER.pack(len(body)) + body)
        while data:
            data = data[os.write(self.fd_out, data) :]

    def receive(self) -> dict[str, Any]:
        (size,) = _HEADER.unpack(self._read_exact(_HEADER.size))
        if size > _MAX_FRAME:
            os._exit(3)
        message = self._loads(self._read_exact(size))
        if not isinstance(message, dict):
            os._exit(3)
        return message

    def _read_exact(self, size: int) -> bytes:
        chunks = []
        while size:
            chunk = os.read(self.fd_in, min(size, 1 << 20))
            if not chunk:  # the host closed the pipe: it is gone or is closing us
                os._exit(0)
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)


class Repl:
    """The namespace, the per-call limits and the message loop."""

    def __init__(self, channel: Channel, limits: dict[str, Any], isolated: bool, fds: tuple[int, int]) -> None:
        self.channel = channel
        self.max_output = int(limits["max_output"])
        self.cpu_seconds = int(limits["cpu_seconds"])
        self.isolated = isolated
        self.fd_out, self.fd_err = fds
        self.armed = False
        self.cells = 0
        # the namespace is a module's, so that ``save`` can pickle what the code defined by reference
        self.module = types.ModuleType("__main__")
        self.namespace: dict[str, Any] = self.module.__dict__
        self.namespace.update({"__builtins__": builtins, "host_call": self.host_call, "HostCallError": HostCallError})
        self.own_names = frozenset(self.namespace)  # the worker's, not the code's: never listed nor saved
        signal.signal(signal.SIGALRM, self._on_limit)
        signal.signal(signal.SIGXCPU, self._on_limit)
        import threading

        threading.excepthook = _quiet_interrupts

    # -- limits ---------------------------------------------------------------------------------

    def _on_limit(self, signum: int, frame: object) -> None:
        if not self.armed:  # one interrupt per call at most, and never inside the worker's own code
            return
        self.armed = False
        if signum == signal.SIGXCPU:
            raise SandboxInterrupt(f"the call used more than {self.cpu_seconds} s of CPU time")
        raise SandboxInterrupt("wall-clock")

    def arm(self, timeout: float) -> None:
        signal.signal(signal.SIGALRM, self._on_limit)  # again: a previous call may have replaced them
        signal.signal(signal.SIGXCPU, self._on_limit)
        used = int(_cpu_used()) + 1
        _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = used + self.cpu_seconds
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        self.armed = True
        if timeout > 0:
            signal.setitimer(signal.ITIMER_REAL, timeout)

    def disarm(self) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        self.armed = False

    # -- host calls -----------------------------------------------------------------------------

    def host_call(self, name: str, payload: Any = None) -> Any:
        """Ask the host to run its handler ``name`` on ``payload`` (JSON-able); returns its JSON result.

        The time the host takes does not count against this call's limits.
        """
        if not isinstance(name, str) or not name:
            raise TypeError("host_call() name must be a non-empty string")
        body = self.channel.encode({"op": "call", "name": name, "payload": payload})  # TypeError if not JSON-able
        was_armed, self.armed = self.armed, False
        remaining, _interval = signal.setitimer(signal.ITIMER_REAL, 0)
        try:
            self.channel.send_bytes(body)
            reply = self.channel.receive()
        finally:
            self.armed = was_armed
            if remaining > 0:
                signal.setitimer(signal.ITIMER_REAL, remaining)
        if reply.get("op") != "reply":
            os._exit(3)  # the host and the worker disagree: stop rather than guess
        if reply.get("error") is not None:
            raise HostCallError(str(reply["error"]))
        return reply.get("result")

    # -- calls ----------------------------------------------------------------------------------

    def execute(self, code: str, timeout: float) -> dict[str, Any]:
        os.dup2(self.fd_out, 1)  # undo whatever the previous call did to fds 1 and 2
        os.dup2(self.fd_err, 2)
        out, err = _Capture(self.max_output, 1), _Capture(self.max_output, 2)
        sys.stdout, sys.stderr = out, err
        error: str | None = None
        interrupted: str | None = None
        try:
            try:
                body, last = self._compile(code)
                self.arm(timeout)
                try:
                    exec(body, self.namespace)
                    if last is not None:
                        value = eval(last, self.namespace)
                        if value is not None:
                            print(repr(value))
                finally:
                    self.disarm()
            except SandboxInterrupt as exc:
                interrupted = str(exc)
            except SystemExit as exc:
                if exc.code not in (None, 0):
                    error = f"SystemExit: {exc.code}"
            except BaseException as exc:
                error = _one_line(exc)
                err.write(_format_traceback(exc))
        except SandboxInterrupt as exc:  # arrived while the worker was already handling an exception
            interrupted = str(exc)
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        strays = _stop_strays(SandboxInterrupt)
        self._flush_std()
        if self.isolated:
            _reap_strays()
        stdout, cut_out = _join(out, self.fd_out, self.max_output)
        stderr, cut_err = _join(err, self.fd_err, self.max_output)
        return {
            "op": "result",
            "stdout": stdout,
            "stderr": stderr,
            "error": error,
            "interrupted": interrupted,
            "truncated": cut_out or cut_err,
            "strays": strays,
            "cpu_used": _cpu_used(),
            "names": self.names(),
        }

    def names(self) -> list[str]:
        return [n for n in self.namespace if not n.startswith("_") and n not in self.own_names][:_MAX_NAMES]

    def _compile(self, code: str) -> tuple[Any, Any]:
        self.cells += 1
        filename = f"<cell {self.cells}>"
        linecache.cache.pop(f"<cell {self.cells - 500}>", None)  # keep the source of recent cells only
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        tree = ast.parse(code, filename, "exec")
        last = None
        final = tree.body[-1] if tree.body else None
        if isinstance(final, ast.Expr):  # REPL habit: show the last expression's value
            tree.body.pop()
            last = compile(ast.Expression(final.value), filename, "eval")
        return compile(tree, filename, "exec"), last

    def _flush_std(self) -> None:
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass

    def serve(self) -> None:
        while True:
            message = self.channel.receive()
            op = message.get("op")
            if op == "exec":
                timeout = message.get("timeout")
                reply = self.execute(str(message.get("code", "")), float(timeout) if timeout else 0.0)
            elif op == "set":
                self.namespace[str(message["name"])] = message.get("value")
                reply = {"op": "result", "stdout": "", "stderr": "", "error": None, "interrupted": None}
            elif op in ("save", "load"):
                reply = snapshot_op(self, message, SandboxInterrupt)
            else:
                os._exit(3)
            reply["id"] = message.get("id")
            self.channel.send(reply)


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _quiet_interrupts(args: Any) -> None:
    """threading.excepthook: a thread ended by the end of its call (SandboxInterrupt) says nothing."""
    if not issubclass(args.exc_type, SandboxInterrupt):
        import threading

        threading.__excepthook__(args)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= 500 else line[:497] + "..."


def _format_traceback(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return "".join(traceback.format_exception_only(type(exc), exc))
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == _WORKER_FILE:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _join(capture: _Capture, fd: int, limit: int) -> tuple[str, bool]:
    """The call's Python-level output, then what child processes wrote to the fd; cut to ``limit``."""
    text = capture.getvalue()
    dropped = capture.dropped
    size = os.fstat(fd).st_size
    if size:
        room = max(limit - len(text), 0)
        raw = os.pread(fd, room * 4 + 4, 0) if room else b""
        extra = raw.decode("utf-8", "replace")
        shown = extra[:room]
        text += shown
        dropped += len(extra) - len(shown) + max(size - len(raw), 0)
        os.ftruncate(fd, 0)
    if dropped:
        return text + _MARKER.format(n=dropped), True
    return text, False


def main(argv: list[str]) -> None:
    settings = json.loads(argv[1])
    limits = settings["limits"]
    isolated = bool(settings.get("isolated")) and _in_private_pid_namespace()
    proto_in, proto_out = os.dup(0), os.dup(1)  # non-inheritable: child processes never see them
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    fds = (_private_file(), _private_file())
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    _leave_session_keyring()
    apply_limits(limits, isolated)
    channel = Channel(proto_in, proto_out)
    repl = Repl(channel, limits, isolated, fds)
    channel.send({"op": "ready", "pid": os.getpid(), "uid": os.getuid(), "isolated": isolated})
    repl.serve()


if __name__ == "__main__":
    main(sys.argv)
