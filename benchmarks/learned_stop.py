"""Learned stop policy vs a fixed budget: refine on arithmetic word problems, or consistency on GSM8K.

    python benchmarks/learned_stop.py --problems 16 --folds 4 [--model smollm2] [--rounds 2] [--store FILE]
    python benchmarks/learned_stop.py --strategy consistency --problems 40 --folds 4 [--samples 5] [--data FILE]

1. Runs the strategy with a fixed budget on every problem -- refine with
   ``--rounds`` critique/revise rounds, or consistency drawing all ``--samples``
   samples (``adaptive=False``) -- recording each run in a run store and attaching
   its outcome (correct/incorrect) with ``RunStore.set_outcome``.
2. K-fold cross-validation: for each fold, fits the learned stop policy on the
   other folds' stored runs, then runs the strategy with ``stop_policy=LearnedStop``
   on the held-out problems. Training rows: refine, one per pass, labelled 1 when
   that pass's draft is wrong and a later pass gets it right; consistency, one per
   wave a policy is asked about, labelled 1 when stopping there gives a wrong
   answer where all samples give the right one (:mod:`ponder.stop.vote_features`).
3. Those learned-policy runs are replayed from the stored fixed-budget runs with
   the engine's replay hook and a model that fails if it is ever called, so this is
   exactly what a live run would do without paying for the calls twice. It works
   because a run that stops earlier makes a prefix of the fixed run's calls:
   refine at temperature 0; consistency because sample ``i`` is always the same
   call (same prompt, seed ``seed + i``), the engine records a batch's calls in
   sample order, and the waves draw samples in that order. (If the calls were not
   a prefix, the replay would fail with ReplayDivergedError instead of guessing.)
   For consistency the learned policy runs on top of the exact adaptive rule (stop
   when the leader cannot be overtaken), which is also shown alone.

Prints accuracy and model calls of each policy over all held-out problems.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ponder
from gsm8k_consistency import SYSTEM
from ponder.stop import LearnedStop, StateKind, fit, labelled_rows, refine_passes, vote_waves, wave_rows
from ponder.store import Replayer, RunStore
from ponder.strategies import Consistency, Refine
from tasks import Task, arithmetic_problems, correct, gsm8k

Rows = list[tuple[list[float], int]]


@dataclass(frozen=True)
class Setup:
    """What differs between the two strategies: the tasks, the runs and the training rows."""

    state: StateKind
    tasks: list[Task]
    budget: ponder.Budget
    fixed: ponder.Strategy
    fixed_name: str
    #: the learned-policy strategy for a policy (None: the extra comparison row, if any)
    learned: Callable[[LearnedStop | None], ponder.Strategy]
    extra_name: str | None
    rows: Callable[[list[dict[str, Any]], float], Rows]


def refine_rows(events: list[dict[str, Any]], gold: float) -> Rows:
    return labelled_rows(refine_passes(events), lambda text: correct(text, gold))


def consistency_rows(events: list[dict[str, Any]], gold: float) -> Rows:
    return wave_rows(vote_waves(events), lambda key: correct(key, gold))


def setup(args: argparse.Namespace) -> Setup:
    if args.strategy == "refine":
        return Setup(
            "refine",
            arithmetic_problems(args.problems, seed=7),
            ponder.Budget(max_steps=1 + 2 * args.rounds),
            Refine(max_rounds=args.rounds),
            f"fixed ({args.rounds} rounds)",
            lambda policy: Refine(max_rounds=args.rounds, stop_policy=policy),
            None,
            refine_rows,
        )
    n = args.samples
    return Setup(
        "consistency",
        gsm8k(args.problems, args.offset, args.data),
        ponder.Budget(max_steps=None),
        Consistency(samples=n, adaptive=False, system_prompt=SYSTEM),
        f"fixed (all {n} samples)",
        lambda policy: Consistency(samples=n, system_prompt=SYSTEM, stop_policy=policy),
        f"adaptive (exact early stop, N={n})",
        consistency_rows,
    )


def record_fixed(
    model: ponder.Model, s: Setup, store: RunStore, options: ponder.GenerationOptions
) -> list[tuple[Task, str]]:
    runs = []
    for number, task in enumerate(s.tasks, 1):
        engine = ponder.Engine(model, budget=s.budget, options=options, sinks=[store.sink()])
        t0 = time.perf_counter()
        result = engine.run(s.fixed, task.question)
        ok = correct(result.answer, task.answer)
        store.set_outcome(result.run_id, "correct" if ok else "incorrect", "benchmarks/learned_stop.py")
        runs.append((task, result.run_id))
        print(
            f"  run {number}/{len(s.tasks)}: {result.usage.model_calls} calls, {'correct' if ok else 'wrong'},"
            f" {time.perf_counter() - t0:.0f}s",
            flush=True,
        )
    return runs


def replayed(
    store: RunStore, run_id: str, strategy: ponder.Strategy, s: Setup, options: ponder.GenerationOptions, question: str
) -> ponder.RunResult:
    """A run of ``strategy`` served entirely from the stored fixed run (a live call would fail)."""
    never = ponder.ScriptedModel([])
    engine = ponder.Engine(
        never, budget=s.budget, options=options, replay=Replayer(store.events(run_id), by_content=True)
    )
    return engine.run(strategy, question)


def main(argv: list[str] | None = None, model: ponder.Model | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strategy", choices=["refine", "consistency"], default="refine")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--problems", type=int, default=16)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2, help="refine: critique/revise rounds")
    parser.add_argument("--samples", type=int, default=5, help="consistency: samples of the fixed budget")
    parser.add_argument("--offset", type=int, default=0, help="consistency: first GSM8K test problem")
    parser.add_argument("--data", type=Path, default=None, help="consistency: GSM8K jsonl (default ../shared)")
    parser.add_argument("--max-tokens", type=int, default=None, help="per call (default refine 64, consistency 192)")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--store", default=None, help="run store file (default: a temporary file)")
    parser.add_argument("--reuse", action="store_true", help="use the fixed runs already in --store")
    args = parser.parse_args(argv)
    max_tokens = args.max_tokens or (64 if args.strategy == "refine" else 192)
    options = ponder.GenerationOptions(max_tokens=max_tokens)

    workdir = Path(tempfile.mkdtemp(prefix="ponder-learned-stop-"))
    store = RunStore(args.store or workdir / "runs.db")
    s = setup(args)
    print(f"load average: {os.getloadavg()[0]:.2f}; {args.strategy}: {s.fixed_name}; max tokens {max_tokens}")
    if args.reuse:
        finished = [store.run(r) for r in store.root_ids(strategy=args.strategy)]
        by_question = {i["question"]: i["run_id"] for i in finished if i["status"] == "finished" and i["outcome"]}
        runs = [(t, by_question[t.question]) for t in s.tasks if t.question in by_question]
    else:
        model = model or ponder.load_model(args.model)
        print(f"recording {len(s.tasks)} fixed-budget {args.strategy} runs on {model.name}", flush=True)
        runs = record_fixed(model, s, store, options)

    names = [s.fixed_name, *([s.extra_name] if s.extra_name else []), f"learned ({args.folds}-fold CV)"]
    right = dict.fromkeys(names, 0)
    calls: dict[str, list[int]] = {name: [] for name in names}
    positives = total_rows = 0
    for fold in range(args.folds):
        held = [r for i, r in enumerate(runs) if i % args.folds == fold]
        train = [r for i, r in enumerate(runs) if i % args.folds != fold]
        rows = [row for task, run_id in train for row in s.rows(store.events(run_id), task.answer)]
        positives += sum(y for _, y in rows)
        total_rows += len(rows)
        path = workdir / f"policy-{fold}.json"
        fit(rows, threshold=args.threshold, state=s.state).save(path)
        policy = LearnedStop.load(path)
        for task, run_id in held:
            info = store.run(run_id)
            right[names[0]] += correct(info["answer"], task.answer)
            calls[names[0]].append(info["model_calls"])
            others = [(names[-1], policy)] + ([(names[1], None)] if s.extra_name else [])
            for name, chosen in others:
                result = replayed(store, run_id, s.learned(chosen), s, options, task.question)
                right[name] += correct(result.answer, task.answer)
                calls[name].append(result.usage.model_calls)
    n = len(runs)
    unit = "pass" if s.state == "refine" else "wave"
    helped = "a later pass fixed a wrong draft" if s.state == "refine" else "stopping there made the answer wrong"
    print(
        f"\ntraining rows ({unit}s) per fold (mean): {total_rows / args.folds:.1f}, "
        f"of which {helped}: {positives / args.folds:.1f}"
    )
    print("\n| stop policy | problems | accuracy | mean model calls | total model calls |")
    print("| --- | --- | --- | --- | --- |")
    for name in names:
        mean = statistics.mean(calls[name] or [0])
        print(f"| {name} | {n} | {right[name] / max(n, 1):.2f} | {mean:.2f} | {sum(calls[name])} |")
    print(f"\nstore: {store.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
