"""Where did the ``tree`` strategy lose the Game of 24 solution? (recorded runs only, no model calls)

    .venv/bin/python benchmarks/game24_tree_failures.py --results OUT_DIR/results.jsonl --store STORE \\
        [--spec tree] [--beam 5 --branch 5] [--all] [--replies results|store] [--json OUT.json]

e.g. ``--results g24-report-out/results.jsonl --store g24.db`` for the ``tree`` arm of a ``ponder eval``
whose spec stored its runs in ``g24.db``.

Reads the rows of one arm (``--spec``) of a ``ponder eval`` results file (the failed ones; ``--all``: every
row) and the ``node`` steps and ``propose``/``value`` calls of their runs in the evaluation's store, and
solves every recorded state exhaustively (:func:`ponder.tasks.game24_math.solve`). ``--beam``/``--branch``
must be those of the recorded run. It answers:

* per depth: how many thoughts each expansion proposed (valid, invalid, duplicate, new), how many of the
  new states can still reach 24, against the base rate of all legal steps, and how many solvable states
  the reply listed beyond the first ``--branch`` lines (never made into nodes);
* whether a solvable state survived the value call and the beam, and if not, its rank;
* the first point where no solvable state was left (failure cause a/b/c1/c2/d);
* the value call (sure/likely/impossible) against exact solvability, for 3- and 2-number states;
* a replay with other branch/beam settings: every call ran greedy with the call cache, so a state always
  got the same reply. The replay reuses the recorded reply (and value) of a state wherever a run of the
  arm in the results file expanded (valued) it (``--replies store``: any ``tree`` run of the store, which
  covers more states but changes as other evaluations write to the store); a state never valued counts as
  "impossible", and a run that needs a reply never recorded is "unknown" unless it reaches 24 anyway.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from ponder.store import RunStore
from ponder.tasks.base import parse_value, split_thoughts
from ponder.tasks.game24_math import TARGET, check_step, numbers_text, parse_puzzle, solve, successors

Numbers = tuple[Fraction, ...]

WORD = {1.0: "sure", 0.5: "likely", 0.0: "impossible", None: "none"}
DEPTH = 3
#: (branch, beam) settings replayed after the recorded one
REPLAYS = ((5, 5), (5, 8), (5, 10), (8, 5), (8, 8), (10, 10))


# ---------- states -------------------------------------------------------------------------------
def solvable(numbers: Iterable[Fraction]) -> bool:
    return solve(numbers) is not None


def parse_left(state: str) -> Numbers | None:
    """The numbers of a node's recorded state (``left: 3 8/3``), None for a rejected thought."""
    if not state.startswith("left:"):
        return None
    return tuple(sorted(Fraction(t) for t in state.removeprefix("left:").split()))


def puzzle_numbers(question: str) -> Numbers:
    numbers = parse_puzzle(question)
    if numbers is None:
        raise SystemExit(f"not a Game of 24 puzzle: {question!r}")
    return tuple(sorted(Fraction(n) for n in numbers))


def child(numbers: Numbers, line: str) -> Numbers | None:
    """The numbers left after a proposed line (the program computes ``a op b``), None if invalid."""
    check = check_step(numbers, line, compute=True)
    return check.left if check.ok else None


def all_children(numbers: Numbers) -> set[Numbers]:
    """Every distinct state one legal step away."""
    return {left for _, left in successors(numbers)}


# ---------- one recorded run ---------------------------------------------------------------------
def load_tree(events: Sequence[dict[str, Any]]) -> tuple[dict[int, dict[str, Any]], dict[int, str]]:
    """The run's nodes (last recorded data, status history, exact solvability) and each node's propose reply."""
    nodes: dict[int, dict[str, Any]] = {}
    history: dict[int, list[str]] = defaultdict(list)
    proposals: dict[int, str] = {}
    for event in events:
        if event["type"] == "step" and event.get("kind") == "node":
            data = event["data"]
            nodes.setdefault(data["node"], {"id": data["node"], "text": event.get("text", "")}).update(data)
            history[data["node"]].append(data["status"])
        elif event["type"] == "model_call" and event.get("kind") == "propose":
            proposals[event["data"]["node"]] = event.get("text") or ""
    for node in nodes.values():
        node["nums"] = parse_left(node.get("state", ""))
        node["ok"] = None if node["nums"] is None else solvable(node["nums"])
        node["history"] = history[node["id"]]
        node["dup"] = node.get("reason", "").startswith("same state")
        node["kept"] = "kept" in node["history"] or node["status"] in ("kept", "expanded")
    return nodes, proposals


def parent_stats(parent: dict[str, Any], reply: str, branch: int) -> dict[str, Any]:
    """One expanded parent: its reply's lines, the solvable children beyond ``branch`` lines, the base rate
    of solvable children over all legal steps and the position of the reply's first solvable line."""
    lines = split_thoughts(reply)
    made = [child(parent["nums"], line) for line in lines]
    solvable_at = [i + 1 for i, c in enumerate(made) if c is not None and solvable(c)]
    every = all_children(parent["nums"])
    return {
        "lines": len(lines),
        "extra": sum(1 for pos in solvable_at if pos > branch),
        "base": (sum(solvable(c) for c in every), len(every)),
        "first_pos": min(solvable_at, default=None),
    }


def ranking(live: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The level's valued states as the strategy ranked them: value desc, then creation order."""
    valued = [
        n
        for n in live
        if n.get("value") is not None and not n.get("reason", "").startswith("ends at") and n["status"] != "solution"
    ]
    return sorted(valued, key=lambda n: (-n["value"], n["id"]))


def level_stats(
    nodes: dict[int, dict[str, Any]], proposals: dict[int, str], d: int, beam: int, branch: int
) -> dict[str, Any]:
    parents = [n for n in nodes.values() if n["depth"] == d - 1 and "expanded" in n["history"]]
    kids = [n for n in nodes.values() if n["depth"] == d]
    valid = [n for n in kids if n["nums"] is not None]
    live = [n for n in valid if not n["dup"]]  # the distinct states of this level
    ranked = ranking(live)
    per_parent = [parent_stats(p, proposals.get(p["id"], ""), branch) for p in parents]
    level: dict[str, Any] = {
        "base": tuple(sum(s["base"][k] for s in per_parent) for k in (0, 1)),
        "first_pos": [s["first_pos"] for s in per_parent],
        "parents": len(parents),
        "solvable_parents": sum(1 for p in parents if p["ok"]),
        "lines": [s["lines"] for s in per_parent],
        "valid": len(valid),
        "invalid": sum(1 for n in kids if n["status"] == "invalid"),
        "dups": len(valid) - len(live),
        "distinct": len(live),
        "solvable_distinct": sum(1 for n in live if n["ok"]),
        "extra_solvable_lines": sum(s["extra"] for s in per_parent),
        "values": [(n["ok"], n.get("value"), len(n["nums"])) for n in ranked],
    }
    if d < DEPTH:
        level["best_solvable_rank"] = next((i + 1 for i, n in enumerate(ranked) if n["ok"]), None)
        level["solvable_kept"] = sum(1 for n in live if n["ok"] and n["kept"])
        level["all_values_equal"] = len({n["value"] for n in ranked}) <= 1 and len(ranked) > beam
        # sanity: the reconstructed ranking keeps exactly the recorded kept nodes
        level["rank_mismatch"] = {n["id"] for n in ranked[:beam]} != {n["id"] for n in live if n["kept"]}
    else:
        level["solution"] = any(n["status"] == "solution" for n in kids)
        level["finishable_parents"] = level["solvable_parents"]
    return level


def cause(levels: dict[int, dict[str, Any]]) -> str:
    """The first point where no solvable state survives."""
    l1, l2, l3 = levels[1], levels[2], levels[3]
    if l3["solution"]:
        return "solved"
    if l1["solvable_distinct"] == 0:
        return "a: no solvable child proposed at depth 1"
    if l1["solvable_kept"] == 0:
        return "b: solvable depth-1 child pruned by value/beam"
    if l2["solvable_distinct"] == 0:
        return "c1: depth 2, no solvable 2-number state proposed"
    if l2["solvable_kept"] == 0:
        return "c2: depth 2, solvable 2-number state pruned by value/beam"
    return "d: last step (x op y = 24) not proposed"


def analyse(row: dict[str, Any], store: RunStore, beam: int, branch: int) -> dict[str, Any] | None:
    """One run's levels and failure cause; None if the run recorded no tree."""
    question = store.run(row["run_id"])["question"]
    nodes, proposals = load_tree(store.events(row["run_id"]))
    if 0 not in nodes:
        return None
    levels = {d: level_stats(nodes, proposals, d, beam, branch) for d in range(1, DEPTH + 1)}
    r = {"item": row["item"], "run": row["run_id"], "puzzle": question, "levels": levels}
    r["puzzle_solvable"] = solvable(puzzle_numbers(question))
    r["cause"] = cause(levels)
    return r


# ---------- replay with other branch/beam settings -----------------------------------------------
def load_cache(store: RunStore, run_ids: Iterable[str]) -> tuple[dict[str, str], dict[str, float]]:
    """The propose reply and the value of every state the runs ``run_ids`` asked about."""
    replies: dict[str, str] = {}
    values: dict[str, float] = {}
    for run_id in run_ids:
        for event in store.events(run_id):
            if event["type"] != "model_call":
                continue
            key = event["messages"][-1]["content"].removeprefix("Numbers:").strip()
            if event["kind"] == "propose":
                replies[key] = event["text"] or ""
            elif event["kind"] == "value":
                values[key] = parse_value(event["text"] or "")
    return replies, values


def expand(frontier: list[Numbers], replies: dict[str, str], branch: int) -> tuple[list[Numbers], bool]:
    """The distinct children of a level (the first ``branch`` lines of each reply); True if a reply is missing."""
    seen: set[str] = set()
    children: list[Numbers] = []
    missing = False
    for state in frontier:
        if numbers_text(state) not in replies:
            missing = True
            continue
        for line in split_thoughts(replies[numbers_text(state)])[:branch]:
            c = child(state, line)
            if c is not None and numbers_text(c) not in seen:
                seen.add(numbers_text(c))
                children.append(c)
    return children, missing


def simulate(
    puzzle: Numbers, replies: dict[str, str], values: dict[str, float], branch: int, beam: int
) -> tuple[str, bool]:
    """Replay the BFS: solved/failed/unknown, and whether a solvable 2-number state reached depth 3."""
    frontier, unknown, solvable_two = [puzzle], False, False
    for level in range(DEPTH):
        if level == DEPTH - 1:
            solvable_two = any(solvable(s) for s in frontier)
        children, missing = expand(frontier, replies, branch)
        unknown = unknown or missing
        if any(c == (TARGET,) for c in children):
            return "solved", True
        live = [c for c in children if len(c) > 1]
        ranked = sorted(enumerate(live), key=lambda ic: (-values.get(numbers_text(ic[1]), 0.0), ic[0]))
        frontier = [c for _, c in ranked[:beam]]
        if not frontier:
            break
    return ("unknown" if unknown else "failed"), solvable_two


# ---------- report -------------------------------------------------------------------------------
def pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else f"{a}/0"


def print_level(out: list[dict[str, Any]], d: int, beam: int, branch: int) -> None:
    n = len(out)
    levels = [r["levels"][d] for r in out]
    parents = sum(L["parents"] for L in levels)
    per = max(1, parents)
    lines = [k for L in levels for k in L["lines"]]
    print(f"\n== depth {d}: {parents} expanded parents ({sum(L['solvable_parents'] for L in levels)} solvable)")
    print(
        f"  reply lines/parent {sum(lines) / max(1, len(lines)):.2f} (>{branch}: {sum(k > branch for k in lines)});"
        f" per parent: valid {sum(L['valid'] for L in levels) / per:.2f},"
        f" invalid {sum(L['invalid'] for L in levels) / per:.2f}, dup {sum(L['dups'] for L in levels) / per:.2f},"
        f" distinct new {sum(L['distinct'] for L in levels) / per:.2f}"
    )
    print(
        f"  runs with a solvable distinct child: {pct(sum(L['solvable_distinct'] > 0 for L in levels), n)};"
        f" solvable children {sum(L['solvable_distinct'] for L in levels)} of {sum(L['distinct'] for L in levels)}"
    )
    extra = [L["extra_solvable_lines"] for L in levels]
    print(
        f"  solvable children in reply lines beyond the first {branch}: {sum(extra)} (runs: {sum(k > 0 for k in extra)})"
    )
    solvable_kids, kids = (sum(L["base"][k] for L in levels) for k in (0, 1))
    print(
        f"  base rate: {solvable_kids}/{kids} ({100 * solvable_kids / max(1, kids):.0f}%)"
        " of all distinct legal children are solvable"
    )
    if d == 1:
        first = Counter(L["first_pos"][0] for r, L in zip(out, levels, strict=True) if r["cause"].startswith("a"))
        print(
            f"  cause-a runs, first solvable line in the root reply at position: {dict(sorted(first.items(), key=str))}"
        )
    if d < DEPTH:
        print_pruning(levels, beam)
    else:
        finishable = sum(1 for L in levels if L["finishable_parents"])
        print(
            f"  runs with a solvable 2-number state expanded: {finishable};"
            f" solution found: {sum(L['solution'] for L in levels)}"
        )


def print_pruning(levels: list[dict[str, Any]], beam: int) -> None:
    has = [L for L in levels if L["solvable_distinct"]]
    print(f"  of runs with one: solvable kept in {pct(sum(L['solvable_kept'] > 0 for L in has), len(has))}")
    ranks = Counter(L["best_solvable_rank"] for L in has if not L["solvable_kept"])
    within = {b: sum(v for k, v in ranks.items() if k <= b) for b in (8, 10)}
    print(
        f"  best solvable rank when none kept: {dict(sorted(ranks.items()))}; within beam 8: {within[8]}, beam 10: {within[10]}"
    )
    equal = sum(L["all_values_equal"] for L in levels)
    print(f"  levels with all values equal (> {beam} candidates, beam = proposal order): {equal}")
    table = Counter((ok, WORD[v]) for L in levels for ok, v, _ in L["values"])
    for ok in (True, False):
        row = {w: table[(ok, w)] for w in ("sure", "likely", "impossible")}
        print(f"  value | {'solvable  ' if ok else 'unsolvable'}: {row}")


def print_causes(out: list[dict[str, Any]]) -> None:
    print("\n== failure causes (first point where no solvable state survives)")
    for name, k in sorted(Counter(r["cause"] for r in out).items()):
        print(f"  {name:60s} {pct(k, len(out))}")


def print_confusion(out: list[dict[str, Any]]) -> None:
    print("\n== value call vs exact solvability (distinct valued states, all depths)")
    for size in (3, 2):
        t = Counter(
            (ok, WORD[v]) for r in out for d in range(1, DEPTH) for ok, v, s in r["levels"][d]["values"] if s == size
        )
        tp, fp = t[(True, "sure")] + t[(True, "likely")], t[(False, "sure")] + t[(False, "likely")]
        fn, tn = t[(True, "impossible")], t[(False, "impossible")]
        print(
            f"  {size} numbers: solvable s/l/i {t[(True, 'sure')]}/{t[(True, 'likely')]}/{fn};"
            f" unsolvable s/l/i {t[(False, 'sure')]}/{t[(False, 'likely')]}/{tn};"
            f" recall(not impossible | solvable) {tp / max(1, tp + fn):.2f},"
            f" specificity {tn / max(1, tn + fp):.2f}, precision {tp / max(1, tp + fp):.2f}"
        )


def print_replay(out: list[dict[str, Any]], store: RunStore, run_ids: Iterable[str], beam: int, branch: int) -> None:
    print("\n== replay with other branch/beam (recorded deterministic replies; solved / failed / unknown)")
    replies, values = load_cache(store, run_ids)
    for b, w in dict.fromkeys(((branch, beam), *REPLAYS)):
        sims = [simulate(puzzle_numbers(r["puzzle"]), replies, values, b, w) for r in out]
        res = Counter(a for a, _ in sims)
        print(
            f"  branch {b:2d} beam {w:2d}: solved {res['solved']}, failed {res['failed']}, unknown {res['unknown']};"
            f" solvable 2-number state reaches depth 3: {sum(s for _, s in sims)}"
        )
    two = {k: reply for k, reply in replies.items() if len(k.split()) == 2 and solvable(parse_left(f"left: {k}") or ())}
    finished = {
        k
        for k, reply in two.items()
        if any(child(parse_left(f"left: {k}") or (), line) == (TARGET,) for line in split_thoughts(reply)[:branch])
    }
    print(
        f"  solvable 2-number states ever expanded: {len(two)}, reply proposes the 24-step: {len(finished)};"
        f" missed: {sorted(set(two) - finished)}"
    )


# ---------- main ---------------------------------------------------------------------------------
def read_rows(path: Path, spec: str) -> list[dict[str, Any]]:
    """The latest row of each item of arm ``spec``, by item."""
    rows: dict[str, dict[str, Any]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if row["spec"] == spec:
                rows[row["item"]] = row
    return sorted(rows.values(), key=lambda row: (len(str(row["item"])), str(row["item"])))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, required=True, help="the results.jsonl of a ponder eval")
    ap.add_argument("--store", type=Path, required=True, help="the evaluation's run store (SQLite file)")
    ap.add_argument("--spec", default="tree", help="the arm to analyse (default: tree)")
    ap.add_argument("--beam", type=int, default=5, help="the recorded run's beam (default: 5)")
    ap.add_argument("--branch", type=int, default=5, help="the recorded run's branch (default: 5)")
    ap.add_argument("--all", action="store_true", help="analyse the solved runs too")
    ap.add_argument(
        "--replies",
        choices=("results", "store"),
        default="results",
        help="replay with the replies of the arm's runs in the results file (default) or of every tree run in the store",
    )
    ap.add_argument("--json", type=Path, help="write every run's analysis here")
    args = ap.parse_args()
    with RunStore(args.store, readonly=True) as store:
        arm = read_rows(args.results, args.spec)
        rows = [row for row in arm if args.all or not row["correct"]]
        analysed = [analyse(row, store, args.beam, args.branch) for row in rows]
        out = [r for r in analysed if r is not None]
        n = len(out)
        print(
            f"runs analysed: {n} ({'all' if args.all else 'failed'} {args.spec} runs); puzzles solvable: "
            f"{sum(r['puzzle_solvable'] for r in out)}/{n}"
        )
        if n < len(rows):
            print(f"runs without a recorded tree (left out): {len(rows) - n}")
        if not out:
            return
        mismatches = sum(r["levels"][d]["rank_mismatch"] for r in out for d in range(1, DEPTH))
        print(f"ranking reconstruction mismatches: {mismatches}")
        for d in range(1, DEPTH + 1):
            print_level(out, d, args.beam, args.branch)
        print_causes(out)
        print_confusion(out)
        run_ids = store.root_ids(strategy="tree") if args.replies == "store" else [row["run_id"] for row in arm]
        print_replay(out, store, run_ids, args.beam, args.branch)
    if args.json:
        args.json.write_text(json.dumps(out, default=str, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
