"""Dollar budgets: prices per model, costs a server reports, ``max_usd`` at the one budget gate, and the
cost in results, ``--json``, ``ponder runs show``, eval rows and ``ponder serve``'s usage object.

Unit tests use the scripted model (a token is a whitespace word); the loopback tests use the fake
OpenAI-compatible server of :mod:`servers` on a real socket, and ``ponder serve`` as a real process."""

from __future__ import annotations

import json
import math

import pytest

from looper_strategy import Looper
from ponder import Batch, Budget, ConfigError, Engine, Generate, GenerationOptions, Outcome, ScriptedModel, StopRun
from ponder.builder import open_run
from ponder.engine.prices import Price, PriceTable, cost_line, dollars, reported_cost
from ponder.serve.config import ServeConfig
from ponder.serve.translate import ApiError, chat_request
from ponder.spec import RunSpec
from ponder.types import Usage, user
from prices_helpers import run_cli

#: a dollar per prompt token, two per completion token: sums a test can do in its head
DEAR = {"*": {"prompt": 1_000_000, "completion": 2_000_000}}


class Fan:
    """One batch of ``n`` calls; answers how many replies came back."""

    name = "fan"

    def __init__(self, n):
        self.n = n

    def run(self, question):
        try:
            replies = yield Batch(tuple(Generate.of([user("s")], kind="sample") for _ in range(self.n)))
        except StopRun as stop:
            return Outcome(None, stop.reason, stop.detail)
        return Outcome(str(len(replies)))


def words(n):
    return lambda messages: " ".join(["w"] * n)


# -- prices -------------------------------------------------------------------


def test_a_price_charges_fresh_cached_and_completion_tokens():
    price = Price(prompt=2.0, completion=8.0, cached=0.5)
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=500_000, prompt_tokens_evaluated=600_000, model_calls=1)
    # 600k fresh at $2/M, 400k cached at $0.5/M, 500k completion at $8/M
    assert math.isclose(price.cost(usage), 1.2 + 0.2 + 4.0)
    assert math.isclose(Price(2.0, 8.0).cost(usage), 2.0 + 4.0)  # cached tokens at the prompt price


def test_a_model_is_found_by_name_then_without_its_backend_then_star():
    table = PriceTable.parse({"openai:a": {"prompt": 1, "completion": 1}, "b": {"prompt": 2, "completion": 2}})
    assert table.get("openai:a") == Price(1, 1)
    assert table.get("openai:b") == Price(2, 2)
    assert table.get("openai:c") is None
    star = PriceTable.parse({"*": {"prompt": 3, "completion": 3}})
    assert star.get("smollm2") == Price(3, 3)


def test_a_reported_cost_wins_over_the_price():
    table = PriceTable.parse(DEAR)
    assert table.charge(Usage(1, 1, 1, 1, cost=0.25), "m").cost == 0.25
    assert table.charge(Usage(1, 1, 1, 1), "m").cost == 3.0
    assert PriceTable({}).charge(Usage(1, 1, 1, 1), "m").cost is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "must map model names"),
        ({"m": {"prompt": 1}}, "needs completion"),
        ({"m": {"prompt": 1, "completion": 1, "input": 2}}, "has no field input"),
        ({"m": {"prompt": -1, "completion": 1}}, "between 0 and"),
        ({"m": {"prompt": float("nan"), "completion": 1}}, "number of dollars"),
        ({"m": {"prompt": True, "completion": 1}}, "number of dollars"),
        ({"m": "cheap"}, "must be a table"),
        ({"": {"prompt": 1, "completion": 1}}, "model name"),
        ({f"m{i}": {"prompt": 1, "completion": 1} for i in range(1001)}, "at most 1000"),
    ],
)
def test_bad_price_tables_are_one_clear_error(data, message):
    with pytest.raises(ConfigError, match=message):
        PriceTable.parse(data)


def test_prices_load_from_toml_and_json(tmp_path):
    toml = tmp_path / "prices.toml"
    toml.write_text('["openai:gpt-4o-mini"]\nprompt = 0.15\ncompletion = 0.60\ncached = 0.075\n')
    assert PriceTable.load(toml).get("openai:gpt-4o-mini") == Price(0.15, 0.60, 0.075)
    data = tmp_path / "prices.json"
    data.write_text(json.dumps(DEAR))
    assert PriceTable.load(data).get("x") == Price(1_000_000, 2_000_000)
    bad = tmp_path / "bad.toml"
    bad.write_text("[m\nprompt = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        PriceTable.load(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        PriceTable.load(tmp_path / "missing.json")


def test_only_believable_reported_costs_count():
    assert reported_cost(0.002) == 0.002
    assert reported_cost(0) == 0.0
    for hostile in (-1, float("inf"), float("nan"), 1e9, "0.1", True, None, [0.1]):
        assert reported_cost(hostile) is None


def test_dollars_read_as_people_write_them():
    assert dollars(0) == "$0"
    assert dollars(1.5) == "$1.50"
    assert dollars(0.0123) == "$0.0123"
    assert dollars(3e-9) == "$3.00e-09"
    assert cost_line(None, {}) is None
    assert cost_line(0.5, {"a": 0.5}) == "$0.5"
    assert cost_line(0.5, {"a": 0.5, "b": None}) == "$0.5 (a $0.5, b -)"


# -- the budget gate ------------------------------------------------------------


def test_a_call_is_capped_to_what_the_dollars_left_buy_then_the_run_stops():
    model = ScriptedModel(words(50))
    engine = Engine(
        model,
        budget=Budget(max_steps=None, max_usd=20),
        options=GenerationOptions(max_tokens=100),
        prices=PriceTable.parse(DEAR),
    )
    result = engine.run(Looper(), "a b c")
    # the prompt costs $3; $17 buy 8 completion tokens at $2: the call is capped to 8, costs $19
    assert model.calls[0].options.max_tokens == 8
    assert len(model.calls) == 1  # the next prompt ($3) does not fit in the $1 left: refused, not made
    assert result.stop_reason == "budget"
    assert result.usage.cost == 19
    assert result.usage_by_model["scripted"].cost == 19
    assert result.detail.startswith("dollar limit of $20.00 reached: $19.00 spent")
    assert "prompt alone" in result.detail
    assert result.steps[0].usage.cost == 19


def test_a_run_that_spends_its_dollars_stops_with_budget():
    model = ScriptedModel(words(2))
    engine = Engine(model, budget=Budget(max_steps=None, max_usd=14), prices=PriceTable.parse(DEAR))
    result = engine.run(Looper(), "a")  # each call: $1 prompt + $4 completion
    assert result.stop_reason == "budget"
    assert len(model.calls) == 3  # $5, $10, then a call capped to 1 token: $3 -> $13; $1 left buys no call
    assert [c.options.max_tokens for c in model.calls][-1] == 1
    assert result.usage.cost == 13
    assert result.usage.cost <= 14


def test_the_calls_of_one_batch_together_stay_within_the_dollars():
    model = ScriptedModel(words(5), supports_concurrency=False)
    engine = Engine(
        model,
        budget=Budget(max_steps=None, max_usd=21),
        options=GenerationOptions(max_tokens=4),
        prices=PriceTable.parse(DEAR),
    )
    result = engine.run(Fan(3), "q")
    # each call could cost $1 + 4 x $2 = $9: the third is capped to the $3 left (1 token)
    assert [c.options.max_tokens for c in model.calls] == [4, 4, 1]
    assert result.answer == "3"
    assert result.usage.cost == 21
    refused = Engine(
        ScriptedModel(words(5), supports_concurrency=False),
        budget=Budget(max_steps=None, max_usd=20),
        options=GenerationOptions(max_tokens=4),
        prices=PriceTable.parse(DEAR),
    ).run(Fan(3), "q")
    assert refused.stop_reason == "budget"  # $2 left for the third: its prompt fits, no completion token does
    assert refused.usage.model_calls == 0


def test_costs_are_reported_without_a_dollar_limit():
    engine = Engine(ScriptedModel(words(2)), budget=Budget(max_steps=2), prices=PriceTable.parse(DEAR))
    result = engine.run(Looper(), "a")
    assert result.stop_reason == "max_steps"
    assert result.usage.cost == 10
    assert result.to_dict()["usage"]["cost"] == 10
    assert result.to_dict()["usage_by_model"]["scripted"]["cost"] == 10
    unpriced = Engine(ScriptedModel(words(2)), budget=Budget(max_steps=1)).run(Looper(), "a")
    assert unpriced.usage.cost is None
    assert "cost" not in unpriced.to_dict()["usage"]  # unknown is not $0


def test_a_dollar_limit_on_a_model_that_cannot_be_counted_is_a_clear_error():
    engine = Engine(ScriptedModel(words(2)), budget=Budget(max_steps=None, max_usd=1))
    with pytest.raises(ConfigError, match="no price and its server reported no cost"):
        engine.run(Looper(), "a")
    spec = RunSpec.from_dict({"models": {"root": "scripted"}, "budget": {"max_usd": 1}, "record": False})
    with pytest.raises(ConfigError, match="--max-usd needs a price for scripted"), open_run(spec):
        pass


@pytest.mark.parametrize("bad", [0, -1, float("inf"), 1e12, "1"])
def test_bad_dollar_limits_are_refused(bad):
    with pytest.raises(ConfigError, match="max_usd"):
        Budget(max_usd=bad)


# -- the spec, the CLI and the store ------------------------------------------------


def test_the_spec_keeps_prices_and_the_dollar_limit():
    spec = RunSpec.from_dict({"budget": {"max_usd": 0.5}, "prices": {"openai:m": {"prompt": 1, "completion": 2}}})
    assert spec.budget.budget(8).max_usd == 0.5
    again = RunSpec.from_json(spec.to_json())
    assert again == spec
    assert again.prices.get("openai:m") == Price(1, 2)
    with pytest.raises(ConfigError, match="the run spec's prices"):
        RunSpec.from_dict({"prices": {"m": {"prompt": "free", "completion": 0}}})


def test_a_client_of_ponder_serve_cannot_set_prices():
    body = {"model": "single", "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(ApiError, match="set by the server"):
        chat_request({**body, "ponder": {"prices": {"*": {"prompt": 0, "completion": 0}}}}, ServeConfig())
    priced = ServeConfig(prices=PriceTable.parse(DEAR))
    limited = chat_request({**body, "ponder": {"budget": {"max_usd": 0.01}}}, priced)
    assert limited.spec.budget.max_usd == 0.01  # a client may ask to spend less, at the operator's prices
    assert limited.spec.prices == PriceTable.parse(DEAR)


def test_ask_reports_the_cost_and_runs_show_prints_it(capsys, tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text("[scripted]\nprompt = 1000000\ncompletion = 2000000\n")
    store = tmp_path / "runs.db"
    code, out, err = run_cli(capsys, "ask", "a b", "-m", "scripted", "--prices", prices, "--store", store, "--json")
    assert code == 0, err
    data = json.loads(out)
    used = data["usage"]  # $1 a prompt token, $2 a completion token
    assert used["cost"] == used["prompt_tokens"] + 2 * used["completion_tokens"] > 0
    assert data["usage_by_model"]["scripted"]["cost"] == used["cost"]
    code, out, err = run_cli(capsys, "runs", "show", data["run_id"], "--store", store)
    assert code == 0, err
    assert f"cost: {dollars(used['cost'])}" in out
    assert f"s, {dollars(used['cost'])})" in out  # the call's own line
    code, out, err = run_cli(capsys, "ask", "a b", "-m", "scripted", "--max-usd", "1", "--no-store")
    assert code == 1
    assert "--max-usd needs a price for scripted" in err
    assert "Traceback" not in err


def test_ask_refuses_a_bad_prices_file_in_one_line(capsys, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text('{"m": {"prompt": 1}}')
    code, _, err = run_cli(capsys, "ask", "q", "-m", "scripted", "--prices", prices, "--no-store")
    assert code != 0
    assert "needs completion" in err
    assert "Traceback" not in err
