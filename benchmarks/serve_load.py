"""``ponder serve`` under load: the overhead it adds over its upstream, and how it degrades when full.

Part 1, overhead: C concurrent clients (the official ``openai`` SDK, async)
send R requests for ``single`` through ``ponder serve`` (with and without its
run store) and, side by side, the same requests straight to the upstream: the
test suite's fake OpenAI-compatible server on 127.0.0.1, answering at once.
Reported: requests/s, p50/p99 latency, and the latency ponder adds (p50 and
p99 of serve minus direct). The store's share is the difference between the
rows with and without ``--no-store``.

Part 2, a slow upstream (200 ms per call): C2 concurrent ``consistency`` N=5
requests (all samples drawn), with room for all of them, then with
``--max-concurrent 4 --max-queue 8`` so that most are turned away with 429;
every request that got a 200 must have its run in the store, finished.

Server, upstream and clients share this machine's cores; the rows of one run
are comparable, absolute figures are not.

    .venv/bin/python benchmarks/serve_load.py                       # C=64, R=640; C2=32
    .venv/bin/python benchmarks/serve_load.py --requests 128 --clients 16 --slow-clients 8   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import openai

from servers import FakeChatServer, ProcessServer, free_port, start_process_server, stop_process

QUESTION = [{"role": "user", "content": "How many legs do 3 spiders have?"}]


def start_serve(store: Path | None, *args: str) -> ProcessServer:
    port = free_port()
    command = [sys.executable, "-m", "ponder", "serve", "--port", str(port), "--max-seconds", "600"]
    command += ["--store", str(store)] if store is not None else ["--no-store"]
    return start_process_server([*command, *args], port, ready_path="/health", wait=120)


async def load(base_url: str, model: str, requests: int, clients: int, extra: dict | None = None) -> dict:
    """Send ``requests`` requests from ``clients`` concurrent clients; latencies of the 200s and the status counts."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    run_ids: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    async with openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=600) as client:

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                t0 = time.perf_counter()
                try:
                    reply = await client.chat.completions.create(
                        model=model, messages=QUESTION, extra_body={"ponder": extra} if extra else None
                    )
                except openai.APIStatusError as exc:
                    statuses[str(exc.status_code)] = statuses.get(str(exc.status_code), 0) + 1
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses["200"] = statuses.get("200", 0) + 1
                info = (reply.model_extra or {}).get("ponder")
                if info:
                    run_ids.append(info["run_id"])

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {"latencies": latencies, "statuses": statuses, "wall": wall, "run_ids": run_ids}


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else float("nan")


def row(name: str, got: dict) -> tuple[str, float, float, float]:
    lat = got["latencies"]
    rate = len(lat) / got["wall"] if got["wall"] else 0.0
    p50, high = (statistics.median(lat) if lat else float("nan")) * 1000, p99(lat) * 1000
    print(f"| {name} | {len(lat)} | {rate:.1f} | {p50:.1f} | {high:.1f} | {got['statuses']} |")
    return name, rate, p50, high


def finished_runs(db: Path, run_ids: Sequence[str]) -> int:
    with sqlite3.connect(db) as conn:
        marks = ",".join("?" * len(run_ids))
        rows = conn.execute(
            f"SELECT count(*) FROM runs WHERE run_id IN ({marks}) AND status = 'finished'", list(run_ids)
        )
        return int(rows.fetchone()[0])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=640)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--slow-clients", type=int, default=32)
    parser.add_argument("--slow-delay", type=float, default=0.2)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="ponder-serve-bench-"))
    print(f"load average before {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores; python {sys.version.split()[0]}")
    print()
    print(f"Part 1: `single`, {args.requests} requests from {args.clients} concurrent clients, instant upstream")
    print()
    print("| path | 200s | requests/s | p50 ms | p99 ms | statuses |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    with FakeChatServer(reply=lambda body: "3 spiders have 24 legs.") as upstream:
        stored = start_serve(
            tmp / "runs.db",
            "--model",
            "openai:up",
            "--base-url",
            upstream.url,
            "--max-concurrent",
            "64",
            "--max-queue",
            "1024",
        )
        bare = start_serve(
            None, "--model", "openai:up", "--base-url", upstream.url, "--max-concurrent", "64", "--max-queue", "1024"
        )
        try:
            asyncio.run(load(upstream.url, "up", 32, 8))  # warm up
            asyncio.run(load(stored.base_url, "single", 32, 8))
            asyncio.run(load(bare.base_url, "single", 32, 8))
            one = max(50, args.requests // 4)
            print(f"| *one client, {one} requests in turn* | | | | | |")
            alone = row("upstream directly, 1 client", asyncio.run(load(upstream.url, "up", one, 1)))
            alone_stored = row(
                "ponder serve (store on), 1 client", asyncio.run(load(stored.base_url, "single", one, 1))
            )
            alone_bare = row("ponder serve --no-store, 1 client", asyncio.run(load(bare.base_url, "single", one, 1)))
            print(f"| *{args.clients} clients at once, {args.requests} requests* | | | | | |")
            asyncio.run(load(stored.base_url, "single", 32, 8))
            asyncio.run(load(bare.base_url, "single", 32, 8))
            direct = row("upstream directly", asyncio.run(load(upstream.url, "up", args.requests, args.clients)))
            served = row(
                "ponder serve (store on)", asyncio.run(load(stored.base_url, "single", args.requests, args.clients))
            )
            nostore = row(
                "ponder serve --no-store", asyncio.run(load(bare.base_url, "single", args.requests, args.clients))
            )
        finally:
            stop_process(stored.process)
            stop_process(bare.process)
    print()
    print(f"one client: added p50 {alone_stored[2] - alone[2]:.1f} ms (store on), {alone_bare[2] - alone[2]:.1f} ms "
          f"(no store); the store's share {alone_stored[2] - alone_bare[2]:.1f} ms")  # fmt: skip
    print(f"added latency p50: {served[2] - direct[2]:.1f} ms (store on), {nostore[2] - direct[2]:.1f} ms (no store); "
          f"p99: {served[3] - direct[3]:.1f} / {nostore[3] - direct[3]:.1f} ms; target p50 <= 5 ms")  # fmt: skip
    print(f"store's share of the added p50: {served[2] - nostore[2]:.1f} ms; throughput with/without store: "
          f"{served[1]:.1f} / {nostore[1]:.1f} req/s")  # fmt: skip
    print()
    n = args.slow_clients
    print(
        f"Part 2: `consistency` N=5 (all samples), {n} concurrent clients, upstream {args.slow_delay * 1000:.0f} ms per call"
    )
    print()
    print("| server | 200s | requests/s | p50 ms | p99 ms | statuses |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    extra = {"samples": 5, "adaptive": False}
    with FakeChatServer(delay=args.slow_delay, reply=lambda body: "24") as upstream:
        roomy = start_serve(
            tmp / "roomy.db",
            "--model",
            "openai:up",
            "--base-url",
            upstream.url,
            "--max-concurrent",
            str(n),
            "--max-queue",
            str(n),
        )
        full = start_serve(
            tmp / "full.db",
            "--model",
            "openai:up",
            "--base-url",
            upstream.url,
            "--max-concurrent",
            "4",
            "--max-queue",
            "8",
        )
        try:
            got = asyncio.run(load(roomy.base_url, "consistency", n, n, extra))
            row(f"--max-concurrent {n}", got)
            kept = finished_runs(tmp / "roomy.db", got["run_ids"])
            got_full = asyncio.run(load(full.base_url, "consistency", n, n, extra))
            row("--max-concurrent 4 --max-queue 8", got_full)
            kept_full = finished_runs(tmp / "full.db", got_full["run_ids"])
        finally:
            stop_process(roomy.process)
            stop_process(full.process)
    print()
    print(
        f"runs in the store, finished, for the 200s: {kept}/{len(got['run_ids'])} and {kept_full}/{len(got_full['run_ids'])}"
    )
    print(f"load average after {os.getloadavg()[0]:.2f}")
    subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
