"""Helpers shared by tests/unit/test_prices.py and tests/integration/test_prices_integration.py."""

from __future__ import annotations

from ponder.cli import main


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err
