"""The operator's options of ``ponder serve`` and ``ponder mcp``: declared once (cli/operator_flags.py), the
same on both doors but for each door's defaults and words, and they reach the policy a client's run is
built with. The commands run in-process: the servers themselves are replaced before they would start."""

from __future__ import annotations

import asyncio
import json
from dataclasses import fields
from typing import Any

import pytest
from click.testing import CliRunner

import ponder.mcp_server
import ponder.serve
from ponder.cli import cli
from ponder.cli.operator_flags import OperatorFlags
from ponder.store import RunStore

#: each door's own options; anything else either has is the operator's, on both (add a new flag to both where
#: it applies, or here with the reason it does not)
OWN = {
    # --api-key, --grace, --body-seconds: serve's HTTP layer (its auth, SIGTERM drain, body reader); an MCP
    # client names a strategy (ask) or a path (query), never a verifier, so --allow-verifier has nothing to open
    "serve": {"api_key", "grace", "body_seconds", "allow_verifiers"},
    "mcp": {"transport", "allowed"},  # the MCP transport, and the paths the query tool may read
}
#: the door's defaults that differ
DEFAULTS = {"serve": {"port": 8000, "max_concurrent": 4}, "mcp": {"port": 8001, "max_concurrent": 2}}


def options(command: str) -> dict[str, Any]:
    return {p.name: p for p in cli.commands[command].params if p.name != "help"}


def test_both_doors_take_the_same_operator_options_with_their_own_defaults():
    operator = {f.name for f in fields(OperatorFlags)}
    serve, mcp = options("serve"), options("mcp")
    assert set(serve) == operator | OWN["serve"] and set(mcp) == operator | OWN["mcp"]
    for name in operator:
        a, b = serve[name], mcp[name]
        assert (a.opts, type(a.type), a.multiple, a.is_flag, a.metavar) == (b.opts, type(b.type), b.multiple,
                                                                           b.is_flag, b.metavar), name  # fmt: skip
        assert (a.default, b.default) == tuple(DEFAULTS[c].get(name, a.default) for c in ("serve", "mcp")), name
    assert "429" in serve["max_queue"].help and "refused" in mcp["max_queue"].help
    assert "ask for less" in serve["max_seconds"].help and "ask" not in mcp["max_seconds"].help


@pytest.mark.parametrize("command", ["serve", "mcp"])
def test_help_renders(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    for flag in ("--model", "--max-calls", "--max-models", "--prices", "--allow-model", "--allow-code"):
        assert flag in result.output


class StartError(Exception):
    """Raised where the real server would start."""


def test_serve_passes_every_flag_to_its_config(tmp_path, monkeypatch):
    made: list[Any] = []

    class Server:
        def __init__(self, config: Any) -> None:
            made.append(config)

        def warm(self) -> None:
            raise StartError

    monkeypatch.setattr(ponder.serve, "Server", Server)
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"*": {"prompt": 1, "completion": 2}}))
    args = ["serve", "-m", "scripted", "--base-url", "http://127.0.0.1:9/v1", "--tools", "calculator, ",
            "--store", str(tmp_path / "r.db"), "--max-concurrent", "3", "--max-queue", "5", "--max-seconds", "9",
            "--max-calls", "7", "--max-models", "2", "--prices", str(prices), "--allow-model", "openai:*",
            "--allow-code", "--allow-verifier", "python", "--api-key", "k", "--grace", "1", "--body-seconds", "2"]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, StartError), result.output
    (config,) = made
    assert (config.model, config.base_url, config.tools, config.store, config.record) == (
        "scripted", "http://127.0.0.1:9/v1", ("calculator",), str(tmp_path / "r.db"), True)  # fmt: skip
    assert (config.max_concurrent, config.max_queue, config.max_seconds, config.max_calls, config.max_models) == (
        3, 5, 9.0, 7, 2)  # fmt: skip
    assert config.prices.get("scripted") is not None and config.allow_models == ("openai:*",)
    assert (config.allow_code, config.allow_verifiers, config.api_key, config.grace, config.body_seconds) == (
        True, ("python",), "k", 1.0, 2.0)  # fmt: skip


def test_mcp_takes_the_policy_flags_of_serve(tmp_path, monkeypatch):
    """--max-calls, --max-models and --prices shape an MCP client's runs as they do a request's to serve."""
    built: list[Any] = []

    class Server:
        def run(self, transport: str) -> None:
            pass

    def build_server(tools: Any) -> Server:
        built.append(tools)
        return Server()

    monkeypatch.setattr(ponder.mcp_server, "build_server", build_server)
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"*": {"prompt": 1_000_000, "completion": 2_000_000}}))
    db = tmp_path / "runs.db"
    args = ["mcp", "-m", "scripted", "--store", str(db), "--max-calls", "2", "--max-models", "3",
            "--prices", str(prices), "--allow", str(tmp_path)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    (tools,) = built
    assert tools.models.size == 3
    for spec in (tools.ask_spec("Why is the sky blue?", "refine"), tools.query_spec("What is it?", "prices.json")):
        assert spec.budget.max_model_calls == 2 and spec.prices is not None

    async def ask() -> Any:
        answer = await tools.run(tools.ask_spec("Why is the sky blue?", "refine"))
        for _ in range(500):  # the run's thread hands its slot back on this loop: let it before the loop closes
            if tools.admission.active == 0:
                break
            await asyncio.sleep(0.01)
        return answer

    answer = asyncio.run(ask())
    assert answer.stop_reason == "budget" and answer.model_calls == 2
    with RunStore(str(db)) as store:
        usage = store.run(answer.run_id)["usage"]
    assert usage["cost"] == answer.prompt_tokens + 2 * answer.completion_tokens


def test_mcp_defaults_keep_the_policy_as_it_was(monkeypatch):
    built: list[Any] = []
    monkeypatch.setattr(ponder.mcp_server, "build_server", lambda tools: built.append(tools) or _Quiet())
    result = CliRunner().invoke(cli, ["mcp", "-m", "scripted", "--no-store"])
    assert result.exit_code == 0, result.output
    serve = built[0].config.serve
    assert (serve.max_concurrent, serve.max_queue, serve.max_seconds, serve.max_calls, serve.max_models) == (
        2, 16, 300.0, 512, 4)  # fmt: skip
    assert serve.prices is None and not serve.record and not serve.allow_code and serve.allow_models == ()


class _Quiet:
    def run(self, transport: str) -> None:
        pass
