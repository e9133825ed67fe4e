"""ponder: a runtime for recursive language models.

Wrap any language model in an engine that runs it in visible, budgeted steps:

    >>> import ponder
    >>> model = ponder.ScriptedModel(["Paris"])
    >>> ponder.Engine(model).run(ponder.Single(), "Capital of France?").answer
    'Paris'

Importing this package has no side effects and loads no model.
"""

from .budget import Budget
from .engine import Engine
from .errors import (
    ConfigError,
    ModelCallError,
    ModelNotFoundError,
    ModelUnavailableError,
    PonderError,
    StopRun,
    StrategyNotFoundError,
)
from .events import JsonlTrace, read_trace
from .models import Model, ScriptedModel, list_backends, load_model
from .requests import Batch, Child, Generate, Outcome, Record
from .result import RunResult, Step
from .strategies import Refine, Single, Strategy, get_strategy
from .types import Completion, GenerationOptions, Message, Usage

__version__ = "0.1.0"

__all__ = [
    "Batch",
    "Budget",
    "Child",
    "Completion",
    "ConfigError",
    "Engine",
    "Generate",
    "GenerationOptions",
    "JsonlTrace",
    "Message",
    "Model",
    "ModelCallError",
    "ModelNotFoundError",
    "ModelUnavailableError",
    "Outcome",
    "PonderError",
    "Record",
    "Refine",
    "RunResult",
    "ScriptedModel",
    "Single",
    "Step",
    "StopRun",
    "Strategy",
    "StrategyNotFoundError",
    "Usage",
    "get_strategy",
    "list_backends",
    "load_model",
    "read_trace",
]
