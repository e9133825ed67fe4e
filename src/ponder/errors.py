"""The user/developer-facing error tree.

These are the errors a *person* must fix (unknown model, missing file,
unreachable server, bad configuration). Problems the *model* caused (malformed
output, a failing tool) never raise: they go back to the model as observations.
Every error carries one human-readable line; the CLI prints exactly that line.
"""

from __future__ import annotations

from typing import Literal, get_args

StopReason = Literal["answered", "converged", "max_steps", "rounds", "budget", "loop", "cancelled", "error"]
"""Why a run ended: ``max_steps`` is the engine's step limit, ``rounds`` a strategy's own round limit
(verify's ``max_rounds``, refine's ``max_rounds``), ``budget`` every other limit of the budget,
``cancelled`` a run stopped from outside (a client that went away). Defined here, beside
:class:`StopRun` that carries one, so every module can import it."""
STOP_REASONS: tuple[StopReason, ...] = get_args(StopReason)


class PonderError(Exception):
    """Base class of every error ponder raises on purpose."""


class ConfigError(PonderError, ValueError):
    """A setting or argument is invalid (negative budget, empty question, ...)."""


class ModelNotFoundError(PonderError):
    """The model specification names nothing ponder can load."""


class ModelUnavailableError(PonderError):
    """The model exists but cannot be used now (missing dependency, unreachable server)."""


class ModelCallError(PonderError):
    """A backend call failed for a reason that retrying will not fix."""


class StrategyNotFoundError(PonderError):
    """The strategy name is not registered."""


class SandboxUnavailableError(PonderError):
    """The code sandbox cannot be used as asked (isolation required but bubblewrap unusable, worker won't start)."""


class RunInterruptedError(PonderError):
    """The run was interrupted from outside (a server shutting down); it is stored unfinished, resumable."""


class StopRun(Exception):  # noqa: N818 - a control signal, not an error
    """Thrown *into* a strategy by the engine when a budget or limit ends the run.

    A strategy may catch it to return its best answer so far; ``reason`` is the
    stop reason the engine will record (``max_steps``, ``budget`` or ``cancelled``).
    """

    def __init__(self, reason: StopReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class DepthLimit(StopRun):
    """Thrown into a strategy whose child run would nest deeper than ``Budget.max_depth``.

    Unlike the other limits it refuses only that child: the strategy may catch it
    and go on (code mode tells the model to use ``llm_query`` instead).
    """

    def __init__(self, max_depth: int) -> None:
        super().__init__("budget", f"recursion depth limit of {max_depth} reached")
        self.max_depth = max_depth


class PromptTooLong(ModelCallError):  # noqa: N818 - reads as a condition, like StopRun
    """A prompt does not fit the model's context window; raised before the call is made.

    The engine throws it into the strategy that asked: one that can act on it (react,
    recursive code mode) tells the model to send less; elsewhere it ends the run with
    this one line. ``tokens`` and ``window`` are the counted prompt and the window.
    """

    def __init__(self, model: str, tokens: int, window: int) -> None:
        super().__init__(
            f"prompt of {tokens} tokens exceeds the context window of {window} of {model}; slice the input"
        )
        self.model = model
        self.tokens = tokens
        self.window = window
