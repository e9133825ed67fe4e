"""Keep file access inside one folder.

:class:`Confined` resolves a path the model gave relative to a root folder and
refuses, with a message for the model, anything that would leave it: absolute
paths, ``..`` that climbs out (``foo/../../x``), symlinks (to files or folders)
whose target lies outside, NUL bytes, and non-regular files (devices, FIFOs,
sockets). The check is on the fully resolved path, and the file is then opened
with ``O_NOFOLLOW`` and re-checked with ``fstat`` on the open descriptor, so a
path swapped between the check and the open is not followed blindly.
Binary files (a NUL byte in the first 8 KiB) are refused as well.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import ConfigError
from .base import ToolError

MAX_PATH = 4096
BINARY_SNIFF = 8192


class Confined:
    """A root folder and the rules for reading text files below it."""

    def __init__(self, root: str | os.PathLike[str], max_file_bytes: int = 5_000_000) -> None:
        path = Path(root).expanduser()
        if not path.exists():
            raise ConfigError(f"folder not found: {root}")
        if not path.is_dir():
            raise ConfigError(f"not a folder: {root}")
        self.root = path.resolve()
        self.max_file_bytes = max_file_bytes

    def resolve(self, relative: str) -> Path:
        """The real path of ``relative`` below the root; ToolError if it leaves the root."""
        if "\x00" in relative:
            raise ToolError("path contains a NUL byte")
        if len(relative) > MAX_PATH:
            raise ToolError(f"path too long: {len(relative)} characters (limit {MAX_PATH})")
        text = relative.strip()
        if not text:
            raise ToolError("empty path")
        if os.path.isabs(text) or text.startswith("~"):
            raise ToolError(f"absolute paths are not allowed: {text!r}; give a path relative to the folder")
        real = Path(os.path.realpath(self.root / text))
        if not self.contains(real):
            raise ToolError(f"path leaves the folder: {text!r}")
        return real

    def contains(self, real: Path) -> bool:
        return real == self.root or self.root in real.parents

    def relative(self, real: Path) -> str:
        return real.relative_to(self.root).as_posix()

    def read_text(self, relative: str) -> tuple[Path, str]:
        """``(real path, text)`` of a regular text file below the root; ToolError otherwise."""
        real = self.resolve(relative)
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise ToolError(f"no such file: {relative.strip()!r}") from None
        except IsADirectoryError:
            raise ToolError(f"{relative.strip()!r} is a folder, not a file") from None
        except OSError as exc:
            raise ToolError(f"cannot open {relative.strip()!r}: {exc.strerror}") from None
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise ToolError(f"{relative.strip()!r} is a folder, not a file")
            if not stat.S_ISREG(info.st_mode):
                raise ToolError(f"{relative.strip()!r} is not a regular file")
            if info.st_size > self.max_file_bytes:
                raise ToolError(f"file too large: {info.st_size} bytes (limit {self.max_file_bytes})")
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(BINARY_SNIFF)
                if is_binary(data):
                    raise ToolError(f"{relative.strip()!r} is a binary file; only text files can be read")
                data += handle.read(self.max_file_bytes + 1 - len(data))
        finally:
            os.close(fd)
        return real, data.decode("utf-8", errors="replace")


def is_binary(data: bytes) -> bool:
    return b"\x00" in data[:BINARY_SNIFF]
