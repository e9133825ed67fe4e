"""``ponder eval`` scaling and resume against a slow loopback OpenAI-compatible server.

400 items of ``single`` against the test suite's fake chat server
(``tests/support/servers.py``) on 127.0.0.1, answering every request after 200 ms:
wall time with ``--workers 1, 4, 16`` and with ``--ray local`` at 4 and 16
tasks in flight, against the ideal ``items × 0.2 s / parallelism``. Each
configuration writes into a fresh output folder and run store (recording every
run is part of the cost). "eval s" is the evaluation itself (from
``summary.json``: from the workers' start to the last row, every run recorded
in the store); "command s" adds starting the command, the report (importing
scipy and matplotlib takes seconds) and, for Ray, starting the local cluster.

Then resume: an eval of ``--resume-items`` items (4 workers) is killed with
SIGKILL mid-way and rerun; the server counts the model calls, so the table
shows how many finished items were asked again (the target is 0) and how many
were in flight when it died.

    python benchmarks/eval_scaling.py                       # 400 items, 200 ms, resume on 200
    python benchmarks/eval_scaling.py --items 40 --delay 0.05 --configs w1,w4 --resume-items 40   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from servers import FakeChatServer  # noqa: E402

CONFIGS = {
    "w1": ("--workers 1", ["--workers", "1"], 1),
    "w4": ("--workers 4", ["--workers", "4"], 4),
    "w16": ("--workers 16", ["--workers", "16"], 16),
    "ray4": ("--ray local --in-flight 4", ["--ray", "local", "--in-flight", "4"], 4),
    "ray16": ("--ray local --in-flight 16", ["--ray", "local", "--in-flight", "16"], 16),
}


def reply(body: dict) -> str:
    users = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
    numbers = [int(w) for w in (users[-1] if users else "").replace("?", " ").split() if w.isdigit()]
    return f"The answer is {sum(numbers)}."


def write_items(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as stream:
        for i in range(n):
            stream.write(json.dumps({"question": f"What is {i} + {1000 + i} ?", "answer": 1000 + 2 * i}) + "\n")


def command(data: Path, out: Path, url: str, extra: list[str]) -> list[str]:
    base = [sys.executable, "-m", "ponder", "eval", str(data), "-m", "openai:fake", "--base-url", url]
    return [*base, "--out", str(out), "--store", str(out / "runs.db"), "--json", *extra]


WORK: list[Path] = []


def environment() -> dict[str, str]:
    """The commands' environment: ponder from this tree; Ray's files in the work folder, no auth token
    written to ~/.ray (a private instance on loopback)."""
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p)
    ray = {"RAY_TMPDIR": str(WORK[0]), "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"} if WORK else {}
    return {**os.environ, "PYTHONPATH": path, "OPENAI_API_KEY": "benchmark", **ray}


def scaling(args: argparse.Namespace, work: Path) -> list[str]:
    data = work / "items.jsonl"
    write_items(data, args.items)
    rows = []
    with FakeChatServer(delay=args.delay, reply=reply) as server:
        for key in args.configs.split(","):
            label, extra, parallel = CONFIGS[key]
            out = work / key
            server.max_in_flight = 0
            before = server.requests
            t0 = time.perf_counter()
            done = subprocess.run(
                command(data, out, server.url, extra), env=environment(), capture_output=True, text=True
            )
            took = time.perf_counter() - t0
            if done.returncode != 0 or not done.stdout.strip():
                raise SystemExit(f"{label} failed (exit {done.returncode}): {done.stderr.strip()[-3000:]}")
            try:
                summary = json.loads(done.stdout.strip().splitlines()[-1])
            except (json.JSONDecodeError, IndexError):
                raise SystemExit(f"{label}: no summary in {done.stdout[:2000]!r}; {done.stderr[-2000:]}") from None
            ideal = args.items * args.delay / parallel
            spec = summary["specs"][0]
            rows.append(
                f"| {label} | {server.requests - before} | {server.max_in_flight} | {spec['accuracy']:.0%} |"
                f" {summary['wall_seconds']:.2f} | {took:.2f} | {ideal:.2f} | {ideal / summary['wall_seconds']:.2f} |"
            )
            print(rows[-1], file=sys.stderr, flush=True)
    base = [r for r in rows if r.startswith("| --workers 1 |")]
    lines = [
        "| configuration | model calls | most in flight | accuracy | eval s | command s | ideal s | ideal / eval |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
    ]
    if base:
        w1 = float(base[0].split("|")[5])
        lines.append("")
        for row in rows[1:]:
            lines.append(
                f"speed-up of {row.split('|')[1].strip()} over --workers 1: {w1 / float(row.split('|')[5]):.1f}×"
            )
    return lines


def resume(args: argparse.Namespace, work: Path) -> list[str]:
    n = args.resume_items
    data = work / "resume.jsonl"
    write_items(data, n)
    out = work / "resume"
    with FakeChatServer(delay=args.delay, reply=reply) as server:
        cmd = command(data, out, server.url, ["--workers", "4"])
        process = subprocess.Popen(cmd, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results = out / "results.jsonl"
        while not (results.exists() and results.read_text().count("\n") >= n // 2):
            if process.poll() is not None:
                raise SystemExit("the eval finished before it could be killed")
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        process.wait()
        first = server.requests
        finished = {json.loads(line)["item"] for line in results.read_text().splitlines() if line.endswith("}")}
        done = subprocess.run(cmd, env=environment(), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"the rerun failed: {done.stderr.strip()}")
        asked = [[m["content"] for m in b["messages"] if m["role"] == "user"][-1] for b in server.bodies[first:]]
    questions = {f"What is {int(i) - 1} + {1000 + int(i) - 1} ?" for i in finished}
    repeated = sum(q in questions for q in asked)
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    return [
        "| items | rows when killed | calls before the kill | in flight at the kill | calls of the rerun |"
        " finished items asked again | rows after the rerun (distinct items) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {n} | {len(finished)} | {first} | {first - len(finished)} | {len(asked)} | {repeated} |"
        f" {len(rows)} ({len({r['item'] for r in rows})}) |",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--configs", default="w1,w4,w16,ray4,ray16", help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--resume-items", type=int, default=200, help="0: skip the resume measurement")
    args = parser.parse_args(argv)
    unknown = set(args.configs.split(",")) - set(CONFIGS) - {""}
    if unknown:
        parser.error(f"unknown configs {', '.join(sorted(unknown))}")
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="pe15-", dir="/tmp") as tmp:  # short: Ray's socket paths
        work = Path(tmp)
        WORK[:] = [work]
        lines = scaling(args, work) if args.configs else []
        if args.resume_items:
            lines += ["", *resume(args, work)]
    print(
        f"ponder eval: {args.items} items of single against a loopback server answering after {args.delay * 1000:.0f} ms;"
        f" {os.cpu_count()} cores; load average before/after {load:.2f}/{os.getloadavg()[0]:.2f};"
        f" python {sys.version.split()[0]}"
    )
    print()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
