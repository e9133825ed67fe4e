"""``react --tools calculator`` with default flags over HTTP: in format and accuracy, and tree cache hits.

Starts llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``) on
127.0.0.1 serving the embedded SmolLM2 GGUF, then runs, through the CLI as a user would
(``ponder ask Q --strategy react --tools calculator --model openai:smollm2 --base-url URL
--json --no-store``, every other flag at its default), the first ``--n`` generated arithmetic
word problems of ``benchmarks/tasks.py``. A run is *in format* when none of its steps was a
format error (and so it never ended on them). ``--embedded`` runs the same problems on the
embedded backend too, for the side-by-side row. ``--tree N`` then runs ``--strategy tree``
on N Game-of-24 puzzles over the same server and counts the calls the completion cache
answered (``usage.cached_calls``).

    .venv/bin/python benchmarks/remote_react.py --n 20 --embedded --tree 5
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ponder.cli import main as ponder_main
from ponder.models import smollm2_path
from tasks import arithmetic_problems, correct

PUZZLES = ("4 9 10 13", "1 1 4 6", "2 3 5 12", "1 2 4 6", "3 3 8 8", "1 5 5 5", "2 2 6 6", "4 4 10 10")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def llama_server(n_ctx: int = 4096) -> Iterator[str]:
    port = _port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the server writes to it for the whole block
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", str(n_ctx), "--chat_format", "chatml"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-2000:]
                    raise SystemExit(f"the server did not start:\n{tail}") from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def ask(args: Sequence[str]) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = ponder_main(list(args))
    if code != 0:
        return {"answer": None, "stop_reason": "error", "detail": f"exit {code}", "steps": [], "usage": {}}
    data: dict[str, Any] = json.loads(out.getvalue().strip().splitlines()[-1])
    return data


def react_rows(model: list[str], n: int) -> dict[str, Any]:
    in_format = right = 0
    seconds, calls, errors = [], [], []
    for task in arithmetic_problems(n):
        t0 = time.perf_counter()
        data = ask(
            ["ask", task.question, "--strategy", "react", "--tools", "calculator", *model, "--json", "--no-store"]
        )
        seconds.append(time.perf_counter() - t0)
        kinds = [s["kind"] for s in data.get("steps", [])]
        ok = "format_error" not in kinds and data["stop_reason"] != "error"
        in_format += ok
        right += correct(data.get("answer"), task.answer)
        calls.append(data.get("usage", {}).get("model_calls", 0))
        if not ok:
            errors.append(f"{data['stop_reason']}: {data.get('detail', '')[:90]}")
    return {
        "n": n,
        "in_format": in_format,
        "right": right,
        "median_s": statistics.median(seconds),
        "calls": statistics.mean(calls),
        "errors": errors,
    }


def tree_rows(url: str, n: int) -> dict[str, Any]:
    calls = cached = 0
    for puzzle in PUZZLES[:n]:
        question = f"Use {puzzle} to make 24"
        flags = ["--strategy", "tree", "--model", "openai:smollm2", "--base-url", url, "--json", "--no-store"]
        data = ask(["ask", question, *flags])
        usage = data.get("usage", {})
        calls += usage.get("model_calls", 0)
        cached += usage.get("cached_calls", 0)
    return {"puzzles": n, "model_calls": calls, "cached_calls": cached}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--embedded", action="store_true", help="also run the embedded backend")
    parser.add_argument("--tree", type=int, default=0, help="Game-of-24 puzzles for the tree cache count")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    rows: dict[str, dict[str, Any]] = {}
    tree = None
    with llama_server() as url:
        rows["llama-cpp-python server (openai:smollm2)"] = react_rows(
            ["--model", "openai:smollm2", "--base-url", url], args.n
        )
        if args.tree:
            tree = tree_rows(url, args.tree)
    if args.embedded:
        rows["embedded (smollm2)"] = react_rows(["--model", "smollm2"], args.n)
    print(f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after {os.getloadavg()[0]:.2f}; "
          f"{os.cpu_count()} cores")  # fmt: skip
    print()
    print("| backend | problems | in format | correct | median s/problem | mean calls |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, row in rows.items():
        print(
            f"| {name} | {row['n']} | {row['in_format']}/{row['n']} | {row['right']}/{row['n']} | "
            f"{row['median_s']:.1f} | {row['calls']:.1f} |"
        )
    for name, row in rows.items():
        for error in row["errors"]:
            print(f"- {name}: {error}")
    if tree is not None:
        print()
        print(f"tree over the server: {tree['puzzles']} puzzles, {tree['model_calls']} model calls, "
              f"{tree['cached_calls']} answered from the cache")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
