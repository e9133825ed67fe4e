"""``POST /v1/responses``: a run answered in the shape of OpenAI's Responses API (JSON, or typed SSE events).

The request becomes a run through :mod:`ponder.serve.responses` (the chat
route's spec builder and policy); the run's progress becomes output items and
stream events through :mod:`ponder.serve.response_events`. A response's id is
``resp_`` and its run's id, so ``previous_response_id`` reads the conversation
back from the run store (a server with ``--no-store`` keeps none and says so).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ..spec import RunSpec
from ..store import RunStore, StoreError
from .config import ServeConfig
from .failures import run_error
from .job import Job, Progress
from .response_events import ResponseBuilder
from .responses import RESPONSE_PREFIX, conversation_of, previous_run_id, responses_request
from .translate import ApiError


class Host(Protocol):
    """What the route needs of the server (:class:`ponder.serve.app.Server`)."""

    config: ServeConfig

    async def read_body(self, request: Request) -> Any: ...

    async def start_job(self, spec: RunSpec, request: Request, *, stream: bool) -> Job: ...


class ResponsesRoute:
    """The handler of ``POST /v1/responses`` for ``server``."""

    def __init__(self, server: Host) -> None:
        self.server = server

    async def create(self, request: Request) -> Response:
        config = self.server.config
        body = await self.server.read_body(request)
        previous: list[dict[str, str]] | None = None
        run_id = previous_run_id(body)
        if run_id is not None:
            if not config.record:
                raise ApiError(400, "previous_response_id needs stored responses, and this server keeps none"
                               " (ponder serve --no-store): send the whole conversation as input instead",
                               "previous_response_id", "previous_response_not_found")  # fmt: skip
            previous = await run_in_threadpool(self._conversation, run_id)
        # off the event loop, as for chat: checking a grammar or compiling a pattern must not hold up /health
        asked = await run_in_threadpool(responses_request, body, config, previous)
        job = await self.server.start_job(asked.chat.spec, request, stream=True)
        first = await self._next(job, request)
        if first.kind == "error" and job.run_id is None:  # it never started: an error before any stream
            raise run_error(first)
        run_id = job.run_id or uuid.uuid4().hex[:12]  # (a run reports its id before anything else)
        builder = ResponseBuilder(f"{RESPONSE_PREFIX}{run_id}", asked.chat.model, {
            **asked.echo, "instructions": asked.instructions, "previous_response_id": asked.previous_response_id,
        })  # fmt: skip
        if asked.chat.stream:
            return StreamingResponse(self._stream(job, builder, first), media_type="text/event-stream")
        item = first
        while item.kind in ("header", "text"):
            builder.progress(item)
            item = await self._next(job, request)
        if item.kind == "error":
            raise run_error(item)
        assert item.result is not None
        builder.finish(item.result, item.answer_tokens)
        return JSONResponse(builder.final(item.result, item.answer_tokens))

    async def _next(self, job: Job, request: Request) -> Progress:
        """The run's next progress item; a client that went away while waiting cancels the run."""
        while True:
            try:
                return await asyncio.wait_for(job.queue.get(), timeout=0.25)
            except TimeoutError:
                if await request.is_disconnected():
                    job.cancel("the client disconnected")

    async def _stream(self, job: Job, builder: ResponseBuilder, first: Progress) -> AsyncIterator[str]:
        ended = False
        try:
            # the events of one progress item go out as one write (a send per event costs more than the event)
            yield "".join(_sse(event) for event in builder.start())
            item = first
            while True:
                if item.kind == "error":
                    events, ended = builder.fail(run_error(item)), True
                elif item.kind == "done":
                    assert item.result is not None
                    events, ended = builder.finish(item.result, item.answer_tokens), True
                else:
                    events = builder.progress(item)
                if events:
                    yield "".join(_sse(event) for event in events)
                if ended:
                    return
                item = await job.queue.get()
        finally:
            if not ended:  # the client went away (or the server is stopping): the run stops at its next request
                job.cancel("the client disconnected")

    def _conversation(self, run_id: str) -> list[dict[str, str]]:
        """The stored conversation of the response ``resp_RUN_ID``: 404 when there is none, 400 when unfinished."""
        config = self.server.config
        missing = ApiError(404, f"no response {RESPONSE_PREFIX}{run_id} is stored on this server",
                           "previous_response_id", "previous_response_not_found")  # fmt: skip
        try:
            with RunStore(config.store) as store:
                info = store.run(run_id)
                spec = store.spec_data(run_id) if info.get("run_id") == run_id else None
        except StoreError:
            raise missing from None
        if spec is None or info.get("parent_run_id") is not None:  # a prefix, a child run, a run without a spec
            raise missing
        if info.get("status") != "finished" or info.get("answer") is None:
            raise ApiError(400, f"the response {RESPONSE_PREFIX}{run_id} has no answer ({info.get('status')}):"
                           " it cannot be continued", "previous_response_id")  # fmt: skip
        turns = conversation_of(spec, info["answer"])
        if sum(len(t["content"]) for t in turns) > config.max_body:
            raise ApiError(400, f"the conversation of {RESPONSE_PREFIX}{run_id} is longer than this server takes"
                           f" ({config.max_body} characters): start a new one", "previous_response_id")  # fmt: skip
        return turns


def _sse(event: dict[str, Any]) -> str:
    return f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
