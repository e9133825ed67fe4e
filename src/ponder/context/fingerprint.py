"""A context's fingerprint: enough to tell, when a run is resumed, that its files changed since it started.

For each file (a context is a file or every text file under a folder): its path,
size and modification time, and a hash of its first and last 64 KiB (the parts
every plan reads first). Computing it costs two small reads per file, however
large the files are.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from stat import S_ISREG
from typing import Any

from ..errors import ConfigError
from .reader import file_kind

_EDGE = 64 * 1024


def fingerprint(path: str | Path) -> dict[str, Any]:
    """The fingerprint of the file or folder at ``path`` (``{"files": N, "bytes": N, "digest": HEX}``)."""
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    digest = hashlib.sha256()
    total = 0
    for file in files:
        try:
            # never block on a FIFO or a device: opened without waiting, read only when it is a regular file
            fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as handle:
                stat = os.fstat(handle.fileno())
                if not S_ISREG(stat.st_mode):
                    if not root.is_dir():
                        raise ConfigError(f"cannot read the context file {root}: {file_kind(stat.st_mode)}")
                    digest.update(f"{file}\0not a regular file\0".encode())
                    continue
                head = handle.read(_EDGE)
                handle.seek(max(0, stat.st_size - _EDGE))
                tail = handle.read(_EDGE)
        except OSError:
            digest.update(f"{file}\0unreadable\0".encode())
            continue
        total += stat.st_size
        name = os.path.relpath(file, root) if root.is_dir() else file.name
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        digest.update(hashlib.sha256(head + tail).digest())
    return {"files": len(files), "bytes": total, "digest": digest.hexdigest()}


def changes(before: dict[str, Any], now: dict[str, Any]) -> str | None:
    """What changed between two fingerprints, in a few words, or None."""
    if before.get("digest") == now.get("digest"):
        return None
    parts = []
    if before.get("files") != now.get("files"):
        parts.append(f"{before.get('files')} files then, {now.get('files')} now")
    if before.get("bytes") != now.get("bytes"):
        parts.append(f"{before.get('bytes'):,} bytes then, {now.get('bytes'):,} now")
    return "; ".join(parts) or "its contents or modification times differ"
