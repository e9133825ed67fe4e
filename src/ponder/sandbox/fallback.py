"""The fallback when bubblewrap is missing or cannot start: a plain, rlimited subprocess.

It has the same worker, protocol and limits (memory, CPU, file size, processes,
wall-clock timeout) but NO isolation: the code can read and write whatever the host user
can, and reach the network. It runs in a fresh temporary directory with a minimal
environment. Choosing it always warns with :class:`IsolationWarning`; set
``SandboxConfig(require_isolation=True)`` to get an error instead.
"""

from __future__ import annotations

import os
import tempfile

FALLBACK_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


class IsolationWarning(RuntimeWarning):
    """Model-written code is about to run without a sandbox (bubblewrap unavailable)."""


def fallback_message(reason: str) -> str:
    return (
        f"ponder sandbox: bubblewrap is unavailable ({reason}); running code in a plain rlimited "
        "subprocess WITHOUT filesystem or network isolation (install bubblewrap, or set "
        "require_isolation=True to refuse)"
    )


def fallback_workdir() -> tuple[str, dict[str, str]]:
    """A fresh private working directory and the environment for the unisolated worker."""
    workdir = tempfile.mkdtemp(prefix="ponder-sandbox-")
    os.chmod(workdir, 0o700)
    return workdir, {**FALLBACK_ENV, "HOME": workdir, "TMPDIR": workdir}
