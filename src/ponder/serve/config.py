"""``ponder serve``'s settings, as one typed, validated object."""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.prices import PriceTable
from ..errors import ConfigError
from ..models import DEFAULT_MODEL
from ..spec import BudgetSpec, ModelSpec, RunSpec
from ..spec.client import OperatorPolicy


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """What the server runs and how much it takes on.

    ``model``/``base_url``: the backend a request's strategy runs on unless it names
    another (``STRATEGY/MODEL``); ``tools``: the ``--tools`` items react gets;
    ``store``: the run store (None: the default location); ``api_key``: required
    as ``Authorization: Bearer KEY`` when set; at most ``max_concurrent`` runs
    execute and ``max_queue`` wait, the rest get 429; ``max_seconds``: each run's
    time limit (a request may ask for less); ``max_body``: the largest request
    body in bytes (413 above); ``grace``: seconds SIGTERM lets running requests
    finish before the rest are interrupted (stored unfinished, resumable).

    What a client may set is :func:`~ponder.spec.client.client_spec`'s: ``allow_models``
    (backend specs besides ``model``; ``openai:*`` any of the upstream's), ``allow_verifiers``
    (operator-only verifiers opened: ``python``, ``tests:FILE``, ``grounded:FILE``) and ``allow_code``
    (recursive code mode) open more; ``max_models`` bounds the models kept loaded (least recently used
    evicted); ``body_seconds``: the longest a client may take to send its body (408 after).
    """

    model: str = DEFAULT_MODEL
    base_url: str | None = None
    tools: tuple[str, ...] = ()
    store: str | None = None
    record: bool = True
    api_key: str | None = None
    max_concurrent: int = 4
    max_queue: int = 16
    max_seconds: float | None = 300.0
    max_body: int = 4 * 1024 * 1024
    grace: float = 30.0
    retry_after: int = 1
    #: the models' prices (``--prices FILE``): each run's cost in its usage, and ``max_usd`` a request may set
    prices: PriceTable | None = None
    allow_models: tuple[str, ...] = ()
    allow_verifiers: tuple[str, ...] = ()
    allow_code: bool = False
    max_models: int = 4
    body_seconds: float = 30.0
    #: the most model calls one request's run may make
    max_calls: int = 512

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise ConfigError(f"--max-concurrent must be >= 1, got {self.max_concurrent}")
        if self.max_queue < 0:
            raise ConfigError(f"--max-queue must be >= 0, got {self.max_queue}")
        if self.max_seconds is not None and self.max_seconds <= 0:
            raise ConfigError(f"--max-seconds must be > 0, got {self.max_seconds}")
        if self.max_body < 1024:
            raise ConfigError(f"the body limit must be at least 1024 bytes, got {self.max_body}")
        if self.api_key is not None and not self.api_key.strip():
            raise ConfigError("the API key is empty")
        if self.grace < 0:
            raise ConfigError(f"--grace must be >= 0, got {self.grace}")
        if not self.body_seconds > 0:
            raise ConfigError(f"--body-seconds must be > 0, got {self.body_seconds}")
        if self.max_calls < 1:
            raise ConfigError(f"--max-calls must be >= 1, got {self.max_calls}")
        if self.max_models < 1:
            raise ConfigError(f"--max-models must be >= 1, got {self.max_models}")
        self.policy()  # a bad --allow-verifier fails at start

    def policy(self) -> OperatorPolicy:
        """What a client may set (see :mod:`ponder.spec.client`), made once per config."""
        made = _POLICIES.get(id(self))
        if made is None or made[0] is not self:
            made = _POLICIES[id(self)] = (self, _policy(self))
        return made[1]


#: policies by config (the config is kept with its policy, so its id is not reused while it is here)
_POLICIES: dict[int, tuple[ServeConfig, OperatorPolicy]] = {}


def _policy(config: ServeConfig) -> OperatorPolicy:
    base = RunSpec(
        models={"root": ModelSpec(config.model, config.base_url)},
        store=config.store,
        record=config.record,
        budget=BudgetSpec(max_seconds=config.max_seconds),
        prices=config.prices,
    )
    return OperatorPolicy(
        base=base,
        tools=config.tools,
        models=config.allow_models,
        max_model_calls=config.max_calls,
        verifiers=config.allow_verifiers,
        allow_code=config.allow_code,
    )
