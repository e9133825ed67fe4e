"""The Responses API shapes of a run: the response object, its output items, and its typed stream events.

A run's progress (:class:`~ponder.serve.job.Progress`) becomes output items as
it happens: each step header opens a ``reasoning`` item (the header, e.g.
``step 1: critique``, is its summary) whose text arrives as
``response.reasoning_text.delta`` events; the answer is one ``message`` item
with an ``output_text`` part. A stream is::

    response.created, response.in_progress,
    (response.output_item.added, response.reasoning_text.delta..., response.reasoning_text.done,
     response.output_item.done) per step,
    response.output_item.added, response.content_part.added, response.output_text.delta,
    response.output_text.done, response.content_part.done, response.output_item.done,
    response.completed (or response.incomplete, or response.failed)

A response not streamed has the same output items. ``status`` is
``completed`` when the run ended normally (answered, converged) and
``incomplete`` (``max_output_tokens``, like chat's ``finish_reason: length``)
when a limit cut it short; ``usage`` sums every internal call, with
``output_tokens_details.reasoning_tokens`` for all but the answer.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from ..result import RunResult
from .chunks import finish_reason, ponder_info
from .job import Progress
from .translate import ApiError


def usage(result: RunResult, answer_tokens: int) -> dict[str, Any]:
    used = result.usage
    return {
        "input_tokens": used.prompt_tokens,
        "input_tokens_details": {"cached_tokens": max(0, used.prompt_tokens - used.prompt_tokens_evaluated)},
        "output_tokens": used.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": max(0, used.completion_tokens - answer_tokens)},
        "total_tokens": used.total_tokens,
    }


def _item_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


class ResponseBuilder:
    """One response, built from a run's progress; every method returns the stream events it caused."""

    def __init__(self, response_id: str, model: str, echo: dict[str, Any]) -> None:
        self.id = response_id
        self.model = model
        self.echo = echo
        self.created_at = int(time.time())
        self.output: list[dict[str, Any]] = []
        self._sequence = 0
        self._open: dict[str, Any] | None = None  # the reasoning item being written

    def response(self, status: str, **fields: Any) -> dict[str, Any]:
        """The response object as it stands."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "model": self.model,
            "output": list(self.output),
            "parallel_tool_calls": False,
            "tool_choice": "none",
            "tools": [],
            "text": {"format": {"type": "text"}},
            "truncation": "disabled",
            "usage": None,
        }
        body.update(self.echo)
        body.update(fields)
        return body

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event

    def start(self) -> list[dict[str, Any]]:
        return [
            self._event("response.created", response=self.response("in_progress")),
            self._event("response.in_progress", response=self.response("in_progress")),
        ]

    # -- the steps: reasoning items -----------------------------------------------

    def progress(self, item: Progress) -> list[dict[str, Any]]:
        """A step header opens a reasoning item; text goes into the one open (or a new one)."""
        events: list[dict[str, Any]] = []
        if item.kind == "header":
            events += self._close()
            events += self._open_item(item.text.strip().strip("[]"))
        elif item.kind == "text" and item.text:
            if self._open is None:
                events += self._open_item("")
            assert self._open is not None
            self._open["content"][0]["text"] += item.text
            events.append(
                self._event("response.reasoning_text.delta", item_id=self._open["id"],
                            output_index=len(self.output) - 1, content_index=0, delta=item.text)
            )  # fmt: skip
        return events

    def _open_item(self, summary: str) -> list[dict[str, Any]]:
        self._open = {
            "id": _item_id("rs"),
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": summary}] if summary else [],
            "content": [{"type": "reasoning_text", "text": ""}],
            "status": "in_progress",
        }
        self.output.append(self._open)
        return [self._event("response.output_item.added", output_index=len(self.output) - 1, item=_copy(self._open))]

    def _close(self) -> list[dict[str, Any]]:
        item, self._open = self._open, None
        if item is None:
            return []
        item["status"] = "completed"
        index = self.output.index(item)
        text = item["content"][0]["text"]
        return [
            self._event("response.reasoning_text.done", item_id=item["id"], output_index=index, content_index=0,
                        text=text),
            self._event("response.output_item.done", output_index=index, item=_copy(item)),
        ]  # fmt: skip

    # -- the end ------------------------------------------------------------------------

    def finish(self, result: RunResult, answer_tokens: int) -> list[dict[str, Any]]:
        """The answer as a message item, then the completed (or incomplete) response."""
        events = self._close()
        answer = result.answer or ""
        message: dict[str, Any] = {
            "id": _item_id("msg"),
            "type": "message",
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        self.output.append(message)
        index = len(self.output) - 1
        part: dict[str, Any] = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        events.append(self._event("response.output_item.added", output_index=index, item=_copy(message)))
        events.append(self._event("response.content_part.added", item_id=message["id"], output_index=index,
                                  content_index=0, part=_copy(part)))  # fmt: skip
        part["text"] = answer
        message["content"].append(part)
        events.append(self._event("response.output_text.delta", item_id=message["id"], output_index=index,
                                  content_index=0, delta=answer, logprobs=[]))  # fmt: skip
        events.append(self._event("response.output_text.done", item_id=message["id"], output_index=index,
                                  content_index=0, text=answer, logprobs=[]))  # fmt: skip
        events.append(self._event("response.content_part.done", item_id=message["id"], output_index=index,
                                  content_index=0, part=_copy(part)))  # fmt: skip
        finished = finish_reason(result) == "stop"
        message["status"] = "completed" if finished else "incomplete"
        events.append(self._event("response.output_item.done", output_index=index, item=_copy(message)))
        final = self.final(result, answer_tokens)
        events.append(self._event("response.completed" if finished else "response.incomplete", response=final))
        return events

    def final(self, result: RunResult, answer_tokens: int) -> dict[str, Any]:
        """The finished response object (a response not streamed is this, after :meth:`finish`)."""
        finished = finish_reason(result) == "stop"
        return self.response(
            "completed" if finished else "incomplete",
            incomplete_details=None if finished else {"reason": "max_output_tokens"},
            usage=usage(result, answer_tokens),
            ponder=ponder_info(result),
        )

    def fail(self, error: ApiError) -> list[dict[str, Any]]:
        """A run that raised: its open step closed, then ``response.failed`` with the error."""
        events = self._close()
        failed = self.response("failed", error={"code": error.code or error.type, "message": error.message})
        events.append(self._event("response.failed", response=failed))
        return events


def _copy(item: dict[str, Any]) -> dict[str, Any]:
    """A snapshot of an item (the builder keeps writing into its own)."""
    out = dict(item)
    for key in ("summary", "content"):
        if key in out:
            out[key] = [dict(part) for part in out[key]]
    return out
