"""ponder eval survives SIGKILL: a rerun repeats no finished item (model calls counted on a loopback server);
process workers give the same rows as threads."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from layout import SRC
from ponder.eval import Arm, Item, Task
from ponder.eval.arms import arms_from_flags
from ponder.eval.local import Processes, Threads
from servers import FakeChatServer

pytestmark = pytest.mark.integration


def answering(body: dict) -> str:
    question = question_of(body)
    total = sum(int(n) for n in re.findall(r"\d+", question))
    return f"The answer is {total}."


def question_of(body: dict) -> str:
    users = [m["content"] for m in body.get("messages", []) if m["role"] == "user"]
    return users[-1] if users else repr(body)


def test_sigkill_mid_run_then_rerun_repeats_no_finished_item(tmp_path):
    n = 40
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(json.dumps({"question": f"What is {i} + 1000?", "answer": i + 1000}) + "\n" for i in range(n))
    )
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(SRC), "OPENAI_API_KEY": "test", "PONDER_STORE": str(tmp_path / "runs.db")}
    with FakeChatServer(reply=answering, delay=0.05) as server:
        args = [sys.executable, "-m", "ponder", "eval", str(data), "-m", "openai:fake", "--base-url", server.url]
        args += ["--out", str(out), "--workers", "3", "--json"]
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        results = out / "results.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if results.exists() and results.read_text().count("\n") >= 10:
                break
            if process.poll() is not None:
                pytest.fail(
                    f"the eval ended before it was killed: {process.stderr.read().decode() if process.stderr else ''}"
                )
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL
        first_requests = server.requests
        finished = {json.loads(line)["item"] for line in results.read_text().splitlines() if line.endswith("}")}
        assert 10 <= len(finished) < n

        rerun = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        repeated = [question_of(b) for b in server.bodies[first_requests:]]
    finished_questions = {f"What is {int(i) - 1} + 1000?" for i in finished}
    assert not finished_questions & set(repeated)  # no finished item asked again
    assert len(repeated) == n - len(finished)
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    assert sorted(int(r["item"]) for r in rows) == list(range(1, n + 1))  # each item once
    summary = json.loads(rerun.stdout)
    assert summary["complete"] and summary["specs"][0]["accuracy"] == 1.0


def tasks(arm: Arm, items: list[Item]) -> list[Task]:
    return [Task(arm.name, arm.for_item(i).to_json(), arm.hash, i.to_dict(), "contains") for i in items]


def plain(rows: list[dict]) -> list[dict]:
    return sorted(
        ({k: v for k, v in r.items() if k not in ("seconds", "run_id")} for r in rows), key=lambda r: r["item"]
    )


@pytest.mark.integration
def test_process_workers_give_the_same_rows_and_events_as_threads():
    (arm,) = arms_from_flags(["refine"], [], {"model_spec": "scripted", "max_steps": 3}, {"model_spec", "max_steps"})
    items = [Item(str(i), f"question {i}", "echo:") for i in range(6)]
    results = {}
    for backend in (Threads(2), Processes(2)):
        try:
            results[type(backend).__name__] = [r for _, r in backend.results(iter(tasks(arm, items)))]
        finally:
            backend.close()
    threads, processes = results["Threads"], results["Processes"]
    assert plain([r.row for r in threads]) == plain([r.row for r in processes])
    assert all(r.row["correct"] and r.row["model_calls"] >= 2 for r in processes)
    assert sorted(len(r.events) for r in threads) == sorted(len(r.events) for r in processes)
