"""Batched decoding: the engine hands a Batch to a batch-capable model; the embedded model decodes it together.

The unit tests use a scripted batch-capable fake; the integration tests run the real SmolLM2 model."""

from __future__ import annotations

import queue

import pytest

from ponder import Engine, GenerationOptions, ScriptedModel, strategies
from ponder.errors import ConfigError, ModelCallError
from ponder.models.batching import resolve_batched, resolve_sequences
from ponder.models.llama_sequence import Sequence
from ponder.spec import ModelSpec


class BatchFake(ScriptedModel):
    """A scripted model that makes a batch together: results handed back in reverse order, seed 2 failing."""

    supports_batch = True

    def __init__(self) -> None:
        super().__init__(lambda messages: "The answer is 42.")
        self.batches: list[int] = []

    def complete_batch(self, calls, on_done, poll=None):  # type: ignore[no-untyped-def]
        self.batches.append(len(calls))
        for i in reversed(range(len(calls))):
            messages, options = calls[i]
            if options.seed == 2:
                on_done(i, ModelCallError("sequence 2 failed"))
            else:
                on_done(i, self.complete(messages, options))


def test_a_batch_goes_to_complete_batch_and_one_failure_is_its_own_element():
    model = BatchFake()
    result = Engine(model).run(strategies.Consistency(samples=4, adaptive=False), "What is 6 * 7?")
    assert model.batches == [4]
    assert result.answer == "The answer is 42."
    calls = [e for e in result.events if e.type == "model_call"]
    [bad] = [e for e in calls if e.finish_reason == "error"]  # type: ignore[attr-defined]
    assert bad.data["error"] == "sequence 2 failed" and bad.position == 2  # type: ignore[attr-defined]
    assert [s.data["sample"] for s in result.steps if s.kind == "sample"] == [0, 1, 2, 3]


def test_without_batching_the_calls_go_one_by_one():
    model = BatchFake()
    model.supports_batch = False  # type: ignore[misc]
    Engine(model).run(strategies.Consistency(samples=3, adaptive=False), "q")
    assert model.batches == []


def test_switches_read_the_environment(monkeypatch):
    monkeypatch.setenv("PONDER_BATCHED_DECODE", "0")
    assert resolve_batched(None) is False and resolve_batched(True) is True
    monkeypatch.setenv("PONDER_BATCHED_DECODE", "maybe")
    with pytest.raises(ConfigError, match="PONDER_BATCHED_DECODE"):
        resolve_batched(None)
    monkeypatch.delenv("PONDER_BATCHED_DECODE")
    assert resolve_batched(None) is True
    monkeypatch.setenv("PONDER_BATCH_SEQUENCES", "3")
    assert resolve_sequences(None) == 3 and resolve_sequences(5) == 5
    for bad in (0, 65, True):
        with pytest.raises(ConfigError):
            resolve_sequences(bad)


def test_the_spec_option_reaches_the_embedded_backend_only():
    spec = ModelSpec.parse({"model": "smollm2", "batched_decode": False, "batch_sequences": 4})
    assert spec.load_options() == {"batched": False, "max_sequences": 4}
    with pytest.raises(ConfigError, match="embedded"):
        ModelSpec.parse({"model": "openai:x", "batched_decode": True})
    with pytest.raises(ConfigError, match="batch_sequences"):
        ModelSpec.parse({"model": "smollm2", "batch_sequences": 100})


def _sequence(stops: tuple[str, ...], max_tokens: int = 50, streams: bool = True) -> Sequence:
    options = GenerationOptions(stop=stops)
    return Sequence([1, 2], options, max_tokens, 0, None, queue.SimpleQueue(), streams)


def _feed(seq: Sequence, pieces: list[str]) -> list[str]:
    for k, piece in enumerate(pieces):
        seq.take(k, piece.encode(), eog=False)
        if seq.ended:
            break
    out = []
    while not seq.report.empty():
        out.append(seq.report.get()[2])
    return out


def test_a_sequence_ends_on_its_stop_and_streams_no_part_of_it():
    seq = _sequence(("END",))
    streamed = _feed(seq, ["Hello", " wor", "ld E", "N", "D and more"])
    assert seq.finish == "stop" and seq.text == "Hello world "
    assert "".join(streamed) == seq.text  # "E", "EN" were held back, then dropped with the stop


def test_a_sequence_ends_on_its_length_and_on_end_of_generation():
    seq = _sequence((), max_tokens=2)
    _feed(seq, ["a", "b", "c"])
    assert (seq.finish, seq.text, seq.generated) == ("length", "ab", 2)
    seq = _sequence(())
    seq.take(0, b"x", eog=False)
    seq.take(1, b"", eog=True)
    assert (seq.finish, seq.text) == ("stop", "x")


def test_a_split_utf8_character_is_not_streamed_in_halves():
    seq = _sequence(())
    data = "é".encode()
    seq.take(0, data[:1], eog=False)
    seq.take(1, data[1:], eog=False)
    seq.take(2, b"", eog=True)
    streamed = [seq.report.get()[2] for _ in range(seq.report.qsize())]
    assert "".join(streamed) == "é" == seq.text  # type: ignore[arg-type]


class FakeKV:
    """The two KV calls the slots make, recorded (no model)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int, int]] = []

    def llama_get_memory(self, ctx: object) -> str:
        return "memory"

    def llama_memory_seq_rm(self, memory: str, seq: int, p0: int, p1: int) -> bool:
        self.calls.append(("rm", seq, p0, p1))
        return True

    def llama_memory_seq_cp(self, memory: str, src: int, dst: int, p0: int, p1: int) -> None:
        self.calls.append(("cp", src, dst, p1))


def test_slots_share_a_prefix_and_count_its_cells_once():
    from ponder.models.llama_slots import Slots

    kv = FakeKV()
    slots = Slots(kv, None, 3)
    first, second, _third = slots.all
    first.tokens = [1, 2, 3, 4, 5]
    assert slots.best_source([1, 2, 3, 9]) == (first, 3)
    slots.copy(first, second, 3)
    assert ("cp", 0, 1, 3) in kv.calls and second.tokens == [1, 2, 3] and slots.cells() == 5
    second.tokens += [7, 8]
    assert slots.cells() == 7  # the shared three counted once
    slots.truncate(first, 2)  # the cells 2..3 second shares are its own now
    assert ("rm", 0, 2, -1) in kv.calls and slots.cells() == 2 + 3  # first: 2, second: 1 + its own 2
    slots.clear(first)
    assert slots.cells() == 5 and second.source is None
    second.owner = object()
    assert slots.free_slot() is first and slots.evict_one() is False  # idle slots hold nothing to evict
