"""An isolated, persistent Python REPL for model-written code.

    from ponder.sandbox import Sandbox, SandboxConfig
    with Sandbox(SandboxConfig(timeout=10)) as sb:
        sb.set_variable("context", long_text)
        result = sb.run("print(len(context.split()))")

The worker runs under bubblewrap (no network, read-only system, private /tmp, uid 65534,
rlimits); without bubblewrap it falls back to a plain rlimited subprocess and warns with
:class:`IsolationWarning` (or raises, with ``require_isolation=True``).
"""

from .config import SandboxConfig
from .exchange import HostCallRejected, HostHandler
from .fallback import IsolationWarning
from .result import ExecResult, Snapshot
from .sandbox import Sandbox, require_isolation_everywhere

__all__ = [
    "ExecResult",
    "HostCallRejected",
    "HostHandler",
    "IsolationWarning",
    "Sandbox",
    "SandboxConfig",
    "Snapshot",
    "require_isolation_everywhere",
]
