"""Batched decoding on the embedded model against the sequential path, side by side in one process.

    python benchmarks/batched_decode.py consistency --model gguf:/work/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf --n 5 --questions 20
    python benchmarks/batched_decode.py consistency --model smollm2 --n 8 --questions 20
    python benchmarks/batched_decode.py map --model smollm2 --tokens 256000 --tasks 3
    python benchmarks/batched_decode.py serve --model gguf:... --clients 4 --requests 24

One model is loaded once with batched decoding on; the sequential path is the same model with
``model.batched = False`` (every call through ``Llama.create_completion``, one at a time, as
with ``PONDER_BATCHED_DECODE=0``). Each item runs on both paths, the order alternating from
item to item, and the KV cache is emptied before each run (``model.reset_cache()``), so
neither path reuses the other's prompt.

* ``consistency``: GSM8K test questions ``--offset``.. (``/work/shared/data/gsm8k`` or
  ``../shared/data/gsm8k``), ``consistency`` with ``--n`` samples, not adaptive (one wave of
  N), temperature 0.7, seeds 0..N-1. Reported: wall time per path, the answers' accuracy, and
  how many samples came out identical on both paths.
* ``map``: ``recursive`` plan mode on a generated long-context task (``ponder.tasks.long_context``,
  multi-key needles) of ``--tokens`` tokens: wall time of the whole run and of its map stage
  (the batch of sub-calls over the kept chunks).
* ``decode``: one batch of ``--n`` calls on one prompt (T=0.7, seeds 0..N-1, ``--max-tokens``), then
  the same calls one after another: the raw decode ratio.
* ``ceiling``: what this CPU allows. The prompt rate (one ``--prompt-tokens`` prompt evaluated in
  one pass: every token's arithmetic batched) against the one-sequence decode rate bounds what any
  number of sequences decoded together can gain; then one batch of N calls (T=0.7, ``--max-tokens``)
  for each N of ``--widths``: generated tokens per second and the gain over N = 1.
* ``steps``: the bound under any decode loop. One ``llama_decode`` of N tokens (one sequence,
  positions in a row: the same matrix shapes as N sequences decoded together), timed for each N of
  ``--widths``, with logits for every token (as N sampling sequences need) and for the last only
  (as a prompt needs). N x (the time of N = 1) / (the time of N) is the most that decoding N
  sequences together can gain over decoding them one by one on this CPU and build.
* ``serve``: ``ponder serve --model M`` started twice (``PONDER_BATCHED_DECODE=1`` and ``0``),
  ``--clients`` concurrent clients (the ``openai`` SDK) sending ``--requests`` GSM8K questions
  to ``single``; requests per second of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ponder
from ponder.strategies import Consistency, Recursive
from tasks import SHARED_DATA, Task, correct, gsm8k

SYSTEM = (
    "You are a careful assistant. Solve the math problem step by step, "
    "then give the final answer on its own line as: The answer is <number>."
)
PATHS = ("batched", "sequential")


def questions(n: int, offset: int) -> list[Task]:
    """GSM8K test questions from the shared data beside the repository (or /work/shared for a worktree)."""
    for root in (SHARED_DATA, Path("/work/shared/data")):
        path = root / "gsm8k" / "test.jsonl"
        if path.is_file():
            return gsm8k(n, offset=offset, path=path)
    raise SystemExit("no GSM8K data (../shared/data/gsm8k/test.jsonl)")


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def ordered(i: int) -> tuple[str, ...]:
    return PATHS if i % 2 == 0 else PATHS[::-1]


def timed_run(
    model: Any, path: str, engine: ponder.Engine, strategy: ponder.Strategy, question: str
) -> tuple[ponder.RunResult, float]:
    model.batched = path == "batched"
    model.reset_cache()
    t0 = time.perf_counter()
    result = engine.run(strategy, question)
    return result, time.perf_counter() - t0


def samples_of(result: ponder.RunResult) -> list[str]:
    return [s.text for s in result.steps if s.kind == "sample"]


def consistency(args: argparse.Namespace) -> None:
    model: Any = ponder.load_model(args.model, batched=True, max_sequences=max(args.n, 2))
    options = ponder.GenerationOptions(max_tokens=args.max_tokens)
    strategy = Consistency(samples=args.n, adaptive=False, temperature=0.7, system_prompt=SYSTEM)
    tasks = questions(args.questions, args.offset)
    seconds: dict[str, list[float]] = {p: [] for p in PATHS}
    right = dict.fromkeys(PATHS, 0)
    same = total = 0
    print(
        f"# consistency N={args.n} on {model.name}, {len(tasks)} GSM8K questions from {args.offset}; load {load_average()}"
    )
    for i, task in enumerate(tasks):
        texts: dict[str, list[str]] = {}
        for path in ordered(i):
            engine = ponder.Engine(model, options=options, cache=False)
            result, wall = timed_run(model, path, engine, strategy, task.question)
            seconds[path].append(wall)
            right[path] += correct(result.answer, task.answer)
            texts[path] = samples_of(result)
        pairs = list(zip(texts["batched"], texts["sequential"], strict=False))
        same += sum(a == b for a, b in pairs)
        total += len(pairs)
        b, s = seconds["batched"][-1], seconds["sequential"][-1]
        print(
            f"q{args.offset + i}: batched {b:.1f}s  sequential {s:.1f}s  ({s / b:.2f}x)  load {load_average()}",
            flush=True,
        )
    report(seconds, {p: f"{right[p]}/{len(tasks)}" for p in PATHS}, "accuracy")
    print(f"identical samples on both paths: {same}/{total}")


def decode(args: argparse.Namespace) -> None:
    """One batch of ``--n`` calls on one GSM8K prompt (T=0.7, seeds 0..N-1), then the same calls one by one."""
    from ponder.types import GenerationOptions, system, user

    model: Any = ponder.load_model(args.model, batched=True, max_sequences=max(args.n, 2))
    messages = [system(SYSTEM), user(questions(1, args.offset)[0].question)]
    calls = [(messages, GenerationOptions(max_tokens=args.max_tokens, temperature=0.7, seed=i)) for i in range(args.n)]
    print(f"# one batch of {args.n} calls on {model.name}, max_tokens {args.max_tokens}; load {load_average()}")
    seconds: dict[str, float] = {}
    tokens: dict[str, int] = {}
    for path in PATHS:
        model.batched = path == "batched"
        model.reset_cache()
        out: dict[int, Any] = {}
        t0 = time.perf_counter()
        model.complete_batch(calls, out.__setitem__)
        seconds[path] = time.perf_counter() - t0
        tokens[path] = sum(c.usage.completion_tokens for c in out.values() if isinstance(c, ponder.Completion))
        print(f"{path}: {seconds[path]:.1f}s, {tokens[path]} tokens; load {load_average()}", flush=True)
    print(f"sequential / batched: {seconds['sequential'] / seconds['batched']:.2f}x")


def stage_seconds(result: ponder.RunResult, kind: str) -> float:
    """Wall time of a run's calls of ``kind``: from the first one's start to the last one's end."""
    starts = [e.time for e in result.events if e.type == "step_started" and getattr(e, "kind", "") == kind]
    ends = [e.time for e in result.events if e.type == "model_call" and getattr(e, "kind", "") == kind]
    return max(ends) - min(starts) if starts and ends else 0.0


def ceiling(args: argparse.Namespace) -> None:
    """The prompt rate against the decode rate, then the decode rate of one batch of N calls for each N."""
    from ponder.types import GenerationOptions, system, user

    widths = [int(w) for w in args.widths.split(",")]
    model: Any = ponder.load_model(args.model, batched=True, max_sequences=max(max(widths), 2))
    question = questions(1, args.offset)[0].question
    filler = " ".join([question] * (args.prompt_tokens // max(1, len(question) // 4) + 1))
    model.reset_cache()
    t0 = time.perf_counter()
    done = model.complete([user(filler[: args.prompt_tokens * 4])], GenerationOptions(max_tokens=1, temperature=0))
    prompt_s = time.perf_counter() - t0
    evaluated = done.usage.prompt_tokens_evaluated
    print(f"# {model.name}; load {load_average()}")
    print(f"prompt: {evaluated} tokens in {prompt_s:.1f}s = {evaluated / prompt_s:.1f} tokens/s", flush=True)
    messages = [system(SYSTEM), user(question)]
    rates: dict[int, float] = {}
    for width in widths:
        calls = [
            (messages, GenerationOptions(max_tokens=args.max_tokens, temperature=0.7, seed=i)) for i in range(width)
        ]
        model.reset_cache()
        model.complete(messages, GenerationOptions(max_tokens=1, temperature=0))  # the shared prompt, not timed
        out: dict[int, Any] = {}
        t0 = time.perf_counter()
        model.complete_batch(calls, out.__setitem__)
        wall = time.perf_counter() - t0
        tokens = sum(c.usage.completion_tokens for c in out.values() if isinstance(c, ponder.Completion))
        rates[width] = tokens / wall
        print(
            f"N={width}: {tokens} tokens in {wall:.1f}s = {rates[width]:.1f} tokens/s; "
            f"{rates[width] / rates[widths[0]]:.2f}x N={widths[0]}; load {load_average()}",
            flush=True,
        )
    print(
        f"prompt rate / decode rate of N={widths[0]}: {evaluated / prompt_s / rates[widths[0]]:.2f}x (large batches; small ones reach less: see steps)"
    )


def steps(args: argparse.Namespace) -> None:
    """Milliseconds of one ``llama_decode`` of N tokens, every token's logits and the last token's only."""
    import llama_cpp

    widths = [int(w) for w in args.widths.split(",")]
    model: Any = ponder.load_model(args.model, batched=False)
    ctx = model._llm._ctx.ctx
    memory = llama_cpp.llama_get_memory(ctx)
    tokens = model.tokenize(questions(1, args.offset)[0].question * 8)
    batch = llama_cpp.llama_batch_init(max(widths), 0, 1)

    def step_ms(width: int, every: bool, reps: int = 12, warm: int = 2) -> float:
        llama_cpp.llama_memory_clear(memory, True)
        total = 0.0
        for rep in range(reps):
            batch.n_tokens = width
            for i in range(width):
                batch.token[i] = tokens[(rep * width + i) % len(tokens)]
                batch.pos[i] = rep * width + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = every or i == width - 1
            t0 = time.perf_counter()
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise SystemExit("llama_decode failed")
            if rep >= warm:
                total += time.perf_counter() - t0
        return total / (reps - warm) * 1000

    print(f"# {model.name}; load {load_average()}")
    print("| N | ms per step, every logit | ms per step, last logit | N x step(1) / step(N) |\n|---:|---:|---:|---:|")
    one = 0.0
    try:
        for width in widths:
            every, last = step_ms(width, True), step_ms(width, False)
            one = one or every
            print(f"| {width} | {every:.0f} | {last:.0f} | {width * one / every:.2f}x |", flush=True)
    finally:  # a failed decode still frees the batch
        llama_cpp.llama_batch_free(batch)
    print(f"load {load_average()}")


def plan_map(args: argparse.Namespace) -> None:
    from ponder.tasks.long_context import generate

    model: Any = ponder.load_model(args.model, batched=True)
    seconds: dict[str, list[float]] = {p: [] for p in PATHS}
    mapped: dict[str, list[float]] = {p: [] for p in PATHS}
    scores: dict[str, list[float]] = {p: [] for p in PATHS}
    print(f"# plan-mode map calls on {model.name}, {args.tasks} tasks of {args.tokens} tokens; load {load_average()}")
    for i in range(args.tasks):
        task = generate(args.kind, args.tokens, seed=i, count_tokens=model.count_tokens)
        for path in ordered(i):
            engine = ponder.Engine(model, cache=False)
            strategy = Recursive(context=task.context, mode="plan", top_k=args.top_k)
            result, wall = timed_run(model, path, engine, strategy, task.question)
            seconds[path].append(wall)
            mapped[path].append(stage_seconds(result, "map"))
            scores[path].append(task.score(result.answer))
        b, s = mapped["batched"][-1], mapped["sequential"][-1]
        print(
            f"task {i}: map stage batched {b:.1f}s  sequential {s:.1f}s  ({s / max(b, 1e-9):.2f}x)  load {load_average()}"
        )
    report(seconds, {p: f"{statistics.mean(scores[p]):.2f}" for p in PATHS}, "score", "whole run")
    report(mapped, {p: "" for p in PATHS}, "", "map stage")


def serve(args: argparse.Namespace) -> None:
    import openai

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
    from servers import free_port, start_process_server, stop_process

    tasks = questions(args.requests, args.offset)
    rates: dict[str, float] = {}
    print(f"# ponder serve --model {args.model}, {args.clients} clients, {len(tasks)} requests; load {load_average()}")
    for path in PATHS:
        port = free_port()
        os.environ["PONDER_BATCHED_DECODE"] = "1" if path == "batched" else "0"  # the server inherits it
        command = [sys.executable, "-m", "ponder", "serve", "--port", str(port), "--model", args.model, "--no-store"]
        command += ["--max-concurrent", str(args.clients), "--max-seconds", "900"]
        server = start_process_server(command, port, ready_path="/health", wait=300)
        try:
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", timeout=900)

            def ask(question: str, client: Any = client) -> str:
                reply = client.chat.completions.create(
                    model="single",
                    messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}],
                    max_tokens=args.max_tokens,
                )
                return str(reply.choices[0].message.content)

            ask("What is 2 + 2?")  # warm: the model is loaded
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                answers = list(pool.map(ask, [t.question for t in tasks]))
            wall = time.perf_counter() - t0
        finally:
            stop_process(server.process)
        rates[path] = len(tasks) / wall
        right = sum(correct(a, t.answer) for a, t in zip(answers, tasks, strict=True))
        print(
            f"{path}: {len(tasks)} requests in {wall:.1f}s = {rates[path]:.3f} req/s, {right} right; load {load_average()}"
        )
    print(f"requests/s ratio batched/sequential: {rates['batched'] / rates['sequential']:.2f}x")


def report(seconds: dict[str, list[float]], extra: dict[str, str], label: str, what: str = "wall") -> None:
    print(f"\n| path | {what} total (s) | mean (s) | {label} |\n| --- | ---: | ---: | --- |")
    for path in PATHS:
        total = sum(seconds[path])
        print(f"| {path} | {total:.1f} | {statistics.mean(seconds[path]):.1f} | {extra[path]} |")
    ratio = sum(seconds["sequential"]) / max(sum(seconds["batched"]), 1e-9)
    print(f"\nsequential / batched ({what}): {ratio:.2f}x; load {load_average()}")


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="case", required=True)
    c = sub.add_parser("consistency")
    c.add_argument("--n", type=int, default=5)
    c.add_argument("--questions", type=int, default=20)
    c.add_argument("--max-tokens", type=int, default=384)
    m = sub.add_parser("map")
    m.add_argument("--tokens", type=int, default=256_000)
    m.add_argument("--tasks", type=int, default=3)
    m.add_argument("--kind", default="multi_key")
    m.add_argument("--top-k", type=int, default=3)
    d = sub.add_parser("decode")
    d.add_argument("--n", type=int, default=8)
    d.add_argument("--max-tokens", type=int, default=64)
    e = sub.add_parser("ceiling")
    e.add_argument("--widths", default="1,2,3,4,5,8")
    e.add_argument("--max-tokens", type=int, default=64)
    e.add_argument("--prompt-tokens", type=int, default=512)
    t = sub.add_parser("steps")
    t.add_argument("--widths", default="1,2,4,5,8,16")
    s = sub.add_parser("serve")
    s.add_argument("--clients", type=int, default=4)
    s.add_argument("--requests", type=int, default=24)
    s.add_argument("--max-tokens", type=int, default=256)
    for p in (c, m, d, e, t, s):
        p.add_argument("--model", default="smollm2")
        p.add_argument("--offset", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    cases = {
        "consistency": consistency,
        "map": plan_map,
        "decode": decode,
        "ceiling": ceiling,
        "steps": steps,
        "serve": serve,
    }
    cases[args.case](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
