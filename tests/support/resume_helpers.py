"""Helpers shared by tests/unit/test_resume.py and tests/integration/test_resume_integration.py."""

from __future__ import annotations

import textwrap

import pytest

# the strategy and the deterministic model are shared with the killed subprocess (see KILLED below)
SHARED = textwrap.dedent(
    """
    import hashlib
    import threading
    import time

    from ponder import Batch, Generate, Outcome, Record, ScriptedModel, strategies
    from ponder.requests import Child
    from ponder.types import user


    class Fanout:
        name = "fanout"

        def run(self, question):
            first = yield Batch(
                (Generate.of([user(question)], "sample"), Generate.of([user(question + " again")], "sample"))
            )
            yield Record("vote", "picked", {"votes": [1, 0]})
            child = yield Child(strategies.Refine(max_rounds=2), "child: " + first[1].text)
            last = yield Generate.of([user(question), user(child.answer or "")], "final")
            return Outcome(last.text)


    _calls = [0]
    _counting = threading.Lock()


    def reply(messages, delay=0.0, stall_after=None):
        with _counting:
            _calls[0] += 1
            n = _calls[0]
        if stall_after is not None and n > stall_after:
            time.sleep(600)  # hangs until the test kills the process: exactly stall_after calls are recorded
        time.sleep(delay)
        digest = hashlib.sha256("|".join(m.content for m in messages).encode()).hexdigest()
        return "answer " + digest[:4] + " " + digest[4:10]


    def model(delay=0.0, stall_after=None):
        return ScriptedModel(lambda messages: reply(messages, delay, stall_after))
    """
)


@pytest.fixture
def shared(tmp_path, monkeypatch):
    (tmp_path / "shared.py").write_text(SHARED)
    monkeypatch.syspath_prepend(str(tmp_path))
    import shared as module  # type: ignore[import-not-found]

    return module
