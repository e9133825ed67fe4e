"""Throughput of the recursive REPL's machinery: llm_query_batched sub-calls against a slow endpoint.

A scripted root model writes the code a capable model would for an OOLONG-style
counting question over a ~1M-token input (``ponder.tasks.long_context``,
``counting``): split the records into ``--calls`` chunks of whole lines, ask
one ``llm_query_batched`` sub-call per chunk, add the counts up and call FINAL.
The sub-calls go to the ``sub`` model role: an OpenAI-compatible model pointed
at the test suite's fake chat server on 127.0.0.1 (``tests/support/servers.py``),
which answers every request after ``--delay`` seconds with the exact count of
the chunk it was sent, so the run's answer is checked against the gold count.
The same run is made with the engine's ``max_parallel_calls`` at each of
``--concurrency`` (the reference implementation sends 16 at once); the table
has the wall time, the speed-up over concurrency 1, the server's highest
number of requests in flight (measured, not assumed) and whether the answer
was exact. Target: a speed-up of at least 12x at concurrency 16.

    .venv/bin/python benchmarks/repl_throughput.py                       # 1M tokens, 1,000 calls, 200 ms
    .venv/bin/python benchmarks/repl_throughput.py --tokens 20000 --calls 40 --delay 0.02 --concurrency 1,8
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import ponder
from ponder.strategies.recursive_code import RecursiveCode
from ponder.tasks.long_context import generate
from servers import FakeChatServer

TARGET = 12.0
TARGET_AT = 16


def root_code(calls: int) -> str:
    return (
        "lines = context.splitlines()\n"
        f"parts = min({calls}, len(lines))\n"
        "chunks = ['\\n'.join(lines[k * len(lines) // parts:(k + 1) * len(lines) // parts]) for k in range(parts)]\n"
        "label = QUESTION.split('labelled ')[1].rstrip('?')\n"
        "answers = llm_query_batched([f'How many records are labelled {label}? Reply with the number.\\n' + c"
        " for c in chunks])\n"
        "print(len(chunks), 'chunks,', sum(a.startswith('Error') for a in answers), 'failed')\n"
        "FINAL(sum(int(a) for a in answers if not a.startswith('Error')))"
    )


def one_run(
    sub: ponder.Model, context: str, question: str, calls: int, concurrency: int
) -> tuple[float, str | None, int]:
    code = root_code(calls).replace("QUESTION", repr(question))

    def root(messages: Sequence[ponder.Message]) -> str:
        return f"```python\n{code}\n```"

    engine = ponder.Engine(
        ponder.ScriptedModel(root, name="scripted-root"),
        models={"sub": sub},
        budget=ponder.Budget(max_steps=None),
        max_parallel_calls=concurrency,
    )
    t0 = time.perf_counter()
    result = engine.run(RecursiveCode(context), question)
    seconds = time.perf_counter() - t0
    subs = sum(s.kind == "sub_query" for s in result.steps)
    return seconds, result.answer, subs


def count_reply(body: dict[str, object]) -> str:
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else {}
    text = str(last.get("content", "")) if isinstance(last, dict) else ""
    head, _, records = text.partition("\n")
    label = head.split("labelled ")[1].split("?")[0] if "labelled " in head else ""
    return str(records.count(f"| label: {label} |"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, default=1_000_000, help="size of the input (4 characters a token)")
    parser.add_argument("--calls", type=int, default=1000, help="llm_query_batched sub-calls")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds the server waits before each answer")
    parser.add_argument("--concurrency", default="1,8,16,32", help="engine max_parallel_calls values, comma-separated")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if args.tokens < 200 or args.calls < 1 or args.delay < 0 or not levels or min(levels) < 1:
        parser.error("--tokens >= 200, --calls >= 1, --delay >= 0 and --concurrency values >= 1")
    task = generate("counting", args.tokens, seed=16)
    load_before = os.getloadavg()
    rows = []
    with FakeChatServer(reply=count_reply, delay=args.delay) as server:
        sub = ponder.load_model("openai:fake-sub", base_url=server.url)
        for level in levels:
            server.max_in_flight = 0
            seconds, answer, subs = one_run(sub, task.context, task.question, args.calls, level)
            rows.append((level, seconds, subs, server.max_in_flight, task.exact(answer)))
    load_after = os.getloadavg()
    base = next((s for c, s, *_ in rows if c == 1), None)
    print(
        f"{len(task.context):,} characters (~{args.tokens:,} tokens), {args.calls} sub-calls requested,"
        f" server delay {args.delay * 1000:.0f} ms, {os.cpu_count()} cores"
    )
    print(
        f"load average before {load_before[0]:.2f} {load_before[1]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f}"
    )
    print()
    print("| max_parallel_calls | seconds | sub-calls | speed-up vs 1 | ideal | server peak in flight | exact answer |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for level, seconds, subs, peak, exact in rows:
        speed = f"{base / seconds:.2f}" if base is not None else "–"
        print(f"| {level} | {seconds:.2f} | {subs} | {speed} | {level} | {peak} | {'yes' if exact else 'NO'} |")
    at = next((s for c, s, *_ in rows if c == TARGET_AT), None)
    if base is not None and at is not None:
        verdict = "met" if base / at >= TARGET else "NOT met"
        print(f"\ntarget: speed-up >= {TARGET:g}x at concurrency {TARGET_AT}: {verdict} ({base / at:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
