"""Batched decoding: the engine hands a Batch to a batch-capable model; the embedded model decodes it together.

These tests start a process, a server or a real model; the others are in tests/unit/test_batched_decode.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from ponder import GenerationOptions
from ponder.errors import ConfigError, ModelCallError
from ponder.types import Completion, system, user

# -- the real model -------------------------------------------------------------------------------

SYS = "You are a careful assistant. Answer briefly."


@pytest.fixture(scope="module")
def smol():
    from ponder import load_model

    model = load_model("smollm2", batched=True, max_sequences=4)
    assert model.supports_batch  # type: ignore[attr-defined]
    return model


def _batch(model, calls):  # type: ignore[no-untyped-def]
    out: dict[int, Completion | Exception] = {}
    model.complete_batch(calls, out.__setitem__)
    return [out[i] for i in range(len(calls))]


@pytest.mark.integration
def test_a_batch_with_mixed_grammars_stops_and_lengths(smol):
    msgs = [system(SYS), user("Is the sky blue on a clear day? Explain.")]
    calls = [
        (msgs, GenerationOptions(max_tokens=8, grammar='root ::= "yes" | "no"')),
        (msgs, GenerationOptions(max_tokens=60, stop=(".",))),
        (msgs, GenerationOptions(max_tokens=3)),
        (msgs, GenerationOptions(max_tokens=40, temperature=0.8, seed=5)),
        ([system(SYS), user("Name a fruit.")], GenerationOptions(max_tokens=12, grammar="root ::= [a-z]+")),
    ]
    yes_no, stopped, short, sampled, fruit = _batch(smol, calls)
    assert isinstance(yes_no, Completion) and yes_no.text in ("yes", "no")
    assert isinstance(stopped, Completion) and "." not in stopped.text and stopped.finish_reason == "stop"
    assert isinstance(short, Completion) and short.finish_reason == "length" and short.usage.completion_tokens <= 4
    assert isinstance(sampled, Completion) and sampled.text
    assert isinstance(fruit, Completion) and fruit.text.isalpha() and fruit.text.islower()
    # the shared prompt is evaluated once: every call reports the prompt it was sent, the evaluated tokens add up
    done = [yes_no, stopped, short, sampled]
    assert all(c.usage.prompt_tokens == done[0].usage.prompt_tokens for c in done)
    assert sum(c.usage.prompt_tokens_evaluated for c in done) < 2 * done[0].usage.prompt_tokens
    # alone, greedy, the same call gives the same text as the sequential path
    smol.batched = False
    try:
        assert smol.complete(*calls[0]).text == yes_no.text
        assert smol.complete(*calls[3]).text.startswith(sampled.text[:1])
    finally:
        smol.batched = True


@pytest.mark.integration
def test_one_failing_sequence_leaves_the_others(smol):
    msgs = [system(SYS), user("Say hello.")]
    calls = [
        (msgs, GenerationOptions(max_tokens=10)),
        (msgs, GenerationOptions(max_tokens=10, grammar="root ::= (")),
        ([user("word " * (smol.context_window + 10))], GenerationOptions(max_tokens=4)),
        (msgs, GenerationOptions(max_tokens=10, seed=3, temperature=0.5)),
    ]
    first, bad_grammar, too_long, last = _batch(smol, calls)
    assert isinstance(bad_grammar, ConfigError) and "grammar" in str(bad_grammar)
    assert isinstance(too_long, ModelCallError) and "context window" in str(too_long)
    assert isinstance(first, Completion) and first.text and isinstance(last, Completion) and last.text


@pytest.mark.integration
def test_a_cancelled_sequence_stops_and_the_others_go_on(smol):
    class GoneError(Exception):
        pass

    pieces: list[str] = []

    def hang_up(piece: str) -> None:  # a client that goes away after three pieces
        pieces.append(piece)
        if len(pieces) == 3:
            raise GoneError

    outcome: dict[str, object] = {}

    def long_call() -> None:
        outcome["long"] = smol.complete(
            [system(SYS), user("Count from one to fifty.")], GenerationOptions(max_tokens=60)
        )

    def cancelled_call() -> None:
        try:
            smol.complete([system(SYS), user("Tell me a long story.")], GenerationOptions(max_tokens=200), hang_up)
        except GoneError as exc:
            outcome["cancelled"] = exc

    threads = [threading.Thread(target=long_call), threading.Thread(target=cancelled_call)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert isinstance(outcome.get("cancelled"), GoneError) and len(pieces) == 3
    long = outcome["long"]
    assert (
        isinstance(long, Completion) and long.usage.completion_tokens > 10 and long.finish_reason in ("stop", "length")
    )
    assert all(slot.owner is None for slot in smol._scheduler.slots.all)  # every slot was given back
    # the model goes on serving afterwards
    assert smol.complete([system(SYS), user("Say hi.")], GenerationOptions(max_tokens=4)).text


@pytest.mark.integration
def test_a_run_killed_mid_batch_resumes_replaying_the_recorded_samples(tmp_path):
    from ponder.store import RunStore

    db = tmp_path / "runs.db"
    env = {**os.environ, "PONDER_BATCHED_DECODE": "1", "PONDER_BATCH_SEQUENCES": "3"}
    question = "What is 12 * 11? Answer with the number."
    base = [sys.executable, "-m", "ponder", "ask", question, "-s", "consistency", "--samples", "6", "--no-adaptive"]
    base += ["--max-tokens", "24", "--json", "--temperature", "0.8"]
    proc = subprocess.Popen([*base, "--store", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 900
    while _model_calls(db) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # three sequences decode at a time: some are recorded, some are not
    proc.wait()
    store = RunStore(db)
    run_id = store.list_runs()[0]["run_id"]
    assert store.run(run_id)["status"] == "unfinished", "the run ended before it could be killed"
    recorded = {e["step"]: e["text"] for e in store.events(run_id) if e["type"] == "model_call"}
    assert 2 <= len(recorded) < 6
    resume = [sys.executable, "-m", "ponder", "resume", run_id, "--store", str(db), "--json"]
    resumed = subprocess.run(resume, capture_output=True, text=True, timeout=900, env=env)
    assert resumed.returncode == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["resumed"]["replayed_calls"] == len(recorded)
    assert data["usage"]["model_calls"] == 6
    texts = {s["index"]: s["text"] for s in data["steps"] if s.get("kind") == "sample"}
    assert all(texts[step] == text for step, text in recorded.items())  # what was recorded is what was replayed


def _model_calls(db) -> int:  # type: ignore[no-untyped-def]
    """The calls recorded so far, as another process sees them."""
    from ponder.store import RunStore, StoreError

    try:
        with RunStore(db, readonly=True) as store:
            return sum(run["model_calls"] for run in store.list_runs())
    except StoreError:
        return 0
