"""``SandboxConfig``: the limits of one sandbox, validated once, frozen."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from ..errors import ConfigError

ALLOW_ROOT_ENV = "PONDER_ALLOW_UNISOLATED_ROOT"
REQUIRE_ENV = "PONDER_REQUIRE_ISOLATION"  # set by `ponder ask/serve --require-isolation` for the whole process
CPU_LIFETIME_CALLS = 20  # the hard CPU limit is this many calls' worth of cpu_seconds


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Limits for the sandboxed Python worker.

    ``timeout``       wall-clock seconds per call. The worker first interrupts the code
                      (variables kept); if it does not stop within a short grace, the host kills
                      the whole worker and restarts it (variables lost).
    ``memory_mb``     address-space limit (RLIMIT_AS) of each process in the sandbox; where a
                      memory cgroup can be made (root, or a delegated cgroup) the whole sandbox,
                      all its processes and its ``/tmp`` together, is bounded by
                      ``memory_mb + tmp_mb`` as well (see :mod:`ponder.sandbox.cgroup`).
    ``cpu_seconds``   CPU seconds per call for the worker (interrupts the code, variables kept).
                      Processes the code starts inherit the worker's soft limit (at least this
                      much CPU each) and are ended with the call anyway (bubblewrap mode). The
                      hard limit, which code cannot raise, is the worker's lifetime allowance of
                      ``CPU_LIFETIME_CALLS * cpu_seconds``; a worker near it is replaced before the
                      next call (variables lost, the result says so).
    ``max_output``    characters of stdout (and, separately, stderr) returned per call; the rest
                      is cut with a visible marker.
    ``max_file_mb``   largest file a sandboxed process may write (RLIMIT_FSIZE).
    ``max_processes`` most processes in the sandbox at once, the worker and bubblewrap's reaper
                      included (RLIMIT_NPROC, counted inside the sandbox's user namespace).
    ``tmp_mb``        size of the sandbox's private, writable ``/tmp`` (a tmpfs).
    ``require_isolation`` raise :class:`~ponder.errors.SandboxUnavailableError` instead of
                      falling back to a plain (unisolated) subprocess when bubblewrap is unusable;
                      it defaults to the environment ``PONDER_REQUIRE_ISOLATION=1`` (which
                      :func:`require_isolation_everywhere` sets for a process).
    ``allow_unisolated_root`` the unisolated fallback is refused when ponder runs as root (the
                      code would run as root, able to read ``/root`` and change the system) unless
                      this is true; it defaults to the environment ``PONDER_ALLOW_UNISOLATED_ROOT=1``.
    ``bwrap_path``    the bubblewrap binary; ``None`` looks ``bwrap`` up on ``PATH``.
    """

    timeout: float = 10.0
    memory_mb: int = 512
    cpu_seconds: int = 30
    max_output: int = 20_000
    max_file_mb: int = 64
    max_processes: int = 64
    tmp_mb: int = 256
    require_isolation: bool = field(default_factory=lambda: os.environ.get(REQUIRE_ENV) == "1")
    bwrap_path: str | None = None
    allow_unisolated_root: bool = field(default_factory=lambda: os.environ.get(ALLOW_ROOT_ENV) == "1")

    def __post_init__(self) -> None:
        if not isinstance(self.timeout, int | float) or not math.isfinite(self.timeout) or self.timeout <= 0:
            raise ConfigError(f"sandbox timeout must be a positive number of seconds, got {self.timeout!r}")
        _at_least("memory_mb", self.memory_mb, 64)
        _at_least("cpu_seconds", self.cpu_seconds, 1)
        _at_least("max_output", self.max_output, 1)
        _at_least("max_file_mb", self.max_file_mb, 1)
        _at_least("max_processes", self.max_processes, 1)
        _at_least("tmp_mb", self.tmp_mb, 1)
        if self.bwrap_path is not None and (not isinstance(self.bwrap_path, str) or not self.bwrap_path):
            raise ConfigError(f"sandbox bwrap_path must be a non-empty path or None, got {self.bwrap_path!r}")

    @property
    def cpu_lifetime(self) -> int:
        """The worker's hard RLIMIT_CPU: CPU seconds over all its calls."""
        return self.cpu_seconds * CPU_LIFETIME_CALLS

    def worker_limits(self) -> dict[str, int]:
        """The limits the worker applies to itself (sent to it as JSON)."""
        return {
            "memory_mb": self.memory_mb,
            "cpu_seconds": self.cpu_seconds,
            "cpu_lifetime": self.cpu_lifetime,
            "max_output": self.max_output,
            "max_file_mb": self.max_file_mb,
            "max_processes": self.max_processes,
        }


def _at_least(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"sandbox {name} must be an integer >= {minimum}, got {value!r}")
