"""OpenTelemetry spans with GenAI attributes, checked with the SDK's in-memory exporter."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ponder import Batch, Engine, Generate, Outcome, ScriptedModel, strategies
from ponder.engine.telemetry import OtelSink
from ponder.requests import Child
from ponder.tools import calculator_tool
from ponder.types import user

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="opentelemetry-sdk is in the dev extra")


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = sdk_trace.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


class WithChild:
    name = "with-child"

    def run(self, question: str):
        yield Batch((Generate.of([user(question)], "sample"), Generate.of([user(question + "!")], "sample")))
        child = yield Child(strategies.Single(), "inner " + question)
        return Outcome(child.answer)


def test_runs_calls_and_child_runs_become_nested_spans(spans, echo_model):
    provider, exporter = spans
    result = Engine(echo_model, sinks=[OtelSink(provider)]).run(WithChild(), "hello")
    finished = exporter.get_finished_spans()
    by_op: dict[str, list] = {}
    for span in finished:
        by_op.setdefault(span.attributes["gen_ai.operation.name"], []).append(span)
    assert len(by_op["chat"]) == result.usage.model_calls == 3
    runs = sorted(by_op["invoke_agent"], key=lambda s: s.attributes["ponder.run.depth"])
    root, child = runs
    assert root.name == "invoke_agent with-child" and root.parent is None
    assert child.parent.span_id == root.context.span_id  # the child run nests under its parent run
    assert root.attributes["gen_ai.agent.id"] == result.run_id
    assert root.attributes["ponder.stop_reason"] == "answered"
    assert root.attributes["gen_ai.usage.input_tokens"] == result.usage.prompt_tokens
    samples = [s for s in by_op["chat"] if s.attributes["ponder.step.kind"] == "sample"]
    assert {s.parent.span_id for s in samples} == {root.context.span_id}
    [inner] = [s for s in by_op["chat"] if s.parent.span_id == child.context.span_id]
    call = result.steps[-1]
    assert inner.name == "chat scripted"
    assert inner.attributes["gen_ai.request.model"] == "scripted"
    assert inner.attributes["gen_ai.usage.input_tokens"] == call.usage.prompt_tokens
    assert inner.attributes["gen_ai.usage.output_tokens"] == call.usage.completion_tokens
    assert inner.attributes["gen_ai.request.temperature"] == 0.0
    assert inner.attributes["gen_ai.request.max_tokens"] == 512
    assert tuple(inner.attributes["gen_ai.response.finish_reasons"]) == ("stop",)
    assert inner.start_time <= inner.end_time
    assert root.start_time <= inner.start_time and inner.end_time <= root.end_time


def test_tool_calls_are_execute_tool_spans_and_failures_are_errors(spans):
    provider, exporter = spans
    script = [
        "Thought: divide\nAction: calculator\nAction Input: 1/0",
        "Thought: add\nAction: calculator\nAction Input: 2+2",
        "Thought: done\nFinal Answer: 4",
    ]
    react = strategies.React(tools=(calculator_tool(),), ground=False)  # 1/0 uses numbers the question lacks
    Engine(ScriptedModel(script), sinks=[OtelSink(provider)]).run(react, "2+2?")
    tools = [s for s in exporter.get_finished_spans() if s.attributes["gen_ai.operation.name"] == "execute_tool"]
    assert [s.name for s in tools] == ["execute_tool calculator", "execute_tool calculator"]
    assert tools[0].attributes["gen_ai.tool.name"] == "calculator"
    assert tools[0].status.status_code.name == "ERROR"
    assert tools[1].status.status_code.name == "UNSET"
