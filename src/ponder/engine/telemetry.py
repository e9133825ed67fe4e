"""OpenTelemetry spans for runs, model calls and tool calls (optional).

:class:`OtelSink` is an engine event sink that turns a run's events into spans
with the GenAI semantic-convention attributes:

* a run (and each child run, nested under its parent) is an ``invoke_agent``
  span named after the strategy;
* a model call is a ``chat`` span with ``gen_ai.request.*`` (model,
  temperature, max_tokens, seed, top_p, stop sequences), ``gen_ai.usage.*``
  token counts and ``gen_ai.response.finish_reasons``;
* a tool call is an ``execute_tool`` span (``gen_ai.tool.name``), with an error
  status when the tool failed.

Call and tool spans get their real start and end times (the events carry the
duration). Enable it for the CLI with ``PONDER_OTEL=1``: spans go to an OTLP
endpoint when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and the OTLP exporter is
installed, otherwise to stderr as JSON. Needs ``pip install 'ponder-rlm[otel]'``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..events import Event, ModelCalled, RunFinished, RunStarted, ToolCalled

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

#: environment variable that turns spans on in the CLI
OTEL_ENV = "PONDER_OTEL"
PROVIDER = "ponder"


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


class OtelSink:
    """Records a run's events as OpenTelemetry spans (see the module docs)."""

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        try:
            from opentelemetry import trace
        except ImportError:
            raise ConfigError("OpenTelemetry is not installed: pip install 'ponder-rlm[otel]'") from None
        self._trace = trace
        self._tracer: Tracer = trace.get_tracer("ponder", tracer_provider=tracer_provider)
        self._runs: dict[str, Span] = {}
        self._models: dict[str, str] = {}

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self._start_run(event)
        elif isinstance(event, ModelCalled):
            self._model_call(event)
        elif isinstance(event, ToolCalled):
            self._tool_call(event)
        elif isinstance(event, RunFinished):
            self._finish_run(event)

    def _context(self, run_id: str) -> Any:
        parent = self._runs.get(run_id)
        return self._trace.set_span_in_context(parent) if parent is not None else None

    def _start_run(self, event: RunStarted) -> None:
        self._models[event.run_id] = event.model
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.agent.name": event.strategy,
            "gen_ai.agent.id": event.run_id,
            "gen_ai.request.model": event.model,
            "ponder.run.depth": event.depth,
        }
        for key, value in event.budget.items():
            attributes[f"ponder.budget.{key}"] = value
        context = self._context(event.parent_run_id) if event.parent_run_id else None
        self._runs[event.run_id] = self._tracer.start_span(
            f"invoke_agent {event.strategy}", context=context, attributes=attributes, start_time=_ns(event.time)
        )

    def _model_call(self, event: ModelCalled) -> None:
        model = event.model or self._models.get(event.run_id, "")
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": event.usage.prompt_tokens,
            "gen_ai.usage.output_tokens": event.usage.completion_tokens,
            "gen_ai.response.finish_reasons": [event.finish_reason],
            "gen_ai.conversation.id": event.run_id,
            "ponder.step": event.step,
            "ponder.step.kind": event.kind,
            "ponder.usage.input_tokens_evaluated": event.usage.prompt_tokens_evaluated,
        }
        options = event.options
        if options is not None:
            attributes["gen_ai.request.temperature"] = options.temperature
            attributes["gen_ai.request.max_tokens"] = options.max_tokens
            attributes["gen_ai.request.top_p"] = options.top_p
            if options.seed is not None:
                attributes["gen_ai.request.seed"] = options.seed
            if options.stop:
                attributes["gen_ai.request.stop_sequences"] = list(options.stop)
        span = self._tracer.start_span(
            f"chat {model}",
            context=self._context(event.run_id),
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
            start_time=_ns(event.time - event.seconds),
        )
        span.end(end_time=_ns(event.time))

    def _tool_call(self, event: ToolCalled) -> None:
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.tool.name": event.tool,
            "gen_ai.tool.type": "function",
            "ponder.step": event.step,
        }
        span = self._tracer.start_span(
            f"execute_tool {event.tool}",
            context=self._context(event.run_id),
            attributes=attributes,
            start_time=_ns(event.time - event.seconds),
        )
        if not event.ok:
            span.set_attribute("error.type", "tool_error")
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, event.error or "tool failed"))
        span.end(end_time=_ns(event.time))

    def _finish_run(self, event: RunFinished) -> None:
        span = self._runs.pop(event.run_id, None)
        if span is None:
            return
        span.set_attribute("gen_ai.usage.input_tokens", event.usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", event.usage.completion_tokens)
        span.set_attribute("ponder.model_calls", event.usage.model_calls)
        span.set_attribute("ponder.stop_reason", event.stop_reason)
        if event.stop_reason == "error":
            span.set_attribute("error.type", "run_error")
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, event.error or event.detail))
        span.end(end_time=_ns(event.time))


def enabled() -> bool:
    """Whether ``PONDER_OTEL`` asks for spans (``1``, ``true``, ``yes``, ``on``)."""
    return os.environ.get(OTEL_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def sinks_from_env() -> list[OtelSink]:
    """``[OtelSink()]`` wired to an exporter when ``PONDER_OTEL`` is set, else ``[]`` (used by the CLI)."""
    if not enabled():
        return []
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider as SdkProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
    except ImportError:
        raise ConfigError(
            f"{OTEL_ENV} is set but OpenTelemetry is not installed: pip install 'ponder-rlm[otel]'"
        ) from None
    provider = trace.get_tracer_provider()
    if not isinstance(provider, SdkProvider):  # nobody configured one: set up ours
        provider = SdkProvider()
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                    OTLPSpanExporter,
                )
            except ImportError:
                raise ConfigError(
                    "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter is not installed:"
                    " pip install opentelemetry-exporter-otlp-proto-http"
                ) from None
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            import sys

            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        trace.set_tracer_provider(provider)
        import atexit

        atexit.register(provider.shutdown)
    return [OtelSink(provider)]
