"""The ``--store PATH`` option shared by every command that reads or writes runs."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

from ..store import RunStore, StoreError, default_store_path
from ..store.db import is_url
from .flag_option import run_flag_option

F = TypeVar("F", bound=Callable[..., Any])


def store_options(*, writes: bool = False) -> Callable[[F], F]:
    """Add ``--store PATH`` (and, for commands that write runs, ``--no-store``), as their run flags declare."""

    def decorate(func: F) -> F:
        if writes:
            func = run_flag_option("no_store")(func)
        return run_flag_option("store_path")(func)

    return decorate


def open_store(path: str | None, stack: ExitStack, *, readonly: bool = False, existing: bool = False) -> RunStore:
    """The store at ``path`` (the default one for None), closed with ``stack``. ``readonly``: for commands that
    only read (nothing is created at a mistyped path; a store on a read-only mount can be read). ``existing``:
    for commands that change runs already stored (``runs outcome``, ``resume``): a missing file is an error."""
    default = default_store_path()
    location = default if path is None else path
    missing = isinstance(location, Path | str) and not is_url(str(location)) and not Path(location).exists()
    if readonly and path is None and missing:
        store = RunStore(":memory:")  # nothing recorded yet at the default place: an empty store, no file made
        store.path = default
    elif existing and missing:
        raise StoreError(f"no run store at {location}")
    else:
        store = RunStore(path, readonly=readonly)
    stack.callback(store.close)
    return store
