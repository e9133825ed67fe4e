"""``ponder serve``: every strategy as an OpenAI-compatible model (see :mod:`ponder.serve.app`)."""

from .app import Server, create_app
from .config import ServeConfig
from .translate import ApiError, chat_request

__all__ = ["ApiError", "ServeConfig", "Server", "chat_request", "create_app"]
