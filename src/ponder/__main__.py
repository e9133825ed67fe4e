"""``python -m ponder`` runs the CLI."""

from .cli import run

run()
