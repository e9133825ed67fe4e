"""Plugins: a package adds a strategy, a model backend and a tool through entry points, with no edit of ponder.

The plugin is a real distribution on disk (a package and its ``.dist-info`` with
``entry_points.txt``) on the ``PYTHONPATH`` of a fresh ``ponder`` process, which
is how an installed plugin is found.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PLUGIN = textwrap.dedent(
    '''
    from dataclasses import dataclass

    from ponder.models import ScriptedModel
    from ponder.requests import Generate, Outcome
    from ponder.strategies.entry import Option, StrategyEntry
    from ponder.tools import tool
    from ponder.types import user


    @dataclass(frozen=True)
    class Shout:
        """Answer once, loudly, ``times`` times."""

        times: int = 1
        name: str = "shout"

        def run(self, question):
            reply = yield Generate.of([user(question)], kind="answer")
            return Outcome(" ".join([reply.text.upper() + "!"] * self.times))


    ENTRY = StrategyEntry(
        "shout",
        Shout,
        "answer loudly",
        options=(Option("times", int, "shout: how many times.", "--shout-times", minimum=1),),
        calls=lambda options, slots: 1,
    )


    def parrot(arg, base_url, **options):
        model = ScriptedModel(lambda messages: f"{arg or 'polly'} says {messages[-1].content}", name=f"parrot:{arg}")
        model.spec = f"parrot:{arg}"
        return model


    @tool(name="reverse")
    def _reverse(text: str) -> str:
        """Reverse a text.

        Args:
            text: the text
        """
        return text[::-1]


    def reverse_tools(arg):
        return [_reverse]
    '''
)

ENTRY_POINTS = """\
[ponder.strategies]
shout = ponder_shout:ENTRY

[ponder.models]
parrot = ponder_shout:parrot

[ponder.tools]
reverse = ponder_shout:reverse_tools
"""


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "ponder_shout").mkdir(parents=True)
    (site / "ponder_shout" / "__init__.py").write_text(PLUGIN)
    info = site / "ponder_shout-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ponder-shout\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return site


def ponder(site: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    env["PONDER_STORE"] = str(tmp_path / "runs.db")
    return subprocess.run(
        [sys.executable, "-m", "ponder", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_a_plugin_strategy_and_backend_run_from_ponder_ask(plugin_path, tmp_path):
    done = ponder(
        plugin_path, tmp_path, "ask", "hello", "--strategy", "shout", "--shout-times", "2", "-m", "parrot:rex", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["answer"] == "REX SAYS HELLO! REX SAYS HELLO!"
    assert result["strategy"] == "shout" and result["model"] == "parrot:rex"
    # the stored spec names the plugin strategy and backend, so the run can be resumed like any other
    dry = ponder(plugin_path, tmp_path, "ask", "hello", "-s", "shout", "--shout-times", "2", "--dry-run", "--json")
    assert json.loads(dry.stdout)["strategy"] == {"strategy": "shout", "times": 2}
    listed = ponder(plugin_path, tmp_path, "models", "--json")
    assert any(b["spec"] == "parrot:..." for b in json.loads(listed.stdout))
    helped = ponder(plugin_path, tmp_path, "ask", "--help")
    assert "--shout-times" in helped.stdout and "shout" in helped.stdout


def test_a_plugin_tool_is_a_tools_item(plugin_path, tmp_path):
    code = "from ponder.tools import parse_tool_specs\n[t] = parse_tool_specs('reverse')\nprint(t.name, t.spec, t.invoke({'text': 'abc'}).output)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["reverse", "reverse", "cba"]


def test_a_plugin_option_is_checked_like_a_builtin_one(plugin_path, tmp_path):
    done = ponder(plugin_path, tmp_path, "ask", "hello", "-s", "shout", "--shout-times", "0", "-m", "scripted")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    done = ponder(plugin_path, tmp_path, "ask", "hello", "-s", "single", "--shout-times", "2", "-m", "scripted")
    assert done.returncode != 0 and "--shout-times does not apply to single" in done.stderr


def test_without_the_plugin_its_names_are_unknown(tmp_path):
    done = ponder(tmp_path, tmp_path, "ask", "hello", "--strategy", "shout", "-m", "scripted")
    assert done.returncode != 0 and "unknown strategy 'shout'" in done.stderr
