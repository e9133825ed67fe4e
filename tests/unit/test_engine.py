"""The engine: budgets, stop reasons, events, batches and child runs."""

from __future__ import annotations

import contextlib
import io
import json
import time

import pytest

from inflight import InFlight
from looper_strategy import Looper
from ponder import (
    Batch,
    Budget,
    Child,
    ConfigError,
    Engine,
    Generate,
    GenerationOptions,
    JsonlTrace,
    ModelCallError,
    Outcome,
    Record,
    ScriptedModel,
    Single,
    StopRun,
    read_trace,
)
from ponder.types import Message, user


class Stubborn:
    """Catches StopRun and keeps asking: the engine must end it anyway."""

    name = "stubborn"

    def run(self, question):
        while True:
            with contextlib.suppress(StopRun):
                yield Generate.of([user(question)])


def test_single_answers_and_records_one_step(echo_model):
    result = Engine(echo_model).run(Single(), "hello")
    assert result.answer == "reply to: hello"
    assert result.stop_reason == "answered"
    assert [s.kind for s in result.steps] == ["answer"]
    assert result.usage.model_calls == 1
    assert result.usage.prompt_tokens > 0


@pytest.mark.parametrize(
    ("budget", "reason", "calls"),
    [
        (Budget(max_steps=3), "max_steps", 3),
        (Budget(max_steps=None, max_model_calls=4), "budget", 4),
        (Budget(max_steps=None, max_tokens=25), "budget", 3),
    ],
)
def test_each_budget_stops_the_run(budget, reason, calls):
    model = ScriptedModel(lambda m: "one two three four five")
    result = Engine(model, budget=budget).run(Looper(), "a b c")
    assert result.stop_reason == reason
    assert result.usage.model_calls == calls
    assert len(model.calls) == calls
    assert result.answer == "one two three four five"


def test_wall_clock_budget():
    def slow(messages):
        time.sleep(0.05)
        return "x"

    result = Engine(ScriptedModel(slow), budget=Budget(max_steps=None, max_seconds=0.12)).run(Looper(), "q")
    assert result.stop_reason == "budget"
    assert "time limit" in result.detail
    # each call takes at least 0.05 s, so no more than 3 start within 0.12 s (one more may be in flight);
    # a loaded machine may fit fewer, so there is no lower bound beyond the first
    assert 1 <= result.usage.model_calls <= 4


def test_token_budget_caps_the_next_call_max_tokens():
    model = ScriptedModel(lambda m: "w " * 50)
    engine = Engine(model, budget=Budget(max_steps=None, max_tokens=30), options=GenerationOptions(max_tokens=100))
    engine.run(Looper(), "q")
    # the prompt ("q") is one token, so the first call may produce at most 29
    assert model.calls[0].options.max_tokens == 29


def test_strategy_that_ignores_stop_is_ended():
    model = ScriptedModel(lambda m: "x")
    result = Engine(model, budget=Budget(max_steps=2)).run(Stubborn(), "q")
    assert result.stop_reason == "max_steps"
    assert len(model.calls) == 2


def test_uncaught_stop_gives_no_answer():
    class Plain:
        name = "plain"

        def run(self, question):
            while True:
                yield Generate.of([user(question)])

    result = Engine(ScriptedModel(lambda m: "x"), budget=Budget(max_steps=1)).run(Plain(), "q")
    assert result.stop_reason == "max_steps"
    assert result.answer is None


def test_backend_error_records_error_and_raises():
    sink: list = []
    engine = Engine(ScriptedModel([]), sinks=[sink.append])
    with pytest.raises(ModelCallError):
        engine.run(Single(), "q")
    assert sink[-1].type == "run_finished"
    assert sink[-1].stop_reason == "error"
    assert "no replies left" in sink[-1].error


def test_events_are_written_as_they_happen(echo_model):
    seen_during_call: list[int] = []
    events: list = []

    def model_fn(messages):
        seen_during_call.append(len(events))
        return "ok"

    Engine(ScriptedModel(model_fn), sinks=[events.append]).run(Single(), "q")
    # run_started and step_started were delivered before the model was called
    assert seen_during_call == [2]
    assert [e.type for e in events] == ["run_started", "step_started", "model_call", "run_finished"]
    call = events[2]
    assert call.messages[-1] == Message("user", "q")
    assert call.text == "ok"
    assert call.usage.model_calls == 1
    assert [e.seq for e in events] == [1, 2, 3, 4]


def test_jsonl_trace_roundtrip(echo_model):
    buf = io.StringIO()
    Engine(echo_model, sinks=[JsonlTrace(buf)]).run(Single(), "q")
    first = json.loads(buf.getvalue().splitlines()[0])
    assert first == {"format": "ponder-trace", "version": 2}
    events = read_trace(io.StringIO(buf.getvalue()))
    assert [e["type"] for e in events] == ["run_started", "step_started", "model_call", "run_finished"]
    assert all(e["v"] == 2 for e in events)
    assert events[2]["messages"][1] == {"role": "user", "content": "q"}
    assert events[3]["stop_reason"] == "answered"


def test_event_json_is_the_plain_dict_dumped():
    """``Event.to_json`` (what the store and the trace write) says exactly what ``to_dict`` says, for every
    event kind and every value type they carry (messages with tool calls, options with stop lists, usage
    per model, nested request data, non-ASCII text, keys that are not strings), and what the fast encoder
    refuses (a lone surrogate, an integer past 64 bits) is written by the standard one."""
    from ponder.events import ModelCalled, RunFinished, RunStarted, StepRecorded, ToolCalled
    from ponder.types import ToolCall, Usage

    usage = Usage(prompt_tokens=3, completion_tokens=2, model_calls=1)
    options = GenerationOptions(temperature=0.5, max_tokens=9, stop=("\n", "Obs"), grammar="root ::= x")
    events = [
        RunStarted("r", 1, 1.5, strategy="s", question="ça? \u2603", budget={"steps": 3}, spec={"a": [1, (2, 3)]}),
        ModelCalled(
            "r",
            2,
            2.5,
            messages=(
                Message("user", "q"),
                Message("assistant", "", tool_calls=(ToolCall("c1", "calc", '{"x": 1}'),)),
                Message("tool", "2", tool_call_id="c1"),
            ),
            options=options,
            text="ok",
            usage=usage,
            data={"node": {"path": (0, 1)}, "n": None},
        ),
        StepRecorded("r", 3, 3.5, kind="vote", data={"tally": {"4": 2}, 7: [None]}),
        StepRecorded("r", 3, 3.5, kind="raw", text="half a pair \ud83d", data={"big": 2**70}),
        ToolCalled("r", 4, 4.5, tool="calc", arguments={"x": [1, 2.5, True]}, output="3"),
        RunFinished("r", 5, 5.5, answer="4", usage=usage, by_model={"m": usage}),
    ]
    for event in events:
        assert "\n" not in event.to_json()
        assert json.loads(event.to_json()) == json.loads(json.dumps(event.to_dict(), ensure_ascii=False))
    assert "\ud83d" in events[-3].to_json() and str(2**70) in events[-3].to_json()
    with pytest.raises(TypeError, match="cannot record a object"):
        StepRecorded("r", 6, 6.5, data={"x": object()}).to_json()


def test_read_trace_rejects_foreign_file():
    with pytest.raises(ConfigError):
        read_trace(io.StringIO('{"hello": 1}\n'))


def test_read_trace_reads_version_1_and_rejects_newer_versions():
    event = '{"v": 1, "type": "run_started", "run_id": "r"}\n'
    old = '{"format": "ponder-trace", "version": 1}\n' + event
    assert read_trace(io.StringIO(old)) == [{"v": 1, "type": "run_started", "run_id": "r"}]
    newer = '{"format": "ponder-trace", "version": 3}\n' + event
    with pytest.raises(ConfigError, match=r"version 3 .*reads versions 1 and 2.*newer ponder"):
        read_trace(io.StringIO(newer))


def test_empty_question_is_rejected(echo_model):
    with pytest.raises(ConfigError, match="empty"):
        Engine(echo_model).run(Single(), "   ")


@pytest.mark.parametrize("field", ["max_steps", "max_model_calls", "max_tokens", "max_seconds"])
def test_negative_budget_is_rejected(field):
    with pytest.raises(ConfigError, match=field):
        Budget(**{field: -1})


def test_batch_runs_concurrently_and_keeps_order():
    slow = InFlight(lambda messages: messages[-1].content.upper(), hold=0.05)

    class Fan:
        name = "fan"

        def run(self, question):
            results = yield Batch(tuple(Generate.of([user(f"s{i}")], kind="sample") for i in range(6)))
            return Outcome(",".join(r.text for r in results))

    result = Engine(ScriptedModel(slow), max_parallel_calls=3).run(Fan(), "q")
    assert result.answer == "S0,S1,S2,S3,S4,S5"
    assert [e.batch for e in result.events if e.type == "step_started"] == [6] * 6
    assert slow.peak == 3
    assert [s.index for s in result.steps] == list(range(6))


def test_batch_is_sequential_when_backend_cannot_run_concurrently():
    fn = InFlight(lambda messages: "x", hold=0.01)

    class Fan:
        name = "fan"

        def run(self, question):
            yield Batch(tuple(Generate.of([user("s")]) for _ in range(4)))
            return Outcome("done")

    Engine(ScriptedModel(fn, supports_concurrency=False)).run(Fan(), "q")
    assert fn.peak == 1


def test_batch_that_does_not_fit_the_budget_is_refused():
    class Fan:
        name = "fan"

        def run(self, question):
            try:
                yield Batch(tuple(Generate.of([user("s")]) for _ in range(5)))
            except StopRun as stop:
                return Outcome("partial", stop.reason)
            return Outcome("all")

    model = ScriptedModel(lambda m: "x")
    result = Engine(model, budget=Budget(max_steps=4)).run(Fan(), "q")
    assert result.answer == "partial"
    assert model.calls == []


def test_child_runs_share_budget_and_depth_limit():
    class Nest:
        name = "nest"

        def run(self, question):
            yield Generate.of([user(question)])
            try:
                child = yield Child(Nest(), question + "+")
            except StopRun as stop:
                return Outcome(f"depth {question.count('+')}", stop.reason, stop.detail)
            return child

    model = ScriptedModel(lambda m: "x")
    result = Engine(model, budget=Budget(max_steps=None, max_depth=2)).run(Nest(), "q")
    # root (depth 0) -> child (1) -> child (2) which cannot nest further
    assert result.answer == "depth 2"
    assert result.stop_reason == "budget"
    assert "depth" in result.detail
    assert len(model.calls) == 3
    assert result.usage.model_calls == 3
    assert [s.depth for s in result.steps] == [0, 1, 2]


def test_record_steps_do_not_count_against_max_steps():
    class Noter:
        name = "noter"

        def run(self, question):
            for i in range(5):
                yield Record("note", f"n{i}")
            reply = yield Generate.of([user(question)])
            return Outcome(reply.text)

    result = Engine(ScriptedModel(["ok"]), budget=Budget(max_steps=1)).run(Noter(), "q")
    assert result.answer == "ok"
    assert [s.kind for s in result.steps] == ["note"] * 5 + ["generate"]


def test_streaming_reaches_the_observer():
    pieces: list[tuple[int, str, str]] = []
    engine = Engine(ScriptedModel(["streamed text"]), on_text=lambda i, k, p: pieces.append((i, k, p)))
    engine.run(Single(), "q")
    assert pieces == [(0, "answer", "streamed text")]


def test_result_json_shape(echo_model):
    data = Engine(echo_model).run(Single(), "q").to_dict()
    for key in ("answer", "strategy", "model", "stop_reason", "steps", "usage", "seconds"):
        assert key in data
    assert set(data["usage"]) >= {"prompt_tokens", "completion_tokens", "model_calls", "prompt_tokens_evaluated"}
    assert data["steps"][0]["kind"] == "answer"
    assert data["steps"][0]["text"] == "reply to: q"
    json.dumps(data)
