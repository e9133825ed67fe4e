"""What each arm of a ``ponder eval --cache`` evaluation costs run alone: calls made plus calls shared.

    python benchmarks/eval_alone_cost.py OUT_DIR STORE

Rows written since ponder recorded ``shared_calls`` / ``shared_tokens`` carry them. For older rows they are
recomputed from the evaluation store's events: every ``model_call`` under the row's root run that was served
from the cache (``data.cached``) and whose key the run had not made or seen before is a shared call; its
tokens are the cached completion's own usage, looked up by its cache key. Prints, per arm over the items every
arm has, the calls and tokens per item made, shared and alone.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from ponder.engine.call_cache import cache_key
from ponder.eval.results import ResultsFile
from ponder.store import RunStore
from ponder.types import GenerationOptions, Message


def shared_of(store: RunStore, run_id: str) -> tuple[int, int]:
    """The shared calls and their tokens of one root run, from its events."""
    calls = tokens = 0
    seen: set[str] = set()
    for event in store.events(run_id):
        if event["type"] != "model_call":
            continue
        options = {**event["options"], "stop": tuple(event["options"].get("stop") or ())}
        messages = [Message(**m) for m in event["messages"]]
        key = cache_key(event["model"], messages, GenerationOptions(**options), event.get("tools") or [])
        if event.get("data", {}).get("cached") and key not in seen:
            usage = (store.cached_completion(key) or {}).get("usage", {})
            calls += 1
            tokens += usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)
        seen.add(key)
    return calls, tokens


def main(out: Path, store: Path) -> None:
    with RunStore(store, readonly=True) as runs:
        report(out, runs)


def report(out: Path, runs: RunStore) -> None:
    """Print each arm's calls and tokens per item: made, shared and alone."""
    rows: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in ResultsFile(out / "results.jsonl").rows():  # complete rows in file order: the latest of a pair wins
        rows[row["spec"]][row["item"]] = row
    common = set.intersection(*(set(by_item) for by_item in rows.values()))
    print(f"{len(common)} items with every arm")
    for spec, by_item in rows.items():
        made = tokens = shared = shared_tokens = 0
        for item in common:
            row = by_item[item]
            made += row["model_calls"]
            tokens += row["prompt_tokens"] + row["completion_tokens"]
            if "shared_calls" in row:
                calls, used = row["shared_calls"], row["shared_tokens"]
            else:
                calls, used = shared_of(runs, row["run_id"])
            shared += calls
            shared_tokens += used
        n = len(common) or 1
        print(
            f"{spec}: calls {made / n:.2f} made + {shared / n:.2f} shared = {(made + shared) / n:.2f} alone;"
            f" tokens {tokens / n:,.0f} + {shared_tokens / n:,.0f} = {(tokens + shared_tokens) / n:,.0f}"
        )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: eval_alone_cost.py OUT_DIR STORE")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
