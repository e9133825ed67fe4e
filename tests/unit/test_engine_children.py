"""Children: a group of child runs stepped together — overlap, order, failure isolation, budget, replay."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from inflight import InFlight
from ponder import Budget, Engine, ScriptedModel
from ponder.errors import ModelCallError
from ponder.requests import Batch, Child, Children, Generate, Outcome, Record
from ponder.store import Replayer, RunStore
from ponder.types import Message, user


class Ask:
    """A child: a record, one model call, then a batch of two; answers with what it heard."""

    name = "ask"

    def run(self, question: str):  # type: ignore[no-untyped-def]
        yield Record("check", f"start {question}")
        first = yield Generate.of([user(question)])
        more = yield Batch((Generate.of([user(question + " a")]), Generate.of([user(question + " b")])))
        return Outcome(" | ".join([first.text, *(m.text for m in more)]))


class Group:
    name = "group"

    def __init__(self, questions: Sequence[str], at_once: int = 4) -> None:
        self.questions = questions
        self.at_once = at_once

    def run(self, question: str):  # type: ignore[no-untyped-def]
        outcomes = yield Children(tuple(Child(Ask(), q, role="sub") for q in self.questions), self.at_once)
        return Outcome(";".join(f"{o.stop_reason}:{o.answer}" for o in outcomes))


def upper(messages: Sequence[Message]) -> str:
    return messages[-1].content.upper()


def test_children_overlap_their_calls_and_keep_their_order() -> None:
    fn = InFlight(upper, barrier=3)  # every call waits until 3 run together: only a real overlap passes
    events: list[Any] = []
    engine = Engine(ScriptedModel(fn), budget=Budget(max_steps=50), max_parallel_calls=8, sinks=[events.append])
    result = engine.run(Group(["x", "y", "z"], at_once=3), "q")
    assert result.answer == "answered:X | X A | X B;answered:Y | Y A | Y B;answered:Z | Z A | Z B"
    assert fn.peak >= 3
    runs = [e for e in events if e.type == "run_started"]
    assert [r.question for r in runs] == ["q", "x", "y", "z"] and all(r.depth == 1 for r in runs[1:])
    indices = [s.index for s in result.steps]
    assert len(set(indices)) == len(indices)  # every step has its own index


def test_a_failing_child_is_an_error_value_and_the_others_go_on() -> None:
    def reply(messages: Sequence[Message]) -> str:
        if messages[-1].content.startswith("bad"):
            raise ModelCallError("the backend refused")
        return upper(messages)

    events: list[Any] = []
    engine = Engine(ScriptedModel(reply), budget=Budget(max_steps=50), max_parallel_calls=4, sinks=[events.append])
    result = engine.run(Group(["ok1", "bad", "ok2"]), "q")
    parts = (result.answer or "").split(";")
    assert parts[0] == "answered:OK1 | OK1 A | OK1 B" and parts[2] == "answered:OK2 | OK2 A | OK2 B"
    assert parts[1].startswith("error:None")
    finished = [e for e in events if e.type == "run_finished" and e.stop_reason == "error"]
    assert len(finished) == 1 and "refused" in (finished[0].error or "")
    assert result.stop_reason == "answered"


def test_at_most_max_parallel_children_run_at_once() -> None:
    fn = InFlight(upper, hold=0.01)
    engine = Engine(ScriptedModel(fn), budget=Budget(max_steps=50), max_parallel_calls=16)
    engine.run(Group([f"c{i}" for i in range(6)], at_once=2), "q")
    assert fn.peak <= 2 * 2  # two children at once, each at most a batch of two calls


def test_children_share_the_budget_and_late_ones_do_not_start() -> None:
    result = Engine(ScriptedModel(upper), budget=Budget(max_steps=5)).run(Group(["a", "b", "c"], at_once=1), "q")
    parts = (result.answer or "").split(";")
    assert parts[0] == "answered:A | A A | A B"
    assert all(p.startswith("max_steps:") for p in parts[1:])
    assert result.usage.model_calls <= 5


def test_a_group_too_deep_is_refused_whole() -> None:
    class Guarded:
        name = "guarded"

        def run(self, question: str):  # type: ignore[no-untyped-def]
            try:
                yield Children((Child(Ask(), "x"),))
            except Exception as exc:  # DepthLimit is thrown into the strategy
                return Outcome(type(exc).__name__)
            return Outcome("ran")

    result = Engine(ScriptedModel(upper), budget=Budget(max_depth=0)).run(Guarded(), "q")
    assert result.answer == "DepthLimit"


def test_a_resumed_group_replays_every_call(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    model = ScriptedModel(upper)
    first = Engine(model, sinks=[store.sink()], budget=Budget(max_steps=50)).run(Group(["x", "y"]), "q")
    calls = len(model.calls)
    # the same run again, served from the record: nothing reaches the model, the answer is the same
    replayer = Replayer(store.events(first.run_id))
    again = Engine(model, replay=replayer, budget=Budget(max_steps=50)).run(Group(["x", "y"]), "q")
    assert again.answer == first.answer and len(model.calls) == calls
    assert replayer.replayed_calls == calls
    store.close()


def test_children_validate_their_concurrency() -> None:
    class Bad:
        name = "bad"

        def run(self, question: str):  # type: ignore[no-untyped-def]
            yield Children((Child(Ask(), "x"),), max_parallel_children=0)
            return Outcome("no")

    with pytest.raises(Exception, match="max_parallel_children must be >= 1"):
        Engine(ScriptedModel(upper)).run(Bad(), "q")


def test_groups_nest_and_every_child_runs_one_level_down() -> None:
    class Outer:
        name = "outer"

        def run(self, question: str):  # type: ignore[no-untyped-def]
            outcomes = yield Children((Child(Group([question + "1", question + "2"]), question),))
            return Outcome(outcomes[0].answer)

    events: list[Any] = []
    nested = Engine(ScriptedModel(upper), budget=Budget(max_steps=50), sinks=[events.append]).run(Outer(), "n")
    assert nested.answer == "answered:N1 | N1 A | N1 B;answered:N2 | N2 A | N2 B"
    depths = sorted({e.depth for e in events if e.type == "run_started" and e.question.startswith("n")})
    assert depths == [0, 1, 2]
