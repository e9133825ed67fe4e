"""The worker's snapshots: the REPL's values pickled for a later worker, and read back there.

Runs inside the sandbox as part of the worker's ``python -c`` source (see
``process.worker_source``), so, like :mod:`worker`, it uses the standard library only.

``save_values`` pickles each variable of the namespace on its own: one that cannot be
pickled (a lambda, an open file, a generator) or that would pass the size limit is
skipped and named, the others are kept. Modules are not kept (the code's imports bring
them back) and neither are the names the host asks to skip (the REPL's setup, which a new
worker gets anyway). Functions and classes the code defined are pickled *by reference*
(the namespace is a module's, made ``__main__`` while pickling), so they load in a worker
where the code that defines them ran again. ``load_values`` binds them back: values, not
side effects (files the code wrote, what it printed, processes it started).

The pickle is made and read here, inside the sandbox; the host keeps it as opaque bytes
and never unpickles it.
"""

from __future__ import annotations

import base64
import contextlib
import pickle
import sys
import types
from collections.abc import Iterator
from typing import Any


def snapshot_op(repl: Any, message: dict[str, Any], interrupt: type[BaseException]) -> dict[str, Any]:
    """The worker's reply to a ``save`` or ``load`` message."""
    timeout = float(message.get("timeout") or 0.0)
    if message.get("op") == "save":
        skip = {str(name) for name in message.get("skip") or []}
        reply = save_values(repl, skip, timeout, int(message.get("limit") or 0), interrupt)
    else:
        reply = load_values(repl, str(message.get("data") or ""), timeout, interrupt)
    reply["names"] = repl.names()
    return reply


@contextlib.contextmanager
def _as_main(module: types.ModuleType) -> Iterator[None]:
    """Make the REPL's module ``__main__`` while pickling, so its functions and classes resolve."""
    previous = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        yield
    finally:
        if previous is not None:
            sys.modules["__main__"] = previous


def save_values(
    repl: Any, skip: set[str], timeout: float, limit: int, interrupt: type[BaseException]
) -> dict[str, Any]:
    """The namespace's values as a ``result`` message: ``data`` (base64), ``kept`` and ``skipped`` names."""
    kept: dict[str, bytes] = {}
    skipped: list[str] = []
    size = 0
    error = None
    with _as_main(repl.module):
        try:
            repl.arm(timeout)
            try:
                for name, value in list(repl.namespace.items()):
                    if name.startswith("_") or name in skip or name in repl.own_names:
                        continue
                    if isinstance(value, types.ModuleType):
                        continue
                    try:
                        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
                    except Exception:
                        skipped.append(name)
                        continue
                    if size + len(data) > limit:
                        skipped.append(name)
                        continue
                    kept[name] = data
                    size += len(data)
            finally:
                repl.disarm()
        except interrupt as exc:
            error = f"the snapshot was interrupted ({exc})"
    blob = b"" if error else pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "op": "result",
        "error": error,
        "data": base64.b64encode(blob).decode("ascii"),
        "kept": sorted(kept),
        "skipped": sorted(skipped),
    }


def load_values(repl: Any, data: str, timeout: float, interrupt: type[BaseException]) -> dict[str, Any]:
    """Bind the values of a ``save_values``; one that cannot be read here (its class is gone) is skipped."""
    kept: list[str] = []
    skipped: list[str] = []
    error = None
    with _as_main(repl.module):
        try:
            repl.arm(timeout)
            try:
                values = pickle.loads(base64.b64decode(data))
                for name, blob in values.items():
                    try:
                        repl.namespace[str(name)] = pickle.loads(blob)
                        kept.append(str(name))
                    except Exception:
                        skipped.append(str(name))
            finally:
                repl.disarm()
        except interrupt as exc:
            error = f"loading the snapshot was interrupted ({exc})"
        except Exception as exc:
            error = f"the snapshot could not be read ({type(exc).__name__}: {exc})"[:500]
    return {"op": "result", "error": error, "kept": kept, "skipped": skipped}
