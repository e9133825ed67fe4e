"""``recursive`` plan mode, count plan: aggregation questions read every record.

A question such as "How many records are labelled urgent?" cannot be answered
from the few chunks a BM25 filter keeps: every record must be looked at. A
small model cannot add numbers reliably either, but it can say yes or no about
one short record. So the count plan

1. **splits** the context into records (lines, or sentences for prose; see
   :mod:`ponder.context.records`), streaming, and records how many there are;
2. **maps** one yes/no sub-model call over every record ("does THIS record
   count?"), as :class:`~ponder.requests.Batch` es of ``batch_size`` records.
   The record comes last in the prompt, so a backend with KV prefix reuse
   evaluates only the record's tokens; the reply is constrained to yes/no by a
   GBNF grammar where the backend honours grammars, and otherwise its first
   word is read (anything else counts as no and is reported as unclear).
   Each batch ends with a ``count`` step holding the counts so far;
3. **reduces** by exact arithmetic in Python: the answer is the number of yes
   replies (a ``reduce`` step), never a model call.

When the budget runs out part-way, the run ends with the budget's stop reason
and an answer that says it is partial, with the count so far and the bounds it
implies. :func:`plan_for` picks this plan for counting questions when the
``aggregate`` option is ``auto``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice

from .. import steps
from ..context import Context, count_records, record_unit, records
from ..errors import ConfigError, StopRun
from ..requests import Batch, Generate, Outcome, Record, StrategyGen
from ..tasks.base import chat_prompt

AGGREGATES = ("auto", "count", "none")
#: the reply of a record check, on backends that honour GBNF grammars
YES_NO_GRAMMAR = 'root ::= "yes" | "no" | "Yes" | "No"'

_COUNTING = re.compile(r"\bhow\s+many\b|^\W*count\b|(^|\b(the|total)\s+)number\s+of\b", re.IGNORECASE)
_FIRST_WORD = re.compile(r"[A-Za-z]+")


def is_counting(question: str) -> bool:
    """Whether ``question`` asks for a count ("how many ...", "count ...", "the number of ...")."""
    return bool(_COUNTING.search(question.strip()))


def plan_for(aggregate: str, question: str) -> str:
    """The plan for ``question``: ``count`` or ``none`` (the needle plan); ``auto`` detects counting questions."""
    if aggregate not in AGGREGATES:
        raise ConfigError(f"unknown aggregate {aggregate!r} (known: {', '.join(AGGREGATES)})")
    if aggregate == "auto":
        return "count" if is_counting(question) else "none"
    return aggregate


def parse_yes_no(reply: str) -> bool | None:
    """``True`` for a reply whose first word is yes, ``False`` for no, ``None`` for anything else."""
    m = _FIRST_WORD.search(reply)
    word = m.group(0).lower() if m else ""
    if word in ("yes", "y", "true"):
        return True
    if word in ("no", "n", "false"):
        return False
    return None


@dataclass(frozen=True, slots=True)
class RecursiveCount:
    """Count the records of ``context`` that match ``question`` (see the module docs)."""

    context: Context
    batch_size: int = 32
    record_bytes: int = 500
    name: str = "recursive"

    def run(self, question: str) -> StrategyGen:
        if self.batch_size < 1 or self.record_bytes < 1:
            raise ConfigError("the count plan needs batch_size >= 1 and record_bytes >= 1")
        total = count_records(self.context, self.record_bytes)
        units = sorted({record_unit(d, self.record_bytes) for d in self.context.documents})
        yield Record(
            steps.SPLIT,
            f"{total} records ({' and '.join(units) or 'lines'}) from a {self.context.describe()}",
            steps.SplitData(plan="count", records=total, unit=units, record_bytes=self.record_bytes),
        )
        matched = read = unclear = failed = 0
        stream = records(self.context, self.record_bytes)
        try:
            while group := list(islice(stream, self.batch_size)):
                requests = tuple(
                    Generate.of(
                        chat_prompt("recursive/count", question=question, record=c.text()),
                        kind=steps.MAP,
                        stop=("\n",),
                        role="sub",
                        grammar=YES_NO_GRAMMAR,
                        data=steps.MapData(record=c.index, where=c.where),
                    )
                    for c in group
                )
                completions = yield Batch(requests)
                errors = [c.finish_reason == "error" for c in completions]
                votes = [None if e else parse_yes_no(c.text) for c, e in zip(completions, errors, strict=True)]
                hits = [c.index for c, v in zip(group, votes, strict=True) if v]
                matched += len(hits)
                failed += sum(errors)
                unclear += sum(v is None for v, e in zip(votes, errors, strict=True) if not e)
                read += len(group) - sum(errors)
                yield Record(
                    steps.COUNT,
                    f"{read} of {total} records read, {matched} match so far (+{len(hits)} in this batch)",
                    steps.CountData(read=read, of=total, matched=matched, batch=len(group), hits=hits, unclear=unclear),
                )
        except StopRun as stop:
            return Outcome(_partial(matched, read, total), stop.reason, stop.detail)
        if failed:  # records whose check failed were not read: the count has bounds, not one value
            answer = (
                f"Count with gaps: {matched} of the {read} records checked match; {failed} could not be checked"
                f" (model errors), so the full count is between {matched} and {matched + failed}."
            )
            return Outcome(answer, "answered", f"{failed} record(s) could not be checked (model errors)")
        note = f" ({unclear} unclear replies counted as no)" if unclear else ""
        yield Record(
            steps.REDUCE,
            f"total: {matched} of {total} records match{note}",
            {"count": matched, "records": total, "unclear": unclear},
        )
        return Outcome(str(matched), "answered")


def _partial(matched: int, read: int, total: int) -> str:
    return (
        f"Partial count: {matched} of the first {read} of {total} records match; the other {total - read} "
        f"were not read, so the full count is between {matched} and {matched + total - read}."
    )
