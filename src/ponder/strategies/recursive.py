"""``recursive``: answer questions about inputs far larger than the model's window.

Two modes (Zhang, Kraska & Khattab, "Recursive Language Models", arXiv 2512.24601):

* ``plan`` — for small models: a fixed split → filter → map → ground → reduce
  plan run by the engine (:mod:`ponder.strategies.recursive_plan`); counting
  questions ("how many records ...") take the count plan instead, which asks
  a yes/no question about every record and sums the yeses in Python
  (:mod:`ponder.strategies.recursive_count`; option ``aggregate``);
* ``code`` — for models that write Python: the context lives in a sandboxed
  REPL and the model writes the code that reads it and calls sub-models
  (:mod:`ponder.strategies.recursive_code`). The whole context is loaded into
  the REPL, so code mode reads a file once, fully. The run's tools are
  functions there (``tools.NAME(...)``), and ``--session NAME`` keeps the REPL
  across questions (:mod:`ponder.strategies.repl_session`).

``auto`` picks code mode for a root model that writes code, else plan mode; in
auto mode a model whose code keeps failing (``fallback_after`` times) or never
answers falls back to plan mode within the same run (a ``fallback`` step).

The context is a string, a list of strings, a path (file or folder) or a
:class:`~ponder.context.Context`; files are read lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..access import CLIENT, OPERATOR
from ..context import Context, open_context
from ..errors import ConfigError
from ..models.base import Model
from ..requests import StrategyGen
from ..tools.base import Tool
from .code_prompt import sub_chars
from .entry import BuildContext, CodeSwitch, Option, StrategyEntry
from .recursive_code import RecursiveCode
from .recursive_count import plan_for
from .recursive_plan import RecursivePlan
from .repl_session import ReplSession

MODES = ("plan", "code")


def recursive_mode(mode: str, model: Model) -> str:
    """Resolve ``auto`` from the model's capability: code mode for a model that ``writes_code``
    (servers of capable models; settable per model in the run spec), else plan mode (small models)."""
    if mode == "auto":
        return "code" if model.writes_code else "plan"
    return mode


def as_context(context: Context | str | Path | list[str]) -> Context:
    """Turn a string, list of strings or path into a :class:`Context` (a str is text, a Path is a file/folder)."""
    if isinstance(context, Context):
        return context
    if isinstance(context, Path):
        return open_context(context)
    if isinstance(context, list):
        return Context.from_texts(context)
    return Context.from_text(context)


@dataclass(frozen=True, slots=True)
class Recursive:
    """Dispatch to plan mode or code mode over ``context`` (or the file/folder at ``context_path``)."""

    context: Context | str | Path | list[str] | None = None
    context_path: str | None = None
    mode: str = "plan"
    chunk_bytes: int = 1500
    top_k: int = 3
    #: plan mode: ``auto`` (the count plan for counting questions), ``count`` or ``none``
    aggregate: str = "auto"
    #: code mode: the run's tools, callable from the REPL as ``tools.NAME(...)`` (plan mode calls none)
    tools: tuple[Tool, ...] = ()
    #: code mode: root-model turns before it stops (or, in auto mode, falls back to plan mode)
    max_iterations: int = 30
    #: auto mode (set when ``mode`` was ``auto``): failed code blocks before falling back to plan mode
    fallback_after: int = 3
    auto: bool = False
    #: code mode: child runs of one ``rlm_query_batched`` at once
    rlm_concurrency: int = 4
    #: code mode: characters of one block's output the root model sees (head and tail)
    max_output: int = 2000
    #: code mode: the REPL session kept across questions (``--session NAME``)
    session: ReplSession | None = None
    #: code mode: each root reply constrained to one ```python block where the backend takes a grammar
    code_grammar: bool = True
    #: code mode: repeated replies (or blocks with the same output) before the run stops with reason ``loop``
    loop_limit: int = 3
    #: code mode: when the turns run out, one last call asks for the answer from what was found
    final_call: bool = True
    #: code mode: new answers held back once each for a check before one stands (0: every FINAL stands)
    confirm: int = 0
    #: code mode: characters one sub-call reads (set from the ``sub`` model's window when the run is built)
    sub_chars: int = 4000
    name: str = "recursive"

    def run(self, question: str) -> StrategyGen:
        if self.context is None and self.context_path is None:
            raise ConfigError("the recursive strategy needs a context (--context PATH)")
        if self.mode not in MODES:
            raise ConfigError(f"unknown recursive mode {self.mode!r} (known: {', '.join(MODES)})")
        plan_for(self.aggregate, question)  # validates the option
        if self.mode == "code" and self.aggregate == "count" and not self.auto:
            raise ConfigError("aggregate='count' needs plan mode (in code mode the model writes the counting code)")
        if self.session is not None and self.mode != "code":
            raise ConfigError(
                "--session keeps the REPL of code mode, and this run is in plan mode (the model does not write code;"
                " use --mode code with a model that does)"
            )
        if self.mode == "code":
            with as_context(self.context if self.context is not None else Path(str(self.context_path))) as ctx:
                texts = [d.read(0, d.size) for d in ctx.documents]
            code = RecursiveCode(
                texts[0] if ctx.kind in ("string", "file") else texts,
                max_output=self.max_output,
                tools=self.tools,
                max_iterations=self.max_iterations,
                fallback_after=self.fallback_after if self.auto and self.fallback_after > 0 else None,
                rlm_concurrency=self.rlm_concurrency,
                chunk_bytes=self.chunk_bytes,
                top_k=self.top_k,
                aggregate=self.aggregate,
                session=self.session,
                chunk_chars=self.sub_chars,
                constrained=self.code_grammar,
                loop_limit=self.loop_limit,
                final_call=self.final_call,
                confirm=self.confirm,
            )
            return (yield from code.run(question))
        if self.context is not None:
            return (yield from self._plan(as_context(self.context)).run(question))
        assert self.context_path is not None
        with open_context(self.context_path) as context:
            return (yield from self._plan(context).run(question))

    def _plan(self, context: Context) -> RecursivePlan:
        return RecursivePlan(context, chunk_bytes=self.chunk_bytes, top_k=self.top_k, aggregate=self.aggregate)


def _prepare(options: dict[str, Any], ctx: BuildContext) -> dict[str, Any]:
    """The run's context file or folder, ``mode`` auto resolved from the root model's ``writes_code``
    (remembered as ``auto``: a code-mode run may fall back to plan mode), the run's REPL session, and
    the characters a sub-call reads (from the ``sub`` model's window)."""
    options = dict(options)
    if ctx.context is not None:
        options.setdefault("context_path", ctx.context)
    elif ctx.context_text is not None:
        options.setdefault("context", ctx.context_text)
    mode = options.get("mode", "auto")
    if mode == "auto":
        options["auto"] = True
        options["mode"] = "code" if ctx.writes_code("root") else "plan"
    if ctx.session is not None:
        options["session"] = ctx.session
    sub = ctx.model("sub")
    if sub is not None:
        options["sub_chars"] = sub_chars(sub.context_window)
    return options


def _describe(strategy: Recursive) -> dict[str, Any]:
    return {"mode": "auto"} if strategy.auto else {}


#: sub-calls a code-mode run may make by default (the step limit is its turns plus these; ``--max-steps`` sets it)
CODE_SUB_CALLS = 1000


def code_steps(strategy: Recursive, question: str) -> int | None:
    """The default step limit of a code-mode run: its root turns plus :data:`CODE_SUB_CALLS`."""
    return strategy.max_iterations + CODE_SUB_CALLS if strategy.mode == "code" else None


def reads_every_record(strategy: Recursive, question: str) -> bool:
    """Whether the strategy runs the count plan over its context file on ``question`` (one call per
    record, so the records, not a step limit, bound the run)."""
    return (
        strategy.context_path is not None
        and strategy.mode == "plan"
        and plan_for(strategy.aggregate, question) == "count"
    )


ENTRY = StrategyEntry(
    "recursive",
    Recursive,
    "read inputs far larger than the window: a fixed plan (small models) or model-written code in a REPL",
    options=(
        Option(
            "mode",
            str,
            "recursive: a fixed plan (small models) or model-written code (default auto).",
            "--mode",
            choices=("auto", "plan", "code"),
            default="auto",
            requires="--context",
            access=CLIENT,  # code mode runs model-written code: a server's policy says whether it may
        ),
        Option(
            "aggregate",
            str,
            "recursive plan: count matching records (auto: for 'how many ...' questions) or find an answer (none).",
            "--aggregate",
            choices=("auto", "count", "none"),
            default="auto",
            requires="--context",
            access=CLIENT,
        ),
        Option(
            "fallback_after",
            int,
            "recursive auto mode: code blocks that fail (or replies without code) before plan mode takes over (0: never).",
            "--fallback-after",
            minimum=0,
            maximum=1000,
            requires="--context",
            access=CLIENT,
            client_max=20,
        ),
        Option(
            "max_iterations",
            int,
            "recursive code mode: root-model turns before it stops without FINAL.",
            "--max-iterations",
            minimum=1,
            maximum=10_000,
            requires="--context",
            access=CLIENT,
            client_max=50,
        ),
        Option(
            "rlm_concurrency",
            int,
            "recursive code mode: child runs of one rlm_query_batched running at once.",
            "--rlm-concurrency",
            minimum=1,
            maximum=1000,
            requires="--context",
            access=OPERATOR,  # threads of the server
        ),
        Option(
            "code_grammar",
            bool,
            "recursive code mode: do not constrain each root reply to one ```python block (on backends with grammars).",
            "--no-code-grammar",
            flag_value=False,
            requires="--context",
            access=CLIENT,
        ),
        Option(
            "loop_limit",
            int,
            "recursive code mode: repeated replies (or code with the same output) before the run stops (reason loop).",
            minimum=1,
            maximum=1000,
            access=CLIENT,
            client_max=20,
        ),
        Option(
            "final_call", bool, "recursive code mode: ask once for the answer when the turns run out.", access=CLIENT
        ),
        Option(
            "confirm",
            int,
            "recursive code mode: new FINAL answers held back once each for a check before one stands (0: none).",
            minimum=0,
            maximum=20,
            access=CLIENT,
            client_max=10,
        ),
        Option(
            "max_output",
            int,
            "recursive code mode: characters of a block's output shown (head and tail).",
            minimum=200,
            maximum=10_000_000,
            access=CLIENT,
            client_max=100_000,
        ),
        Option(
            "chunk_bytes",
            int,
            "recursive plan: bytes per chunk.",
            minimum=100,
            maximum=100_000_000,
            access=CLIENT,
            client_max=1_000_000,
        ),
        Option(
            "top_k",
            int,
            "recursive plan: chunks kept by the filter.",
            minimum=1,
            maximum=10_000,
            access=CLIENT,
            client_max=64,
        ),
        Option(
            "context_path",
            str,
            "recursive: a file or folder (a run spec's ``context`` sets it).",
            nullable=True,
            access=OPERATOR,  # a path on the server's disk
            max_length=4096,
        ),
    ),
    takes_tools=True,
    tools_optional=True,
    reads_context=True,
    keeps_session=True,
    runs_code=CodeSwitch("mode", on="code", off="plan"),
    prepare=_prepare,
    describe=_describe,
    prepared=("auto", "session", "sub_chars"),
    unbounded=reads_every_record,
    steps_for=code_steps,
)
