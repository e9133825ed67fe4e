"""The tools ``ponder mcp`` offers: ``ask`` (a strategy over a question) and ``query`` (recursive over a file).

A call becomes a run the way a request to ``ponder serve`` does: the question
and the strategy name go through :func:`~ponder.serve.translate.chat_request`,
the server's one client-spec builder and policy, so an MCP client may set what
an HTTP client may set and nothing more. ``query`` reads a file or folder
under one of the operator's allowed paths (``--allow PATH``; symlinks are
resolved before the check). The run executes in a worker thread
(:class:`~ponder.serve.job.Job`); each step it starts is a progress
notification; the result carries the answer and the run id (``ponder runs
show RUN_ID`` on the server's store is the whole trace).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ..errors import ConfigError, PonderError
from ..run_models import ModelCache
from ..serve.admission import RunAdmission
from ..serve.config import ServeConfig
from ..serve.failures import run_error
from ..serve.job import Job
from ..serve.translate import ApiError, chat_request
from ..spec import ModelSpec, RunSpec
from ..spec.client import client_spec
from ..spec.node import has_capability
from ..store import RunStore
from ..tools import close_tools, parse_tool_specs


@dataclass(frozen=True)
class McpConfig:
    """``serve``: the model, tools, store, limits and admission, as for ``ponder serve``; ``allow``: the files
    and folders ``query`` may read (resolved, existing; none: ``query`` reads nothing)."""

    serve: ServeConfig
    allow: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        roots = []
        for given in self.allow:
            try:
                roots.append(Path(given).expanduser().resolve(strict=True))
            except OSError as exc:
                raise ConfigError(f"--allow {given}: {exc.strerror or exc}") from None
        object.__setattr__(self, "allow", tuple(roots))


class Answer(BaseModel):
    """What a tool call returns: the answer, and the stored run it came from."""

    answer: str
    run_id: str
    stop_reason: str
    detail: str
    strategy: str
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float


class ToolCallError(Exception):
    """A call the client must fix (or retry); its message is what the client sees."""


class PonderTools:
    """The state behind the tools: the config, the loaded models and the admission control."""

    def __init__(self, config: McpConfig) -> None:
        self.config = config
        serve = config.serve
        self.models = ModelCache(serve.max_models)
        self.admission = RunAdmission(serve.max_concurrent, serve.max_queue, serve.retry_after)

    def warm(self) -> None:
        """Load the model, check the tools and open (create, migrate) the store now, so a bad one fails at
        start (one line), not at the first call."""
        serve = self.config.serve
        self.models.get(ModelSpec(serve.model, serve.base_url), pin=True)
        close_tools(parse_tool_specs(",".join(serve.tools)))
        if serve.record:
            RunStore(serve.store).close()

    def ask_spec(self, question: str, strategy: str) -> RunSpec:
        name = strategy.partition("/")[0].strip()
        if has_capability(name, "reads_context"):
            raise ToolCallError(f"{name} reads a file or folder: use the query tool (question and path)")
        body = {"model": strategy, "messages": [{"role": "user", "content": question}]}
        try:
            return chat_request(body, self.config.serve).spec
        except ApiError as error:
            raise ToolCallError(_named(error.message)) from None

    def query_spec(self, question: str, path: str) -> RunSpec:
        """A recursive run over ``path``: the client's part (the question; the strategy's options as the
        operator's policy sets them, e.g. plan mode without --allow-code) built by the one client-spec
        builder, then the context, which only the operator's allowlist opens."""
        target = self.allowed(path)
        try:
            spec = client_spec({"strategy": "recursive", "question": question}, self.config.serve.policy())
            return replace(spec, context=str(target))
        except PonderError as exc:
            raise ToolCallError(str(exc)) from None

    def allowed(self, path: str) -> Path:
        """``path`` resolved, when it is (under) an allowed path; relative paths start at the first one."""
        roots = self.config.allow
        if not roots:
            raise ToolCallError("this server reads no files: its operator allowed none (ponder mcp --allow PATH)")
        given = Path(path).expanduser()
        if not given.is_absolute():
            given = (roots[0] if roots[0].is_dir() else roots[0].parent) / given
        try:
            real = given.resolve(strict=True)
        except (OSError, RuntimeError, ValueError) as exc:  # missing, a symlink loop, a NUL in the name
            raise ToolCallError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
        if not any(real == root or real.is_relative_to(root) for root in roots):
            shown = ", ".join(str(r) for r in roots)
            raise ToolCallError(f"{path} is not under a path this server may read ({shown})")
        return real

    async def run(self, spec: RunSpec, progress: Any = None) -> Answer:
        """Run ``spec``; ``progress(n, message)`` is awaited for each step started."""
        try:
            await self.admission.enter()
        except ApiError as error:
            raise ToolCallError(error.message) from None
        loop = asyncio.get_running_loop()
        try:
            job = Job(spec, self.models, loop, self.admission.leave, stream=True)
            job.start()
        except BaseException:
            self.admission.leave()
            raise
        steps = 0
        try:
            while True:
                item = await job.queue.get()
                if item.kind == "header" and progress is not None:
                    steps += 1
                    await progress(steps, item.text.strip().strip("[]"))
                elif item.kind == "error":
                    raise ToolCallError(run_error(item).message)
                elif item.kind == "done":
                    result = item.result
                    assert result is not None
                    return Answer(
                        answer=result.answer or "",
                        run_id=result.run_id,
                        stop_reason=result.stop_reason,
                        detail=result.detail,
                        strategy=result.strategy,
                        model_calls=result.usage.model_calls,
                        prompt_tokens=result.usage.prompt_tokens,
                        completion_tokens=result.usage.completion_tokens,
                        seconds=round(result.seconds, 3),
                    )
        finally:
            if job.thread.is_alive():  # the client cancelled the call (or the server is stopping)
                job.cancel("the MCP client cancelled the call")


def _named(message: str) -> str:
    """A chat-route message in this API's words (``model`` is ``strategy`` here)."""
    return message.replace("The model ", "The strategy ").replace("model is required", "strategy is required")
