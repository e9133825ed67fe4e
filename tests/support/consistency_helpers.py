"""Helpers shared by tests/unit/test_consistency.py and tests/integration/test_consistency_integration.py."""

from __future__ import annotations

from layout import BENCHMARKS

# -- the benchmark scripts still run (shape only, never a timing) -------------------------


def _bench(name):
    import importlib.util
    import sys

    path = BENCHMARKS / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
