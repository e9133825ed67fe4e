"""ponder eval keys items by the data's own ``id`` when every record has a unique one, else by line number;
a rerun keeps the choice its eval.json records (none recorded: line numbers), so nothing runs twice."""

from __future__ import annotations

import json

import pytest

import ponder.models.registry as registry
from eval_helpers import rows_of, run_cli, write_jsonl
from ponder.errors import ConfigError
from ponder.eval import EvalOptions, Fields, evaluate, load_items
from ponder.eval.arms import arms_from_flags

QUESTIONS = [{"question": "say 7", "answer": "7"}, {"question": "say 8", "answer": "8"}, {"question": "x", "answer": 9}]
WITH_IDS = [{"id": f"gsm8k-{300 + i}", **q} for i, q in enumerate(QUESTIONS)]


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    """The questions the ``scripted`` echo model is asked, in order."""
    asked: list[str] = []
    echo = registry._echo

    def counting(messages):
        asked.append([m.content for m in messages if m.role == "user"][-1])
        return echo(messages)

    monkeypatch.setattr(registry, "_echo", counting)
    return asked


def manifest(out) -> dict:
    return json.loads((out / "eval.json").read_text())


def eval_cli(capsys, data, out, *args):
    return run_cli(capsys, "eval", data, "-m", "scripted", "--no-store", "--out", out, "--json", *args)


# -- which ids the data gives -----------------------------------------------------


def test_records_that_all_carry_unique_ids_are_keyed_by_them(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", WITH_IDS)
    items = load_items(data)
    assert [i.id for i in items] == ["gsm8k-300", "gsm8k-301", "gsm8k-302"]
    assert {i.id_field for i in items} == {"id"}
    numbers = write_jsonl(tmp_path / "n.jsonl", [{"id": 10 + i, **q} for i, q in enumerate(QUESTIONS)])
    assert [i.id for i in load_items(numbers)] == ["10", "11", "12"]  # integers are ids too
    (tmp_path / "c.csv").write_text("id,question,answer\nk1,one?,1\nk2,two?,2\n", encoding="utf-8")
    assert [i.id for i in load_items(tmp_path / "c.csv")] == ["k1", "k2"]
    assert [i.id for i in load_items(data, Fields(line_numbers=True))] == ["1", "2", "3"]
    with pytest.raises(ConfigError, match="not both"):
        Fields(id="id", line_numbers=True)


@pytest.mark.parametrize(
    "ids",
    [
        ["a", "b", None],  # one record has none
        ["a", "b", "  "],  # a blank one
        ["a", "b", "a"],  # not unique
        ["1", 1, "c"],  # "1" and 1 are one key
        ["a", "b", True],  # a flag is not an id
        ["a", "b", {"n": 1}],
    ],
)
def test_data_where_some_records_lack_a_usable_id_keeps_line_numbers(tmp_path, ids):
    rows = [{**q, "id": i} if i is not None else q for q, i in zip(QUESTIONS, ids, strict=True)]
    items = load_items(write_jsonl(tmp_path / "d.jsonl", rows))
    assert [i.id for i in items] == ["1", "2", "3"] and {i.id_field for i in items} == {None}


def test_a_folder_is_keyed_by_ids_only_when_they_are_unique_across_its_files(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    write_jsonl(folder / "x.jsonl", WITH_IDS[:2])
    write_jsonl(folder / "y.jsonl", WITH_IDS[2:])
    assert [i.id for i in load_items(folder)] == ["gsm8k-300", "gsm8k-301", "gsm8k-302"]
    write_jsonl(folder / "z.jsonl", WITH_IDS[:1])
    assert [i.id for i in load_items(folder)][-1] == "z.jsonl:1"


# -- the command ----------------------------------------------------------------


def test_a_fresh_eval_keys_rows_by_the_data_ids(capsys, tmp_path, calls):
    data = write_jsonl(tmp_path / "d.jsonl", WITH_IDS)
    out = tmp_path / "o"
    code, _, err = eval_cli(capsys, data, out, "--limit", "2")
    assert code == 0, err
    assert [r["item"] for r in rows_of(out)] == ["gsm8k-300", "gsm8k-301"]
    assert manifest(out)["id_field"] == "id"
    code, stdout, err = eval_cli(capsys, data, out)  # the rerun asks only the item not done
    assert code == 0, err
    assert json.loads(stdout)["ran"] == 1 and calls == ["say 7", "say 8", "x"]
    assert [r["item"] for r in rows_of(out)] == ["gsm8k-300", "gsm8k-301", "gsm8k-302"]


def test_a_fresh_eval_of_data_without_ids_keys_rows_by_line(capsys, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [*WITH_IDS[:2], QUESTIONS[2]])
    out = tmp_path / "o"
    code, _, err = eval_cli(capsys, data, out)
    assert code == 0, err
    assert [r["item"] for r in rows_of(out)] == ["1", "2", "3"] and manifest(out)["id_field"] is None


def old_evaluation(tmp_path, data, limit: int):
    """An output folder as ponder wrote it before eval.json recorded the id field: rows by line number."""
    out = tmp_path / "old"
    arms = arms_from_flags(["single"], [], {"model_spec": "scripted"}, {"model_spec"})
    items = load_items(data, Fields(line_numbers=True))[:limit]
    evaluate(arms, items, EvalOptions(out=out, record=False, data=str(data)))
    written = manifest(out)
    del written["id_field"]
    (out / "eval.json").write_text(json.dumps(written))
    return out


def test_resuming_an_evaluation_without_a_recorded_id_field_keeps_line_numbers(capsys, tmp_path, calls):
    data = write_jsonl(tmp_path / "d.jsonl", WITH_IDS)  # the data has ids, the old rows do not use them
    out = old_evaluation(tmp_path, data, limit=3)
    before = (out / "results.jsonl").read_text()
    calls.clear()
    code, stdout, err = eval_cli(capsys, data, out)
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["ran"] == 0 and summary["complete"] and calls == []  # nothing run again
    assert (out / "results.jsonl").read_text() == before
    assert manifest(out)["id_field"] is None  # now recorded


def test_a_partly_done_old_evaluation_resumes_by_line_number(capsys, tmp_path, calls):
    data = write_jsonl(tmp_path / "d.jsonl", WITH_IDS)
    out = old_evaluation(tmp_path, data, limit=2)
    calls.clear()
    code, stdout, err = eval_cli(capsys, data, out)
    assert code == 0, err
    assert json.loads(stdout)["ran"] == 1 and calls == ["x"]
    assert [r["item"] for r in rows_of(out)] == ["1", "2", "3"]


def test_a_recorded_id_field_is_kept_when_none_is_given(capsys, tmp_path, calls):
    data = write_jsonl(tmp_path / "d.jsonl", [{**q, "qid": f"q{i}"} for i, q in enumerate(QUESTIONS)])
    out = tmp_path / "o"
    assert eval_cli(capsys, data, out, "--id-field", "qid", "--limit", "1")[0] == 0
    code, stdout, err = eval_cli(capsys, data, out)
    assert code == 0, err
    assert json.loads(stdout)["ran"] == 2 and calls == ["say 7", "say 8", "x"]
    assert [r["item"] for r in rows_of(out)] == ["q0", "q1", "q2"] and manifest(out)["id_field"] == "qid"


@pytest.mark.parametrize(
    ("first", "then", "message"),
    [
        (None, ["--id-field", "id"], "records items keyed by line number, not the field 'id'"),
        (["--id-field", "qid"], ["--id-field", "id"], "keyed by the field 'qid', not the field 'id'"),
    ],
)
def test_an_id_field_that_contradicts_the_recorded_one_is_one_line(capsys, tmp_path, calls, first, then, message):
    data = write_jsonl(tmp_path / "d.jsonl", [{**q, "qid": f"q{i}"} for i, q in enumerate(WITH_IDS)])
    if first is None:
        out = old_evaluation(tmp_path, data, limit=3)
    else:
        out = tmp_path / "o"
        assert eval_cli(capsys, data, out, *first)[0] == 0
    before = (out / "results.jsonl").read_text()
    calls.clear()
    code, _, err = eval_cli(capsys, data, out, *then)
    assert code != 0 and message in err and "--out" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert calls == [] and (out / "results.jsonl").read_text() == before


def test_evaluate_refuses_items_keyed_otherwise_than_the_folder(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", WITH_IDS)
    out = old_evaluation(tmp_path, data, limit=1)
    arms = arms_from_flags(["single"], [], {"model_spec": "scripted"}, {"model_spec"})
    with pytest.raises(ConfigError, match="keyed by line number, not the field 'id'"):
        evaluate(arms, load_items(data), EvalOptions(out=out, record=False))
    (out / "eval.json").write_text("{not json")
    with pytest.raises(ConfigError, match="is not an evaluation's JSON"):
        evaluate(arms, load_items(data), EvalOptions(out=out, record=False))


def test_data_that_lost_its_ids_is_not_rerun_by_line_number(capsys, tmp_path, calls):
    data = write_jsonl(tmp_path / "d.jsonl", WITH_IDS)
    out = tmp_path / "o"
    assert eval_cli(capsys, data, out)[0] == 0
    write_jsonl(data, [*WITH_IDS, {"question": "new", "answer": 1}])  # a record without an id
    calls.clear()
    code, _, err = eval_cli(capsys, data, out)
    assert code != 0 and "d.jsonl:4 has no field 'id'" in err and "eval.json keys the items by 'id'" in err
    assert len(err.strip().splitlines()) == 1 and calls == []
