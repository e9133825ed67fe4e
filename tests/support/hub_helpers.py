"""Helpers shared by tests/unit/test_hub.py and tests/integration/test_hub_integration.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ponder.models import smollm2_path

REPO = "ponder-test/SmolLM2-135M-Instruct-GGUF"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
FILES = ("SmolLM2-135M-Instruct-Q4_1.gguf", "SmolLM2-135M-Instruct-Q8_0.gguf", "README.md")


def fill_cache(cache: Path) -> Path:
    """A Hub cache holding REPO at COMMIT (main): two GGUFs (the real SmolLM2 file as both blobs) and a README."""
    repo = cache / f"models--{REPO.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for n, name in enumerate(FILES):
        blob = repo / "blobs" / f"{n:064x}"
        if name.endswith(".gguf"):
            try:
                os.link(smollm2_path(), blob)
            except OSError:
                shutil.copyfile(smollm2_path(), blob)
        else:
            blob.write_text("# a model card\n")
        (snapshot / name).symlink_to(Path("../../blobs") / blob.name)
    return snapshot
