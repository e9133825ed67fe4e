"""The sandbox worker's process hardening: rlimits, a fresh keyring, private output files, strays.

Runs inside the sandbox as the first part of the worker's ``python -c`` source
(see ``process.worker_source``), so, like :mod:`worker`, it uses the standard
library only. Kept apart from the REPL so each file is one concept: this one
says what the worker process may do, :mod:`worker` what it does.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import time
from typing import Any

_SYS_KEYCTL = {"x86_64": 250, "aarch64": 219, "i686": 288, "armv7l": 311}.get(os.uname().machine)
_KEYCTL_JOIN_SESSION_KEYRING = 1


def _private_file() -> int:
    """An unlinked, append-only file in the working directory (the sandbox's /tmp)."""
    for attempt in range(100):
        path = f".ponder-out-{os.getpid()}-{attempt}"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except FileExistsError:
            continue
        os.unlink(path)
        return fd
    raise OSError("cannot create the output file")


def _user_process_count() -> int:
    """Processes of this uid (fallback mode, where RLIMIT_NPROC counts all of them)."""
    uid, count = os.getuid(), 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                count += os.stat(f"/proc/{name}").st_uid == uid
    return count


def apply_limits(limits: dict[str, Any], isolated: bool) -> None:
    """Lower this process's rlimits (inherited by everything it starts); they cannot be raised again."""
    mib = 1024 * 1024

    def cap(which: int, value: int) -> None:
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))

    cap(resource.RLIMIT_AS, int(limits["memory_mb"]) * mib)
    cap(resource.RLIMIT_FSIZE, int(limits["max_file_mb"]) * mib)
    cap(resource.RLIMIT_CORE, 0)
    nproc = int(limits["max_processes"])
    if not isolated:  # no user namespace: the limit counts every process of this uid
        nproc += _user_process_count()
    cap(resource.RLIMIT_NPROC, nproc)
    # CPU: the soft limit is moved before each call (see Repl.arm); the hard limit is the worker's
    # lifetime allowance, so code cannot lift the per-call limit (raising a hard limit needs privilege)
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    lifetime = int(limits.get("cpu_lifetime") or 20 * int(limits["cpu_seconds"]))
    if hard == resource.RLIM_INFINITY or hard > lifetime:
        hard = lifetime
    resource.setrlimit(resource.RLIMIT_CPU, (min(int(limits["cpu_seconds"]), hard), hard))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # too-big writes fail with EFBIG instead of killing


def _reap_strays() -> None:
    """Isolated mode only: end every other process in the sandbox so nothing outlives the call.

    kill(-1) from inside a private pid namespace reaches that namespace only, and spares
    pid 1 (bwrap's reaper) and this process. Only called when this process is pid 2 with
    bwrap as its parent. Waits (briefly) until they are gone, so the next call starts clean.
    """
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:  # nothing else is running: the common, fast case
        return
    except OSError:
        pass
    me = str(os.getpid())
    for _ in range(1000):
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        if all(name in ("1", me) for name in os.listdir("/proc") if name.isdigit()):
            return
        time.sleep(0.001)


def _stray_threads() -> int:
    """Threads of this process besides the calling one (OS threads, so ctypes-made ones count too)."""
    try:
        return len(os.listdir("/proc/self/task")) - 1
    except OSError:
        import threading

        return threading.active_count() - 1


def _stop_strays(interrupt: type[BaseException], grace: float = 0.5) -> int:
    """End the threads user code left running: raise ``interrupt`` in each Python thread, wait up to
    ``grace`` seconds; returns how many threads are still there (the host then replaces the worker).

    A thread that keeps running between calls would burn CPU and change variables behind the model's
    back; a thread blocked in C (``time.sleep``, a lock) cannot be interrupted and counts as stray."""
    if _stray_threads() <= 0:
        return 0
    import ctypes
    import sys
    import threading

    me = threading.get_ident()
    for ident in list(sys._current_frames()):
        if ident != me:
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(interrupt))
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if _stray_threads() <= 0:
            return 0
        time.sleep(0.005)  # lets the threads run (and meet the exception)
    return max(_stray_threads(), 0)


def _in_private_pid_namespace() -> bool:
    try:
        with open("/proc/1/comm") as f:
            return os.getpid() == 2 and os.getppid() == 1 and f.read().strip() == "bwrap"
    except OSError:
        return False


def _leave_session_keyring() -> None:
    """Join a fresh, empty session keyring: the inherited one is the host's, and possessing it
    would let sandboxed code read the keys in it (bubblewrap does not change keyrings)."""
    if _SYS_KEYCTL is None:  # unknown architecture: do not guess a syscall number
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall(_SYS_KEYCTL, _KEYCTL_JOIN_SESSION_KEYRING, None)
    except (OSError, AttributeError):  # no keyctl here: then there is no keyring to leak either
        pass
