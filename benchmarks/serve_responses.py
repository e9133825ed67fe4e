"""What the Responses API costs over chat completions in ``ponder serve``: the same runs, side by side.

One ``ponder serve --model scripted --no-store`` process; one client (the
official ``openai`` SDK, sync) sends R requests per cell, the cells interleaved
round by round (chat, responses; streamed and not; ``single`` and ``refine``)
so the machine's noise falls on all of them alike; the streams are also read as
raw SSE lines (httpx, no SDK parsing), which is the server's share. Reported: p50 and p99
latency per cell and the ratio responses / chat of the p50s. The model is the
scripted fake, so the figures are the server's own work: translating the
request, running the engine, and shaping the answer (a completion and its
chunks, or output items and typed events).

    .venv/bin/python benchmarks/serve_responses.py                 # R=200
    .venv/bin/python benchmarks/serve_responses.py --requests 20   # quick
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import httpx
import openai

from servers import free_port, start_process_server, stop_process

QUESTION = "How many legs do 3 spiders have?"


def cells(api: openai.OpenAI, raw: httpx.Client, strategy: str) -> dict[str, Callable[[], object]]:
    messages = [{"role": "user", "content": QUESTION}]
    chat_body = {"model": strategy, "messages": messages, "stream": True}
    responses_body = {"model": strategy, "input": QUESTION, "stream": True}
    return {
        "chat": lambda: api.chat.completions.create(model=strategy, messages=messages),  # type: ignore[arg-type]
        "responses": lambda: api.responses.create(model=strategy, input=QUESTION),
        "chat, stream": lambda: list(api.chat.completions.create(model=strategy, messages=messages, stream=True)),  # type: ignore[arg-type]
        "responses, stream": lambda: list(api.responses.create(model=strategy, input=QUESTION, stream=True)),
        # the same streams read as raw SSE lines (httpx, no SDK parsing): the server's share
        "chat, stream, raw": lambda: _lines(raw, "/chat/completions", chat_body),
        "responses, stream, raw": lambda: _lines(raw, "/responses", responses_body),
    }


def _lines(raw: httpx.Client, path: str, body: dict[str, object]) -> list[str]:
    with raw.stream("POST", path, json=body) as response:
        return [line for line in response.iter_lines() if line.startswith("data:")]


def measure(requests: int) -> list[tuple[str, str, float, float]]:
    port = free_port()
    command = [sys.executable, "-m", "ponder", "serve", "--port", str(port), "--model", "scripted", "--no-store"]
    server = start_process_server(command, port, ready_path="/health", wait=120)
    try:
        api = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=60)
        raw = httpx.Client(base_url=server.base_url, timeout=60)
        table = {(s, name): call for s in ("single", "refine") for name, call in cells(api, raw, s).items()}
        for call in table.values():  # warm: connections, the first run of each path
            call()
        times: dict[tuple[str, str], list[float]] = {key: [] for key in table}
        for _ in range(requests):
            for key, call in table.items():
                started = time.perf_counter()
                call()
                times[key].append((time.perf_counter() - started) * 1000)
    finally:
        stop_process(server.process)
    rows = []
    for (strategy, name), samples in times.items():
        ordered = sorted(samples)
        rows.append((strategy, name, statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))]))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per cell (default 200)")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be >= 1")
    load_before = os.getloadavg()[0]
    rows = measure(args.requests)
    p50 = {(s, n): m for s, n, m, _ in rows}
    print(f"{args.requests} requests per cell, one client; load average {load_before:.2f} before,"
          f" {os.getloadavg()[0]:.2f} after\n")  # fmt: skip
    print("| strategy | route | p50 ms | p99 ms | p50 / chat's |")
    print("| --- | --- | ---: | ---: | ---: |")
    for strategy, name, median, p99 in rows:
        base = p50[(strategy, name.replace("responses", "chat"))]
        print(f"| {strategy} | {name} | {median:.2f} | {p99:.2f} | {median / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
