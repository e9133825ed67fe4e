"""One request's run, executed in a worker thread, its progress handed to the event loop as it happens.

The engine is synchronous; the server is not. A :class:`Job` runs
:func:`~ponder.open_run` in a thread of its own and turns what the run does
into :class:`Progress` items on an ``asyncio.Queue`` (thread-safely): a step
header when a step starts, text pieces while a model call streams, the text of
a call that did not stream (a batch's calls), a decision or a tool's
observation; then the result (or the error). :meth:`Job.cancel` stops the run
at its next request (stop reason ``cancelled``); :meth:`Job.interrupt` ends it
with an error, so the store keeps it unfinished and resumable.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from ..builder import open_run
from ..engine.budget import Cancellation
from ..events import Event, ModelCalled, RunStarted, StepRecorded, StepStarted, ToolCalled
from ..result import RunResult
from ..run_models import ModelCache
from ..spec import RunSpec

Kind = Literal["header", "text", "done", "error"]


@dataclass(frozen=True, slots=True)
class Progress:
    """One thing the run did: a step ``header``, reasoning ``text``, or the end (``done`` / ``error``;
    a job that does not stream sends its collected reasoning as the ``text`` of ``done``)."""

    kind: Kind
    text: str = ""
    result: RunResult | None = None
    error: BaseException | None = None
    #: the final answer's tokens, by the root model's tokenizer (``done`` only)
    answer_tokens: int = 0


class Job:
    """A run in a worker thread (see the module docs). ``on_end`` is called on the loop when the thread ends."""

    def __init__(
        self,
        spec: RunSpec,
        models: ModelCache,
        loop: asyncio.AbstractEventLoop,
        on_end: Callable[[], None],
        *,
        stream: bool = True,
    ) -> None:
        self.spec = spec
        #: streamed: progress goes to the loop as it happens; else it is collected and sent with the result
        self.stream = stream
        self._collected: list[str] = []
        self.models = models
        self.loop = loop
        self.on_end = on_end
        self.queue: asyncio.Queue[Progress] = asyncio.Queue()
        self.cancellation = Cancellation()
        self.run_id: str | None = None
        self._streamed: set[int] = set()
        self._batch_open: dict[int, int] = {}
        self.thread = threading.Thread(target=self._work, name="ponder-run", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def cancel(self, why: str) -> None:
        self.cancellation.cancel(why)

    def interrupt(self, why: str) -> None:
        self.cancellation.interrupt(why)

    # -- the worker thread ----------------------------------------------------

    def _put(self, item: Progress) -> None:
        if not self.stream and item.kind in ("header", "text"):
            self._collected.append(item.text)  # one hand-over at the end: no thread switch per step
            return
        self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def _work(self) -> None:
        try:
            # without a stream to feed, model calls need not stream either (the step texts come from the events)
            on_text = self._on_text if self.stream else None
            with open_run(self.spec, sinks=[self._sink], on_text=on_text, models=self.models) as opened:
                result = opened.run(cancellation=self.cancellation)
                tokens = opened.models["root"].count_tokens(result.answer) if result.answer else 0
            self._put(Progress("done", "".join(self._collected), result=result, answer_tokens=tokens))
        except BaseException as exc:  # reported to the request; the engine has stored the run's end
            self._put(Progress("error", error=exc))
        finally:
            self.loop.call_soon_threadsafe(self.on_end)

    def _on_text(self, index: int, kind: str, piece: str) -> None:
        self._streamed.add(index)
        self._put(Progress("text", piece))

    def _sink(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            if event.parent_run_id is None and self.run_id is None:
                self.run_id = event.run_id
        elif isinstance(event, StepStarted):
            if event.batch > 1:
                if event.step in self._batch_open:
                    return
                last = event.step + event.batch - 1
                for step in range(event.step, last + 1):
                    self._batch_open[step] = event.step
                self._put(Progress("header", f"\n[steps {event.step}-{last}: {event.kind} ×{event.batch}]\n"))
            elif event.kind != "tool":
                self._put(Progress("header", f"\n[step {event.step}: {event.kind}]\n"))
        elif isinstance(event, ModelCalled):
            if event.step not in self._streamed and event.text:
                self._put(Progress("text", f"({event.step}) {event.text}\n"))
        elif isinstance(event, StepRecorded):
            self._put(Progress("header", f"\n[step {event.step}: {event.kind}]\n"))
            if event.text:
                self._put(Progress("text", event.text + "\n"))
        elif isinstance(event, ToolCalled):
            shown = event.output if event.ok else f"error: {event.error}"
            self._put(Progress("header", f"\n[step {event.step}: tool {event.tool}]\n"))
            self._put(Progress("text", f"{shown}\n"))
