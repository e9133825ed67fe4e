"""Memory: prompt tokens over a 30-step react run, with and without compaction.

    python benchmarks/memory_react.py [--steps 30] [--window 8192] [--threshold 0.8]

The react policy is scripted (it looks up one key per step and answers at the
end; each observation is ~500 tokens), so both runs take exactly the same
steps; token counts use the embedded model's real tokenizer (SmolLM2). For
each run it prints the prompt tokens per action step, their total, and the
tokens a prefix-reusing backend must evaluate (the prompt minus the messages
it shares with the previous prompt).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import ponder
from ponder.steps import COMPACT
from ponder.strategies import React
from ponder.strategies.memory import Memory
from ponder.tools import tool
from ponder.types import Message

FILLER = (
    "The ledger entry lists shipments, dates and warehouse codes; most of it is routine and only the final "
    "total matters for the task. "
)


@tool
def lookup(key: str) -> str:
    """Look up a key in the ledger.

    Args:
        key: the key
    """
    return f"entry {key}: total {len(key) * 7}. " + FILLER * 16


class Tokenized(ponder.ScriptedModel):
    """The scripted policy, counted with a real tokenizer."""

    def __init__(self, replies: object, counter: ponder.Model) -> None:
        super().__init__(replies)  # type: ignore[arg-type]
        self._counter = counter

    def count_tokens(self, text: str) -> int:
        return self._counter.count_tokens(text)


def policy(steps: int):  # type: ignore[no-untyped-def]
    state = {"n": 0}

    def reply(messages: Sequence[Message]) -> str:
        if messages[-1].content.startswith("Below are the earlier steps"):
            return f"Looked up entries k0..k{state['n'] - 1}; totals were 14 each. Continue with the next key."
        n = state["n"]
        state["n"] += 1
        return "Final Answer: 14" if n >= steps - 1 else f"Action: lookup\nAction Input: k{n}"

    return reply


def measure(model: Tokenized, kind: str) -> tuple[list[int], int]:
    sizes, evaluated, previous = [], 0, ()
    for call in model.calls:
        msgs = call.messages
        tokens = [model.count_tokens(m.content) + 4 for m in msgs]  # ~4 template tokens per message
        shared = 0
        while shared < min(len(msgs), len(previous)) and msgs[shared] == previous[shared]:
            shared += 1
        evaluated += sum(tokens[shared:])
        previous = msgs
        if kind == "all" or not msgs[-1].content.startswith("Below are"):
            sizes.append(sum(tokens))
    return sizes, evaluated


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--window", type=int, default=8192)
    ap.add_argument("--threshold", type=float, default=0.8)
    args = ap.parse_args()
    counter = ponder.load_model("smollm2")
    print(f"{args.steps}-step react run, window {args.window}, threshold {args.threshold}, SmolLM2 tokenizer")
    print("| memory | max prompt | last prompt | total prompt tokens | evaluated with prefix reuse | compactions |")
    print("|---|---|---|---|---|---|")
    for label, memory in (
        ("none", None),
        ("compaction (summary)", Memory(window=args.window, threshold=args.threshold, keep_last=4)),
        ("compaction (notes)", Memory(window=args.window, threshold=args.threshold, keep_last=4, mode="notes")),
    ):
        model = Tokenized(policy(args.steps), counter)
        strategy = React(tools=[lookup], memory=memory, constrained=False, loop_threshold=1000)
        result = ponder.Engine(model, budget=ponder.Budget(max_steps=3 * args.steps)).run(strategy, "Total of k29?")
        sizes, _ = measure(model, "actions")
        _, evaluated_all = measure(model, "all")
        compactions = sum(1 for s in result.steps if s.kind == COMPACT and s.data.get("chars_before"))
        print(f"| {label} | {max(sizes)} | {sizes[-1]} | {sum(sizes)} | {evaluated_all} | {compactions} |", flush=True)
        print("  per step: " + " ".join(str(s) for s in sizes))


if __name__ == "__main__":
    main()
