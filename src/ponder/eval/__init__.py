"""``ponder eval``: every item of a dataset under every spec, scored, paired, resumable, local or on Ray.

=====================  ==========================================================
module                 what it holds
=====================  ==========================================================
:mod:`.data`           items from JSONL/CSV files or folders (keyed by ``id`` or line); sampling
:mod:`.arms`           the specs compared, each identified by a hash of its RunSpec
:mod:`.scorers`        exact, number, contains, regex:, choice, python:, judge
:mod:`.execute`        one item under one spec (what every worker runs)
:mod:`.results`        ``results.jsonl`` (append-only, resumable); the store's copy
:mod:`.local`          threads / processes on this machine
:mod:`.ray_runner`     Ray tasks (optional ``ray`` extra)
:mod:`.stats`          Wilson intervals, exact McNemar (scipy)
:mod:`.report`         summary.json, report.md, report.png (matplotlib)
:mod:`.manifest`       eval.json: the specs, data, scorer and id field a rerun keeps
:mod:`.evaluation`     :func:`evaluate`: the whole job
=====================  ==========================================================
"""

from .arms import Arm, arms_from_flags, spec_hash
from .data import Fields, Item, load_items, select
from .evaluation import EvalOptions, EvalStoppedError, evaluate
from .execute import ItemResult, Task, run_item
from .manifest import load_resumed
from .score import Score
from .scorers import get_scorer

__all__ = [
    "Arm",
    "EvalOptions",
    "EvalStoppedError",
    "Fields",
    "Item",
    "ItemResult",
    "Score",
    "Task",
    "arms_from_flags",
    "evaluate",
    "get_scorer",
    "load_items",
    "load_resumed",
    "run_item",
    "select",
    "spec_hash",
]
