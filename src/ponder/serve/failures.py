"""A run that raised, as the error a client of ``ponder serve`` gets (in the OpenAI shape)."""

from __future__ import annotations

from ..errors import (
    ModelCallError,
    ModelNotFoundError,
    ModelUnavailableError,
    PonderError,
    PromptTooLong,
    RunInterruptedError,
)
from .job import Progress
from .translate import ApiError


def run_error(item: Progress) -> ApiError:
    """A run that raised, as the error a client gets."""
    error = item.error
    if isinstance(error, PromptTooLong):
        return ApiError(400, str(error), "messages", "context_length_exceeded")
    if isinstance(error, RunInterruptedError):
        return ApiError(503, str(error), type="server_error", code="server_shutting_down")
    if isinstance(error, ModelNotFoundError):
        return ApiError(404, str(error), "model", "model_not_found")
    if isinstance(error, ModelUnavailableError | ModelCallError):
        return ApiError(502, f"the upstream model failed: {error}", type="upstream_error", code="upstream_error")
    if isinstance(error, PonderError):
        return ApiError(400, str(error))
    return ApiError(500, f"internal error: {type(error).__name__}: {error}", type="server_error")
