"""Learned stop policy vs the fixed refine budget, on arithmetic word problems.

    python benchmarks/learned_stop.py --problems 16 --folds 4 [--model smollm2] [--rounds 2] [--store FILE]

1. Runs refine with a fixed budget (``--rounds`` critique/revise rounds) on every
   problem, recording each run in a run store and attaching its outcome
   (correct/incorrect) with ``RunStore.set_outcome``.
2. K-fold cross-validation: for each fold, fits the learned stop policy on the
   other folds' stored runs (one row per pass, labelled 1 when that pass's draft
   is wrong and a later pass gets it right), then runs refine with
   ``stop_policy=LearnedStop`` on the held-out problems.
3. Those learned-policy runs are replayed from the stored fixed-budget runs with
   the engine's replay hook and a model that fails if it is ever called: at
   temperature 0 a run that stops earlier is a prefix of the fixed run, so this
   is exactly what a live run would do, without paying for the calls twice.

Prints accuracy and model calls of both policies over all held-out problems.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ponder
from ponder.stop_learned import LearnedStop, fit, labelled_rows, refine_passes
from ponder.store import Replayer, RunStore
from ponder.strategies import Refine
from tasks import Task, arithmetic_problems, correct


def budget(rounds: int) -> ponder.Budget:
    return ponder.Budget(max_steps=1 + 2 * rounds)


def record_fixed(
    model: ponder.Model, tasks: list[Task], store: RunStore, rounds: int, max_tokens: int
) -> list[tuple[Task, str]]:
    runs = []
    for number, task in enumerate(tasks, 1):
        engine = ponder.Engine(
            model, budget=budget(rounds), options=ponder.GenerationOptions(max_tokens=max_tokens), sinks=[store.sink()]
        )
        t0 = time.perf_counter()
        result = engine.run(Refine(max_rounds=rounds), task.question)
        ok = correct(result.answer, task.answer)
        store.set_outcome(result.run_id, "correct" if ok else "incorrect", "benchmarks/learned_stop.py")
        runs.append((task, result.run_id))
        print(
            f"  run {number}/{len(tasks)}: {result.usage.model_calls} calls, {'correct' if ok else 'wrong'},"
            f" {time.perf_counter() - t0:.0f}s",
            flush=True,
        )
    return runs


def rows_of(store: RunStore, runs: list[tuple[Task, str]]) -> list[tuple[list[float], int]]:
    rows = []
    for task, run_id in runs:
        passes = refine_passes(store.events(run_id))
        rows.extend(labelled_rows(passes, lambda text, gold=task.answer: correct(text, gold)))
    return rows


def with_policy(
    store: RunStore, task: Task, run_id: str, policy: LearnedStop, rounds: int, max_tokens: int
) -> ponder.RunResult:
    """The learned-policy run, served entirely from the stored fixed run (a live call would fail)."""
    never = ponder.ScriptedModel([])
    engine = ponder.Engine(
        never,
        budget=budget(rounds),
        options=ponder.GenerationOptions(max_tokens=max_tokens),
        replay=Replayer(store.events(run_id)),
    )
    return engine.run(Refine(max_rounds=rounds, stop_policy=policy), task.question)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--problems", type=int, default=16)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--store", default=None, help="run store file (default: a temporary file)")
    parser.add_argument("--reuse", action="store_true", help="use the refine runs already in --store")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="ponder-learned-stop-"))
    store = RunStore(args.store or workdir / "runs.db")
    tasks = arithmetic_problems(args.problems, seed=7)
    print(f"load average: {os.getloadavg()[0]:.2f}; refine rounds {args.rounds}; max tokens {args.max_tokens}")
    if args.reuse:
        finished = [store.run(r) for r in store.root_ids(strategy="refine")]
        by_question = {i["question"]: i["run_id"] for i in finished if i["status"] == "finished" and i["outcome"]}
        runs = [(t, by_question[t.question]) for t in tasks if t.question in by_question]
    else:
        model = ponder.load_model(args.model)
        print(f"recording {len(tasks)} fixed-budget refine runs on {model.name}", flush=True)
        runs = record_fixed(model, tasks, store, args.rounds, args.max_tokens)

    fixed_right, fixed_calls, learned_right, learned_calls, positives, total_rows = 0, [], 0, [], 0, 0
    for fold in range(args.folds):
        held = [r for i, r in enumerate(runs) if i % args.folds == fold]
        train = [r for i, r in enumerate(runs) if i % args.folds != fold]
        rows = rows_of(store, train)
        positives += sum(y for _, y in rows)
        total_rows += len(rows)
        policy = fit(rows, threshold=args.threshold)
        path = workdir / f"policy-{fold}.json"
        policy.save(path)
        policy = LearnedStop.load(path)
        for task, run_id in held:
            info = store.run(run_id)
            fixed_right += correct(info["answer"], task.answer)
            fixed_calls.append(info["model_calls"])
            result = with_policy(store, task, run_id, policy, args.rounds, args.max_tokens)
            learned_right += correct(result.answer, task.answer)
            learned_calls.append(result.usage.model_calls)
    n = len(fixed_calls)
    print(
        f"\ntraining rows per fold (mean): {total_rows / args.folds:.1f}, of which a later pass fixed a wrong draft: "
        f"{positives / args.folds:.1f}"
    )
    print("\n| stop policy | problems | accuracy | mean model calls | total model calls |")
    print("| --- | --- | --- | --- | --- |")
    for name, right, calls in (
        (f"fixed ({args.rounds} rounds)", fixed_right, fixed_calls),
        (f"learned ({args.folds}-fold CV)", learned_right, learned_calls),
    ):
        print(f"| {name} | {n} | {right / n:.2f} | {statistics.mean(calls):.2f} | {sum(calls)} |")
    print(f"\nstore: {store.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
