"""The switches of batched decoding on the embedded models (see :mod:`ponder.models.llama_batch`).

Batching is on unless a model's spec says ``batched_decode: false`` or ``PONDER_BATCHED_DECODE=0``;
at most ``batch_sequences`` (or ``PONDER_BATCH_SEQUENCES``, default 8) sequences decode together.
"""

from __future__ import annotations

import os

from ..errors import ConfigError

#: switches batching off for comparison (``0``); the spec's ``batched_decode`` wins over it
ENV = "PONDER_BATCHED_DECODE"
#: how many sequences decode together at most (the spec's ``batch_sequences`` wins over it)
ENV_SEQUENCES = "PONDER_BATCH_SEQUENCES"
DEFAULT_SEQUENCES = 8
MAX_SEQUENCES = 64


def resolve_batched(value: bool | None) -> bool:
    """``value``, else ``$PONDER_BATCHED_DECODE`` (``0``/``off``/``false`` turn it off), else on."""
    if value is not None:
        return bool(value)
    raw = os.environ.get(ENV, "").strip().lower()
    if raw in ("", "1", "on", "true", "yes"):
        return True
    if raw in ("0", "off", "false", "no"):
        return False
    raise ConfigError(f"{ENV} must be 0 or 1, not {raw!r}")


def resolve_sequences(value: int | None) -> int:
    """``value``, else ``$PONDER_BATCH_SEQUENCES``, else :data:`DEFAULT_SEQUENCES` (1..:data:`MAX_SEQUENCES`)."""
    source = "batch_sequences"
    if value is None:
        raw = os.environ.get(ENV_SEQUENCES, "").strip()
        if not raw:
            return DEFAULT_SEQUENCES
        source = ENV_SEQUENCES
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{ENV_SEQUENCES} must be a whole number, not {raw!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SEQUENCES:
        raise ConfigError(f"{source} must be a whole number from 1 to {MAX_SEQUENCES}, not {value!r}")
    return value
