"""Hostile requests against a real ``ponder serve`` process on loopback (issue 22).

Every class of attack a client could try: reading the server's files (or learning that they exist), running
code the operator never allowed, unbounded counts, patterns and grammars that stall or crash, resources
held without bound, and the small faults of the HTTP layer. The promises checked:

* no file content, no file existence and no code execution reaches a client beyond what the operator allowed;
* no request crashes the server (it still answers after every test), stalls ``/health`` past 1 s, or grows
  its memory and file descriptors without bound;
* every refusal is a 400/413/429 (408 for a body sent too slowly) in the OpenAI error shape, naming the field.

The upstream is the scripted model, or the loopback fake OpenAI server of :mod:`servers`. The grammar crash of
the real embedded model is in ``test_serve_hostile_integration.py``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import FakeChatServer, ProcessServer, free_port, start_process_server, stop_process

pytestmark = pytest.mark.integration

QUESTION = [{"role": "user", "content": "What is 6 times 7?"}]
SECRET = "PONDER-SECRET-7f3a9c"
#: a pattern that takes exponential time on "aaaa...!" with a backtracking matcher
CATASTROPHIC = r"(a|aa)+b"


def serve(tmp_path: Path, *args: str) -> ProcessServer:
    port = free_port()
    command = [sys.executable, "-m", "ponder", "serve", "--port", str(port), "--store", str(tmp_path / "runs.db")]
    return start_process_server([*command, *args], port, ready_path="/health", wait=60)


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "secret.txt"
    path.write_text(f"the secret is {SECRET}\nassert True\n")
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ProcessServer]:
    """The operator's defaults: the scripted model, the calculator, nothing opened."""
    process = serve(tmp_path_factory.mktemp("hostile"), "--model", "scripted", "--tools", "calculator")
    yield process
    alive = process.process.poll() is None
    stop_process(process.process)
    assert alive, "a hostile request crashed the server"


def post(server: ProcessServer, body: dict[str, Any], timeout: float = 60) -> httpx.Response:
    return httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=timeout)


def ask(server: ProcessServer, model: str = "single", **fields: Any) -> httpx.Response:
    return post(server, {"model": model, "messages": QUESTION, **fields})


def refused(response: httpx.Response, status: int = 400, param: str | None = None) -> dict[str, Any]:
    """The error of a refusal, checked to be in the OpenAI shape (and to name ``param``, if given)."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if param is not None:
        assert error["param"] == param, error
    return dict(error)


def alive(server: ProcessServer) -> None:
    assert server.process.poll() is None
    assert httpx.get(f"{server.base_url.removesuffix('/v1')}/health", timeout=5).status_code == 200


# -- files: no content, no existence ---------------------------------------------------------------------


def test_an_inner_strategys_context_path_is_refused_at_every_depth(server, secret_file):
    tree = {"strategy": "consistency", "inner": {"strategy": "recursive", "context_path": str(secret_file)}}
    error = refused(ask(server, "consistency", ponder={"strategy": tree}), param="ponder.strategy.inner.context_path")
    assert SECRET not in error["message"] and "operator" in error["message"]
    deep = {"strategy": "route", "slow": {"strategy": "verify", "inner": tree}}
    refused(ask(server, "route", ponder={"strategy": deep}), param="ponder.strategy.slow.inner.inner.context_path")


def test_a_context_path_given_by_name_is_refused(server, secret_file):
    refused(
        ask(server, "consistency", ponder={"inner": "recursive", "context_path": str(secret_file)}),
        param="ponder.strategy.inner.context_path",
    )


@pytest.mark.parametrize("kind", ["tests", "grounded"])
def test_verifiers_that_read_a_file_are_refused_and_say_nothing_of_it(server, secret_file, kind):
    answers = []
    for path in (secret_file, secret_file.with_name("missing.txt")):
        response = ask(server, "verify", ponder={"verifier": f"{kind}:{path}"})
        error = refused(response, param="ponder.strategy.verifier")
        assert SECRET not in response.text
        answers.append(error["message"])
    assert answers[0] == answers[1]  # no existence oracle: the same answer for a file that exists and one that does not


def test_a_file_verifier_as_an_object_or_deep_in_the_tree_is_refused(server, secret_file):
    as_object = {"strategy": "verify", "verifier": {"spec": f"tests:{secret_file}"}}
    refused(ask(server, "verify", ponder={"strategy": as_object}), param="ponder.strategy.verifier")
    deep = {"strategy": "route", "slow": {"strategy": "verify", "verifier": f"grounded:{secret_file}"}}
    refused(ask(server, "route", ponder={"strategy": deep}), param="ponder.strategy.slow.verifier")


def test_a_model_path_is_no_existence_oracle(server, secret_file):
    answers = []
    for path in (secret_file, secret_file.with_name("missing.gguf")):
        error = refused(ask(server, f"single/gguf:{path}"), param="model")
        answers.append(error["message"].replace(str(path), "PATH"))
    assert answers[0] == answers[1] and "not served here" in answers[0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("store", "/tmp/elsewhere.db"),
        ("trace", "/tmp/trace.jsonl"),
        ("context", "/etc"),
        ("tools", ["python"]),
        ("stop", "learned:/etc/passwd"),
        ("session", "stolen"),
        ("max_parallel_calls", 1000),
        ("max_concurrency", 1000),  # its old name
        ("record", False),
        ("cache", True),
    ],
)
def test_run_fields_of_the_operator_are_refused(server, field, value):
    error = refused(ask(server, "react", ponder={field: value}), param=f"ponder.{field}")
    assert "operator" in error["message"]


def test_a_model_with_its_own_server_is_refused(server):
    models = {"root": {"model": "scripted", "base_url": "http://127.0.0.1:1/v1"}}
    refused(ask(server, ponder={"models": models}), param="ponder.models")
    refused(ask(server, ponder={"models": {"judge": "openai:gpt"}}), param="ponder.models.judge")


def test_run_ids_cannot_walk_the_disk(server):
    for run_id in ("..%2F..%2Fetc%2Fpasswd", "%2e%2e", "x' OR '1'='1"):
        response = httpx.get(f"{server.base_url}/runs/{run_id}", timeout=10)
        assert response.status_code == 404 and "root:" not in response.text


# -- code execution ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["python", "examples"])
def test_verifiers_that_run_code_need_the_operator(server, kind):
    error = refused(ask(server, "verify", ponder={"verifier": kind}), param="ponder.strategy.verifier")
    assert f"--allow-verifier {kind}" in error["message"]


def test_recursive_code_mode_needs_the_operator(server):
    context = [{"role": "system", "content": "a long input"}, *QUESTION]
    body = {"model": "recursive", "messages": context, "ponder": {"mode": "code"}}
    error = refused(post(server, body), param="ponder.strategy.mode")
    assert "--allow-code" in error["message"]


def test_recursive_auto_mode_is_plan_mode_without_the_operators_leave(server):
    context = [{"role": "system", "content": "Line one: 6 times 7 is 42.\nLine two: the sky is blue."}, *QUESTION]
    reply = post(server, {"model": "recursive", "messages": context, "ponder": {"mode": "auto"}})
    assert reply.status_code == 200, reply.text
    run = httpx.get(f"{server.base_url}/runs/{reply.json()['ponder']['run_id']}", timeout=10).json()
    spec = next(e for e in run["events"] if e["type"] == "run_started")["spec"]
    assert spec["strategy"]["mode"] == "plan"


# -- counts ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "extra", "param"),
    [
        ("consistency", {"samples": 100_000}, "ponder.strategy.samples"),
        ("tree", {"beam": 1000, "branch": 1000}, "ponder.strategy.beam"),
        ("verify", {"max_rounds": 10**9}, "ponder.strategy.max_rounds"),
        ("react", {"max_observation": 10**9}, "ponder.strategy.max_observation"),
        ("route", {"verifier": "agree:100000"}, "ponder.strategy.verifier"),
        ("route", {"verifier": {"spec": "agree", "samples": 5000}}, "ponder.strategy.verifier"),
        ("single", {"budget": {"max_model_calls": 10**9}}, "ponder.budget.max_model_calls"),
        ("single", {"budget": {"max_depth": 100}}, "ponder.budget.max_depth"),
        ("single", {"budget": {"max_seconds": 10**6}}, "ponder.budget.max_seconds"),
    ],
)
def test_counts_past_their_client_bound_are_refused(server, model, extra, param):
    error = refused(ask(server, model, ponder=extra), param=param)
    assert "at most" in error["message"] or "must be <=" in error["message"]


def test_generation_limits_are_bounded(server):
    refused(ask(server, max_tokens=10**9), param="max_tokens")
    refused(ask(server, stop=[f"s{i}" for i in range(100)]), param="stop")


def test_a_tree_nested_past_the_limit_is_refused_not_a_crash(server):
    tree: dict[str, Any] = {"strategy": "single"}
    for _ in range(30):
        tree = {"strategy": "verify", "inner": tree}
    refused(ask(server, "verify", ponder={"strategy": tree}), param="ponder.strategy")
    deep = "[" * 5000 + "1" + "]" * 5000
    raw = json.dumps({"model": "single", "messages": QUESTION, "ponder": {"budget": "DEEP"}}).replace('"DEEP"', deep)
    response = httpx.post(
        f"{server.base_url}/chat/completions", content=raw, headers={"content-type": "application/json"}, timeout=30
    )
    refused(response)
    alive(server)


def test_a_count_within_its_bound_runs(server):
    extra = {"samples": 3, "adaptive": False, "vote": "weighted", "verifier": "agree:2"}
    reply = ask(server, "consistency", ponder=extra)
    assert reply.status_code == 200 and 3 + 2 <= reply.json()["ponder"]["model_calls"] <= 3 + 3 * 2


# -- patterns and grammars -----------------------------------------------------------------------------


def health_waits(server: ProcessServer, probes: int = 10) -> list[float]:
    waits = []
    for _ in range(probes):
        start = time.monotonic()
        httpx.get(f"{server.base_url.removesuffix('/v1')}/health", timeout=10)
        waits.append(time.monotonic() - start)
        time.sleep(0.02)
    return waits


def health_while(server: ProcessServer, request: Any) -> tuple[httpx.Response, list[float]]:
    """Run ``request`` in a thread; meanwhile time /health answers. The waits come back less the slowest
    answer of the idle server just before (the machine's own load), so 1 s means 1 s of stall."""
    idle = max(health_waits(server))
    result: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: result.append(request()))
    worker.start()
    waits = []
    while worker.is_alive():
        start = time.monotonic()
        httpx.get(f"{server.base_url.removesuffix('/v1')}/health", timeout=10)
        waits.append(time.monotonic() - start)
        time.sleep(0.02)
    worker.join()
    return result[0], [w - idle for w in waits]


def catastrophic_question() -> list[dict[str, str]]:
    return [{"role": "user", "content": "a" * 3000 + "!"}]


def test_a_catastrophic_extraction_pattern_stalls_nothing(server):
    body = {
        "model": "consistency",
        "messages": catastrophic_question(),
        "ponder": {"samples": 3, "adaptive": False, "extract": f"regex:{CATASTROPHIC}"},
    }
    reply, waits = health_while(server, lambda: post(server, body))
    assert reply.status_code == 200, reply.text  # the samples abstained: the run went on
    assert waits and max(waits) < 1.0, waits


def test_a_catastrophic_verifier_pattern_fails_the_check_and_stalls_nothing(server):
    body = {"model": "verify", "messages": catastrophic_question(), "ponder": {"verifier": f"regex:{CATASTROPHIC}"}}
    reply, waits = health_while(server, lambda: post(server, body))
    assert reply.status_code == 200, reply.text
    assert waits and max(waits) < 1.0, waits
    run = httpx.get(f"{server.base_url}/runs/{reply.json()['ponder']['run_id']}", timeout=10).json()
    assert "took longer" in json.dumps(run["events"])


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"extract": "regex:(unclosed"}, "ponder.strategy.extract"),
        ({"extract": "regex:" + "a" * 5000}, "ponder.strategy.extract"),
        ({"extract": "lambda: __import__('os')"}, "ponder.strategy.extract"),
        ({"verifier": "regex:[z-a]"}, "ponder.strategy.verifier"),
    ],
)
def test_bad_patterns_are_refused(server, extra, param):
    refused(ask(server, "consistency" if "extract" in extra else "verify", ponder=extra), param=param)


@pytest.mark.parametrize(
    "grammar",
    [
        'root ::= "yes',  # unclosed
        "root ::= missing",  # an undefined rule
        'answer ::= "yes"',  # no root
        'root ::= root "a" | "b"',  # left recursion
        'root ::= "a" root',  # never finishes
        "root ::= [^\\x00-\\U0010FFFF]",  # a class that matches nothing
        'root ::= "a"{3000}',  # past llama.cpp's repetition bound
        "root ::= <[5]>",  # token syntax
        'root ::= "' + "a" * 5000 + '"',  # too long for a request
    ],
)
def test_bad_grammars_are_refused_before_llama_cpp(server, grammar):
    refused(ask(server, ponder={"options": {"grammar": grammar}}), param="ponder.options.grammar")


def test_a_good_grammar_passes(server):
    reply = ask(server, ponder={"options": {"grammar": 'root ::= "yes" | "no"'}})
    assert reply.status_code == 200, reply.text


# -- the HTTP layer's smaller faults --------------------------------------------------------------------------


def test_stream_must_be_a_boolean(server):
    refused(ask(server, stream="false"), param="stream")
    refused(ask(server, stream=1), param="stream")


def test_an_overlong_prompt_is_400_not_502(server):
    response = post(server, {"model": "single", "messages": [{"role": "user", "content": "word " * 9000}]})
    assert refused(response, param="messages")["code"] == "context_length_exceeded"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"seed": "seven"}, "seed"),
        ({"temperature": -1}, "temperature"),
        ({"ponder": {"options": {"tool_choice": "everything"}}}, "ponder.options.tool_choice"),
        ({"ponder": {"question": "another"}}, "ponder.question"),
        ({"ponder": {"budget": {"max_gold": 1}}}, "ponder.budget.max_gold"),
        ({"ponder": {"no_issues": "x" * 5000}}, "ponder.strategy.no_issues"),
    ],
)
def test_bad_values_are_refused_in_the_openai_shape(server, extra, param):
    refused(ask(server, "refine", **extra), param=param)


def test_a_slow_body_is_408_and_frees_the_connection(tmp_path):
    slow = serve(tmp_path, "--model", "scripted", "--body-seconds", "1")
    try:
        host, port = slow.base_url.removeprefix("http://").removesuffix("/v1").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            answer = ""
            while '"request_timeout"' not in answer:  # headers and body may come in two pieces
                piece = sock.recv(65536).decode()
                if not piece:
                    break
                answer += piece
        assert answer.startswith("HTTP/1.1 408") and '"request_timeout"' in answer
    finally:
        stop_process(slow.process)


def test_the_cli_refuses_an_empty_api_key_and_unknown_tools():
    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ponder", "serve", "--model", "scripted", "--port", str(free_port()), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)

    for result, needle in (
        (run("--api-key", ""), "--api-key is empty"),
        (run(env={**os.environ, "PONDER_API_KEY": ""}), "PONDER_API_KEY is set but empty"),
        (run("--tools", "nosuch"), "unknown tool 'nosuch'"),
        (run("--allow-verifier", "tests"), "needs its file"),
    ):
        assert result.returncode == 1 and needle in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_bad_grammar_is_one_line_from_the_cli(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps({"strategy": "single", "models": {"root": "smollm2"}, "options": {"grammar": "root ::= ("}})
    )
    result = subprocess.run(
        [sys.executable, "-m", "ponder", "ask", "--spec", str(spec), "--no-store", "hi"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "invalid GBNF grammar" in result.stderr and result.stderr.count("\n") == 1


# -- resources: models, stores, slots ---------------------------------------------------------------------------


def fds(process: subprocess.Popen[bytes]) -> int:
    return len(os.listdir(f"/proc/{process.pid}/fd"))


def rss_mb(process: subprocess.Popen[bytes]) -> float:
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_models_a_client_names_are_the_operators_and_the_cache_is_bounded(tmp_path):
    with FakeChatServer() as up:
        server = serve(
            tmp_path, "--model", "openai:up", "--base-url", up.url, "--allow-model", "openai:*", "--max-models", "2"
        )
        try:
            refused(ask(server, "single/scripted"), param="model")
            refused(ask(server, "single/smollm2"), param="model")
            for i in range(3):  # warm up: the first requests load code and fill pools
                assert ask(server, f"single/openai:warm{i}").status_code == 200
            fds_before, rss_before = fds(server.process), rss_mb(server.process)
            for i in range(20):
                assert ask(server, f"single/openai:name{i}").status_code == 200
            health = httpx.get(f"{server.base_url.removesuffix('/v1')}/health", timeout=5).json()
            assert health["models_loaded"] <= 2
            # before the bound each name kept a file descriptor and ~0.8 MB (20 fds, ~16 MB here)
            assert fds(server.process) <= fds_before + 5
            assert rss_mb(server.process) < rss_before + 12
        finally:
            stop_process(server.process)


def test_no_store_means_no_store_on_every_route(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("PONDER_STORE", raising=False)
    port = free_port()
    command = [sys.executable, "-m", "ponder", "serve", "--port", str(port), "--model", "scripted", "--no-store"]
    server = start_process_server(command, port, ready_path="/health", wait=60)
    try:
        reply = ask(server)
        assert reply.status_code == 200 and reply.json()["ponder"]["run_id"]
        refused(httpx.get(f"{server.base_url}/runs/{reply.json()['ponder']['run_id']}", timeout=10), 404, "run_id")
        assert httpx.get(f"{server.base_url.removesuffix('/v1')}/runs/anything", timeout=10).status_code == 404
    finally:
        stop_process(server.process)
    assert not (tmp_path / "data").exists()


def test_a_queued_client_that_leaves_frees_its_place(tmp_path):
    with FakeChatServer(delay=3.0) as up:
        server = serve(
            tmp_path, "--model", "openai:up", "--base-url", up.url, "--max-concurrent", "1", "--max-queue", "1"
        )
        try:
            running = threading.Thread(target=lambda: ask(server), daemon=True)
            running.start()
            while up.requests == 0:
                time.sleep(0.05)
            with pytest.raises(httpx.ReadTimeout):  # queued behind the running one, then gone
                post(server, {"model": "single", "messages": QUESTION}, timeout=0.5)
            time.sleep(0.6)  # the server notices the disconnect within its poll (0.25 s)
            health = httpx.get(f"{server.base_url.removesuffix('/v1')}/health", timeout=5).json()
            assert health["waiting"] == 0
            third = ask(server)  # the place it left is free: queued (not 429), answered after the first
            assert third.status_code == 200, third.text
        finally:
            stop_process(server.process)


def test_a_request_in_flight_at_sigterm_gets_an_openai_error_and_a_short_grace_ends(tmp_path):
    with FakeChatServer(delay=0.3) as up:
        server = serve(tmp_path, "--model", "openai:up", "--base-url", up.url, "--grace", "0.5")
        result: list[httpx.Response] = []
        body = {"model": "consistency", "messages": QUESTION, "ponder": {"samples": 30, "adaptive": False}}
        worker = threading.Thread(target=lambda: result.append(post(server, body)))
        worker.start()
        while up.requests < 2:
            time.sleep(0.05)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
        worker.join(timeout=30)
    error = refused(result[0], 503)
    assert error["code"] == "server_shutting_down" and "shut down" in error["message"]
