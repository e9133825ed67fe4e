"""What ponder adds per call to an OpenAI-compatible server, against a raw ``openai`` loop.

An instant server on 127.0.0.1 (in this process, a thread; it answers before any model would)
replies ``Final Answer: 4`` to a text prompt and a ``final_answer`` tool call to a request with
tools, so every run below is one model call. Per run, median and min over ``--runs`` runs:

* raw ``openai`` loop: ``client.chat.completions.create`` with a system and a user message;
* the same with the 14 messages of react's text-protocol prompt (the SDK's cost per message);
* ponder ``single``; ``react`` with native tool calls; ``react`` with the text protocol.

Each repeat is one child process running every configuration, interleaved run by run, so
machine noise hits them alike; ``--baseline-src DIR`` adds the same rows for another ponder
checkout (e.g. ``git archive COMMIT src | tar -x -C /tmp/old``), its repeats alternating with
this one's.

    .venv/bin/python benchmarks/remote_overhead.py                       # 200 runs x 5 repeats
    .venv/bin/python benchmarks/remote_overhead.py --runs 20 --repeats 1 # quick check

Uses only the public API (``import ponder``) and the ``openai`` SDK.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONFIGS = ("raw openai loop", "raw openai loop, 14 messages", "ponder single", "react native", "react text")
QUESTION = "What is 2 + 2?"


class Instant(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._send({"object": "list", "data": [{"id": "m", "object": "model"}]}, 200 if "models" in self.path else 404)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        if body.get("tools"):
            call = {"id": "c1", "type": "function", "function": {"name": "final_answer", "arguments": '{"answer":"4"}'}}
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        else:
            message, finish = {"role": "assistant", "content": "Final Answer: 4"}, "stop"
        usage = {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}
        choice = {"index": 0, "message": message, "finish_reason": finish}
        self._send(
            {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [choice], "usage": usage}
        )

    def _send(self, payload: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve() -> tuple[ThreadingHTTPServer, str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Instant)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/v1"


def _runner(config: str, url: str) -> Callable[[], object]:
    import openai

    import ponder

    if config.startswith("raw"):
        client = openai.OpenAI(base_url=url, api_key="x", max_retries=0)
        messages = [{"role": "system", "content": "You are careful."}, {"role": "user", "content": QUESTION}]
        if "14" in config:
            turns = [{"role": "user" if i % 2 else "assistant", "content": f"Observation: {i}"} for i in range(12)]
            messages = [messages[0], *turns, messages[1]]
        return lambda: client.chat.completions.create(model="m", messages=messages, max_tokens=64)  # type: ignore[arg-type]
    model = ponder.load_model("openai:m", base_url=url, max_retries=0)
    options = ponder.GenerationOptions(max_tokens=64)
    if config == "ponder single":
        strategy: Any = ponder.Single()
    else:
        protocol = "native" if config == "react native" else "text"
        strategy = ponder.get_strategy("react", tools=_tools(), protocol=protocol)
    engine = ponder.Engine(model, options=options)
    return lambda: engine.run(strategy, QUESTION)


def _tools() -> list[Any]:
    from ponder.tools import calculator_tool

    return [calculator_tool()]


def child(runs: int) -> dict[str, dict[str, float]]:
    """Every configuration in this process, interleaved run by run (noise hits them alike)."""
    httpd, url = serve()
    try:
        runners = {config: _runner(config, url) for config in CONFIGS}
        for run in runners.values():
            for _ in range(5):
                run()  # warm: imports, the connection, the server probe
        seconds: dict[str, list[float]] = {config: [] for config in CONFIGS}
        for _ in range(runs):
            for config, run in runners.items():
                t0 = time.perf_counter()
                run()
                seconds[config].append(time.perf_counter() - t0)
    finally:
        httpd.shutdown()
    return {c: {"median": statistics.median(v) * 1e3, "min": min(v) * 1e3} for c, v in seconds.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-src", default=None, help="a src/ folder with another ponder to compare against")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.runs)))
        return 0
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    sources = {"this checkout": os.path.abspath(here)}
    if args.baseline_src:
        sources["baseline"] = os.path.abspath(args.baseline_src)
    load = os.getloadavg()[0]
    found: dict[tuple[str, str], list[dict[str, float]]] = {}
    for _ in range(args.repeats):
        for label, src in sources.items():
            env = {**os.environ, "PYTHONPATH": src}
            command = [sys.executable, __file__, "--child", "--runs", str(args.runs)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            for config, row in json.loads(done.stdout.strip().splitlines()[-1]).items():
                found.setdefault((label, config), []).append(row)
    print(f"{args.runs} runs x {args.repeats} repeats per row; load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after; {os.cpu_count()} cores")  # fmt: skip
    print()
    print("| ponder | configuration | ms/run median | ms/run min | over raw loop (median) | ratio to raw |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for label in sources:
        raw = statistics.median(r["median"] for r in found[(label, CONFIGS[0])])
        for config in CONFIGS:
            rows = found[(label, config)]
            median = statistics.median(r["median"] for r in rows)
            low = min(r["min"] for r in rows)
            print(f"| {label} | {config} | {median:.2f} | {low:.2f} | {median - raw:+.2f} | {median / raw:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
