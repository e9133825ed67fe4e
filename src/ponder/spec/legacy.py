"""Read what a run store holds for a run: a run spec, or the recipe that runs stored before specs had.

A recipe (store schema v2, before run specs) named the strategy and its options
flat (``{"samples": 3, "slow": "consistency", "check": "judge"}``); the options
are placed on the strategies of the tree as ``get_strategy`` did (the outermost
one that declares each), with the old verifier field names mapped to
``verifier``, so ``ponder resume`` still continues those runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .build import place_options
from .flags import is_agreement
from .run import SPEC_FORMAT, RunSpec

#: recipe option names that are called differently in a spec
_RENAMED = {"check": "verifier", "weigh": "verifier"}


def spec_from_stored(data: Mapping[str, Any]) -> RunSpec:
    """The spec of a stored run: ``data`` is a spec's plain data, or an old recipe."""
    if data.get("format") == SPEC_FORMAT:
        return RunSpec.from_dict(data)
    return _from_recipe(data)


def _from_recipe(recipe: Mapping[str, Any]) -> RunSpec:
    flat: dict[str, Any] = dict(recipe.get("strategy_options") or {})
    options: dict[str, Any] = {_RENAMED.get(k, k): v for k, v in flat.items()}
    context = options.pop("context_path", None)
    native = options.pop("native", None)
    if native is not None:
        options["protocol"] = "native" if native else "text"
    extract = options.pop("extract", None)
    if extract is not None and is_agreement(options.get("verifier")):
        options["verifier"] = {"spec": options["verifier"], "extract": extract}  # the old check extracted too
    tree = place_options(str(recipe["strategy"]), options)
    if extract is not None:
        tree = tree.place("extract", extract) or tree  # a sampler of the tree extracts with it too
    memory = recipe.get("memory")
    return RunSpec.from_dict(
        {
            "strategy": tree.to_dict(),
            "models": {"root": {"model": recipe["model"], "base_url": recipe.get("base_url")}},
            "tools": recipe.get("tools") or "",
            "budget": dict(recipe.get("budget") or {}),
            "options": dict(recipe.get("options") or {}),
            "memory": {"mode": memory["mode"], "threshold": memory["threshold"]} if memory else None,
            "stop": recipe.get("stop"),
            "context": context,
        }
    )
