"""Verifiers from a short text spec, as the CLI's ``--verifier`` takes them.

=====================  =========================================================
spec                   verifier
=====================  =========================================================
``judge``              :class:`Judge` (an LM judge on the same model)
``contains:TEXT``      the answer must contain TEXT (case-insensitive)
``regex:PATTERN``      the answer must match PATTERN
``grounded:FILE``      the answer's numbers and quotes must occur in FILE
``python``             the code in the answer must run in the sandbox
``tests:FILE``         the code in the answer plus the tests in FILE must pass in the sandbox
``examples``           the code in the answer must pass the examples its question shows (docstring)
``agree[:K[:T]]``      K fresh samples (default 3), agreement >= T (default 0.6)
=====================  =========================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..access import CLIENT, OPERATOR, Access
from ..errors import ConfigError
from ..guards.numbers import finite, whole
from ..tools import python_tool
from ..tools.python import SandboxLike
from ..tools.specs import default_sandbox
from .agreement import Agreement
from .base import Verifier, contains, matches
from .code import CodeCheck
from .examples import ExamplesCheck
from .grounded import Grounded
from .judge import Judge

KNOWN = "judge, contains:TEXT, regex:PATTERN, grounded:FILE, python, tests:FILE, examples, agree[:K[:T]]"
#: who may choose each kind (see :mod:`ponder.access`): a file on the server's disk or code execution is the
#: operator's (``ponder serve --allow-verifier python``, ``--allow-verifier tests:FILE``)
ACCESS: dict[str, Access] = {
    "judge": CLIENT,
    "contains": CLIENT,
    "regex": CLIENT,
    "agree": CLIENT,
    "grounded": OPERATOR,
    "python": OPERATOR,
    "tests": OPERATOR,
    "examples": OPERATOR,  # runs the answer's code in the sandbox
}
#: the most fresh samples of one ``agree:K`` check, and the most a client of ``ponder serve`` may ask for
MAX_AGREE = 1000
CLIENT_AGREE = 32


def verifier_kind(spec: str) -> str:
    """The kind a verifier spec names (``agree:5`` -> ``agree``; ``agreement`` is ``agree``)."""
    name = spec.strip().partition(":")[0].strip().lower()
    return "agree" if name == "agreement" else name


def parse_verifier(
    spec: str, *, sandbox_factory: Callable[[], SandboxLike] | None = None, **agreement: Any
) -> Verifier:
    """The verifier named by ``spec`` (see module doc). ``agreement`` options go to ``agree``.

    A ``python``/``tests`` verifier owns a fresh sandbox; release it with
    :func:`~ponder.verifiers.close_verifier`.
    """
    name, sep, arg = spec.strip().partition(":")
    name = name.strip().lower()
    if name == "judge" and not sep:
        return Judge()
    if name == "contains" and arg:
        return contains(arg)
    if name == "regex" and arg:
        return matches(arg)
    if name == "grounded" and arg:
        return Grounded.from_file(arg.strip())
    if name in ("python", "tests", "examples") and (bool(arg) == (name == "tests")):
        factory = sandbox_factory or default_sandbox
        tool = python_tool(factory(), owns_sandbox=True)
        try:
            if name == "examples":
                return ExamplesCheck(tool)
            return CodeCheck.from_file(tool, arg.strip()) if name == "tests" else CodeCheck(tool)
        except BaseException:
            tool.close()
            raise
    if name in ("agree", "agreement"):
        return _agreement(arg, agreement)
    raise ConfigError(f"unknown verifier {spec!r}; known: {KNOWN}")


def _agreement(arg: str, options: dict[str, Any]) -> Agreement:
    parts = [p for p in arg.split(":") if p.strip()] if arg else []
    if len(parts) > 2:
        raise ConfigError(f"agree takes at most K and T (agree:3:0.6), got agree:{arg}")
    try:
        if parts:
            options["samples"] = int(parts[0])
        if len(parts) > 1:
            options["threshold"] = float(parts[1])
    except ValueError:
        raise ConfigError(f"agree:K:T needs a whole number K and a number T, got agree:{arg}") from None
    if "samples" in options:
        whole("agree: K", options["samples"], minimum=1, maximum=MAX_AGREE)
    for name in ("threshold", "temperature"):
        if name in options:
            finite(f"agree: {name}", options[name])
    return Agreement(**options)


def verifier_calls(spec: str | Mapping[str, Any] | None, default: str = "judge") -> int:
    """The model calls one check by the verifier ``spec`` makes (None: ``default``): an LM judge 1,
    ``agree:K`` K fresh samples (and K+1 extractions with ``extract="lm"``), a programmatic check 0."""
    extract = None
    if isinstance(spec, Mapping):
        extract, spec = spec.get("extract"), str(spec.get("spec", default))
    name, _, arg = (spec or default).strip().lower().partition(":")
    if name == "judge":
        return 1
    if name in ("agree", "agreement"):
        parts = [p for p in arg.split(":") if p.strip()]
        samples = int(parts[0]) if parts and parts[0].strip().isdigit() else Agreement().samples
        return samples + (samples + 1 if extract == "lm" else 0)
    return 0
