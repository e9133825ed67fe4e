"""ponder eval: data, scorers, statistics, results, resume, errors, reports; scripted model and a loopback server.

These tests start a process, a server or a real model; the others are in tests/unit/test_eval.py."""

from __future__ import annotations

import json
import re

import pytest

from eval_helpers import rows_of, run_cli, write_jsonl
from servers import FakeChatServer  # tests/support/servers.py

# -- resume and errors against a loopback server --------------------------------


def answering(body: dict) -> str:
    question = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
    total = sum(int(n) for n in re.findall(r"\d+", question))
    return f"The answer is {total}."


def sums(n: int) -> list[dict]:
    return [{"question": f"What is {i} + {i + 1}?", "answer": 2 * i + 1} for i in range(n)]


def server_args(server: FakeChatServer) -> list[str]:
    return ["-m", "openai:fake", "--base-url", server.url]


@pytest.mark.integration
def test_rerun_skips_finished_pairs_and_retry_errors_reruns_only_failed(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    data = write_jsonl(tmp_path / "d.jsonl", sums(6))
    out = tmp_path / "o"
    # 400 is not retried by the client: the first two requests fail, their items get error rows
    with FakeChatServer(faults=[400, 400], reply=answering) as server:
        code, stdout, err = run_cli(capsys, "eval", data, *server_args(server), "--out", out, "--json")
        assert code == 0, err
        assert server.requests == 6
        rows = rows_of(out)
        failed = {r["item"] for r in rows if r["error"]}
        assert len(failed) == 2 and all("400" in r["error"] for r in rows if r["error"])
        assert json.loads(stdout)["specs"][0]["errors"] == 2

        code, stdout, _ = run_cli(capsys, "eval", data, *server_args(server), "--out", out, "--json")
        assert code == 0 and server.requests == 6  # nothing to do

        code, stdout, _ = run_cli(capsys, "eval", data, *server_args(server), "--out", out, "--json", "--retry-errors")
        assert code == 0 and server.requests == 8  # only the two failed items again
        retried = {[m["content"] for m in b["messages"] if m["role"] == "user"][-1] for b in server.bodies[6:]}
        assert retried == {sums(6)[int(i) - 1]["question"] for i in failed}
    summary = json.loads(stdout)
    assert summary["specs"][0]["errors"] == 0 and summary["specs"][0]["accuracy"] == 1.0
    assert len(rows_of(out)) == 8  # append-only: the failed rows stay, the latest row of a pair counts


@pytest.mark.integration
def test_max_errors_stops_early_with_a_report(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    data = write_jsonl(tmp_path / "d.jsonl", sums(20))
    out = tmp_path / "o"
    with FakeChatServer(faults=[400] * 100, reply=answering) as server:
        code, _, err = run_cli(capsys, "eval", data, *server_args(server), "--out", out, "--max-errors", "3")
        assert code == 1 and "stopped early: 3 errors" in err
        assert server.requests == 3
    assert len(rows_of(out)) == 3 and (out / "report.md").exists()
    assert json.loads((out / "summary.json").read_text())["complete"] is False


@pytest.mark.integration
def test_a_broken_setup_stops_after_the_first_items(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    data = write_jsonl(tmp_path / "d.jsonl", sums(30))
    with FakeChatServer(faults=[404] * 100, reply=answering) as server:
        code, _, err = run_cli(capsys, "eval", data, *server_args(server), "--out", tmp_path / "o")
        assert code == 1 and "the first 5 items all failed with" in err and "404" in err
        assert server.requests == 5
    code, _, err = run_cli(capsys, "eval", data, "-m", "nosuch", "--out", tmp_path / "o2")
    assert code == 1 and "unknown model" in err and not (tmp_path / "o2" / "results.jsonl").exists()


@pytest.mark.integration
def test_parallel_workers_give_the_same_rows(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    data = write_jsonl(tmp_path / "d.jsonl", sums(12))
    with FakeChatServer(reply=answering, delay=0.02) as server:
        for workers in (1, 4):
            code, _, err = run_cli(
                capsys, "eval", data, *server_args(server), "--out", tmp_path / f"w{workers}", "-w", workers, "--json"
            )
            assert code == 0, err
        assert server.max_in_flight > 1

    def key(rows):
        return sorted(
            ({k: v for k, v in r.items() if k not in ("seconds", "run_id")} for r in rows), key=lambda r: r["item"]
        )

    assert key(rows_of(tmp_path / "w1")) == key(rows_of(tmp_path / "w4"))
    assert all(r["correct"] for r in rows_of(tmp_path / "w4"))


@pytest.mark.integration
def test_judge_scorer_calls_the_judge_model_role(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    data = write_jsonl(
        tmp_path / "d.jsonl", [{"question": "Paris", "answer": "Paris"}, {"question": "Rome", "answer": "Oslo"}]
    )

    def verdict(body: dict) -> str:
        prompt = body["messages"][-1]["content"]
        same = "Reference answer: Paris" in prompt and "Proposed answer: echo: Paris" in prompt
        return "CORRECT: it names Paris" if same else "INCORRECT: another city"

    with FakeChatServer(reply=verdict) as judge:
        code, stdout, err = run_cli(
            capsys, "eval", data, "-m", "scripted", "--judge-model", "openai:judge", "--base-url", judge.url,
            "--scorer", "judge", "--out", tmp_path / "o", "--json",
        )  # fmt: skip
        assert code == 0, err
        assert judge.requests == 2  # one verdict per item, from the judge role; the answers came from the root model
    rows = {r["item"]: r for r in rows_of(tmp_path / "o")}
    assert rows["1"]["correct"] and rows["1"]["score_detail"] == "it names Paris"
    assert not rows["2"]["correct"] and rows["1"]["model_calls"] == 1
    assert json.loads(stdout)["scorer"] == "judge"
