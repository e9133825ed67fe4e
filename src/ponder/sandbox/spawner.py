"""Start worker processes from one long-lived thread.

bubblewrap's ``--die-with-parent`` uses ``PR_SET_PDEATHSIG``, which fires when the *thread*
that started bubblewrap exits, not the process. Sandboxes are often created in short-lived
threads (a pool worker, a request handler), and their workers would die with them. So
every worker is started from this module's daemon thread, which lives as long as the
process (a fork gets a new one).
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

_Job = tuple[Callable[[], "subprocess.Popen[bytes]"], "Future[subprocess.Popen[bytes]]"]


class _Spawner:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name="ponder-sandbox-spawner", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            start, future = self.jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(start())
            except BaseException as exc:  # handed to the waiting caller, who re-raises it
                future.set_exception(exc)


_lock = threading.Lock()
_spawner: _Spawner | None = None


def popen(argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(argv, **kwargs)``, run on the process-wide spawner thread."""
    global _spawner
    with _lock:
        if _spawner is None or _spawner.pid != os.getpid():
            _spawner = _Spawner()
        spawner = _spawner
    if threading.current_thread() is spawner.thread:
        return subprocess.Popen(argv, **kwargs)
    future: Future[subprocess.Popen[bytes]] = Future()
    spawner.jobs.put((lambda: subprocess.Popen(argv, **kwargs), future))
    return future.result()
