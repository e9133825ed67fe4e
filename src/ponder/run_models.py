"""The models of a run: loaded once per spec role and shared through a bounded cache.

:func:`load_models` gives every role a spec names its model, each distinct backend
spec loaded once; a :class:`ModelCache` keeps them across runs (``ponder serve``,
``ponder eval``), at most ``size`` at a time. :func:`ponder.open_run` loads a run's
models here, checks them against a dollar limit (:func:`check_priced`) and hands
them back when the run ends (:func:`release_models`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import suppress
from dataclasses import replace

from .errors import ConfigError
from .models import load_model
from .models.base import Model
from .requests import MODEL_ROLES
from .spec import RunSpec
from .spec.parts import ModelSpec


class ModelCache:
    """Models loaded once and kept across runs (``ponder serve``): each distinct backend spec is loaded
    the first time a run asks for it, by one thread at a time.

    At most ``size`` models stay loaded (None: no bound): past it the least recently used one that no run
    holds is dropped (and closed, where the backend has ``close``). A run holds its models from
    :meth:`get` until :meth:`release`; ``pin``: never dropped (a server's own model)."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size
        self._models: OrderedDict[ModelSpec, Model] = OrderedDict()
        self._holds: dict[ModelSpec, int] = {}
        self._pinned: set[ModelSpec] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._models)

    def get(self, wanted: ModelSpec, *, pin: bool = False) -> Model:
        key = replace(wanted, writes_code=None)
        with self._lock:
            if key not in self._models:
                self._models[key] = load_model(wanted.model, base_url=wanted.base_url, **wanted.load_options())
            self._models.move_to_end(key)
            self._holds[key] = self._holds.get(key, 0) + 1
            if pin:
                self._pinned.add(key)
            model = self._models[key]
            dropped = self._evict()
        for old in dropped:
            _close_model(old)
        return model

    def release(self, wanted: ModelSpec) -> None:
        """A run is done with the model of ``wanted`` (it may be dropped now, if the cache is over its size)."""
        key = replace(wanted, writes_code=None)
        with self._lock:
            if self._holds.get(key, 0) > 0:
                self._holds[key] -= 1
            dropped = self._evict()
        for old in dropped:
            _close_model(old)

    def _evict(self) -> list[Model]:
        dropped: list[Model] = []
        if self.size is None:
            return dropped
        for key in list(self._models):
            if len(self._models) <= self.size:
                break
            if self._holds.get(key, 0) == 0 and key not in self._pinned:
                dropped.append(self._models.pop(key))
                self._holds.pop(key, None)
        return dropped


def _close_model(model: Model) -> None:
    close = getattr(model, "close", None)
    if callable(close):
        with suppress(Exception):  # a backend that cannot close cleanly is dropped all the same
            close()


def load_models(spec: RunSpec, cache: ModelCache | None = None) -> dict[str, Model]:
    """The model of every role the spec names, each distinct model loaded once (roles not named use the root's);
    ``cache`` keeps them across runs (held until :meth:`ModelCache.release`: :func:`ponder.open_run` releases them)."""
    cache = cache if cache is not None else ModelCache()  # an empty cache is falsy (it has a length)
    out: dict[str, Model] = {}
    try:
        for role in (*MODEL_ROLES, *sorted(r for r in spec.models if r not in MODEL_ROLES)):  # then the depth:N models
            if role not in spec.models:
                continue
            wanted = spec.models[role]
            out[role] = cache.get(wanted)
    except BaseException:
        for role in out:
            cache.release(spec.models[role])
        raise
    return out


def check_priced(spec: RunSpec, roles: dict[str, Model]) -> None:
    """A dollar limit needs a cost for every call: each model has a price, or a server that may report
    what a call cost (``reports_cost``; one that then reports none stops the run with a clear line)."""
    if spec.budget.max_usd is None:
        return
    for model in dict.fromkeys(roles.values()):
        if (spec.prices is None or spec.prices.get(model.name) is None) and not getattr(model, "reports_cost", False):
            raise ConfigError(
                f"--max-usd needs a price for {model.name}: give --prices FILE (dollars per million tokens;"
                " see ponder.engine.prices)"
            )


def release_models(spec: RunSpec, cache: ModelCache) -> None:
    """Give back to ``cache`` the model of every role ``spec`` names (what :func:`load_models` held)."""
    for role in spec.models:
        cache.release(spec.models[role])
