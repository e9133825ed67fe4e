"""The nodes of a ``tree`` search and how they are recorded in the run's events."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .. import steps
from ..requests import Record, Request
from ..tasks import ThoughtTask

Status = Literal["new", "expanded", "kept", "pruned", "invalid", "solution"]


@dataclass(slots=True, eq=False)
class Node:
    """One thought in the tree. ``state`` is ``None`` for a thought the step check rejected."""

    node: int
    parent: int | None
    depth: int
    state: Any
    text: str
    summary: str = ""
    value: float | None = None
    status: Status = "new"

    def rank(self) -> tuple[float, int]:
        """Sort key: higher value first, then earlier creation (a deterministic tie-break)."""
        return (-(self.value if self.value is not None else float("-inf")), self.node)


class NodeLog:
    """Creates nodes with consecutive ids and records each status change as a ``node`` step."""

    def __init__(self, task: ThoughtTask[Any]) -> None:
        self.task = task
        self.nodes: list[Node] = []

    def new(self, state: Any, parent: Node | None, depth: int, *, text: str | None = None) -> Node:
        if text is None:
            text = self.task.thought(state)
        summary = self.task.describe(state) if state is not None else ""
        node = Node(len(self.nodes), None if parent is None else parent.node, depth, state, text, summary)
        self.nodes.append(node)
        return node

    def mark(self, node: Node, status: Status, reason: str = "") -> Generator[Request, Any, None]:
        node.status = status
        data: steps.NodeData = {
            "node": node.node,
            "parent": node.parent,
            "depth": node.depth,
            "value": node.value,
            "status": status,
            "state": node.summary,
        }
        if reason:
            data["reason"] = reason
        yield Record(steps.NODE, node.text, data)

    @staticmethod
    def best(nodes: Iterable[Node]) -> Node | None:
        """The most valuable valid node (deeper wins a tie, then the earlier one)."""
        scored = [n for n in nodes if n.state is not None and n.value is not None]
        if not scored:
            return None
        return min(scored, key=lambda n: (-(n.value or 0.0), -n.depth, n.node))
