"""The one builder: a :class:`~ponder.spec.RunSpec` in, a ready engine out, everything released after.

:func:`open_run` is the only code that loads models, parses tools, builds the
strategy tree, attaches the stop policy and memory, opens the store and the
trace, and closes all of it again. ``ponder ask``, :func:`resume` (``ponder
resume``) and :func:`run` are thin shells over it::

    spec = RunSpec.from_dict({"strategy": "refine", "models": {"root": "scripted"}})
    with open_run(spec) as opened:
        result = opened.run("Why is the sky blue?")
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from .context.fingerprint import changes, fingerprint
from .engine import telemetry
from .engine.budget import Budget, Cancellation
from .engine.call_cache import StoreCache
from .engine.core import Engine
from .engine.dispatch import TextObserver
from .engine.run_state import Replay
from .errors import ConfigError, PonderError
from .events import EventSink, JsonlTrace
from .models.base import Model
from .requests import Strategy
from .result import RunResult
from .run_models import ModelCache, check_priced, load_models, release_models
from .spec import RunSpec, build_strategy
from .spec.describe import describe_run
from .spec.legacy import spec_from_stored
from .stop import parse_stop
from .store import Replayer, RunStore, StoreError
from .store.sessions import SessionStore
from .strategies import close_strategy
from .strategies.entry import BuildContext
from .strategies.memory import Memory
from .strategies.repl_session import ReplSession
from .tools import close_tools, parse_tool_specs
from .tools.base import Tool
from .types import GenerationOptions


@dataclass
class OpenRun:
    """A spec turned into live objects (see :func:`open_run`); :meth:`run` answers a question with them."""

    spec: RunSpec
    models: dict[str, Model]
    tools: list[Tool]
    strategy: Strategy
    engine: Engine
    store: RunStore | None

    def run(self, question: str | None = None, *, cancellation: Cancellation | None = None) -> RunResult:
        """Answer ``question`` (default: the spec's) under the spec's budget, inside the spec's conversation
        history; the run is stored if the spec says so. ``cancellation`` lets another thread stop it."""
        asked = (self.spec if question is None else self.spec.with_question(question)).require_question()
        self.engine.budget = self.budget(asked)
        described = self.spec.with_question(asked)
        if described.context is not None and described.context_fingerprint is None:
            described = replace(described, context_fingerprint=fingerprint(described.context))
        spec = described.to_dict()
        return self.engine.run(self.strategy, asked, spec=spec, history=self.spec.history, cancellation=cancellation)

    def budget(self, question: str) -> Budget:
        """The spec's budget; ``max_steps="auto"`` is the strategy's own count of calls (or no step
        limit for a plan that reads every record, which the records bound)."""
        entry = self.spec.strategy.entry
        if entry.unbounded is not None and entry.unbounded(self.strategy, question):
            return self.spec.budget.budget(None)
        steps = self.spec.default_steps()
        wanted = entry.steps_for(self.strategy, question) if entry.steps_for is not None else None
        return self.spec.budget.budget(max(steps, wanted) if wanted is not None else steps)


@contextmanager
def open_run(
    spec: RunSpec,
    *,
    sinks: Iterable[EventSink] = (),
    on_text: TextObserver | None = None,
    replay: Replay | None = None,
    store: RunStore | None = None,
    resume: str | None = None,
    models: ModelCache | None = None,
    cache: StoreCache | None = None,
) -> Iterator[OpenRun]:
    """Build everything ``spec`` describes; release it when the block ends.

    ``sinks`` and ``on_text`` watch the run (the CLI's live view); ``replay``,
    ``store`` and ``resume`` continue a stored run (see :func:`ponder.resume`);
    ``models`` is a cache of loaded models kept across runs (``ponder serve``);
    ``cache`` keeps completions for later runs in a store other than the run's
    (``ponder eval --cache``: the evaluation's store, shared by its arms).
    """
    with ExitStack() as stack:
        all_sinks: list[EventSink] = []
        if spec.trace is not None:
            all_sinks.append(JsonlTrace(_open_trace(Path(spec.trace), stack)))
        tools = parse_tool_specs(",".join(spec.tools)) if spec.tools else []
        stack.callback(close_tools, tools)
        roles = load_models(spec, models)
        if models is not None:
            stack.callback(release_models, spec, models)
        check_priced(spec, roles)
        overrides = {role: m.writes_code for role, m in spec.models.items() if m.writes_code is not None}
        ctx = BuildContext(
            tools=tuple(tools),
            models=roles,
            context=spec.context,
            context_text=spec.context_text,
            writes_code_overrides=overrides,
        )
        if spec.session is not None:
            if store is None:
                store = RunStore(spec.store)
                stack.callback(store.close)
            ctx = replace(ctx, session=ReplSession(SessionStore(store), spec.session))
        strategy = build_strategy(spec.strategy, ctx)
        stack.callback(close_strategy, strategy)
        strategy = _configure(strategy, spec, roles["root"].context_window)
        if store is None and spec.record:
            store = RunStore(spec.store)
            stack.callback(store.close)
        if store is not None:
            all_sinks.append(store.sink(resume=resume))
        all_sinks.extend(sinks)
        all_sinks.extend(telemetry.sinks_from_env())
        if cache is None and spec.cache and store is not None:
            cache = StoreCache(store)
        engine = Engine(
            roles["root"],
            models=roles,
            options=spec.options,
            sinks=all_sinks,
            on_text=on_text,
            max_parallel_calls=spec.max_parallel_calls,
            replay=replay,
            cache=cache if cache is not None else True,
            prices=spec.prices,
        )
        yield OpenRun(spec, roles, tools, strategy, engine, store)


def run(spec: RunSpec | dict[str, Any], question: str | None = None) -> RunResult:
    """Run ``spec`` (a :class:`RunSpec` or its plain data) on ``question`` (default: the spec's) and return the result.

    >>> import ponder
    >>> spec = {"strategy": "single", "models": {"root": "scripted"}, "record": False}
    >>> ponder.run(spec, "Capital of France?").answer
    'echo: Capital of France?'
    """
    resolved = spec if isinstance(spec, RunSpec) else RunSpec.from_dict(spec)
    with open_run(resolved) as opened:
        return opened.run(question)


def describe(strategy: Strategy, engine: Engine, question: str) -> dict[str, Any] | None:
    """The spec of a run the engine was given as objects (``Engine(model, sinks=[store.sink()]).run(...)``),
    so a store can resume it, as plain data; None when some part cannot be built again from data (see
    :func:`ponder.spec.describe_run`). Every engine made without a describer of its own uses this one."""
    m = engine
    described = describe_run(strategy, m.model, m.models, m.budget, m.options, question, m.prices)
    return described.to_dict() if described is not None else None


Engine.default_describe = describe  # the engine does not know the strategies or the spec; the builder does


def _configure(strategy: Strategy, spec: RunSpec, window: int) -> Strategy:
    """The root strategy with the spec's stop policy and memory (the spec checked that it takes them:
    its entry's ``stop_state`` means a ``stop_policy`` field, ``memory`` a ``memory`` field)."""
    changed: Any = strategy
    policy = parse_stop(spec.stop)
    if policy is not None:
        try:
            changed = replace(changed, stop_policy=policy)
        except ConfigError as exc:  # e.g. a policy fitted on refine passes given to consistency
            raise ConfigError(f"--stop {spec.stop}: {exc}") from None
    if spec.memory is not None:
        changed = replace(changed, memory=Memory(window=window, threshold=spec.memory.threshold, mode=spec.memory.mode))
    configured: Strategy = changed
    return configured


def _open_trace(path: Path, stack: ExitStack) -> IO[str]:
    try:
        stream = path.open("w", encoding="utf-8")
    except OSError as exc:
        raise PonderError(f"cannot write the trace file {path}: {exc.strerror}") from None
    stack.callback(_close_quietly, stream)  # a write that failed was reported by the trace already
    return stream


def _close_quietly(stream: IO[str]) -> None:
    with suppress(OSError):
        stream.close()


def resume(
    store: RunStore,
    run_id: str,
    *,
    model: Model | None = None,
    strategy: Strategy | None = None,
    sinks: Iterable[EventSink] = (),
    on_text: TextObserver | None = None,
    force: bool = False,
) -> tuple[RunResult, Replayer]:
    """Continue the stored run ``run_id``; returns its result and the replayer (how much was replayed).

    The run is rebuilt from its stored spec (every run started by ``ponder ask``,
    :func:`run` or the Python API with a describable strategy has one) and rerun:
    recorded model and tool results are served from the store, the rest runs live,
    and its events are appended to the same stored run. A run stored without a
    spec resumes only with ``model`` and ``strategy`` given. A run whose context
    file changed since it started is refused (``force=True`` resumes it anyway,
    recorded with the resume); so is a run another live process is writing.
    """
    root = store.resolve(run_id)
    info = store.run(root)
    if info["status"] == "finished":
        raise StoreError(f"run {root} already finished ({info['stop_reason']}); nothing to resume")
    data = store.spec_data(root)
    if (model is None) != (strategy is None):
        raise ConfigError("resume takes both a model and a strategy, or neither (then the stored spec is run)")
    if data is None and model is None:
        raise StoreError(f"run {root} has no stored spec; resume it from Python with its model and strategy")
    # read the spec before changing the store; the rerun writes no trace (the first run's stays as it was)
    spec = replace(spec_from_stored(data), trace=None) if data is not None else None
    forced = False
    if spec is not None and spec.context is not None and spec.context_fingerprint is not None:
        changed = changes(dict(spec.context_fingerprint), fingerprint(spec.context))
        if changed is not None and not force:
            raise StoreError(
                f"the context {spec.context} changed since run {root} started ({changed}); resuming would mix"
                " answers from two inputs (ponder resume --force goes on anyway)"
            )
        forced = changed is not None
    store.take_lease(root)  # before anything changes: a run another live process writes is not resumed
    store.drop_error_tail(root)
    replayer = Replayer(store.events(root))
    if model is None or strategy is None:
        assert spec is not None
        with open_run(spec, sinks=sinks, on_text=on_text, replay=replayer, store=store, resume=root) as opened:
            result = opened.run(info["question"])
    else:
        budget, options = _recorded_budget_and_options(store.events(root))
        engine = Engine(
            model,
            budget=budget,
            options=spec.options if spec is not None else options,
            sinks=[store.sink(resume=root), *sinks],
            on_text=on_text,
            replay=replayer,
        )
        result = engine.run(strategy, info["question"], spec=data)
    store.add_resume(root, replayer.replayed_calls, replayer.replayed_tools, forced=forced)
    return result, replayer


def _recorded_budget_and_options(events: list[dict[str, Any]]) -> tuple[Budget, GenerationOptions | None]:
    """The budget ``run_started`` recorded (resolved; a limit it leaves out is unlimited, as older stores
    wrote only the set ones) and the options of the first recorded call, without its grammar (a strategy's
    per-call constraint, such as code mode's one-block grammar, is not the run's option)."""
    recorded = events[0].get("budget", {})
    budget = Budget(**{"max_steps": None, **recorded})
    for event in events:
        if event["type"] == "model_call" and event.get("options"):
            data = dict(event["options"])
            data["stop"] = tuple(data.get("stop", ()))
            data["grammar"] = None
            return budget, GenerationOptions(**data)
    return budget, None
