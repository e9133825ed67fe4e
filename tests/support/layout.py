"""Where things are, for tests wherever they sit under tests/ (unit, integration or support)."""

from __future__ import annotations

from pathlib import Path

#: the repository's root (README.md, src/, benchmarks/, docs/)
ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
BENCHMARKS = ROOT / "benchmarks"
#: the helper modules of the tests (this directory), e.g. for a subprocess's PYTHONPATH
SUPPORT = Path(__file__).resolve().parent
#: the shared data (beside the clone, as in CI): game24/, gsm8k/, haystack/
SHARED_DATA = ROOT.parent / "shared" / "data"
