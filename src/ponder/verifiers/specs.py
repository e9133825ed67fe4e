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

Each kind is a :class:`VerifierEntry` of one :class:`ponder.plugins.Registry`; installed plugins add
kinds through the ``ponder.verifiers`` entry-point group (a ``VerifierEntry``, or a function of the
argument returning a verifier). A client of ``ponder serve`` chooses only among the built-in kinds
declared ``CLIENT`` (:data:`ACCESS`) and those the operator opened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..access import CLIENT, OPERATOR, Access
from ..errors import ConfigError
from ..guards.numbers import finite, whole
from ..plugins import Arg, PluginError, Registry, resolve
from ..tools import python_tool
from ..tools.python import SandboxLike
from ..tools.specs import default_sandbox
from .agreement import Agreement
from .base import Verifier, contains, matches
from .code import CodeCheck
from .examples import ExamplesCheck
from .grounded import Grounded
from .judge import Judge

#: the most fresh samples of one ``agree:K`` check, and the most a client of ``ponder serve`` may ask for
MAX_AGREE = 1000
CLIENT_AGREE = 32
GROUP = "ponder.verifiers"
#: builds a verifier from the text after ``NAME:``, a sandbox factory and the ``agree`` options
Build = Callable[[str, Callable[[], SandboxLike], dict[str, Any]], Verifier]
#: the model calls one check makes, given the text after ``NAME:`` and the extraction kind (``lm``), if any
Calls = Callable[[str, Any], int]


def _no_calls(arg: str, extract: Any) -> int:
    return 0


@dataclass(frozen=True, slots=True)
class VerifierEntry:
    """A verifier kind: the ``NAME`` of ``--verifier NAME[:ARG]``, what builds it, who may choose it and its cost.

    A plugin's entry point (group ``ponder.verifiers``) gives a ``VerifierEntry`` or a function of the
    argument returning a verifier (then only the operator may choose it, and it makes no model calls)."""

    name: str
    build: Build
    #: how a list of known kinds shows it (``contains:TEXT``); "" for the name
    usage: str = ""
    #: ``none``: ``NAME`` only; ``required``: ``NAME:ARG`` only; ``optional``: either
    arg: Arg = "optional"
    #: who may choose it (see :mod:`ponder.access`): a file on the server's disk or code execution is the operator's
    access: Access = OPERATOR
    calls: Calls = _no_calls
    aliases: tuple[str, ...] = ()


def _code_check(kind: str) -> Build:
    """The builder of a check that runs the answer's code in a fresh sandbox it owns (python, tests, examples)."""

    def build(arg: str, sandbox_factory: Callable[[], SandboxLike], options: dict[str, Any]) -> Verifier:
        tool = python_tool(sandbox_factory(), owns_sandbox=True)
        try:
            if kind == "examples":
                return ExamplesCheck(tool)
            return CodeCheck.from_file(tool, arg.strip()) if kind == "tests" else CodeCheck(tool)
        except BaseException:
            tool.close()
            raise

    return build


def _agree_calls(arg: str, extract: Any) -> int:
    parts = [p for p in arg.split(":") if p.strip()]
    samples = int(parts[0]) if parts and parts[0].strip().isdigit() else Agreement().samples
    return samples + (samples + 1 if extract == "lm" else 0)


BUILTIN: tuple[VerifierEntry, ...] = (
    VerifierEntry("judge", lambda arg, sb, o: Judge(), arg="none", access=CLIENT, calls=lambda arg, extract: 1),
    VerifierEntry("contains", lambda arg, sb, o: contains(arg), "contains:TEXT", "required", CLIENT),
    VerifierEntry("regex", lambda arg, sb, o: matches(arg), "regex:PATTERN", "required", CLIENT),
    VerifierEntry("grounded", lambda arg, sb, o: Grounded.from_file(arg.strip()), "grounded:FILE", "required"),
    VerifierEntry("python", _code_check("python"), arg="none"),
    VerifierEntry("tests", _code_check("tests"), "tests:FILE", "required"),
    VerifierEntry("examples", _code_check("examples"), arg="none"),  # runs the answer's code in the sandbox
    VerifierEntry(
        "agree",
        lambda arg, sb, options: _agreement(arg, options),
        "agree[:K[:T]]",
        access=CLIENT,
        calls=_agree_calls,
        aliases=("agreement",),
    ),
)
KNOWN = ", ".join(e.usage or e.name for e in BUILTIN)
#: who may choose each built-in kind (see :mod:`ponder.access`); ``ponder serve --allow-verifier python``,
#: ``--allow-verifier tests:FILE`` open an operator's kind to clients
ACCESS: dict[str, Access] = {e.name: e.access for e in BUILTIN}


def _admit(loaded: object, name: str) -> VerifierEntry:
    """What an entry point gives -> its entry: a ``VerifierEntry``, or a function of the argument."""
    if isinstance(loaded, VerifierEntry):
        return loaded
    if not callable(loaded):
        raise TypeError(f"{name} gives a {type(loaded).__name__}, not a VerifierEntry or a function")
    factory: Callable[[str], Verifier] = loaded
    return VerifierEntry(name, lambda arg, sandbox, options: factory(arg))


REGISTRY: Registry[VerifierEntry] = Registry("verifier", GROUP, BUILTIN, _admit)


def verifier_kind(spec: str) -> str:
    """The built-in kind a verifier spec names (``agree:5`` -> ``agree``; ``agreement`` is ``agree``)."""
    name = spec.strip().partition(":")[0].strip().lower()
    found = REGISTRY.builtin(name)
    return name if found is None else found.name


def parse_verifier(
    spec: str, *, sandbox_factory: Callable[[], SandboxLike] | None = None, **agreement: Any
) -> Verifier:
    """The verifier named by ``spec`` (see module doc). ``agreement`` options go to ``agree``.

    A ``python``/``tests`` verifier owns a fresh sandbox; release it with
    :func:`~ponder.verifiers.close_verifier`.
    """
    found, arg = resolve(REGISTRY, spec, KNOWN, lambda e: e.usage or e.name + ":ARG")
    made = REGISTRY.call(found, lambda: found.build(arg, sandbox_factory or default_sandbox, agreement))
    if not isinstance(made, Verifier):
        raise PluginError(f"the verifier plugin {found.name!r} did not return a verifier")
    return made


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
    try:
        found = REGISTRY.get(name)
    except PluginError:  # reported where the verifier is built
        return 0
    return 0 if found is None else found.calls(arg, extract)
