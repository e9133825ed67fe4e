"""The ASGI app of ``ponder serve``: every strategy as an OpenAI-compatible model.

=======================  ====================================================
route                    what it answers
=======================  ====================================================
POST /v1/chat/completions  a run of the strategy the ``model`` field names (JSON, or SSE with ``stream``)
POST /v1/responses       the same run in the Responses API's shape (:mod:`~ponder.serve.responses_route`)
GET  /v1/models          every strategy over the server's model, with a description
GET  /v1/runs/{id}       a stored run as JSON (its events: every prompt and result)
GET  /runs/{id}          the same run as the HTML viewer page
GET  /health             ``{"status": "ok"}`` and the load
=======================  ====================================================

Errors come in the OpenAI shape (:class:`~ponder.serve.translate.ApiError`).
At most ``max_concurrent`` runs execute at once and ``max_queue`` wait; the
rest get 429 with ``Retry-After``. A client that disconnects cancels its run
(stored with stop reason ``cancelled``). On shutdown (SIGTERM) runs still going
after the grace period are interrupted: stored unfinished, resumable.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..guards.numbers import loads_json
from ..run_models import ModelCache
from ..spec import ModelSpec, RunSpec
from ..store import RunStore, StoreError
from ..strategies import entries
from ..tools import close_tools, parse_tool_specs
from . import chunks
from .admission import RunAdmission
from .config import ServeConfig
from .failures import run_error
from .job import Job
from .responses_route import ResponsesRoute
from .translate import ApiError, ChatRequest, chat_request

Handler = Callable[[Request], Awaitable[Response]]


class Server:
    """The server's state: its config, the loaded models, its admission control and the runs in flight."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.models = ModelCache(config.max_models)
        self.admission = RunAdmission(config.max_concurrent, config.max_queue, config.retry_after)
        self.jobs: set[Job] = set()
        #: held open while the server runs, so the store's log and its checkpoint count outlive each run's
        #: own connection (without it, every run that ends alone pays SQLite's checkpoint-on-last-close)
        self._store: RunStore | None = None
        self._warmed = False
        self._stopping: asyncio.TimerHandle | None = None
        self._closed = False

    # -- the app ------------------------------------------------------------

    def app(self) -> Starlette:
        routes = [
            Route("/v1/chat/completions", self._guard(self.chat), methods=["POST"]),
            Route("/v1/responses", self._guard(ResponsesRoute(self).create), methods=["POST"]),
            Route("/v1/models", self._guard(self.list_models), methods=["GET"]),
            Route("/v1/runs/{run_id}", self._guard(self.run_json), methods=["GET"]),
            Route("/runs/{run_id}", self._guard(self.run_html), methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
        ]
        return Starlette(routes=routes, lifespan=self._lifespan)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if not self._warmed:
            await run_in_threadpool(self.warm)
        yield
        await self._shutdown()

    def warm(self) -> None:
        """Load the server's model, check its tools, and open (create, migrate) its store before the first
        request, so a bad --model, --tools or --store fails at start (one line), not per request."""
        self.models.get(ModelSpec(self.config.model, self.config.base_url), pin=True)
        close_tools(parse_tool_specs(",".join(self.config.tools)))
        if self.config.record:
            self._store = RunStore(self.config.store)
        self._warmed = True

    def stopping(self, loop: asyncio.AbstractEventLoop) -> None:
        """SIGTERM: the runs still going after the grace period are interrupted, so each request gets its
        answer (an error in the OpenAI shape) before the server stops taking connections."""
        if self._stopping is None:
            self._stopping = loop.call_later(self.config.grace, self._interrupt_all)

    def _interrupt_all(self) -> None:
        self._closed = True  # a request still queued gets no run now
        for job in list(self.jobs):
            job.interrupt("the server shut down before the run finished (resume it with ponder resume)")

    async def _shutdown(self) -> None:
        self._interrupt_all()
        for job in list(self.jobs):
            await run_in_threadpool(job.thread.join, 30)
        if self._store is not None:
            self._store.close()
            self._store = None

    def _guard(self, handler: Handler) -> Handler:
        """``handler`` behind the API key, with errors in the OpenAI shape."""

        async def guarded(request: Request) -> Response:
            try:
                self._authorize(request)
                return await handler(request)
            except ApiError as error:
                return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

        return guarded

    def _authorize(self, request: Request) -> None:
        key = self.config.api_key
        if key is None:
            return
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
            raise ApiError(401, "a valid API key is required (Authorization: Bearer KEY)", code="invalid_api_key")

    # -- routes -------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        load = {"running": self.admission.active, "waiting": self.admission.waiting, "models_loaded": len(self.models)}
        return JSONResponse({"status": "ok", **load})

    async def list_models(self, request: Request) -> Response:
        created = int(time.time())
        data = []
        for name, entry in entries().items():
            for model_id in (name, f"{name}/{self.config.model}"):
                data.append(
                    {"id": model_id, "object": "model", "created": created, "owned_by": "ponder",
                     "description": f"{entry.summary} (on {self.config.model})"}
                )  # fmt: skip
        return JSONResponse({"object": "list", "data": data})

    async def run_json(self, request: Request) -> Response:
        info, events = await run_in_threadpool(self._stored, request.path_params["run_id"])
        return JSONResponse({**info, "events": events})

    async def run_html(self, request: Request) -> Response:
        from ..viewer import render_html

        info, events = await run_in_threadpool(self._stored, request.path_params["run_id"])
        return HTMLResponse(render_html(events, info))

    def _stored(self, run_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        if not self.config.record:  # --no-store: no store on any route (none is opened, or created)
            raise ApiError(
                404, f"no run {run_id!r}: this server stores no runs (--no-store)", "run_id", "run_not_found"
            )
        try:
            with RunStore(self.config.store) as store:
                return store.run(run_id), store.events(run_id)
        except StoreError as exc:
            raise ApiError(404, str(exc), "run_id", "run_not_found") from None

    async def chat(self, request: Request) -> Response:
        body = await self.read_body(request)
        # off the event loop: checking a grammar or compiling a pattern must not hold up /health
        asked = await run_in_threadpool(chat_request, body, self.config)
        job = await self.start_job(asked.spec, request, stream=asked.stream)
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if asked.stream:
            return StreamingResponse(self._stream(job, asked, cid), media_type="text/event-stream")
        return await self._complete(job, asked, cid, request)

    async def _enter(self, request: Request) -> None:
        """A run slot for ``request``; a client that leaves while it waits in the queue frees its place."""
        entering = asyncio.ensure_future(self.admission.enter())
        while True:
            done, _ = await asyncio.wait({entering}, timeout=0.25)
            if done:
                entering.result()  # 429 when the queue is full
                return
            if await request.is_disconnected():
                entering.cancel()
                with contextlib.suppress(asyncio.CancelledError, ApiError):
                    await entering
                    self.admission.leave()  # it got the slot just as the client left
                raise ApiError(499, "the client disconnected while waiting for a run slot", code="client_closed")

    async def start_job(self, spec: RunSpec, request: Request, *, stream: bool) -> Job:
        """A run of ``spec`` in a worker thread, once admission lets ``request`` in (429 when the queue is full)."""
        await self._enter(request)
        try:
            if self._closed:
                raise ApiError(503, "the server is shutting down", type="server_error", code="server_shutting_down")
            job = Job(spec, self.models, asyncio.get_running_loop(), lambda: self._ended(job), stream=stream)
            self.jobs.add(job)
            job.start()
        except BaseException:
            self.admission.leave()
            raise
        return job

    def _ended(self, job: Job) -> None:
        self.jobs.discard(job)
        self.admission.leave()

    async def read_body(self, request: Request) -> Any:
        """The request's JSON body, bounded by ``max_body`` (413 above), 400 when it is not JSON."""
        limit = self.config.max_body
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
            raise ApiError(413, f"the request body is larger than {limit} bytes", code="request_too_large")
        raw = bytearray()
        try:
            async with asyncio.timeout(self.config.body_seconds):  # a client that sends slowly holds no more
                async for piece in request.stream():
                    raw += piece
                    if len(raw) > limit:
                        raise ApiError(413, f"the request body is larger than {limit} bytes", code="request_too_large")
        except TimeoutError:
            raise ApiError(
                408, f"the request body took longer than {self.config.body_seconds:g} s", code="request_timeout"
            ) from None
        try:
            return loads_json(raw)
        except ValueError as exc:  # bad JSON, not UTF-8, NaN, a 5000-digit number, nesting too deep
            raise ApiError(400, f"the request body is not valid JSON: {exc}") from None

    async def _complete(self, job: Job, asked: ChatRequest, cid: str, request: Request) -> Response:
        while True:
            try:
                item = await asyncio.wait_for(job.queue.get(), timeout=0.25)
            except TimeoutError:
                if await request.is_disconnected():
                    job.cancel("the client disconnected")
                continue
            if item.kind == "error":
                raise run_error(item)
            assert item.result is not None
            body = chunks.completion(cid, asked.model, item.result, item.text.strip(), item.answer_tokens)
            return JSONResponse(body)

    async def _stream(self, job: Job, asked: ChatRequest, cid: str) -> AsyncIterator[str]:
        ended = False
        try:
            yield _sse(chunks.chunk(cid, asked.model, {"role": "assistant", "content": ""}))
            while True:
                item = await job.queue.get()
                if item.kind in ("header", "text"):
                    yield _sse(chunks.chunk(cid, asked.model, chunks.reasoning_delta(item.text)))
                    continue
                if item.kind == "error":
                    yield _sse(run_error(item).body())
                else:
                    result = item.result
                    assert result is not None
                    yield _sse(chunks.chunk(cid, asked.model, {"content": result.answer or ""}))
                    yield _sse(chunks.chunk(cid, asked.model, {}, chunks.finish_reason(result)))
                    if asked.include_usage:
                        yield _sse(chunks.usage_chunk(cid, asked.model, result, item.answer_tokens))
                yield "data: [DONE]\n\n"
                ended = True
                return
        finally:
            if not ended:  # the client went away (or the server is stopping): the run stops at its next request
                job.cancel("the client disconnected")


def _sse(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def create_app(config: ServeConfig) -> Starlette:
    """The app for ``config`` (``uvicorn.run(create_app(ServeConfig(model="scripted")))``); the model,
    tools and store are made ready when it starts."""
    return Server(config).app()
