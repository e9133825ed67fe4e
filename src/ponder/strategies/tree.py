"""``tree``: Tree of Thoughts (Yao et al., 2023) — propose, evaluate, search.

Each state is expanded into up to ``branch`` child thoughts, either by one
*propose* call that lists several next thoughts or by ``branch`` *sampled*
calls. The task's step check rejects bad thoughts (status ``invalid``). Child
states are then *evaluated*: by the model (``"value"``: sure/likely/impossible
→ 1/0.5/0, averaged over ``samples_per_eval`` calls; ``"vote"``: the share of
``samples_per_eval`` votes each state gets among its level), or by any Python
callable on the state. Search is

* ``bfs``: keep the ``beam`` best states of each level (value, then creation
  order, so ties are broken deterministically), up to ``depth`` levels;
* ``dfs``: visit children best first, skip those valued below ``prune``, and
  backtrack when a subtree holds nothing; stop at the first leaf that passes.

Either search stops as soon as a state passes the task's final check (the
Game of 24: one number left, and the expression is exactly 24). Tasks without
a final check are answered from the best leaf by one more model call.

Every node is recorded as a ``node`` step with ``data`` = ``{"node", "parent",
"depth", "value", "status", "state"}`` (+ ``"reason"``), status one of
``expanded``, ``kept``, ``pruned``, ``invalid``, ``solution``. A node may be
recorded twice (``kept``, later ``expanded``): its last record holds its final
status. When a budget ends the run, the best state so far is the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from .. import steps
from ..access import CLIENT
from ..errors import ConfigError, StopRun
from ..guards.numbers import finite, whole
from ..requests import Batch, Generate, Outcome, Record, Request, StrategyGen
from ..tasks import Rejected, ThoughtTask, get_task
from ..tasks.base import parse_value, parse_vote
from ..types import Completion
from .entry import Option, StrategyEntry
from .tree_nodes import Node, NodeLog

Evaluator = Literal["value", "vote"] | Callable[[Any], float]
Search = Generator[Request, Any, "Node | None"]
Steps = Generator[Request, Any, None]


#: the most a beam, a branching factor, evaluations per state or the depth may be, and the most calls one
#: level may make (beam × branch × samples_per_eval): a level's requests are built at once
MAX_WIDTH = 1000
#: the widest a client of ``ponder serve`` may make a level (beam, branch, depth, evaluations)
CLIENT_WIDTH = 16
MAX_LEVEL_CALLS = 10_000


@dataclass(frozen=True)
class Tree:
    """Tree-of-Thoughts search; see the module docs. ``task`` is a name (``auto``, ``generic``, ``game24``, ...) or a task."""

    task: ThoughtTask[Any] | str | None = None
    branch: int = 5
    beam: int = 5
    depth: int | None = None
    search: Literal["bfs", "dfs"] = "bfs"
    prune: float | None = None
    evaluator: Evaluator = "value"
    samples_per_eval: int = 1
    generate: Literal["propose", "sample"] = "propose"
    #: of ``generate="sample"`` calls and of ``samples_per_eval > 1`` evaluations; one propose call is greedy
    temperature: float = 0.7
    name: str = "tree"

    def __post_init__(self) -> None:
        for field_name in ("branch", "beam", "samples_per_eval"):
            whole(f"tree: {field_name}", getattr(self, field_name), maximum=MAX_WIDTH)
            if getattr(self, field_name) < 1:
                raise ConfigError(f"tree: {field_name} must be >= 1, got {getattr(self, field_name)}")
        level = self.beam * self.branch * self.samples_per_eval
        if level > MAX_LEVEL_CALLS:  # a level's calls are built at once
            raise ConfigError(
                f"tree: beam × branch × samples_per_eval is {level}, more than {MAX_LEVEL_CALLS} calls in one level"
            )
        if self.prune is not None:
            finite("tree: prune", self.prune)
        finite("tree: temperature", self.temperature)
        if self.depth is not None:
            whole("tree: depth", self.depth, maximum=MAX_WIDTH)
        if self.depth is not None and self.depth < 1:
            raise ConfigError(f"tree: depth must be >= 1, got {self.depth}")
        if self.search not in ("bfs", "dfs"):
            raise ConfigError(f"tree: search must be 'bfs' or 'dfs', not {self.search!r}")
        if self.generate not in ("propose", "sample"):
            raise ConfigError(f"tree: generate must be 'propose' or 'sample', not {self.generate!r}")
        if not callable(self.evaluator) and self.evaluator not in ("value", "vote"):
            raise ConfigError(f"tree: evaluator must be 'value', 'vote' or a callable, not {self.evaluator!r}")
        if isinstance(self.task, str) and self.task != "auto":
            get_task(self.task)  # fail early on an unknown name

    def run(self, question: str) -> StrategyGen:
        task = self.task if isinstance(self.task, ThoughtTask) else get_task(self.task or "auto", question)
        walk = _Walk(self, task, task.root(question))
        try:
            found = yield from (walk.bfs() if self.search == "bfs" else walk.dfs(walk.root))
            return (yield from walk.finish(found))
        except StopRun as stop:
            return walk.best_so_far(stop)


class _Walk:
    """The mutable state of one search: nodes, cached values, the best state so far."""

    def __init__(self, tree: Tree, task: ThoughtTask[Any], root_state: Any) -> None:
        self.tree = tree
        self.task = task
        self.max_depth = tree.depth or task.depth or 3
        self.log = NodeLog(task)
        self.root = self.log.new(root_state, None, 0, text=task.thought(root_state))
        self.values: dict[str, float] = {}
        #: kept states that ended their chain (an answer given), and the last level's kept states
        self.finals: list[Node] = []
        self.last: list[Node] = []

    # -- the two searches ---------------------------------------------------

    def bfs(self) -> Search:
        frontier = [self.root]
        for _level in range(self.max_depth):
            children = yield from self._expand(frontier)
            found = yield from self._settle(children)
            if found is not None:
                return found
            live = [c for c in children if c.status == "new"]
            yield from self._evaluate(live)
            kept: list[Node] = []
            for child in sorted(live, key=Node.rank):
                if self._below(child):
                    yield from self.log.mark(child, "pruned", f"value {child.value:g} below {self.tree.prune:g}")
                elif len(kept) >= self.tree.beam:
                    yield from self.log.mark(child, "pruned", f"outside the beam of {self.tree.beam}")
                else:
                    kept.append(child)
                    yield from self.log.mark(child, "kept")
            self.finals += [c for c in kept if self.task.is_final(c.state)]
            frontier = [c for c in kept if not self.task.is_final(c.state)]
            self.last = frontier or self.last
            if not frontier:
                break
        return None

    def dfs(self, node: Node) -> Search:
        children = yield from self._expand([node])
        found = yield from self._settle(children)
        if found is not None:
            return found
        live = [c for c in children if c.status == "new"]
        yield from self._evaluate(live)
        order = sorted(live, key=Node.rank)
        for child in order:
            if self._below(child):
                yield from self.log.mark(child, "pruned", f"value {child.value:g} below {self.tree.prune:g}")
            else:
                yield from self.log.mark(child, "kept")
        for child in order:
            if child.status != "kept":
                continue
            if self.task.is_final(child.state) or child.depth >= self.max_depth:
                self.last.append(child)
                if not self.task.has_final_check:
                    return child  # a leaf that stayed above the threshold all the way down
                continue
            found = yield from self.dfs(child)
            if found is not None:
                return found
            yield Record(steps.BACKTRACK, f"back to node {node.node}", {"node": node.node, "from": child.node})
        return None

    # -- steps shared by both -----------------------------------------------

    def _expand(self, parents: Sequence[Node]) -> Generator[Request, Any, list[Node]]:
        """Propose or sample children for ``parents``; record rejected and duplicate ones."""
        tree, task = self.tree, self.task
        for parent in parents:
            yield from self.log.mark(parent, "expanded")
        if tree.generate == "propose":
            requests = [_tag(task.propose(p.state, tree.branch), node=p.node) for p in parents]
            owners = list(parents)
        else:
            owners = [p for p in parents for _ in range(tree.branch)]
            requests = [self._sampled(_tag(task.sample(p.state), node=p.node), i) for i, p in enumerate(owners)]
        replies = yield from _calls(requests)
        limit = tree.branch if tree.generate == "propose" else 1
        seen: dict[str, Node] = {}
        children: list[Node] = []
        for parent, reply in zip(owners, replies, strict=True):
            for item in task.expand(parent.state, reply.text, limit):
                if isinstance(item, Rejected):
                    node = self.log.new(None, parent, parent.depth + 1, text=item.text)
                    yield from self.log.mark(node, "invalid", item.reason)
                    continue
                node = self.log.new(item, parent, parent.depth + 1)
                twin = seen.get(task.key(item))
                if twin is not None:
                    yield from self.log.mark(node, "pruned", f"same state as node {twin.node}")
                    continue
                seen[task.key(item)] = node
                children.append(node)
        return children

    def _settle(self, children: Sequence[Node]) -> Search:
        """Prune final states that cannot be a solution (no model call needed); stop on a solution."""
        for child in children:
            why = self.task.dead(child.state)
            if why is not None:
                child.value = 0.0
                yield from self.log.mark(child, "pruned", why)
        solved = next((c for c in children if self.task.solution(c.state) is not None), None)
        if solved is None:
            return None
        solved.value = 1.0
        yield from self.log.mark(solved, "solution")
        for child in children:
            if child.status == "new":  # so that every node appears in the trace
                yield from self.log.mark(child, "pruned", "not evaluated: a solution was found")
        return solved

    def _evaluate(self, nodes: Sequence[Node]) -> Steps:
        tree, task = self.tree, self.task
        if not nodes:
            return
        if callable(tree.evaluator):
            for node in nodes:
                node.value = float(tree.evaluator(node.state))
            return
        n = tree.samples_per_eval
        if tree.evaluator == "vote":
            if len(nodes) == 1:
                nodes[0].value = 1.0
                return
            request = _tag(task.vote([node.state for node in nodes]), True, nodes=[node.node for node in nodes])
            replies = yield from _calls([self._sampled(request, i) if n > 1 else request for i in range(n)])
            votes = [0] * len(nodes)
            for reply in replies:
                choice = parse_vote(reply.text, len(nodes))
                if choice is not None:
                    votes[choice] += 1
            for node, count in zip(nodes, votes, strict=True):
                node.value = count / n
            return
        todo: dict[str, Node] = {}
        for node in nodes:
            key = task.key(node.state)
            if key not in self.values:
                todo.setdefault(key, node)
        requests = [
            self._sampled(request, i) if n > 1 else request
            for request in (_tag(task.value(t.state), True, node=t.node) for t in todo.values())
            for i in range(n)
        ]
        replies = yield from _calls(requests)
        for k, key in enumerate(todo):
            scores = [parse_value(r.text) for r in replies[k * n : (k + 1) * n]]
            self.values[key] = sum(scores) / n
        for node in nodes:
            node.value = self.values[task.key(node.state)]

    def _below(self, node: Node) -> bool:
        return self.tree.prune is not None and (node.value or 0.0) < self.tree.prune

    def _sampled(self, request: Generate, seed: int) -> Generate:
        return replace(request, temperature=self.tree.temperature, seed=seed)

    # -- ending -------------------------------------------------------------

    def finish(self, found: Node | None) -> StrategyGen:
        """The outcome: a checked solution, else an answer from the best leaf (tasks without a check)."""
        if found is not None and self.task.solution(found.state) is not None:
            return Outcome(self.task.solution(found.state), "answered", f"node {found.node} passed the final check")
        best = found or self.log.best([*self.finals, *self.last])
        if best is None:
            return Outcome(None, "converged", "no valid thought was found")
        if self.task.has_final_check:
            return Outcome(
                None, "converged", f"the search ended without a solution (best: node {best.node}, {best.summary})"
            )
        request = self.task.answer(best.state)
        text = "" if request is None else (yield request).text
        answer = self.task.parse_answer(best.state, text)
        return Outcome(answer, "answered", f"answered from node {best.node} (value {best.value:g})")

    def best_so_far(self, stop: StopRun) -> Outcome:
        best = self.log.best([*self.finals, *self.last]) or self.log.best(self.log.nodes)
        if best is None or best.state is None:
            return Outcome(None, stop.reason, stop.detail)
        answer = self.task.solution(best.state) or self.task.parse_answer(best.state, "")
        detail = f"{stop.detail}; best so far: node {best.node}, {best.summary}"
        return Outcome(answer, stop.reason, detail)


def _calls(requests: Sequence[Generate]) -> Generator[Request, Any, list[Completion]]:
    """Independent calls as one Batch (run concurrently where the backend can); a lone call streams."""
    if not requests:
        return []
    if len(requests) == 1:
        return [(yield requests[0])]
    replies: list[Completion] = yield Batch(tuple(requests))
    return replies


def _tag(request: Generate, judged: bool = False, **data: Any) -> Generate:
    """``request`` with ``data`` added to its recorded step (which node a call was for); ``judged``:
    an evaluation (value, vote), answered by the ``judge`` model role."""
    return replace(request, data={**request.data, **data}, role="judge" if judged else request.role)


def _call_count(options: Mapping[str, Any], slots: Mapping[str, int]) -> int:
    """Per level, each kept state: one propose call and one value call per child; one answer call."""
    beam, branch = int(options.get("beam", 5)), int(options.get("branch", 5))
    depth = options.get("depth") or 4
    return beam * (1 + branch) * int(depth) + 1


ENTRY = StrategyEntry(
    "tree",
    Tree,
    "Tree of Thoughts: propose, evaluate, search (BFS beam or DFS with pruning)",
    options=(
        Option(
            "beam",
            int,
            "tree: beam width (states kept per level).",
            "--beam",
            minimum=1,
            maximum=MAX_WIDTH,
            access=CLIENT,
            client_max=CLIENT_WIDTH,
        ),
        Option(
            "depth",
            int,
            "tree: depth limit.",
            "--depth",
            minimum=1,
            maximum=MAX_WIDTH,
            nullable=True,
            access=CLIENT,
            client_max=CLIENT_WIDTH,
        ),
        Option(
            "branch",
            int,
            "tree: thoughts proposed per state.",
            "--branch",
            minimum=1,
            maximum=MAX_WIDTH,
            access=CLIENT,
            client_max=CLIENT_WIDTH,
        ),
        Option("search", str, "tree: search order.", "--search", choices=("bfs", "dfs"), access=CLIENT),
        Option("prune", float, "tree (dfs): prune states valued below this.", "--prune", nullable=True, access=CLIENT),
        Option(
            "task", str, "tree: the task (auto, generic, game24, ...).", nullable=True, access=CLIENT, max_length=100
        ),
        Option("evaluator", str, "tree: how states are valued.", choices=("value", "vote"), access=CLIENT),
        Option(
            "samples_per_eval",
            int,
            "tree: evaluation calls per state.",
            minimum=1,
            maximum=MAX_WIDTH,
            access=CLIENT,
            client_max=CLIENT_WIDTH,
        ),
        Option("generate", str, "tree: how thoughts are made.", choices=("propose", "sample"), access=CLIENT),
        Option(
            "temperature",
            float,
            "tree: the temperature of sampled thoughts and of repeated evaluations (a propose call is greedy).",
            minimum=0,
            maximum=100,
            access=CLIENT,
        ),
    ),
    calls=_call_count,
)
