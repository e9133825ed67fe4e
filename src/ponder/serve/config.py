"""``ponder serve``'s settings, as one typed, validated object."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from ..models import DEFAULT_MODEL
from ..prices import PriceTable


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
