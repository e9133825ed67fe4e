"""Helpers shared by tests/unit/test_benchmarks_smoke.py and tests/integration/test_benchmarks_smoke_integration.py."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from layout import BENCHMARKS


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


NUMBER = r"-?\d+\.\d\d"
