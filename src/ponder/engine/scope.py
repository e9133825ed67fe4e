"""What the engine's helpers share while one top-level run (and its children) goes: one explicit object.

:class:`~ponder.engine.Engine` makes a :class:`Scope` at the start of each :meth:`~ponder.engine.Engine.run`
and passes it to the modules that execute requests (:mod:`ponder.engine.model_calls`,
:mod:`ponder.engine.tool_calls`, :mod:`ponder.engine.children`) and to the run lifecycle
(:mod:`ponder.engine.runs`). It holds the :class:`~ponder.engine.recorder.Recorder`, the budget meter,
the call settings, the caches and replay, and how to execute a request (the engine's own dispatch, so
the child runs can execute their requests without importing the engine). The helpers read the run's
settings from here and nothing else of the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..models.base import Model
from ..requests import Generate, Request
from ..types import GenerationOptions, Message
from .budget import BudgetMeter
from .call_cache import MemoryCache
from .dispatch import TextObserver
from .recorder import Recorder
from .run_state import Replay, RunState


@dataclass(frozen=True, slots=True)
class Scope:
    """One top-level run's recorder, meter, settings and request executor (see the module docs)."""

    recorder: Recorder
    meter: BudgetMeter
    #: the options of every model call that gives none of its own
    options: GenerationOptions
    #: sees the text of a single model call as it streams, if set
    on_text: TextObserver | None
    #: how many model calls of one batch may run at once
    max_parallel_calls: int
    #: recorded results served before anything is called (a resume), or None
    replay: Replay | None
    #: the run's cache of deterministic completions, or None when caching is off
    cache: MemoryCache | None
    #: the conversation the question ends (see :mod:`ponder.engine.conversation`)
    history: tuple[Message, ...]
    #: the model of a role at a level below the root run (:meth:`ponder.engine.Engine.model_for`)
    model_for: Callable[[str, int], Model]
    #: the model names by role, recorded in each ``run_started``
    role_names: dict[str, str]
    #: the budget's limits as plain data (None: unlimited), recorded in each ``run_started``
    limits: dict[str, Any]
    #: the run's spec as plain data (recorded in the top-level ``run_started``), or None
    spec: dict[str, Any] | None
    #: executes one request of a run (the engine's dispatch); called through :meth:`execute`
    executor: Callable[[Scope, Request, RunState], Any]

    def execute(self, request: Request, run: RunState) -> Any:
        """The result of ``request``, made by a strategy of ``run`` (a model call, a tool call, a child, ...)."""
        return self.executor(self, request, run)

    def model_of(self, request: Generate, run: RunState) -> Model:
        """The model of one call: its role's; a ``sub`` call is one level below the run that makes it (a
        ``recursive`` sub-query), a call of a ``sub`` run without a role of its own is at the run's depth."""
        role = request.role or run.role
        return self.model_for(role, run.depth + (1 if request.role == "sub" else 0))
