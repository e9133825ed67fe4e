"""One running worker: how it is launched, its handshake, and how it is killed."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cgroup, seccomp
from .bwrap import SANDBOX_UID, base_python, bwrap_argv, hidden_from_others, python_roots
from .config import SandboxConfig
from .protocol import HostChannel, ProtocolError, WorkerGone
from .spawner import popen

PYTHON_FLAGS = ("-I", "-S", "-B", "-X", "utf8")  # isolated mode, no site-packages, no .pyc, UTF-8
START_TIMEOUT = 30.0
HOST_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


class StartError(Exception):
    """The worker did not come up; the message says why (bubblewrap's own error when it has one)."""


@functools.cache
def source_of(module: str) -> str:
    """The source text of a sibling module that runs as ``python -c`` (the worker, the launcher)."""
    return Path(__file__).with_name(f"{module}.py").read_text(encoding="utf-8")


@functools.cache
def worker_source() -> str:
    """The worker's ``python -c`` source: its process hardening, its snapshots, then the REPL (one script,
    one namespace)."""
    parts = [source_of(name) for name in ("worker_guard", "worker_snapshot", "worker")]
    future = "from __future__ import annotations\n"  # only legal at the top
    return "\n\n".join([parts[0], *(part.replace(future, "", 1) for part in parts[1:])])


@dataclass(frozen=True)
class LaunchPlan:
    argv: list[str]
    cwd: str
    env: dict[str, str] = field(default_factory=lambda: dict(HOST_ENV))
    isolated: bool = False
    #: descriptors the child inherits (the seccomp filter); closed in the host once it started
    pass_fds: tuple[int, ...] = ()
    #: the worker's memory cgroup, removed when the worker is killed
    cgroup: cgroup.Cgroup | None = None
    #: hardening that could not be applied here (said once as a warning): a missing seccomp filter
    gaps: tuple[str, ...] = ()


def bwrap_plan(bwrap: str, config: SandboxConfig) -> LaunchPlan:
    """The command that starts the worker under bubblewrap, through the launcher when we are root
    or the worker has a memory cgroup to join."""
    python = base_python()
    roots = python_roots(python)
    settings = json.dumps({"limits": config.worker_limits(), "isolated": True})
    filter_fd, no_filter = seccomp.filter_fd()
    group = cgroup.create((config.memory_mb + config.tmp_mb) * 1024 * 1024)
    argv = bwrap_argv(bwrap, python, roots, config.tmp_mb, filter_fd)
    argv += [python, *PYTHON_FLAGS, "-c", worker_source(), settings]
    root = os.geteuid() == 0
    if root or group is not None:
        hidden = {r: cover for r in roots if (cover := hidden_from_others(r)) is not None} if root else {}
        spec = {
            "paths": sorted(hidden),
            "covers": sorted(set(hidden.values())),
            "uid": SANDBOX_UID if root else None,
            "cgroup": group.procs if group is not None else None,
        }
        argv = [python, *PYTHON_FLAGS, "-c", source_of("launcher"), json.dumps(spec), *argv]
    gaps = [no_filter] if filter_fd is None else []  # no cgroup is no warning: see Sandbox.hardening
    return LaunchPlan(
        argv=argv,
        cwd="/",
        isolated=True,
        pass_fds=(filter_fd,) if filter_fd is not None else (),
        cgroup=group,
        gaps=tuple(gaps),
    )


def fallback_plan(config: SandboxConfig, workdir: str, env: dict[str, str]) -> LaunchPlan:
    """The command that starts the worker as a plain subprocess (no isolation)."""
    settings = json.dumps({"limits": config.worker_limits(), "isolated": False})
    argv = [base_python(), *PYTHON_FLAGS, "-c", worker_source(), settings]
    return LaunchPlan(argv=argv, cwd=workdir, env=env, isolated=False)


class WorkerProcess:
    """A started worker: its process (the leader of a new process group) and the protocol channel."""

    def __init__(self, plan: LaunchPlan) -> None:
        self.isolated = plan.isolated
        self.cgroup = plan.cgroup
        self.gaps = plan.gaps
        try:
            self.proc = popen(  # from a long-lived thread: see spawner.py
                plan.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=plan.cwd,
                env=plan.env,
                start_new_session=True,
                close_fds=True,
                pass_fds=plan.pass_fds,
                bufsize=0,
            )
        except OSError as exc:
            if self.cgroup is not None:
                self.cgroup.remove()
            raise StartError(f"cannot execute {plan.argv[0]}: {exc.strerror or exc}") from exc
        finally:
            for fd in plan.pass_fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.channel = HostChannel(self.proc.stdin.fileno(), self.proc.stdout.fileno())

    def wait_ready(self, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        """Block until the worker says it is ready; StartError (worker killed) otherwise."""
        try:
            message = self.channel.receive(time.monotonic() + timeout)
        except (WorkerGone, ProtocolError):
            message = None
        if message is None or message.get("op") != "ready":
            alive = self.proc.poll() is None
            self.kill()
            detail = self.stderr_tail() or (
                f"no answer within {timeout:g} s" if alive else f"exit status {self.proc.returncode}"
            )
            raise StartError(detail)
        return message

    def alive(self) -> bool:
        return self.proc.poll() is None

    def terminate(self) -> None:
        """SIGKILL the process group without waiting (safe from another thread: the owner reaps it)."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL the whole process group (bubblewrap takes its pid namespace down with it), then reap."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        if self.cgroup is not None:
            self.cgroup.remove()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()

    def exit_note(self) -> str:
        """After the worker vanished: how it ended, for the error line."""
        self.kill()
        code = self.proc.returncode
        tail = self.stderr_tail()
        if code is not None and code < 0:
            note = f"killed by signal {-code}"
        elif code is not None and code > 128:
            note = f"exit status {code} (signal {code - 128}?)"
        else:
            note = f"exit status {code}"
        return f"{note}: {tail}" if tail else note

    def stderr_tail(self) -> str:
        """The last line the launcher, bubblewrap or an early worker crash wrote to stderr."""
        pipe = self.proc.stderr
        if pipe is None or pipe.closed:
            return ""
        try:
            os.set_blocking(pipe.fileno(), False)
            data = pipe.read(65536) or b""
        except OSError:
            data = b""
        finally:
            pipe.close()
        lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""
