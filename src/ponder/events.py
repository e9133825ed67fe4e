"""Typed, versioned run events, emitted by the engine as they happen.

Every event carries the run it belongs to, a sequence number and a wall-clock
timestamp. Events are small dataclasses; they are only turned into dicts when a
sink serialises them (so recording costs little on the hot path).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import IO, Any, ClassVar, Protocol

import orjson

from .types import GenerationOptions, Message, Usage

#: bump when the shape of an event changes incompatibly. Version 2 declares the step kinds and the data
#: keys readers rely on (:mod:`ponder.steps`); version 1 traces have the same shape and still read.
TRACE_FORMAT = "ponder-trace"
TRACE_VERSION = 2
#: the versions :func:`read_trace` reads
TRACE_VERSIONS = (1, 2)


_SCALARS = (str, int, float, bool, type(None))
_OPTION_FIELDS = tuple(f.name for f in fields(GenerationOptions))


def _plain(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Message | Usage):
        return value.to_dict()
    if isinstance(value, GenerationOptions):
        return {name: _plain(getattr(value, name)) for name in _OPTION_FIELDS}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _json_default(value: Any) -> Any:
    """What :func:`json.dumps` calls for the values it does not know: the same as :func:`_plain` gives."""
    if isinstance(value, Message | Usage):
        return value.to_dict()
    if isinstance(value, GenerationOptions):
        return {name: getattr(value, name) for name in _OPTION_FIELDS}
    raise TypeError(f"cannot record a {type(value).__name__} in an event")


#: orjson: dict keys that are not strings become strings (as the standard encoder does); messages, usage and
#: options (dataclasses) go through :func:`_json_default`, so they read as their ``to_dict``
_ORJSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS

_FIELDS: dict[type, tuple[str, ...]] = {}


@dataclass(slots=True)
class Event:
    type: ClassVar[str] = "event"
    run_id: str
    seq: int
    time: float

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"v": TRACE_VERSION, "type": self.type}
        for name in self._names():
            out[name] = _plain(getattr(self, name))
        return out

    def to_json(self) -> str:
        """The event as one line of JSON, reading as :meth:`to_dict` (what the store and the trace write).

        orjson walks the fields without a plain copy being built first (messages, usage and options become
        dicts as it meets them): about a fifth of the standard encoder's time on the store's hot path. What
        it refuses (text with lone surrogates, integers past 64 bits, a value of an unknown type) goes to
        the standard encoder, which writes it as before or raises the same :class:`TypeError`. A float that
        is not finite is written as ``null`` (valid JSON, unlike the standard encoder's ``NaN``)."""
        out: dict[str, Any] = {"v": TRACE_VERSION, "type": self.type}
        for name in self._names():
            out[name] = getattr(self, name)
        try:
            return orjson.dumps(out, default=_json_default, option=_ORJSON).decode()
        except orjson.JSONEncodeError:
            return json.dumps(out, ensure_ascii=False, default=_json_default)

    def _names(self) -> tuple[str, ...]:
        names = _FIELDS.get(type(self))
        if names is None:
            names = _FIELDS[type(self)] = tuple(f.name for f in fields(self))
        return names


@dataclass(slots=True)
class RunStarted(Event):
    type: ClassVar[str] = "run_started"
    strategy: str = ""
    model: str = ""
    question: str = ""
    depth: int = 0
    parent_run_id: str | None = None
    budget: dict[str, Any] = field(default_factory=dict)
    #: the model name of each role the run uses (root, and sub/fast/judge when they differ)
    models: dict[str, str] = field(default_factory=dict)
    #: the root run's :class:`~ponder.spec.RunSpec` as plain data, when the run has one (None otherwise)
    spec: dict[str, Any] | None = None


@dataclass(slots=True)
class StepStarted(Event):
    type: ClassVar[str] = "step_started"
    step: int = 0
    kind: str = ""
    depth: int = 0
    #: how many calls started together with this one (a Batch's size; 1 for a single call or a tool call)
    batch: int = 1


@dataclass(slots=True)
class ModelCalled(Event):
    """One model call: the exact messages sent, the options, the output and its cost."""

    type: ClassVar[str] = "model_call"
    step: int = 0
    kind: str = ""
    messages: tuple[Message, ...] = ()
    options: GenerationOptions | None = None
    text: str = ""
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    #: the request's ``data`` (e.g. which sample or tree node the call was for)
    data: dict[str, Any] = field(default_factory=dict)
    #: the name of the model that answered, and the role it answered for
    model: str = ""
    role: str = "root"
    #: the size of the batch the call was in, and its position there (calls are recorded as they complete)
    batch: int = 1
    position: int = 0


@dataclass(slots=True)
class StepRecorded(Event):
    """A step that is not a model call (a decision, a check, a vote)."""

    type: ClassVar[str] = "step"
    step: int = 0
    kind: str = ""
    text: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ToolCalled(Event):
    """One tool call: the tool, the arguments as the model gave them, and the observation."""

    type: ClassVar[str] = "tool_call"
    step: int = 0
    tool: str = ""
    arguments: Any = None
    ok: bool = True
    output: str = ""
    error: str | None = None
    seconds: float = 0.0


@dataclass(slots=True)
class RunFinished(Event):
    type: ClassVar[str] = "run_finished"
    answer: str | None = None
    stop_reason: str = ""
    detail: str = ""
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    error: str | None = None
    #: usage per model name (a run with one model has one entry)
    by_model: dict[str, Usage] = field(default_factory=dict)


class EventSink(Protocol):
    """Anything that receives events as they happen."""

    def __call__(self, event: Event) -> None: ...


class JsonlTrace:
    """Writes each event as one JSON line, flushed immediately (nothing lost on a crash).

    The first line is a header naming the format and its version.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._failed = False
        self._write(json.dumps({"format": TRACE_FORMAT, "version": TRACE_VERSION}))

    def __call__(self, event: Event) -> None:
        if not self._failed:  # after a failed write the trace is incomplete: it stops, the run's end is still told
            self._write(event.to_json())

    def _write(self, line: str) -> None:
        """One line, flushed; a write that fails (a full disk) is one clear error that ends the run."""
        try:
            self._stream.write(line + "\n")
            self._stream.flush()
        except OSError as exc:
            from .errors import PonderError

            self._failed = True
            name = getattr(self._stream, "name", "the trace")
            raise PonderError(f"cannot write the trace file {name}: {exc.strerror or exc}") from None


def read_trace(stream: IO[str]) -> list[dict[str, Any]]:
    """Read a JSONL trace back as a list of event dicts (header checked and dropped; versions 1 and 2)."""
    from .errors import ConfigError

    lines = [line for line in stream if line.strip()]
    if not lines:
        raise ConfigError("trace is empty")
    header = json.loads(lines[0])
    if header.get("format") != TRACE_FORMAT:
        raise ConfigError("not a ponder trace (missing header)")
    version = header.get("version")
    if version not in TRACE_VERSIONS:
        newer = isinstance(version, int) and version > TRACE_VERSION
        hint = "; it was written by a newer ponder: upgrade to read it" if newer else ""
        raise ConfigError(f"unsupported trace version {version!r} (this ponder reads versions 1 and 2){hint}")
    return [json.loads(line) for line in lines[1:]]
