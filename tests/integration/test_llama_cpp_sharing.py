"""The embedded backend under each way of sharing the cores (real SmolLM2-135M, no timing)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from ponder import GenerationOptions, load_model
from ponder.models import cpu_lock
from ponder.models.llama_cpp import DEFAULT_SHARING
from ponder.types import assistant, system, user

pytestmark = pytest.mark.integration

SYS = "You are a careful assistant. Answer accurately and concisely."
QUESTION = "What were the primary causes of the fall of the Western Roman Empire?"


class StopError(Exception):
    pass


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(cpu_lock.ENV, raising=False)
    return tmp_path / "ponder"


def _held(path: Path) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@pytest.mark.parametrize("sharing", ["lock", "split", "off"])
def test_prefix_reuse_keeps_working(sharing: str) -> None:
    model = load_model("smollm2", sharing=sharing)
    options = GenerationOptions(max_tokens=24)
    first_msgs = [system(SYS), user(QUESTION)]
    first = model.complete(first_msgs, options)
    second = model.complete([*first_msgs, assistant(first.text), user("Shorter, please.")], options)
    assert second.usage.prompt_tokens_evaluated < second.usage.prompt_tokens - first.usage.prompt_tokens + 12


def test_the_default_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_model("smollm2").sharing == DEFAULT_SHARING
    monkeypatch.setenv(cpu_lock.ENV, "off")
    assert load_model("smollm2").sharing == "off"


def test_the_lock_is_held_during_a_call_and_released_when_it_raises(cache: Path) -> None:
    model = load_model("smollm2", sharing="lock")
    seen: list[bool] = []

    def on_text(piece: str) -> None:
        seen.append(_held(cache / "llama.lock"))
        raise StopError

    with pytest.raises(StopError):
        model.complete([user("Say hello.")], GenerationOptions(max_tokens=8), on_text)
    assert seen == [True]
    assert not _held(cache / "llama.lock")
    assert model.complete([user("Say hello.")], GenerationOptions(max_tokens=4)).text


def test_split_runs_fewer_threads_while_another_caller_holds_a_slot(cache: Path) -> None:
    model = load_model("smollm2", sharing="split", threads=2)
    model.complete([user("Hi")], GenerationOptions(max_tokens=4))
    assert model._threads_now == 2
    slots = cache / "llama-slots"
    fd = os.open(slots / "slot-9", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        model.complete([user("Hi")], GenerationOptions(max_tokens=4))
        assert model._threads_now == 1
    finally:
        os.close(fd)
    model.complete([user("Hi")], GenerationOptions(max_tokens=4))
    assert model._threads_now == 2
    assert not any(_held(p) for p in slots.iterdir())
