"""Where the run store lives by default: ``$PONDER_STORE``, else the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

from .db import is_url

#: environment variable naming the store file (tests and scripts use it to stay out of the home directory)
STORE_ENV = "PONDER_STORE"


def default_store_path() -> Path | str:
    """``$PONDER_STORE`` (a file, or a ``postgresql://`` URL), else ``$XDG_DATA_HOME/ponder/runs.db``, else
    ``~/.local/share/ponder/runs.db``."""
    explicit = os.environ.get(STORE_ENV)
    if explicit:
        return explicit if is_url(explicit) else Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "ponder" / "runs.db"
