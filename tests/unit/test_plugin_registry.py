"""The one plugin registry: every kind (strategy, model, tool, verifier) finds plugins and reports broken ones alike.

The plugins are real entry points: a package and its ``.dist-info`` (with ``entry_points.txt``) in a
temporary folder put on ``sys.path``, which is where ``importlib.metadata`` finds installed distributions."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plugin_registry_helpers import write_plugin
from ponder import Engine, get_strategy, list_backends, load_model
from ponder.models import registry as model_registry
from ponder.plugins import PluginError, Registry
from ponder.strategies import registry as strategy_registry
from ponder.tools import parse_tool_specs
from ponder.tools import specs as tool_specs
from ponder.verifiers import parse_verifier
from ponder.verifiers import specs as verifier_specs

REGISTRIES: dict[str, Registry[Any]] = {
    "strategy": strategy_registry.REGISTRY,
    "model": model_registry.REGISTRY,
    "tool": tool_specs.REGISTRY,
    "verifier": verifier_specs.REGISTRY,
}
GROUPS = {
    "strategy": "ponder.strategies",
    "model": "ponder.models",
    "tool": "ponder.tools",
    "verifier": "ponder.verifiers",
}


def refresh_all() -> None:
    for registry in REGISTRIES.values():
        registry.refresh()


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    """The fake plugin distribution, on sys.path for this test only."""
    site = write_plugin(tmp_path / "site")
    sys.path.insert(0, str(site))
    refresh_all()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        for name in [m for m in sys.modules if m.startswith("ponder_fake")]:
            del sys.modules[name]
        refresh_all()


def test_a_plugin_of_each_kind_is_found_through_the_public_api(installed: Path) -> None:
    strategy = get_strategy("whisper")
    model = load_model("parrot:Rex")
    assert Engine(model).run(strategy, "Hello").answer == "rex says hello"
    [rot13] = parse_tool_specs("rot13")
    assert rot13.invoke({"text": "abc"}).output == "nop" and rot13.spec == "rot13"
    says = parse_verifier("says:Paris")
    assert says.name == "contains:Paris"
    assert verifier_specs.verifier_calls("says:Paris") == 0
    assert "single" in sys.modules["ponder_fake"].KNOWN_AT_IMPORT
    for kind, name in [("strategy", "whisper"), ("model", "parrot"), ("tool", "rot13"), ("verifier", "says")]:
        registry = REGISTRIES[kind]
        assert name in registry.plugins() and name in registry.entries() and name not in registry.builtins()


@pytest.mark.parametrize("kind", list(REGISTRIES))
def test_a_broken_plugin_of_each_kind_is_reported_alike(installed: Path, kind: str) -> None:
    registry = REGISTRIES[kind]
    broken = {b.name: b for b in registry.broken()}
    assert "gone" in broken and "wrong" in broken
    assert broken["gone"].error.startswith("ModuleNotFoundError: No module named 'ponder_fake_missing'")
    assert broken["wrong"].error.startswith("TypeError: wrong gives a int, not a")
    for name, problem in [("gone", "ModuleNotFoundError"), ("wrong", "TypeError")]:
        with pytest.raises(PluginError) as caught:
            registry.get(name)
        message = str(caught.value)
        assert message.startswith(f"the {kind} plugin {name!r} (entry point ")
        assert f"in group {GROUPS[kind]}) is broken: {problem}" in message and "\n" not in message
    taken = {"strategy": "single", "model": "scripted", "tool": "calc", "verifier": "judge"}[kind]
    assert f"the name {taken!r} is taken" in broken[taken].error
    assert registry.get(taken) is registry.builtin(taken)  # the built-in is not replaced


def test_broken_plugins_fail_the_public_api_with_one_plugin_error(installed: Path) -> None:
    with pytest.raises(PluginError, match=r"^the strategy plugin 'gone' \(entry point ponder_fake_missing:STRATEGY"):
        get_strategy("gone")
    with pytest.raises(PluginError, match=r"'alias' but its entry is named 'whisper'"):
        get_strategy("alias")
    with pytest.raises(PluginError, match=r"^the model plugin 'wrong' .* is broken: TypeError"):
        load_model("wrong:x")
    with pytest.raises(PluginError, match=r"^the model plugin 'exploding' failed: RuntimeError: no parrots today$"):
        load_model("exploding")
    with pytest.raises(PluginError, match=r"^the model plugin 'nomodel' did not return a ponder Model$"):
        load_model("nomodel")
    with pytest.raises(PluginError, match=r"^the tool plugin 'gone' "):
        parse_tool_specs("calculator,gone")
    with pytest.raises(PluginError, match=r"^the tool plugin 'nottools' did not return ponder tools$"):
        parse_tool_specs("nottools")
    with pytest.raises(PluginError, match=r"^the verifier plugin 'wrong' "):
        parse_verifier("wrong")
    assert verifier_specs.verifier_calls("gone") == 0  # counted as free; reported where it is built


def test_the_backend_list_derives_from_the_registry_and_shows_broken_plugins(installed: Path) -> None:
    listed = {b.spec: b for b in list_backends()}
    builtin = [e.shown for e in model_registry.BUILTIN]
    assert list(listed)[: len(builtin)] == builtin
    assert listed["parrot:..."].available and listed["parrot:..."].detail == "from an installed plugin"
    for name in ("gone", "wrong", "scripted"):
        assert not listed[f"{name}:..."].available
        assert listed[f"{name}:..."].detail.startswith(f"the model plugin {name!r} (entry point ")
    assert listed["scripted"].available  # the built-in still listed and usable beside its broken namesake


def test_a_builtin_name_is_found_without_loading_plugins(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "ponder_lazy").mkdir(parents=True)
    (site / "ponder_lazy" / "__init__.py").write_text("def thing(arg):\n    return arg\n")
    info = site / "ponder_lazy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ponder-lazy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ponder.test_lazy]\nthing = ponder_lazy:thing\n")
    sys.path.insert(0, str(site))
    try:
        registry = Registry("tool", "ponder.test_lazy", tool_specs.BUILTIN, tool_specs._admit)
        assert registry.get("calc") is registry.builtin("calculator")
        assert "ponder_lazy" not in sys.modules
        thing = registry.get("thing")
        assert thing is not None and "ponder_lazy" in sys.modules
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("ponder_lazy", None)


def test_two_builtins_with_one_name_are_a_bug_found_at_once() -> None:
    twice = (*tool_specs.BUILTIN, tool_specs.ToolEntry("calc", lambda arg, sandbox: []))
    with pytest.raises(
        ValueError, match=r"built-in tool 'calc': the name 'calc' is taken \(by the tool 'calculator'\)"
    ):
        Registry("tool", "ponder.tools", twice, tool_specs._admit)
