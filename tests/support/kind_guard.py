"""The integration marker, true to what each test starts.

A test is an integration test when it starts something outside the test process: another
process (the sandbox's worker, the CLI, a server), a listening socket (a loopback server),
or a real model (llama.cpp). This plugin watches for those while each test (and each fixture)
runs; a test that starts one without ``@pytest.mark.integration`` fails and says what it
started, so ``pytest -m "not integration"`` stays in-process and fast.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

_started: list[str] = []
_fixtures_that_start: dict[str, str] = {}


def _watch(owner: Any, name: str, what: str) -> None:
    original = getattr(owner, name)

    def watched(*args: Any, **kwargs: Any) -> Any:
        _started.append(what)
        return original(*args, **kwargs)

    setattr(owner, name, watched)


def install() -> None:
    """Wrap the calls that start something outside the process (once per session)."""
    # the standard library runs `uname -p` once per interpreter, the first time anything (the openai SDK's
    # headers) asks for the platform: ask now, so that process is nobody's test
    platform.processor()
    _watch(subprocess.Popen, "_execute_child", "a process")
    _watch(os, "fork", "a process")
    _watch(os, "posix_spawn", "a process")
    _watch(socket.socket, "listen", "a listening socket")
    try:
        import multiprocessing.util

        _watch(multiprocessing.util, "spawnv_passfds", "a process")
    except ImportError:  # pragma: no cover
        pass
    try:
        import llama_cpp
    except ImportError:
        return
    _watch(llama_cpp.Llama, "__init__", "a real model")


def _drain() -> list[str]:
    seen = sorted(set(_started))
    _started.clear()
    return seen


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: Any) -> Iterator[None]:
    _drain()
    yield
    seen = _drain()
    if seen:
        _fixtures_that_start[fixturedef.argname] = ", ".join(seen)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    _drain()
    yield
    seen = _drain()
    fixtures = [f"{name} ({what})" for name, what in _fixtures_that_start.items() if name in item.fixturenames]
    if not (seen or fixtures) or item.get_closest_marker("integration"):
        return
    started = ", ".join([*seen, *(f"fixture {f}" for f in fixtures)])
    report = os.environ.get("PONDER_KIND_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as out:
            out.write(f"{item.nodeid}\t{started}\n")
        return
    pytest.fail(
        f"this test starts {started} but is not marked integration (see tests/support/kind_guard.py)", pytrace=False
    )
