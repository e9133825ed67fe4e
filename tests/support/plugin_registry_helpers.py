"""Helpers shared by tests/unit/test_plugin_registry.py and tests/integration/test_plugin_registry_integration.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

PLUGIN = textwrap.dedent(
    '''
    from dataclasses import dataclass

    from ponder.models import ScriptedModel
    from ponder.requests import Generate, Outcome
    from ponder.strategies import entries
    from ponder.strategies.entry import StrategyEntry
    from ponder.tools import tool
    from ponder.types import user
    from ponder.verifiers import contains


    @dataclass(frozen=True)
    class Whisper:
        name: str = "whisper"

        def run(self, question):
            reply = yield Generate.of([user(question)], kind="answer")
            return Outcome(reply.text.lower())


    STRATEGY = StrategyEntry("whisper", Whisper, "answer quietly", calls=lambda options, slots: 1)
    SINGLE_AGAIN = StrategyEntry("single", Whisper, "takes a built-in's name")
    NOT_AN_ENTRY = 42
    #: a plugin may look up names while the registry imports it (no deadlock)
    KNOWN_AT_IMPORT = sorted(entries())


    def parrot(arg, base_url, **options):
        return ScriptedModel(lambda messages: f"{arg} SAYS {messages[-1].content}", name=f"parrot:{arg}")


    def exploding(arg, base_url, **options):
        raise RuntimeError("no parrots today")


    def no_model(arg, base_url, **options):
        return "a string, not a model"


    @tool(name="rot13")
    def _rot13(text: str) -> str:
        """Rotate letters by 13.

        Args:
            text: the text
        """
        import codecs

        return codecs.encode(text, "rot13")


    def rot13_tools(arg):
        return [_rot13]


    def not_tools(arg):
        return ["a string, not a tool"]


    def says(arg):
        return contains(arg or "yes")
    '''
)

#: per group: a working plugin, one whose module is missing, one of the wrong type, one taking a built-in's
#: name, and one whose entry point name differs from its entry's
ENTRY_POINTS = """\
[ponder.strategies]
whisper = ponder_fake:STRATEGY
gone = ponder_fake_missing:STRATEGY
wrong = ponder_fake:NOT_AN_ENTRY
single = ponder_fake:SINGLE_AGAIN
alias = ponder_fake:STRATEGY

[ponder.models]
parrot = ponder_fake:parrot
exploding = ponder_fake:exploding
nomodel = ponder_fake:no_model
gone = ponder_fake_missing:parrot
wrong = ponder_fake:NOT_AN_ENTRY
scripted = ponder_fake:parrot

[ponder.tools]
rot13 = ponder_fake:rot13_tools
nottools = ponder_fake:not_tools
gone = ponder_fake_missing:rot13_tools
wrong = ponder_fake:NOT_AN_ENTRY
calc = ponder_fake:rot13_tools

[ponder.verifiers]
says = ponder_fake:says
gone = ponder_fake_missing:says
wrong = ponder_fake:NOT_AN_ENTRY
judge = ponder_fake:says
"""


def write_plugin(site: Path) -> Path:
    (site / "ponder_fake").mkdir(parents=True)
    (site / "ponder_fake" / "__init__.py").write_text(PLUGIN)
    info = site / "ponder_fake-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ponder-fake\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return site
