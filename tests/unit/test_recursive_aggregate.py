"""Recursive plan mode, count plan: a yes/no call per record, summed in Python."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest
from rich.console import Console

from ponder import Budget, Engine, ScriptedModel
from ponder.cli import main
from ponder.cli.progress import ChunkProgress
from ponder.context import Context, count_records, open_context, record_unit, records
from ponder.errors import ConfigError
from ponder.strategies import Recursive
from ponder.strategies.recursive_count import YES_NO_GRAMMAR, is_counting, parse_yes_no, plan_for
from ponder.types import Message

QUESTION = "How many records are labelled urgent?"
LABELS = ("urgent", "billing", "spam")


def make_records(n: int, seed: int = 0) -> tuple[str, list[str]]:
    rng = random.Random(seed)
    labels = rng.choices(LABELS, weights=(1, 3, 2), k=n)
    lines = [f"record {i:04d} | label: {lab} | the boats rocked in the harbour" for i, lab in enumerate(labels)]
    return "\n".join(lines) + "\n", labels


def oracle(messages: Sequence[Message]) -> str:
    """A perfect checker: yes when the record (the text after the last 'Record:') is labelled urgent."""
    record = messages[-1].content.rsplit("Record:", 1)[1]
    return "yes" if "label: urgent" in record else "no"


def engine(model: ScriptedModel, **budget: int | None) -> Engine:
    return Engine(model, budget=Budget(**{"max_steps": None, **budget}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "question",
    [
        "How many records are labelled urgent?",
        "how many tickets mention a refund",
        "Count the records with label spam.",
        "What is the number of urgent records?",
        "Number of lines that are errors?",
        "Give me the total number of records about billing.",
    ],
)
def test_counting_questions_take_the_count_plan(question: str) -> None:
    assert is_counting(question)
    assert plan_for("auto", question) == "count"


@pytest.mark.parametrize(
    "question",
    [
        "What is the secret code for vintrel?",
        "What is the phone number of Alice?",
        "Which record is labelled urgent?",
        "Who counted the votes?",
    ],
)
def test_other_questions_keep_the_needle_plan(question: str) -> None:
    assert not is_counting(question)
    assert plan_for("auto", question) == "none"


def test_explicit_aggregate_overrides_detection_and_bad_values_fail() -> None:
    assert plan_for("count", "Which record is urgent?") == "count"
    assert plan_for("none", QUESTION) == "none"
    with pytest.raises(ConfigError, match="unknown aggregate"):
        plan_for("sum", QUESTION)
    with pytest.raises(ConfigError, match="unknown aggregate"):
        Engine(ScriptedModel([])).run(Recursive(context="a\nb", aggregate="sum"), QUESTION)
    with pytest.raises(ConfigError, match="plan mode"):
        Engine(ScriptedModel([])).run(Recursive(context="a\nb", mode="code", aggregate="count"), QUESTION)


def test_parse_yes_no_reads_the_first_word() -> None:
    assert parse_yes_no("yes") is True and parse_yes_no(" Yes, it does.") is True
    assert parse_yes_no("No.") is False and parse_yes_no("no, the label is spam") is False
    assert parse_yes_no("maybe") is None and parse_yes_no("") is None
    assert parse_yes_no("nothing matches") is None  # "no" must be a whole word


def test_the_sum_is_exact_over_many_records() -> None:
    text, labels = make_records(500, seed=1)
    model = ScriptedModel(oracle)
    result = engine(model).run(Recursive(context=text), QUESTION)
    gold = labels.count("urgent")
    assert 50 < gold < 450
    assert result.stop_reason == "answered" and result.answer == str(gold)
    assert len(model.calls) == 500  # every record read once, no model call for the sum
    split = result.steps[0]
    assert split.kind == "split" and split.data["records"] == 500 and split.data["plan"] == "count"
    reduce = result.steps[-1]
    assert reduce.kind == "reduce" and reduce.data["count"] == gold and reduce.data["records"] == 500
    assert not any(s.kind in ("filter", "ground") for s in result.steps)


def test_the_record_is_last_and_the_reply_is_constrained() -> None:
    text, _ = make_records(5)
    model = ScriptedModel(oracle)
    engine(model).run(Recursive(context=text), QUESTION)
    lines = text.splitlines()
    prefixes = set()
    for call, line in zip(model.calls, lines, strict=True):
        last = call.messages[-1].content
        assert last.endswith(line) and QUESTION in last
        assert call.options.grammar == YES_NO_GRAMMAR
        prefixes.add((call.messages[:-1], last[: -len(line)]))
    assert len(prefixes) == 1  # everything before the record is shared (KV prefix reuse)


def test_records_are_split_across_bounded_batches() -> None:
    text, labels = make_records(50, seed=2)
    model = ScriptedModel(oracle)
    result = engine(model).run(Recursive(context=text, aggregate="count"), QUESTION)
    counts = [s for s in result.steps if s.kind == "count"]
    assert [s.data["read"] for s in counts] == [32, 50]
    # each batch's map steps come before its count step, and the running totals are exact
    kinds = [s.kind for s in result.steps]
    assert kinds == ["split"] + ["map"] * 32 + ["count"] + ["map"] * 18 + ["count", "reduce"]
    assert [s.data["matched"] for s in counts] == [labels[:32].count("urgent"), labels.count("urgent")]
    assert result.answer == str(labels.count("urgent"))


def test_small_batches_through_the_plan_option() -> None:
    from ponder.strategies.recursive_plan import RecursivePlan

    text, labels = make_records(23, seed=3)
    result = engine(ScriptedModel(oracle)).run(
        RecursivePlan(Context.from_text(text), records_per_batch=5), "Count the urgent records."
    )
    reads = [s.data["read"] for s in result.steps if s.kind == "count"]
    assert reads == [5, 10, 15, 20, 23]
    hits = [i for s in result.steps if s.kind == "count" for i in s.data["hits"]]
    assert hits == [i for i, lab in enumerate(labels) if lab == "urgent"]
    assert result.answer == str(labels.count("urgent"))


def test_budget_exhaustion_gives_a_partial_answer() -> None:
    text, labels = make_records(200, seed=4)
    model = ScriptedModel(oracle)
    result = engine(model, max_model_calls=70).run(Recursive(context=text), QUESTION)
    assert result.stop_reason == "budget" and "model call limit of 70" in result.detail
    assert len(model.calls) == 64  # two whole batches of 32; the third would break the limit
    seen = labels[:64].count("urgent")
    assert result.answer is not None and result.answer.startswith("Partial count:")
    assert f"{seen} of the first 64 of 200 records" in result.answer
    assert f"between {seen} and {seen + 136}" in result.answer
    assert not any(s.kind == "reduce" for s in result.steps)


def test_the_step_limit_also_ends_the_count_with_a_partial_answer() -> None:
    text, _ = make_records(100)
    result = engine(ScriptedModel(oracle), max_steps=40).run(Recursive(context=text), QUESTION)
    assert result.stop_reason == "max_steps"
    assert result.answer is not None and "first 32 of 100" in result.answer


def test_unclear_replies_count_as_no_and_are_reported() -> None:
    text, _ = make_records(10)
    replies = ["Yes, it does.", "maybe", "no", "YES", "unsure", "No.", "yes", "hmm", "no", "yes"]
    result = engine(ScriptedModel(replies)).run(Recursive(context=text), QUESTION)
    assert result.answer == "4"
    assert result.steps[-1].data["unclear"] == 3 and "3 unclear" in result.steps[-1].text


def test_a_non_counting_question_still_takes_the_needle_path() -> None:
    text, _ = make_records(300)
    text += "The secret code for vintrel is 482913.\n"
    calls: list[str] = []

    def reader(messages: Sequence[Message]) -> str:
        calls.append(messages[-1].content)
        return "The secret code for vintrel is 482913." if "482913" in messages[-1].content else "NONE"

    result = engine(ScriptedModel(reader)).run(Recursive(context=text), "What is the secret code for vintrel?")
    kinds = [s.kind for s in result.steps]
    assert kinds[:2] == ["split", "filter"] and "count" not in kinds
    assert result.answer is not None and "482913" in result.answer
    assert len(calls) <= 4  # the filter kept a few chunks: not one call per record


def test_aggregate_none_keeps_the_needle_path_for_a_counting_question() -> None:
    text, _ = make_records(100)
    model = ScriptedModel(lambda m: "NONE")
    result = engine(model).run(Recursive(context=text, aggregate="none"), QUESTION)
    assert [s.kind for s in result.steps][:2] == ["split", "filter"]
    assert "count" not in [s.kind for s in result.steps]


def test_records_are_lines_of_a_file_read_lazily(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text("first line\n\n   \nsecond line  \n" + "x" * 900 + "\nlast line without newline")
    with open_context(path) as ctx:
        assert record_unit(ctx.documents[0]) == "lines"
        found = list(records(ctx, max_bytes=500))
        assert [r.text() for r in found][:2] == ["first line", "second line"]
        assert len(found[2].text()) == 500  # a long line is cut, and still counts once
        assert found[3].text() == "last line without newline"
        assert count_records(ctx) == 4


def test_prose_without_short_lines_is_cut_into_sentences() -> None:
    sentence = "The storm reached the harbour at night and the boats rocked for hours. "
    paragraph = sentence * 10 + "Is it urgent? Yes! It is.\n\n"
    ctx = Context.from_text(paragraph * 3)
    assert record_unit(ctx.documents[0]) == "sentences"
    texts = [r.text() for r in records(ctx)]
    assert len(texts) == 3 * 13
    assert texts[0] == sentence.strip() and texts[10:13] == ["Is it urgent?", "Yes!", "It is."]


def test_the_progress_bar_counts_records() -> None:
    text, _ = make_records(40)
    console = Console(file=io.StringIO(), force_terminal=False)
    progress = ChunkProgress(console)
    done: list[float] = []

    def watch(event: object) -> None:
        progress(event)  # type: ignore[arg-type]
        if progress.task is not None:
            task = progress.progress.tasks[0]
            done.append(task.completed)
            assert task.total == 40 and task.description == "records"

    Engine(ScriptedModel(oracle), budget=Budget(max_steps=None), sinks=[watch]).run(Recursive(context=text), QUESTION)
    assert done and max(done) == 40 and progress.task is None


def test_ask_counts_every_record_past_the_default_step_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "records.txt"
    text, _ = make_records(30)
    path.write_text(text)
    code = main(["ask", QUESTION, "--context", str(path), "--model", "scripted", "--json", "--no-store"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    kinds = [s["kind"] for s in data["steps"]]
    assert kinds[0] == "split" and kinds.count("map") == 30 and kinds[-1] == "reduce"
    # the scripted backend echoes its prompt: no reply is yes or no, so nothing counts
    assert data["answer"] == "0" and data["stop_reason"] == "answered"


def test_ask_aggregate_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "records.txt"
    path.write_text(make_records(30)[0])
    base = ["--context", str(path), "--model", "scripted", "--json", "--no-store"]
    assert main(["ask", QUESTION, "--aggregate", "none", *base]) == 0
    kinds = [s["kind"] for s in json.loads(capsys.readouterr().out)["steps"]]
    assert kinds[:2] == ["split", "filter"]
    assert main(["ask", "Which records are urgent?", "--aggregate", "count", "--max-steps", "5", *base]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["stop_reason"] == "max_steps" and data["answer"].startswith("Partial count: 0 of the first 0 of 30")
    code = main(["ask", QUESTION, "--aggregate", "count", "--model", "scripted"])
    assert code != 0 and "--aggregate needs --context" in capsys.readouterr().err
