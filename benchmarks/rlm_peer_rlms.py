"""One trial of the reference RLM (PyPI ``rlms``, alexzhang13/rlm), run inside its throwaway venv.

``benchmarks/rlm_peer.py`` installs ``rlms`` into a venv of its own (never the project's) and runs
this file with that venv's Python, one process per trial, so a stuck trial can be killed. The job
comes as one JSON object on stdin::

    {"base_url": "http://127.0.0.1:PORT/v1", "model": "NAME", "context_file": PATH,
     "question": "...", "max_iterations": 30, "max_timeout": 600, "sampling": {...},
     "transcript": PATH or null}

and the result goes out as one JSON line on stdout: the answer, the reason it ended, the root
turns, and the calls and tokens the reference implementation's own usage summary counted (root
turns and ``llm_query`` sub-calls alike, over the OpenAI-compatible server). The reference runs
with its defaults (``local`` REPL, its system prompt, depth 1) except the sampling arguments,
which match ponder's (temperature 0, the same ``max_tokens``), and its client's per-call timeout:
the trial's time limit and no retries instead of 300 s and two retries (on the shared machine one
root call took over 300 s, and every retry queued behind the abandoned call).

Only the standard library and ``rlm`` are imported: this file never runs in the project's venv.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def main() -> int:
    job = json.loads(sys.stdin.read())
    import rlm.core.rlm as core
    from rlm import RLM
    from rlm.logger import RLMLogger

    handlers: list[Any] = []

    class CountingHandler(core.LMHandler):  # type: ignore[misc,name-defined]
        """The reference's own handler, kept so its usage can be read when a limit ends the run."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            handlers.append(self)

    core.LMHandler = CountingHandler
    with open(job["context_file"], encoding="utf-8") as f:
        context = f.read()
    logger = RLMLogger()
    rlm = RLM(
        backend="openai",
        backend_kwargs={
            "model_name": job["model"],
            "base_url": job["base_url"],
            "api_key": "none",
            # one call may take minutes on a busy machine: the reference's 300 s per call, retried twice
            # (each retry queued behind the abandoned call on the one-model server), would end the trial
            "timeout": job["max_timeout"],
            "max_retries": 0,
        },
        environment="local",
        max_iterations=job["max_iterations"],
        max_timeout=job["max_timeout"],
        sampling_args=job["sampling"],
        logger=logger,
    )
    answer: str | None = None
    stop = "answered"
    error = ""
    t0 = time.perf_counter()
    try:
        result = rlm.completion(context, root_prompt=job["question"])
        answer = str(result.response) if result.response is not None else None
        if logger.iteration_count > job["max_iterations"]:
            stop = "turns"  # out of iterations: the reference's last call answered from the history
    except Exception as exc:  # the reference's limits (timeout, errors) end the run with a partial answer
        answer = getattr(exc, "partial_answer", None)
        stop = type(exc).__name__
        error = str(exc)[:500]
    seconds = time.perf_counter() - t0
    calls = prompt_tokens = completion_tokens = 0
    for handler in handlers:
        for usage in handler.get_usage_summary().model_usage_summaries.values():
            calls += usage.total_calls
            prompt_tokens += usage.total_input_tokens
            completion_tokens += usage.total_output_tokens
    if job.get("transcript"):
        with open(job["transcript"], "w", encoding="utf-8") as f:
            trajectory = logger.get_trajectory() or {}
            for it in trajectory.get("iterations", []):
                f.write(f"--- turn {it.get('iteration')}\n{str(it.get('response'))[:4000]}\n")
                for block in it.get("code_blocks", []):
                    out = block.get("result", {})
                    f.write(
                        f"[stdout] {str(out.get('stdout', ''))[:1500]}\n[stderr] {str(out.get('stderr', ''))[:800]}\n"
                    )
    row = {
        "answer": answer,
        "stop_reason": stop,
        "error": error,
        "turns": min(logger.iteration_count, job["max_iterations"]),
        "calls": calls,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "seconds": round(seconds, 3),
    }
    print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
