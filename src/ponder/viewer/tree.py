"""The shape the trace viewer draws: a run's events as a tree of nodes.

* a run is a node; its steps are its children, in order; a child run is
  nested where it started (``run_started.parent_run_id``);
* a model call, a tool call and a recorded decision are leaf nodes carrying
  what the page shows when expanded (the exact prompt, the output, usage,
  timing);
* tree-of-thoughts ``node`` records (:class:`~ponder.steps.NodeData`) become
  *thought* nodes linked by their ``parent``; the model calls made for a
  thought (``data["node"]``) hang under it, so branches look like branches;
* parallel samples (a consistency run's batch) are sibling nodes.
"""

from __future__ import annotations

from typing import Any

from .. import steps


def _run_node(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "run",
        "label": f"{event.get('strategy', '')} run {event['run_id']}",
        "run_id": event["run_id"],
        "question": event.get("question", ""),
        "strategy": event.get("strategy", ""),
        "model": event.get("model", ""),
        "depth": event.get("depth", 0),
        "budget": event.get("budget", {}),
        "children": [],
    }


def _thought_label(data: steps.NodeData, text: str) -> str:
    value = data.get("value")
    score = f", value {value:g}" if isinstance(value, int | float) else ""
    return f"thought {data.get('node')} [{data.get('status', '')}{score}] {' '.join(text.split())[:80]}"


def build_tree(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The viewer tree of one top-level run's events (children included)."""
    runs: dict[str, dict[str, Any]] = {}
    thoughts: dict[tuple[str, int], dict[str, Any]] = {}
    root: dict[str, Any] | None = None
    # pass 1: runs and thoughts (a thought's calls may come before its first record)
    for event in events:
        if event["type"] == "run_started":
            runs[event["run_id"]] = _run_node(event)
            if root is None:
                root = runs[event["run_id"]]
        elif event["type"] == "step" and event.get("kind") == steps.NODE and "node" in event.get("data", {}):
            data: steps.NodeData = event["data"]
            key = (event["run_id"], int(data["node"]))
            thought = thoughts.get(key)
            if thought is None:
                thought = thoughts[key] = {"type": "thought", "node": data["node"], "children": [], "history": []}
            thought.update(
                label=_thought_label(data, event.get("text", "")),
                parent=data.get("parent"),
                status=data.get("status"),
                value=data.get("value"),
                text=event.get("text", ""),
                data=data,
                step=event.get("step"),
            )
            thought["history"].append(
                {"status": data.get("status"), "value": data.get("value"), "step": event.get("step")}
            )
    if root is None:
        return {"type": "run", "label": "(empty run)", "children": []}
    placed: set[tuple[str, int]] = set()

    def place_thought(run_id: str, number: int) -> dict[str, Any] | None:
        key = (run_id, number)
        thought = thoughts.get(key)
        if thought is None:
            return None
        if key not in placed:
            placed.add(key)
            parent_no = thought.get("parent")
            parent = place_thought(run_id, int(parent_no)) if parent_no is not None else None
            (parent or runs[run_id])["children"].append(thought)
        return thought

    # pass 2: every other step, in order, under its run (or the thought it was for)
    for event in events:
        kind = event["type"]
        run = runs.get(event["run_id"])
        if run is None:
            continue
        if kind == "run_started":
            parent_id = event.get("parent_run_id")
            if parent_id in runs:
                runs[parent_id]["children"].append(run)
        elif kind == "run_finished":
            run.update(
                answer=event.get("answer"),
                stop_reason=event.get("stop_reason"),
                detail=event.get("error") or event.get("detail", ""),
                usage=event.get("usage", {}),
                seconds=event.get("seconds", 0.0),
            )
        elif kind == "step" and event.get("kind") == steps.NODE and "node" in event.get("data", {}):
            place_thought(event["run_id"], int(event["data"]["node"]))
        else:
            node = _step_node(event)
            if node is None:
                continue
            owner = event.get("data", {}).get("node") if kind == "model_call" else None
            target = place_thought(event["run_id"], int(owner)) if isinstance(owner, int) else None
            (target or run)["children"].append(node)
    return root


def _step_node(event: dict[str, Any]) -> dict[str, Any] | None:
    kind = event["type"]
    if kind == "model_call":
        text = " ".join(event.get("text", "").split())
        return {
            "type": "call",
            "label": f"step {event.get('step')}: {event.get('kind')} — {text[:80]}",
            "step": event.get("step"),
            "kind": event.get("kind"),
            "messages": event.get("messages", []),
            "output": event.get("text", ""),
            "options": event.get("options"),
            "usage": event.get("usage", {}),
            "seconds": event.get("seconds", 0.0),
            "finish_reason": event.get("finish_reason"),
            "data": event.get("data", {}),
            "children": [],
        }
    if kind == "tool_call":
        return {
            "type": "tool",
            "label": f"step {event.get('step')}: tool {event.get('tool')}",
            "step": event.get("step"),
            "tool": event.get("tool"),
            "arguments": event.get("arguments"),
            "output": event.get("output", ""),
            "error": event.get("error"),
            "ok": event.get("ok", True),
            "seconds": event.get("seconds", 0.0),
            "children": [],
        }
    if kind == "step":
        return {
            "type": "record",
            "label": f"step {event.get('step')}: {event.get('kind')} — {' '.join(event.get('text', '').split())[:80]}",
            "step": event.get("step"),
            "kind": event.get("kind"),
            "output": event.get("text", ""),
            "data": event.get("data", {}),
            "children": [],
        }
    return None


def count_nodes(tree: dict[str, Any]) -> int:
    return 1 + sum(count_nodes(child) for child in tree.get("children", []))
