"""ponder: a runtime for recursive language models.

Wrap any language model in an engine that runs it in visible, budgeted steps:

    >>> import ponder
    >>> model = ponder.ScriptedModel(["Paris"])
    >>> ponder.Engine(model).run(ponder.Single(), "Capital of France?").answer
    'Paris'

Everything a user needs for the examples of the README and docs/ is importable from here:
the engine and budgets, the model backends, every strategy, the verifiers,
the memory manager, the run store and the learned stop policy, and a run as
data (:class:`RunSpec`, :func:`run`, :func:`open_run`, :func:`resume`). Helpers used
less often stay in their modules (:mod:`ponder.tools`, :mod:`ponder.extract`,
:mod:`ponder.context`, :mod:`ponder.tasks`, :mod:`ponder.engine.telemetry`, ...).

Importing this package has no side effects and loads no model.
"""

from .builder import OpenRun, open_run, resume, run
from .engine.budget import Budget
from .engine.core import Engine
from .errors import (
    ConfigError,
    ModelCallError,
    ModelNotFoundError,
    ModelUnavailableError,
    PonderError,
    PromptTooLong,
    SandboxUnavailableError,
    StopRun,
    StrategyNotFoundError,
)
from .events import JsonlTrace, read_trace
from .models import Model, ScriptedModel, list_backends, load_model
from .requests import Batch, CallTool, Child, Children, Generate, Outcome, Record
from .result import RunResult, Step
from .spec import ModelSpec, RunSpec, StrategySpec, get_strategy
from .stop import LearnedStop
from .store import RunStore, StoreError
from .strategies import (
    Consistency,
    React,
    Recursive,
    Refine,
    Route,
    Single,
    Strategy,
    Tree,
    Verify,
    close_strategy,
)
from .strategies.memory import Memory
from .types import Completion, GenerationOptions, Message, Usage
from .verifiers import Agreement, Check, CodeCheck, Grounded, Judge, Verdict, Verifier, parse_verifier

__version__ = "0.1.0"

__all__ = [
    "Agreement",
    "Batch",
    "Budget",
    "CallTool",
    "Check",
    "Child",
    "Children",
    "CodeCheck",
    "Completion",
    "ConfigError",
    "Consistency",
    "Engine",
    "Generate",
    "GenerationOptions",
    "Grounded",
    "JsonlTrace",
    "Judge",
    "LearnedStop",
    "Memory",
    "Message",
    "Model",
    "ModelCallError",
    "ModelNotFoundError",
    "ModelSpec",
    "ModelUnavailableError",
    "OpenRun",
    "Outcome",
    "PonderError",
    "PromptTooLong",
    "React",
    "Record",
    "Recursive",
    "Refine",
    "Route",
    "RunResult",
    "RunSpec",
    "RunStore",
    "SandboxUnavailableError",
    "ScriptedModel",
    "Single",
    "Step",
    "StopRun",
    "StoreError",
    "Strategy",
    "StrategyNotFoundError",
    "StrategySpec",
    "Tree",
    "Usage",
    "Verdict",
    "Verifier",
    "Verify",
    "close_strategy",
    "get_strategy",
    "list_backends",
    "load_model",
    "open_run",
    "parse_verifier",
    "read_trace",
    "resume",
    "run",
]
