"""``react``: reason and act with tools (Yao et al., ReAct), bounded and loop-safe.

Two protocols:

* **text** (any model, written for small ones): the model writes ``Action`` /
  ``Action Input`` lines or a ``Final Answer`` line, each after a ``Thought``
  line with ``think`` (see
  :mod:`ponder.strategies.react_format`); few-shot examples for the tools in
  use are included, and a GBNF grammar constrains the output on backends that
  support it (the embedded one), so a 135M model stays in the format.
* **native** (backends with ``supports_tools``): the tools are sent as
  function schemas with ``tool_choice: required``; the model answers by
  calling ``final_answer``. A server that ignores the tools (``fallback_after``
  replies in a row without a tool call) is left for the text protocol within
  the run; a ``fallback`` step records why.

``--tool-protocol auto`` picks native where the backend says its tool calls
are trusted (``preferred_tool_protocol``: vLLM, OpenAI, Ollama models with
tools), else the text protocol (the embedded model; llama.cpp servers, whose
grammar keeps a small model in the format).

A prompt that outgrows the model's window (:class:`~ponder.errors.PromptTooLong`)
costs the newest observation: it is replaced by a note saying so, which the
model sees; a prompt that cannot shrink further ends the run with ``error``.

Every tool call goes through the engine (``CallTool``), so it is budgeted and
traced. Malformed steps, unknown tools and failing tools go back to the model
as observations; after ``max_format_errors`` malformed steps the run ends with
stop reason ``error``. The same action repeated (or steps cycling) ends it with
``loop``. The answer is only ever the explicit final answer, never guessed.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .. import prompts, steps
from ..access import CLIENT
from ..errors import ConfigError, PromptTooLong, StopRun
from ..guards import payload
from ..requests import CallTool, Generate, Outcome, Record, Request, StrategyGen
from ..stop import LoopDetector
from ..tools import Tool, ToolResult, tool
from ..tools.grounding import Material, Rule, grounded_text
from ..types import Completion, Message, system, user
from . import react_format as fmt
from .entry import BuildContext, Option, StrategyEntry
from .memory import Memory


@tool(name="final_answer")
def _final_answer(answer: str) -> str:
    """Give the final answer to the question and stop.

    Args:
        answer: the answer
    """
    return answer


@dataclass(frozen=True)
class React:
    """Reason + act with ``tools``. See the module docs for the protocols."""

    tools: Sequence[Tool] = field(default_factory=tuple)
    native: bool = False
    constrained: bool = True
    #: tools with a grounding (the calculator) take only inputs made of the run's material
    ground: bool = True
    max_format_errors: int = 3
    #: native replies in a row without a tool call after which the text protocol takes over (0: never)
    fallback_after: int = 2
    loop_threshold: int = 3
    max_observation: int = 2000
    examples_per_tool: int = 3
    #: keeps the text protocol's prompt within a token budget (None: the prompt grows)
    memory: Memory | None = None
    name: str = "react"
    #: text protocol: a Thought line before each step, as in the ReAct paper (see :mod:`.react_format`)
    think: bool = False

    def __post_init__(self) -> None:
        if not self.tools:
            raise ConfigError("react needs at least one tool (e.g. --tools calculator)")
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise ConfigError(f"react: two tools share a name in {names}")
        if self.max_format_errors < 1:
            raise ConfigError("max_format_errors must be >= 1")
        if self.fallback_after < 0:
            raise ConfigError("fallback_after must be >= 0")

    def run(self, question: str) -> StrategyGen:
        loops = LoopDetector(self.loop_threshold)
        try:
            if self.native:
                return (yield from self._native(question, loops))
            return (yield from self._text(question, loops))
        except StopRun as stop:
            return Outcome(None, stop.reason, stop.detail)

    # -- text protocol ------------------------------------------------------

    def _text(self, question: str, loops: LoopDetector) -> StrategyGen:
        by_name = {t.name: t for t in self.tools}
        listing = "\n".join(
            f"{t.signature()}: {t.description.splitlines()[0] if t.description else ''}" for t in self.tools
        )
        head_prompt = "react/system_think" if self.think else "react/system"
        history: list[Message] = [system(prompts.render(head_prompt, tools=listing))]
        history += fmt.examples(list(by_name), self.examples_per_tool, self.think)
        history.append(user(f"Question: {question}"))
        head = len(history)  # system, examples and the question stay verbatim
        last: Completion | None = None
        sent = 0
        stop = ("Observation:", "\nQuestion:")
        material = Material([question])
        rule: str | None = None
        errors = 0
        while True:
            if self.memory is not None and self.memory.needs(history, last, sent):
                history = yield from self.memory.compact(history, head)
            sent = sum(len(m.content) for m in history)
            if self.constrained and (rule is None or self._grounded):
                rule = self._grammar(material)  # grounded: rebuilt each step, the observations are material too
            try:
                completion = last = yield Generate.of(history, kind=steps.ACTION, stop=stop, grammar=rule)
            except PromptTooLong as long:
                history = yield from _shrink(history, head, long)
                continue
            parsed = fmt.parse(completion.text)
            if isinstance(parsed, Final):
                return Outcome(parsed.answer, "answered", "the model gave its final answer")
            if isinstance(parsed, fmt.Malformed) or parsed.tool not in by_name:
                errors += 1
                reason = parsed.reason if isinstance(parsed, fmt.Malformed) else f"unknown tool {parsed.tool!r}"
                yield Record(steps.FORMAT_ERROR, reason, {"count": errors, "output": completion.text})
                if errors >= self.max_format_errors:
                    return Outcome(None, "error", f"{errors} malformed steps (last: {reason})")
                history.append(Message("assistant", completion.text.strip()))
                history.append(user("Observation: " + prompts.render("react/format_error", names=", ".join(by_name))))
                continue
            chosen = by_name[parsed.tool]
            refused = yield from self._ungrounded(chosen, parsed.input, material)
            if refused is None:
                result: ToolResult = yield CallTool(chosen, parsed.input)
                observation = self._clip(result.observation)
                material.add(observation)
            else:
                observation = refused
            why = loops.add(parsed.tool, parsed.input, observation)
            if why is not None:
                yield Record(steps.LOOP, why)
                return Outcome(None, "loop", why)
            history.append(Message("assistant", fmt.step_text(parsed if self.think else replace(parsed, thought=""))))
            history.append(user(f"Observation: {observation}"))

    # -- native tool calls --------------------------------------------------

    def _native(self, question: str, loops: LoopDetector) -> StrategyGen:
        tools = [*self.tools, _final_answer]
        by_name = {t.name: t for t in tools}
        history: list[Message] = [system(prompts.load("react/native_system")), user(question)]
        material = Material([question])
        errors = 0
        silent = 0  # replies in a row without a tool call
        called = False  # whether the model ever made a tool call
        last: Completion | None = None
        sent = 0
        while True:
            if self.memory is not None and self.memory.needs(history, last, sent):
                history = yield from self.memory.compact(history, 2, native=True)
            sent = sum(len(m.content) for m in history)
            try:
                completion = last = yield Generate.of(history, kind=steps.ACTION, tools=tools, tool_choice="required")
            except PromptTooLong as long:
                history = yield from _shrink(history, 2, long)
                continue
            if not completion.tool_calls:
                errors += 1
                silent += 1
                yield Record(steps.FORMAT_ERROR, "no tool call", {"count": errors, "output": completion.text})
                if not called and self.fallback_after and silent >= self.fallback_after:
                    return (yield from self._fall_back(question, silent))
                if errors >= self.max_format_errors:
                    return Outcome(None, "error", f"{errors} replies without a tool call")
                history.append(Message("assistant", completion.text))
                history.append(user("Call a tool, or call final_answer with your answer."))
                continue
            silent, called = 0, True
            history.append(Message("assistant", completion.text, tool_calls=completion.tool_calls))
            for call in completion.tool_calls:
                if call.name == "final_answer":
                    answer = _answer_of(call.arguments)
                    if answer is not None:
                        return Outcome(answer, "answered", "the model called final_answer")
                chosen = by_name.get(call.name)
                if chosen is None:
                    observation = f"Error: unknown tool {call.name!r}; tools: {', '.join(by_name)}"
                elif (refused := (yield from self._ungrounded(chosen, call.arguments, material))) is not None:
                    observation = refused
                else:
                    result = yield CallTool(chosen, _arguments(call.arguments))
                    observation = self._clip(result.observation)
                    material.add(observation)
                why = loops.add(call.name, call.arguments, observation)
                if why is not None:
                    yield Record(steps.LOOP, why)
                    return Outcome(None, "loop", why)
                history.append(Message("tool", observation, tool_call_id=call.id))

    def _grammar(self, material: Material) -> str:
        """The step grammar: each tool's grounded rule where it has one (and grounding is on), else its own."""
        rules: list[tuple[str, str | Rule | None, bool]] = []
        for i, t in enumerate(self.tools):
            rule: str | Rule | None = t.input_grammar
            if self.ground and t.grounding is not None:
                rule = t.grounding.rule(material, f"g{i}-") or rule
            rules.append((t.name, rule, t.name == "python"))
        # with a grounded tool, the answer's numbers come from the question or a tool too
        return fmt.grammar(rules, grounded_text(material, "f-") if self._grounded else None, self.think)

    @property
    def _grounded(self) -> bool:
        """Grounding is on and some tool has a grounding."""
        return self.ground and any(t.grounding is not None for t in self.tools)

    def _ungrounded(self, chosen: Tool, given: str, material: Material) -> Generator[Record, Any, str | None]:
        """None when ``given`` may go to ``chosen``; else the observation that says why not (and a record).
        Catches what no grammar kept out: backends without grammars, native tool calls."""
        if not self.ground or chosen.grounding is None:
            return None
        why = chosen.grounding.check(given, material)
        if why is None:
            return None
        yield Record(steps.UNGROUNDED, why, {"tool": chosen.name, "input": given})
        return f"Error: {why}"

    def _fall_back(self, question: str, replies: int) -> StrategyGen:
        """Leave native tool calls for the text protocol: the server ignored the tools."""
        reason = f"{replies} replies without a tool call: the server ignores native tools"
        data: steps.FallbackData = {
            "protocol_from": "native",
            "protocol_to": "text",
            "replies": replies,
            "reason": reason,
        }
        yield Record(steps.FALLBACK, f"{reason}; switching to the text protocol", data)
        outcome = yield from self._text(question, LoopDetector(self.loop_threshold))
        note = f"text protocol after a fallback ({reason})"
        return Outcome(outcome.answer, outcome.stop_reason, f"{outcome.detail}; {note}" if outcome.detail else note)

    def _clip(self, text: str) -> str:
        if len(text) <= self.max_observation:
            return text
        return text[: self.max_observation] + f"\n[... {len(text) - self.max_observation} more characters not shown]"


Final = fmt.Final


def _shrink(history: list[Message], head: int, long: PromptTooLong) -> Generator[Request, Any, list[Message]]:
    """``history`` with its newest observation replaced by a note the model sees (the prompt outgrew the
    window); when there is none left to replace, the run ends with the error."""
    note = f"[{long}: the result was too long to show; ask for less]"
    yield Record(steps.TOO_LONG, str(long), {"tokens": long.tokens, "window": long.window})
    for i in range(len(history) - 1, head - 1, -1):
        message = history[i]
        if message.role in ("user", "tool") and message.content != note and not message.content.endswith(note):
            prefix = "Observation: " if message.role == "user" else ""
            shrunk = Message(message.role, prefix + note, message.tool_calls, message.tool_call_id)
            return [*history[:i], shrunk, *history[i + 1 :]]
    raise long


def _arguments(raw: str) -> str | dict[str, object]:
    """Native call arguments: a JSON object when they parse, else the raw text (the tool reports the problem)."""
    try:
        value = payload.loads(raw or "{}", what="the argument object")
    except ValueError:  # not JSON, or too deep / too big: the tool reports the problem on the raw text
        return raw
    return value if isinstance(value, dict) else raw


def _answer_of(raw: str) -> str | None:
    args = _arguments(raw)
    if isinstance(args, dict) and isinstance(args.get("answer"), str | int | float):
        return str(args["answer"]).strip() or None
    return None


def _prepare(options: dict[str, Any], ctx: BuildContext) -> dict[str, Any]:
    """``protocol`` auto: the protocol the model of this strategy's role prefers (``preferred_tool_protocol``,
    e.g. from a probed server), else native tool calls when it supports them."""
    options = dict(options)
    protocol = options.pop("protocol", "auto")
    model = ctx.model()
    if protocol == "auto" and model is not None:
        preferred = getattr(model, "preferred_tool_protocol", None)
        protocol = preferred if preferred in ("native", "text") else "native" if model.supports_tools else "text"
    options["native"] = protocol == "native"
    return options


ENTRY = StrategyEntry(
    "react",
    React,
    "reason and act with tools (ReAct), bounded and loop-safe",
    options=(
        Option(
            "protocol",
            str,
            "react: text protocol, native tool calls, or native when the backend supports it (default auto).",
            "--tool-protocol",
            choices=("auto", "text", "native"),
            default="auto",
            access=CLIENT,
        ),
        Option("constrained", bool, "react: constrain text-protocol steps with a grammar.", access=CLIENT),
        Option(
            "think",
            bool,
            "react: a Thought line before each step (the ReAct paper's format).",
            "--think",
            flag_value=True,
            access=CLIENT,
        ),
        Option(
            "ground",
            bool,
            "react: let tools take inputs from other numbers than the question's and the observations'"
            " (by default the calculator's are grounded in them).",
            "--no-ground",
            flag_value=False,
            access=CLIENT,
        ),
        Option(
            "max_format_errors",
            int,
            "react: malformed steps allowed before the run stops.",
            minimum=1,
            maximum=1000,
            access=CLIENT,
            client_max=20,
        ),
        Option(
            "fallback_after",
            int,
            "react: native replies without a tool call before the text protocol takes over (0: never).",
            "--fallback-after",
            minimum=0,
            maximum=1000,
            access=CLIENT,
            client_max=20,
        ),
        Option(
            "loop_threshold",
            int,
            "react: repeats of one action that count as a loop.",
            minimum=2,
            maximum=1000,
            access=CLIENT,
            client_max=20,
        ),
        Option(
            "max_observation",
            int,
            "react: characters of a tool result shown to the model.",
            minimum=1,
            maximum=10_000_000,
            access=CLIENT,
            client_max=100_000,
        ),
        Option(
            "examples_per_tool",
            int,
            "react: few-shot examples per tool.",
            minimum=0,
            maximum=100,
            access=CLIENT,
            client_max=10,
        ),
    ),
    takes_tools=True,
    memory=True,
    prepare=_prepare,
    describe=lambda react: {"protocol": "native" if react.native else "text"},
    prepared=("native",),
)
