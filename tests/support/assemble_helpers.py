"""Helpers shared by tests/unit/test_assemble.py and tests/integration/test_assemble_integration.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ponder.models.assemble import Expected


def make_parts(folder: Path, sizes: list[int], seed: int = 1) -> tuple[list[Path], bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    data = hashlib.shake_256(str(seed).encode()).digest(sum(sizes))
    paths, start = [], 0
    for n, size in enumerate(sizes, 1):
        path = folder / f"part{n:02d}.bin"
        path.write_bytes(data[start : start + size])
        paths.append(path)
        start += size
    return paths, data


def expected_of(data: bytes) -> Expected:
    return Expected(len(data), hashlib.sha256(data).hexdigest())
