"""kill -9 in the middle of a batch, then resume: how many completed calls were lost, how many were paid twice.

Each trial starts a process running a consistency wave of ``--samples`` calls (``max_parallel_calls``
as many, so the whole batch is in flight at once) on a scripted model whose calls take a random
5–``--max-ms`` ms and which notes each call it completes in a side file (one ``write`` just before it
returns the reply), recording into a fresh run store. The parent kills it with SIGKILL at a random
moment within the wave, then opens the store, counts the calls it holds, and resumes the run with a
fresh scripted model, counting the calls that resume makes.

- *completed*: calls whose reply was returned before the kill (the side file);
- *recorded*: calls the store holds after the kill;
- *in flight*: completed but not recorded — the reply was back, its event not yet written;
- *repeated*: calls the resume made beyond the ones the store did not hold (target 0).

    .venv/bin/python benchmarks/kill_resume.py                 # 40 trials of 12 samples
    .venv/bin/python benchmarks/kill_resume.py --trials 10 --samples 32
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

import ponder
from ponder import strategies
from ponder.store import RunStore

CHILD = textwrap.dedent(
    """
    import os, random, sys, time
    from ponder import Budget, Engine, ScriptedModel, strategies
    from ponder.store import RunStore

    store_path, log_path, samples, max_ms = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    class Timed(ScriptedModel):
        def complete(self, messages, options, on_text=None, tools=None):
            time.sleep(random.uniform(0.005, max_ms / 1000))
            done = super().complete(messages, options, on_text, tools)
            os.write(log, f"{options.seed}\\n".encode())
            return done

    store = RunStore(store_path)
    os.write(1, b"ready\\n")
    Engine(Timed(lambda m: "The answer is 42."), budget=Budget(max_steps=samples + 5), sinks=[store.sink()],
           max_parallel_calls=samples).run(strategies.Consistency(samples=samples, adaptive=False), "What is 6 * 7?")
    """
)


def trial(tmp: Path, samples: int, max_ms: float, rng: random.Random) -> dict[str, int] | str:
    store_path, log_path = tmp / "runs.db", tmp / "completed.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store_path), str(log_path), str(samples), str(max_ms)],
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # the wave starts now
    time.sleep(rng.uniform(0.005, max_ms / 1000))  # no call is done before 5 ms; all are by max_ms
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    completed = len(log_path.read_text().split()) if log_path.exists() else 0
    with RunStore(store_path) as store:
        runs = store.list_runs()
        if not runs:  # nothing to resume: say how many calls had completed all the same
            return f"killed before the first call was recorded ({completed} completed)"
        run_id = runs[0]["run_id"]
        recorded = store.run(run_id)["model_calls"]
        if store.run(run_id)["status"] != "unfinished":
            return "the run had finished"
        live = ponder.ScriptedModel(lambda m: "The answer is 42.")
        ponder.resume(store, run_id, model=live, strategy=strategies.Consistency(samples=samples, adaptive=False))
    return {
        "completed": completed,
        "recorded": recorded,
        "in flight": completed - recorded,
        "repeated": len(live.calls) - (samples - recorded),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--samples", type=int, default=12)
    parser.add_argument("--max-ms", type=float, default=60.0, help="the slowest a call takes")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    load = os.getloadavg()[0]
    rows = []
    skipped: dict[str, int] = {}
    for _ in range(args.trials):
        with tempfile.TemporaryDirectory(prefix="ponder-kill-") as tmp:
            row = trial(Path(tmp), args.samples, args.max_ms, rng)
        if isinstance(row, str):
            skipped[row] = skipped.get(row, 0) + 1
        else:
            rows.append(row)
    print(
        f"{args.trials} trials of a {args.samples}-sample wave, calls 5-{args.max_ms:.0f} ms, SIGKILL at a random moment; "
        f"load average {load:.2f} before, {os.getloadavg()[0]:.2f} after; {os.cpu_count()} cores"
    )
    left_out = ", ".join(f"{n} {why}" for why, n in skipped.items()) or "none"
    print(f"{len(rows)} trials killed mid-wave; left out: {left_out}")
    print()
    print("| | completed before the kill | recorded | in flight (lost) | repeated by the resume |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, pick in (("total", sum), ("most in one trial", max)):
        print(f"| {name} | " + " | ".join(str(pick(r[k] for r in rows)) for k in rows[0]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
