"""User numbers (issue 12, class 5): NaN, infinities and huge integers are refused at every boundary.

Policy (see :mod:`ponder.guards.numbers`): a float from outside must be finite, a whole number at most
``MAX_INT`` (2**63 - 1) and within its option's range; the CLI (click types), the run spec (and the
typed configs under it) and the HTTP translation each give one line (a usage error, a ConfigError, an
OpenAI-shaped 400). Work is sized before it is allocated: a consistency wave never holds more than
``MAX_WAVE`` requests.
"""

from __future__ import annotations

import json
import math
import random

import pytest
from starlette.testclient import TestClient

from ponder import Budget, Engine, GenerationOptions, RunSpec, ScriptedModel
from ponder.cli import main
from ponder.errors import ConfigError
from ponder.guards.numbers import MAX_INT, loads_json
from ponder.serve.app import create_app
from ponder.serve.config import ServeConfig
from ponder.serve.translate import ApiError, chat_request
from ponder.strategies.consistency import MAX_WAVE, Consistency
from ponder.strategies.tree import Tree

HOSTILE = [math.nan, math.inf, -math.inf, 1e308, -1e308, 10**20, -(10**20), 2**63, 2**64, True, "1", None, [], -1, 0]


def _one_line_usage_error(capsys, args: list[str]) -> str:
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("ponder: error:") and "internal error" not in err
    return err


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "q", "-m", "scripted", "--temperature", "nan"],
        ["ask", "q", "-m", "scripted", "--temperature", "inf"],
        ["ask", "q", "-m", "scripted", "--max-seconds", "nan"],
        ["ask", "q", "-m", "scripted", "--max-seconds", "inf"],
        ["ask", "q", "-m", "scripted", "-s", "tree", "--prune", "nan"],
        ["ask", "q", "-m", "scripted", "-s", "consistency", "--margin", "nan"],
        ["ask", "q", "-m", "scripted", "-s", "consistency", "--margin", "-inf"],
        ["ask", "q", "-m", "scripted", "-s", "consistency", "--samples", "1000000000"],
        ["ask", "q", "-m", "scripted", "--max-steps", "99999999999999999999"],
        ["ask", "q", "-m", "scripted", "--seed", "99999999999999999999"],
        ["ask", "q", "-m", "scripted", "-s", "refine", "--memory", "notes", "--memory-threshold", "nan"],
        ["runs", "list", "-n", "99999999999999999999"],
        ["runs", "fit-stop", "-o", "x.json", "--threshold", "nan"],
        ["sandbox", "run", "-", "--memory-mb", "99999999999999"],
        ["sandbox", "run", "-", "--timeout", "inf"],
        ["sandbox", "run", "-", "--timeout", "1e300"],
        ["ask", "q", "-m", "scripted", "--max-seconds", "1e300"],
        ["serve", "--max-seconds", "nan"],
        ["serve", "--grace", "inf"],
    ],
)
def test_cli_numbers_that_mean_nothing_are_one_usage_line(capsys, args):
    _one_line_usage_error(capsys, args)


@pytest.mark.parametrize("seed", range(10))
def test_run_spec_numbers_from_a_file_or_a_client_are_checked(seed):
    """Random hostile values in every numeric field of a spec: accepted only when finite and in range."""
    rng = random.Random(seed)
    places = [
        ("options", "temperature"),
        ("options", "top_p"),
        ("options", "max_tokens"),
        ("options", "seed"),
        ("budget", "max_seconds"),
        ("budget", "max_steps"),
        ("budget", "max_model_calls"),
        ("budget", "max_tokens"),
        ("budget", "max_depth"),
        ("strategy", "samples"),
        ("strategy", "margin"),
        ("strategy", "temperature"),
    ]
    for _ in range(30):
        part, name = rng.choice(places)
        value = rng.choice(HOSTILE)
        data: dict = {"question": "q", "strategy": {"strategy": "consistency"}}
        data.setdefault(part, {})[name] = value
        try:
            spec = RunSpec.from_dict(data)
        except ConfigError as exc:
            assert "\n" not in str(exc)
            continue
        # accepted: then it is a finite number in range, and the spec is valid JSON again
        json.loads(spec.to_json(), parse_constant=lambda c: pytest.fail(f"{c} in a stored spec"))
        if isinstance(value, float):
            assert math.isfinite(value)
        if isinstance(value, int) and not isinstance(value, bool):
            assert abs(value) <= MAX_INT


def test_nan_in_a_spec_file_is_not_json(tmp_path):
    for text in ('{"options": {"temperature": NaN}}', '{"budget": {"max_seconds": Infinity}}', "[" * 100_000):
        with pytest.raises(ConfigError, match="not valid JSON"):
            RunSpec.from_json(text)
    with pytest.raises(ConfigError, match="finite"):
        RunSpec.from_json('{"options": {"temperature": 1e400}}')  # a literal that overflows to inf


@pytest.mark.parametrize("field,value", [("temperature", math.nan), ("temperature", math.inf), ("top_p", math.nan),
                                         ("max_tokens", 10**30), ("seed", 2**70), ("max_tokens", 1e400)])  # fmt: skip
def test_http_numbers_are_an_openai_400(field, value):
    body = {"model": "single", "messages": [{"role": "user", "content": "q"}], field: value}
    with pytest.raises(ApiError) as caught:
        chat_request(body, ServeConfig(model="scripted", store=None, record=False))
    assert caught.value.status == 400 and "\n" not in caught.value.message


def test_http_bodies_with_nan_or_deep_nesting_are_400_over_the_wire(tmp_path):
    app = create_app(ServeConfig(model="scripted", store=str(tmp_path / "s.db")))
    with TestClient(app) as client:
        for raw in (
            b'{"model": "single", "messages": [{"role": "user", "content": "q"}], "temperature": NaN}',
            b'{"model": "single", "messages": [{"role": "user", "content": "q"}], "max_tokens": 1e999}',
            b"[" * 50_000,
            b'{"model": "single", "max_tokens": ' + b"9" * 5000 + b"}",
        ):
            response = client.post("/v1/chat/completions", content=raw, headers={"content-type": "application/json"})
            assert response.status_code == 400, response.text
            assert response.json()["error"]["type"] == "invalid_request_error"
        ok = client.post(
            "/v1/chat/completions", json={"model": "single", "messages": [{"role": "user", "content": "q"}]}
        )
        assert ok.status_code == 200


def test_loads_json_refuses_constants_and_depth():
    assert loads_json('{"a": 1.5}') == {"a": 1.5}
    for text in ("NaN", "[Infinity]", "-Infinity", "[" * 100_000):
        with pytest.raises(ValueError):
            loads_json(text)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_python_api_configs_refuse_non_finite_numbers(value):
    with pytest.raises(ConfigError):
        GenerationOptions(temperature=value)
    with pytest.raises(ConfigError):
        Budget(max_seconds=value)
    with pytest.raises(ConfigError):
        Consistency(margin=value)
    with pytest.raises(ConfigError):
        Tree(prune=value)
    with pytest.raises(ConfigError):
        Consistency(samples=10**9)


def test_a_huge_sample_count_never_builds_a_huge_wave():
    """The issue's example: --samples 1000000000 built its whole first wave at once (19.7 GB). The samples are
    capped, and however many are asked for, one wave holds at most MAX_WAVE requests; the budget ends the run."""
    model = ScriptedModel(lambda messages: "7", supports_concurrency=True)
    batches: list[int] = []

    def sink(event):
        if event.type == "step_started" and event.batch > 1:
            batches.append(event.batch)

    result = Engine(model, budget=Budget(max_steps=None, max_model_calls=600), sinks=[sink]).run(
        Consistency(samples=100_000, adaptive=False), "q"
    )
    assert batches and max(batches) <= MAX_WAVE
    assert result.stop_reason == "budget" and len(model.calls) <= 600


def test_a_nan_stored_before_it_was_refused_reads_as_null(tmp_path, capsys):
    import sqlite3

    db = tmp_path / "runs.db"
    assert main(["ask", "q", "-m", "scripted", "--store", str(db), "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE events SET data = replace(replace(data, '\"temperature\": 0.0', '\"temperature\": NaN'),"
            " '\"temperature\":0.0', '\"temperature\":NaN') WHERE root_id = ?",
            (run_id,),
        )
    assert main(["runs", "show", run_id, "--json", "--store", str(db)]) == 0
    shown = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{c} in the output"))
    assert any(e.get("options", {}).get("temperature", 1) is None for e in shown["events"])
    assert main(["runs", "html", run_id, "-o", str(tmp_path / "r.html"), "--store", str(db)]) == 0
    assert "NaN" not in (tmp_path / "r.html").read_text()


def test_a_tree_level_is_bounded_before_it_is_built(capsys):
    with pytest.raises(ConfigError, match="more than 10000 calls in one level"):
        Tree(beam=1000, branch=1000)
    code = main(["ask", "q", "-m", "scripted", "-s", "tree", "--beam", "200", "--branch", "200"])
    assert code == 1 and "more than 10000 calls in one level" in capsys.readouterr().err
