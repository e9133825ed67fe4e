"""Model backends behind one protocol (:class:`Model`)."""

from .base import Model, TextCallback
from .registry import DEFAULT_MODEL, BackendInfo, list_backends, load_model, smollm2_path
from .scripted import ScriptedCall, ScriptedModel

__all__ = [
    "DEFAULT_MODEL",
    "BackendInfo",
    "Model",
    "ScriptedCall",
    "ScriptedModel",
    "TextCallback",
    "list_backends",
    "load_model",
    "smollm2_path",
]
