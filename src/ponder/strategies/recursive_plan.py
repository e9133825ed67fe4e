"""``recursive`` plan mode: a fixed split → filter → map → ground → reduce plan.

For small models that cannot write the code of code mode, the engine runs a
plan on their behalf, every stage a visible step. There are two plans:

* the **needle** plan (below, the default) finds the few chunks that hold an
  answer and reads only those;
* the **count** plan (:mod:`ponder.strategies.recursive_count`) answers
  aggregation questions ("how many records ...") by asking a yes/no question
  about every record and adding up the yeses in Python. ``aggregate="auto"``
  picks it for counting questions; ``"count"`` and ``"none"`` force a plan.

The needle plan:

1. **split** the context into overlapping chunks that fit the window;
2. **filter** them with BM25 on the question's words and keep the ``top_k``
   best (a recorded step); when no chunk matches at all, fall back to scanning
   every chunk;
3. **map** one sub-model call over each kept chunk, as a :class:`~ponder.requests.Batch`;
4. **ground** each reply: it must add something to the question and every word
   it adds must occur in its chunk; made-up answers from chunks that do not
   hold the answer are discarded (a recorded step);
5. **reduce** the grounded notes to one answer with another model call,
   recursively in groups while the notes are too long; a reduced answer that
   is not supported by the notes is replaced by the best-ranked note.

The context is read lazily (see :mod:`ponder.context`): chunks are byte
ranges, their text is decoded only when scored or sent to the model.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

from .. import prompts, steps
from ..context import Chunk, Context, bm25_scores, query_terms, split
from ..context.ground import evidence, fix_echoes, grounded, is_none
from ..errors import StopRun
from ..requests import Batch, Generate, Outcome, Record, Request, StrategyGen
from ..types import system, user
from .recursive_count import RecursiveCount, plan_for


@dataclass(frozen=True, slots=True)
class Note:
    """A grounded candidate answer, its evidence sentence and the rank of its chunk."""

    answer: str
    evidence: str
    score: float
    where: str


@dataclass(frozen=True, slots=True)
class RecursivePlan:
    """Answer a question about ``context`` with the fixed plan described in the module docs."""

    context: Context
    chunk_bytes: int = 1500
    overlap: int = 250
    top_k: int = 3
    batch_size: int = 8
    reduce_bytes: int = 3000
    #: ``auto`` (the count plan for counting questions), ``count`` or ``none`` (always the needle plan)
    aggregate: str = "auto"
    #: count plan: records checked per Batch
    records_per_batch: int = 32
    name: str = "recursive"

    def run(self, question: str) -> StrategyGen:
        if plan_for(self.aggregate, question) == "count":
            count = RecursiveCount(self.context, batch_size=self.records_per_batch)
            return (yield from count.run(question))
        terms = query_terms(question)
        chunks, scores = bm25_scores(split(self.context, self.chunk_bytes, self.overlap), terms)
        yield Record(
            steps.SPLIT,
            f"{len(chunks)} chunks of up to {self.chunk_bytes} bytes from a {self.context.describe()}",
            steps.SplitData(chunks=len(chunks), chunk_bytes=self.chunk_bytes, overlap=self.overlap),
        )
        ranked = _distinct(chunks, sorted((i for i, s in enumerate(scores) if s > 0), key=lambda i: -scores[i]))
        ranked = ranked[: self.top_k]
        if ranked:
            kept = [(chunks[i], scores[i]) for i in ranked]
            text = f"BM25 on {terms}: kept {len(kept)} of {len(chunks)} chunks"
            fallback = False
        else:
            kept = [(c, 0.0) for c in chunks]
            text = f"no chunk matched {terms}: scanning all {len(chunks)} chunks"
            fallback = True
        yield Record(
            steps.FILTER,
            text,
            steps.FilterData(
                terms=terms,
                kept=len(kept),
                of=len(chunks),
                chunks=[c.index for c, _ in kept][:100],
                scores=[round(s, 3) for _, s in kept][:100],
                fallback=fallback,
            ),
        )
        notes: list[Note] = []
        unread: list[str] = []  # chunks whose map call failed (after the backend's retries)
        try:
            for start in range(0, len(kept), self.batch_size):
                group = kept[start : start + self.batch_size]
                notes.extend((yield from self._map(question, group, unread)))
            answer = yield from self._reduce(question, notes)
        except StopRun as stop:
            best = notes[0].answer if notes else None
            return Outcome(best, stop.reason, stop.detail)
        missing = (
            f"; {len(unread)} chunk(s) could not be read (model errors): {', '.join(unread[:5])}" if unread else ""
        )
        if answer is None:
            return Outcome(None, "converged", "no part of the context answers the question" + missing)
        return Outcome(answer, "answered", missing.removeprefix("; "))

    def _map(
        self, question: str, group: Sequence[tuple[Chunk, float]], unread: list[str]
    ) -> Generator[Request, Any, list[Note]]:
        sys_prompt = prompts.load("recursive/map_system")
        texts = [c.text() for c, _ in group]
        requests = tuple(
            Generate.of(
                [system(sys_prompt), user(prompts.render("recursive/map", chunk=text, question=question))],
                kind=steps.MAP,
                stop=("\n",),
                role="sub",
                data=steps.MapData(chunk=c.index, where=c.where),
            )
            for (c, _), text in zip(group, texts, strict=True)
        )
        completions = yield Batch(requests)
        notes, dropped = [], []
        for (chunk, score), text, completion in zip(group, texts, completions, strict=True):
            if completion.finish_reason == "error":
                unread.append(chunk.where)
                continue
            reply = completion.text.strip()
            if is_none(reply):
                continue
            if grounded(reply, question, text):
                reply = fix_echoes(reply, question)  # a miscopied name from the question, spelled as asked
                notes.append(Note(reply, evidence(reply, question, text), score, chunk.where))
            else:
                dropped.append({"chunk": chunk.index, "reply": reply[:200]})
        failed = sum(c.finish_reason == "error" for c in completions)
        yield Record(
            steps.GROUND,
            f"{len(notes)} grounded answer(s), {len(dropped)} unsupported discarded"
            + (f", {failed} chunk(s) unread (model errors)" if failed else ""),
            {"kept": [n.answer[:200] for n in notes], "discarded": dropped, "unread": failed},
        )
        return notes

    def _reduce(self, question: str, notes: list[Note], level: int = 0) -> Generator[Request, Any, str | None]:
        distinct: dict[str, Note] = {}
        for n in notes:
            distinct.setdefault(" ".join(n.answer.lower().split()).rstrip("."), n)
        unique = sorted(distinct.values(), key=lambda n: -n.score)
        if not unique:
            return None
        if len(unique) == 1:
            return unique[0].answer
        groups: list[list[Note]] = [[]]
        size = 0
        for n in unique:
            line = len(n.answer) + len(n.evidence) + 20
            if groups[-1] and size + line > self.reduce_bytes:
                groups.append([])
                size = 0
            groups[-1].append(n)
            size += line
        requests = tuple(
            Generate.of(
                [
                    system(prompts.load("recursive/map_system")),
                    user(prompts.render("recursive/reduce", notes=_notes_text(g), question=question)),
                ],
                kind=steps.REDUCE,
                stop=("\n",),
                data={"level": level, "notes": len(g)},
            )
            for g in groups
        )
        completions = yield Batch(requests)
        reduced: list[Note] = []
        for g, completion in zip(groups, completions, strict=True):
            reply = completion.text.strip()
            source = _notes_text(g)
            if grounded(reply, question, source):
                reduced.append(Note(reply, evidence(reply, question, source), max(n.score for n in g), "reduce"))
            else:
                reduced.append(g[0])  # the reduce call made something up: keep the best-ranked note
        yield Record(
            steps.REDUCE,
            f"level {level}: {len(unique)} notes in {len(groups)} group(s) → {len(reduced)}",
            {"level": level, "answers": [n.answer[:200] for n in reduced]},
        )
        if len(groups) == 1:
            return reduced[0].answer
        return (yield from self._reduce(question, reduced, level + 1))


def _distinct(chunks: Sequence[Chunk], order: list[int]) -> list[int]:
    """``order`` without chunks whose text repeats an earlier one (repeated documents are read once)."""
    seen: set[int] = set()
    out = []
    for i in order:
        key = hash(bytes(chunks[i].document.data()[chunks[i].start : chunks[i].end]))
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out


def _notes_text(notes: Sequence[Note]) -> str:
    return "\n".join(f'- {n.answer} (from: "{n.evidence}")' for n in notes)
