"""Generated datasets with exact answers, for evaluations and benchmarks (see :mod:`.arithmetic`, and
:mod:`.templated` for the first, templated word problems)."""

from __future__ import annotations

from .arithmetic import HELDOUT, TUNE, direct, word_problems

__all__ = ["HELDOUT", "TUNE", "direct", "word_problems"]
