"""``ponder ask`` options for the strategies that sample, verify, route and search.

The flags map to strategy options (see :func:`ponder.strategies.get_strategy`,
which routes each option to the outermost strategy that takes it):

=========================  ======================  ==================================
flag                       option                  strategy
=========================  ======================  ==================================
``--inner NAME``           ``inner``               consistency, verify (route: slow's)
``--escalate-to NAME``     ``slow``                route (default consistency)
``--samples N``            ``samples``             consistency
``--sample-temperature``   ``temperature``         consistency
``--extract SPEC``         ``extract``             consistency, route's agree check
``--vote``                 ``vote``                consistency
``--no-adaptive``          ``adaptive=False``      consistency
``--anchor``               ``anchor=True``         consistency
``--margin X``             ``margin``              consistency
``--verifier SPEC``        ``verifier`` / ``check`` / ``weigh``   verify / route / consistency
``--rounds N``             ``max_rounds``          verify
``--beam/--depth/--branch/--search/--prune``  same names        tree
=========================  ======================  ==================================

Only flags that were given are passed, so each strategy keeps its own defaults;
a flag no strategy in the chain takes is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import ConfigError
from ..strategies import NEEDS_TOOLS, STRATEGIES, options_of

F = TypeVar("F", bound=Callable[..., Any])
_POSITIVE = click.IntRange(min=1)

#: knob parameter → (strategy option, flag)
_OPTION = {
    "samples": ("samples", "--samples"),
    "sample_temperature": ("temperature", "--sample-temperature"),
    "extract": ("extract", "--extract"),
    "vote": ("vote", "--vote"),
    "margin": ("margin", "--margin"),
    "rounds": ("max_rounds", "--rounds"),
    "beam": ("beam", "--beam"),
    "depth": ("depth", "--depth"),
    "branch": ("branch", "--branch"),
    "search": ("search", "--search"),
    "prune": ("prune", "--prune"),
}
#: which option --verifier sets, by the outer strategy
_VERIFIER_OPTION = {"route": "check", "consistency": "weigh"}


def strategy_options(func: F) -> F:
    """Add the sampling / verification / routing / tree flags to a command."""
    options = [
        click.option(
            "--inner", default=None, help="consistency/verify: the strategy to sample or verify (e.g. react)."
        ),
        click.option("--escalate-to", default=None, help="route: the slow strategy (default consistency)."),
        click.option("--samples", type=_POSITIVE, default=None, help="consistency: most samples (default 5)."),
        click.option(
            "--sample-temperature",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            help="consistency: sampling temperature (default 0.7).",
        ),
        click.option("--extract", default=None, help="Answer extraction: last_number, regex:PATTERN, answer or lm."),
        click.option("--vote", type=click.Choice(["majority", "weighted"]), default=None, help="consistency: vote."),
        click.option("--no-adaptive", is_flag=True, help="consistency: draw every sample (no early stop)."),
        click.option(
            "--anchor",
            is_flag=True,
            help="consistency: sample 0 is the greedy answer; another answer needs a majority to replace it.",
        ),
        click.option("--margin", type=click.FloatRange(min=0, min_open=True), default=None, help="Stop at this lead."),
        click.option(
            "--verifier",
            default=None,
            help="judge, contains:TEXT, regex:PATTERN, grounded:FILE, python, tests:FILE, agree[:K[:T]].",
        ),
        click.option("--rounds", type=_POSITIVE, default=None, help="verify: most generate-verify rounds (default 3)."),
        click.option("--beam", type=_POSITIVE, default=None, help="tree: beam width (states kept per level)."),
        click.option("--depth", type=_POSITIVE, default=None, help="tree: depth limit."),
        click.option("--branch", type=_POSITIVE, default=None, help="tree: thoughts proposed per state."),
        click.option("--search", type=click.Choice(["bfs", "dfs"]), default=None, help="tree: search order."),
        click.option("--prune", type=float, default=None, help="tree (dfs): prune states valued below this."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def chain_of(strategy: str, knobs: dict[str, Any]) -> list[str]:
    """The strategy names a command line builds: the strategy, its inner one and route's slow one."""
    chain = [strategy]
    if strategy == "route":
        chain.append(knobs.get("escalate_to") or "consistency")
    if knobs.get("inner"):
        chain.append(knobs["inner"])
    for name in chain:
        if name not in STRATEGIES:
            known = ", ".join(sorted(STRATEGIES))
            raise ConfigError(f"unknown strategy {name!r} (known: {known})")
    return chain


def needs_tools(chain: list[str]) -> bool:
    return any(name in NEEDS_TOOLS for name in chain)


def knob_options(strategy: str, knobs: dict[str, Any], *, seed: int | None = None) -> dict[str, Any]:
    """The strategy options the given flags ask for (see module doc); ``seed`` goes to a sampler in the chain."""
    chain = chain_of(strategy, knobs)
    accepted = set().union(*(options_of(name) for name in chain))
    out: dict[str, Any] = {}
    flags: dict[str, str] = {}
    for key, (option, flag) in _OPTION.items():
        if knobs.get(key) is not None:
            out[option], flags[option] = knobs[key], flag
    if knobs.get("no_adaptive"):
        out["adaptive"], flags["adaptive"] = False, "--no-adaptive"
    if knobs.get("anchor"):
        out["anchor"], flags["anchor"] = True, "--anchor"
    if knobs.get("verifier"):
        option = _VERIFIER_OPTION.get(strategy, "verifier")
        out[option], flags[option] = knobs["verifier"], "--verifier"
    if knobs.get("inner"):
        out["inner"], flags["inner"] = knobs["inner"], "--inner"
    if strategy == "route":
        out["slow"] = knobs.get("escalate_to") or "consistency"
    elif knobs.get("escalate_to"):
        flags["slow"] = "--escalate-to"
        out["slow"] = knobs["escalate_to"]
    for option, flag in flags.items():
        if option not in accepted:
            raise ConfigError(f"{flag} does not apply to {' + '.join(chain)}")
    if seed is not None and "seed" in accepted:
        out["seed"] = seed
    return out


def default_steps(strategy: str, knobs: dict[str, Any], base: int) -> int:
    """A step limit that lets the chosen strategy finish (used when --max-steps is not given); at least ``base``."""
    samples = knobs.get("samples") or 5
    rounds = knobs.get("rounds") or 3
    lm = 2 if knobs.get("extract") == "lm" else 1

    def cost(name: str | None, inner: str | None) -> int:
        if name is None or name == "single":
            return 1
        if name == "consistency":
            return samples * cost(inner, None) * lm
        if name == "verify":
            return rounds * (cost(inner, None) + 1)
        if name == "route":
            return 1 + 3 * lm + cost(knobs.get("escalate_to") or "consistency", inner)
        if name == "tree":
            beam, branch, depth = knobs.get("beam") or 5, knobs.get("branch") or 5, knobs.get("depth") or 4
            return beam * (1 + branch) * depth + 1
        return base

    return max(base, cost(strategy, knobs.get("inner")))
