"""The step vocabulary: every step kind ponder records, and the data its readers rely on.

A step is a model call (a ``model_call`` event, from a :class:`~ponder.requests.Generate`),
a tool call (``tool_call``, from a :class:`~ponder.requests.CallTool`) or a recorded
decision (``step``, from a :class:`~ponder.requests.Record`). Its ``kind`` names what it
was; its ``data`` carries the details. Producers use the constants below for the kind
and, where a reader depends on the data, build it as the TypedDict named here; readers
(the viewer, the progress bar, the exports, the stop-policy training rows) use the
same names, so a kind or a key is spelled in one place. The values are part of the
trace format: never change one.

=============  ======  =================================  ============================================
kind           event   produced by                        data (readers)
=============  ======  =================================  ============================================
generate       call    any :class:`Generate` by default   --
answer         call    ``single``, tree tasks' final      --
draft          call    ``refine``, ``verify`` round 1     -- (stop training rows)
critique       call    ``refine``                         -- (stop training rows)
revision       call    ``refine``, ``verify`` rounds 2..  -- (stop training rows)
sample         call    ``consistency``                    :class:`SampleData` (stop training rows)
extract        call    ``extract="lm"``                   ``sample``
check_sample   call    the ``agreement`` verifier         ``check_sample``, ``seed``, ``temperature``
judge          call    the ``judge`` verifier             --
compact        both    memory (call, then record)         :class:`CompactData` on the record
action         call    ``react``                          --
code           call    ``recursive`` code mode            --
sub_query      call    ``recursive`` code mode            --
final_answer   call    ``recursive`` code mode: the last  --
                       call when the turns run out
map            call    ``recursive`` plans                :class:`MapData` (progress bar)
reduce         both    ``recursive`` plans                ``level``, ``notes`` / ``answers``, ``count``
propose        call    ``tree`` (task)                    ``node``: the thought it expands (viewer)
thought        call    ``tree`` (task, sampling)          ``node`` (viewer)
value          call    ``tree`` (task)                    ``node`` (viewer)
vote           both    ``tree`` (call: ``nodes``),        :class:`VoteData` on the record (stop
                       ``consistency`` (record)           training rows)
check          record  ``refine``, ``consistency``        :class:`CheckData`
verdict        record  ``verify``                         :class:`VerdictData`
route          record  ``route``                          :class:`RouteData`
node           record  ``tree``                           :class:`NodeData` (viewer)
backtrack      record  ``tree`` (dfs)                     ``node``, ``from``
split          record  ``recursive`` plans                :class:`SplitData` (progress bar)
filter         record  ``recursive`` needle plan          :class:`FilterData` (progress bar)
ground         record  ``recursive`` needle plan          ``kept``, ``discarded``
count          record  ``recursive`` count plan           :class:`CountData`
repl           record  ``recursive`` code mode            ``code``, ``ok``
fallback       record  ``recursive`` auto mode            :class:`CodeFallbackData`
session        record  ``recursive`` code mode sessions   ``session``, ``turn``, ``restored_turns``, ``cells``
format_error   record  ``react``                          ``count``, ``output``
ungrounded     record  ``react``                          ``tool``, ``input`` (refused: not grounded)
loop           record  ``react``, ``recursive`` code      (code mode: ``earlier``, ``repeats``, ``limit``)
fallback       record  ``react`` (native -> text)         :class:`FallbackData`
too_long       record  ``react``, ``recursive`` code      ``tokens``, ``window``
tool           tool    any :class:`CallTool` by default   (the ``tool_call`` event; exports)
verify_code    tool    the ``code`` verifier              (the ``tool_call`` event)
=============  ======  =================================  ============================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NotRequired, TypedDict

# -- model calls ---------------------------------------------------------------

GENERATE = "generate"
ANSWER = "answer"
DRAFT = "draft"
CRITIQUE = "critique"
REVISION = "revision"
SAMPLE = "sample"
EXTRACT = "extract"
CHECK_SAMPLE = "check_sample"
JUDGE = "judge"
ACTION = "action"
CODE = "code"
SUB_QUERY = "sub_query"
FINAL_ANSWER = "final_answer"
MAP = "map"
PROPOSE = "propose"
THOUGHT = "thought"
VALUE = "value"

# -- model calls and records -----------------------------------------------------

COMPACT = "compact"
REDUCE = "reduce"
VOTE = "vote"

# -- records -------------------------------------------------------------------

CHECK = "check"
VERDICT = "verdict"
ROUTE = "route"
NODE = "node"
BACKTRACK = "backtrack"
SPLIT = "split"
FILTER = "filter"
GROUND = "ground"
COUNT = "count"
REPL = "repl"
SESSION = "session"
FORMAT_ERROR = "format_error"
UNGROUNDED = "ungrounded"
LOOP = "loop"
FALLBACK = "fallback"
TOO_LONG = "too_long"

# -- tool calls ------------------------------------------------------------------

TOOL = "tool"
VERIFY_CODE = "verify_code"

#: every kind above
KINDS = frozenset(
    {
        GENERATE, ANSWER, DRAFT, CRITIQUE, REVISION, SAMPLE, EXTRACT, CHECK_SAMPLE, JUDGE, ACTION, CODE,
        SUB_QUERY, FINAL_ANSWER, MAP, PROPOSE, THOUGHT, VALUE, COMPACT, REDUCE, VOTE, CHECK, VERDICT, ROUTE, NODE,
        BACKTRACK, SPLIT, FILTER, GROUND, COUNT, REPL, SESSION, FORMAT_ERROR, UNGROUNDED, LOOP, FALLBACK, TOO_LONG,
        TOOL, VERIFY_CODE,
    }
)  # fmt: skip


class FallbackData(TypedDict):
    """A ``fallback`` record of ``react``: the protocol it left and took, and why."""

    protocol_from: str
    protocol_to: str
    replies: int
    reason: str


class SampleData(TypedDict):
    """A ``sample`` call of ``consistency`` (:meth:`~ponder.requests.Generate.samples`)."""

    sample: int
    seed: int
    temperature: float


class VoteEntry(TypedDict):
    """One sample's vote in a ``vote`` record: its extracted answer (None: it abstained) and weight."""

    sample: int
    seed: int
    answer: str | None
    weight: float
    #: the greedy sample 0 of an anchored vote
    greedy: NotRequired[bool]


class TallyData(TypedDict):
    """The vote so far (:meth:`~ponder.stop.Tally.to_data`)."""

    #: votes per answer, best first
    counts: dict[str, int]
    leader: str | None
    confidence: float
    samples: int
    abstained: int
    #: weight per answer, only when it differs from the counts (``vote="weighted"``)
    weights: NotRequired[dict[str, float]]


class VoteStop(TypedDict, total=False):
    """Why a ``vote`` record's wave settled the vote (only on the wave that did)."""

    #: fewer samples than planned were drawn
    stopped_early: bool
    reason: str


class VoteData(TallyData, VoteStop):
    """A ``vote`` record of ``consistency``: this wave's votes, the tally, and whether the vote ended."""

    votes: list[VoteEntry]
    #: the planned number of samples
    of: int
    vote: str
    final: bool


class CheckData(TypedDict, total=False):
    """A ``check`` record: why ``refine`` or ``consistency`` stopped or went on."""

    verdict: Literal["no_issues", "empty", "learned_stop"]
    similarity: float


class VerdictData(TypedDict):
    """A ``verdict`` record of ``verify`` (the verdict's ``ok``, ``feedback``, ``score``)."""

    round: int
    verifier: str
    ok: bool
    feedback: str
    score: float


class RouteData(TypedDict):
    """A ``route`` record: which path ``route`` took, and the check's verdict on the fast answer."""

    path: Literal["fast", "slow"]
    verifier: str
    ok: bool
    feedback: str
    score: float
    fast: str
    slow: str


class NodeData(TypedDict):
    """A ``node`` record of ``tree``: one status change of a thought."""

    node: int
    parent: int | None
    depth: int
    value: float | None
    status: str
    #: the task's short description of the thought's state
    state: str
    reason: NotRequired[str]


class SplitData(TypedDict, total=False):
    """A ``split`` record of ``recursive``: the needle plan's chunks, or the count plan's records."""

    chunks: int
    chunk_bytes: int
    overlap: int
    plan: Literal["count"]
    records: int
    unit: Sequence[str]
    record_bytes: int


class FilterData(TypedDict):
    """A ``filter`` record of the needle plan: the chunks BM25 kept (the map step reads ``kept`` of them)."""

    terms: list[str]
    kept: int
    of: int
    chunks: list[int]
    scores: list[float]
    fallback: bool


class MapData(TypedDict, total=False):
    """A ``map`` call: the chunk (needle plan) or record (count plan) it reads, and where that is."""

    chunk: int
    record: int
    where: str


class CountData(TypedDict):
    """A ``count`` record of the count plan: records read and matched so far."""

    read: int
    of: int
    matched: int
    batch: int
    hits: list[int]
    unclear: int


class CompactData(TypedDict):
    """A ``compact`` record of memory: how much of the conversation was folded into notes."""

    messages: int
    chars_before: int
    chars_after: int
    mode: str


class CodeFallbackData(TypedDict):
    """A ``fallback`` record: ``recursive`` in auto mode gave up on the model's code and ran plan mode."""

    #: always ``code`` -> ``plan``
    to: Literal["plan"]
    reason: str
    #: code blocks that failed to run and replies without code
    failures: int
    #: root-model turns the code mode took
    turns: int
