"""Keep file access inside one folder, race-free.

:class:`Confined` opens a path the model gave relative to a root folder and
refuses, with a message for the model, anything that would leave it: absolute
paths, ``..`` that climbs out (``foo/../../x``), symlinks (to files or folders)
whose target lies outside, NUL bytes, non-regular files (devices, FIFOs,
sockets) and binary files (a NUL byte in the first 8 KiB).

How (the order matters, see issue 12): the root folder is opened once, and every
path is walked from that descriptor one component at a time, each opened with
``O_NOFOLLOW`` relative to the descriptor of the folder before it. The kernel is
never asked to follow a symlink or to resolve a multi-component path; a symlink
found on the way is read (``readlink``) and its target walked the same way, by
us, from the folder that holds it (an absolute target only when it names a place
below the root). ``..`` steps back along the folders actually opened, and never
above the root. So swapping a folder for a symlink while a read is under way
cannot send the read outside: whatever a component is at the moment it is
opened is what gets checked, and the final descriptor is checked again with
``fstat`` (a regular file, its size, its link count). There is no window between
a check and an open any more.

Hard links: a hard link is a second name for the same file and cannot be told
apart from the first, so a hard link placed in the folder could name a file that
also lives outside it. Regular files with more than one link are therefore
refused by default (``allow_hard_links=True`` reads them: say so when whoever can
write the folder may also read every file it could link to).
"""

from __future__ import annotations

import errno
import os
import stat
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConfigError
from .base import ToolError

MAX_PATH = 4096
MAX_LINKS = 40  # symlinks followed in one path, like the kernel's limit
BINARY_SNIFF = 8192
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | os.O_NOFOLLOW | _CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | _CLOEXEC
_RETRIES = 8  # a component that changes kind between its lstat and its open is looked at again


class _Leaves(Exception):  # noqa: N818 - internal signal, turned into the model's message
    """The path leaves the folder."""


class Confined:
    """A root folder and the rules for reading text files below it."""

    def __init__(
        self, root: str | os.PathLike[str], max_file_bytes: int = 5_000_000, *, allow_hard_links: bool = False
    ) -> None:
        path = Path(root).expanduser()
        if not path.exists():
            raise ConfigError(f"folder not found: {root}")
        if not path.is_dir():
            raise ConfigError(f"not a folder: {root}")
        self.root = path.resolve()
        self.max_file_bytes = max_file_bytes
        self.allow_hard_links = allow_hard_links
        try:
            self._root_fd = os.open(self.root, _DIR_FLAGS)
        except OSError as exc:
            raise ConfigError(f"cannot open folder {root}: {exc.strerror}") from None
        self._close_root = weakref.finalize(self, os.close, self._root_fd)

    def close(self) -> None:
        """Release the root folder's descriptor (reads fail afterwards)."""
        self._close_root()

    def contains(self, real: Path) -> bool:
        return real == self.root or self.root in real.parents

    def relative(self, real: Path) -> str:
        return real.relative_to(self.root).as_posix()

    def read_text(self, relative: str) -> tuple[Path, str]:
        """``(real path, text)`` of a regular text file below the root; ToolError otherwise."""
        shown = relative.strip() if isinstance(relative, str) else str(relative)
        with self.open(relative) as (real, fd):
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise ToolError(f"{shown!r} is a folder, not a file")
            if not stat.S_ISREG(info.st_mode):
                raise ToolError(f"{shown!r} is not a regular file")
            if info.st_nlink > 1 and not self.allow_hard_links:
                raise ToolError(
                    f"{shown!r} has {info.st_nlink} hard links; such files are not read "
                    "(another name of the same file may lie outside the folder)"
                )
            if info.st_size > self.max_file_bytes:
                raise ToolError(f"file too large: {info.st_size} bytes (limit {self.max_file_bytes})")
            with os.fdopen(fd, "rb", closefd=False) as handle:
                data = handle.read(BINARY_SNIFF)
                if is_binary(data):
                    raise ToolError(f"{shown!r} is a binary file; only text files can be read")
                data += handle.read(self.max_file_bytes + 1 - len(data))
        return real, data.decode("utf-8", errors="replace")

    @contextmanager
    def open(self, relative: str) -> Iterator[tuple[Path, int]]:
        """Open ``relative`` below the root (see the module doc); yields ``(real path, descriptor)``.

        The descriptor is read-only, non-blocking and closed on leaving the block. A folder at the
        end is opened too (the caller's ``fstat`` tells). ToolError for anything that leaves the root.
        """
        text = self._check_text(relative)
        try:
            names, fd = self._walk(text)
        except _Leaves:
            raise ToolError(f"path leaves the folder: {text!r}") from None
        try:
            yield self.root.joinpath(*names), fd
        finally:
            os.close(fd)

    def _check_text(self, relative: str) -> str:
        if "\x00" in relative:
            raise ToolError("path contains a NUL byte")
        if len(relative) > MAX_PATH:
            raise ToolError(f"path too long: {len(relative)} characters (limit {MAX_PATH})")
        text = relative.strip()
        if not text:
            raise ToolError("empty path")
        if os.path.isabs(text) or text.startswith("~"):
            raise ToolError(f"absolute paths are not allowed: {text!r}; give a path relative to the folder")
        return text

    def _walk(self, text: str) -> tuple[list[str], int]:
        """The names below the root and an open descriptor of what ``text`` leads to."""
        parts = [p for p in text.split("/") if p not in ("", ".")]
        parts.reverse()  # a stack: the next component is at the end
        folders: list[tuple[str, int]] = []  # the folders opened below the root, in order
        links = 0
        try:
            while True:
                where = folders[-1][1] if folders else self._root_fd
                if not parts:  # the path named a folder (or the root itself)
                    return [name for name, _fd in folders], os.dup(where)
                part = parts.pop()
                if part == "..":
                    if not folders:
                        raise _Leaves
                    os.close(folders.pop()[1])
                    continue
                kind, fd = self._open_one(where, part, last=not parts, shown=text)
                if kind == "link":
                    links += 1
                    if links > MAX_LINKS:
                        raise ToolError(f"too many symlinks in {text!r}")
                    target = os.readlink(part, dir_fd=where)
                    if os.path.isabs(target):  # only a target spelled from the root itself stays inside
                        inside = self._below_root(target)
                        for _name, held in folders:
                            os.close(held)
                        folders.clear()
                        target = inside
                    parts.extend(reversed([p for p in target.split("/") if p not in ("", ".")]))
                    continue
                if kind == "dir" and parts:
                    folders.append((part, fd))
                    continue
                return [*(name for name, _fd in folders), part], fd
        except FileNotFoundError:
            raise ToolError(f"no such file: {text!r}") from None
        except OSError as exc:
            if exc.errno in (errno.ENOTDIR, errno.ENOENT):
                raise ToolError(f"no such file: {text!r}") from None
            raise ToolError(f"cannot open {text!r}: {exc.strerror}") from None
        finally:
            for _name, held in folders:
                os.close(held)

    def _open_one(self, where: int, part: str, *, last: bool, shown: str) -> tuple[str, int]:
        """``("link", -1)`` for a symlink, else ``("dir" | "file", fd)`` of ``part`` in folder ``where``."""
        for _ in range(_RETRIES):
            mode = os.stat(part, dir_fd=where, follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                return "link", -1
            is_dir = stat.S_ISDIR(mode)
            if not is_dir and not last:
                raise FileNotFoundError(part)  # a file in the middle of a path
            if not is_dir and not stat.S_ISREG(mode):  # devices, FIFOs, sockets: never opened
                raise ToolError(f"{shown!r} is not a regular file")
            try:
                return ("dir" if is_dir else "file"), os.open(part, _DIR_FLAGS if is_dir else _FILE_FLAGS, dir_fd=where)
            except OSError as exc:  # it changed kind since the stat (a swap under way): look again
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EISDIR):
                    raise
        raise ToolError(f"{shown!r} keeps changing; try again")

    def _below_root(self, target: str) -> str:
        """An absolute symlink target as a path relative to the root; _Leaves if it is not below it."""
        path = Path(target)
        if path == self.root:
            return "."
        if self.root not in path.parents:
            raise _Leaves
        return path.relative_to(self.root).as_posix()


def is_binary(data: bytes) -> bool:
    return b"\x00" in data[:BINARY_SNIFF]
