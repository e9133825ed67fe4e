"""Text that enters ponder is made valid, and text that leaves for a terminal is made harmless.

Two policies, one function each, used at every boundary (see docs/security.md, "Hostile input"):

**Entering** (:func:`clean`, :func:`decode`, :func:`clean_tree`). Everything ponder handles
internally — prompts, the tokenizer, the store, ``--json``, traces, HTTP responses — is valid
Unicode that every encoder accepts. Text arriving from outside (a question, a model reply, a tool or
sandbox output, a code-mode answer, a file, a stored row) may not be: a lone surrogate
(``chr(0xd800)``, ``"\\ud800"`` in JSON, an undecodable byte smuggled as ``\\udc80`` by Python's
``surrogateescape``), raw bytes that are not UTF-8, or NUL (which PostgreSQL text refuses). Each such
code unit is replaced **where it enters** by a visible escape: a lone surrogate by ``\\ud800``, an
undecodable byte (or its ``surrogateescape`` stand-in) by ``\\x80``, NUL by ``\\x00``. A valid
surrogate pair written as two code units becomes the one character it encodes. The escape is
deterministic and keeps the information (which code point, which byte), so the stored record is
exactly what the run used — nothing is rewritten again when it is written or read back — and a
reader of the trace can still tell what the source sent. Valid text is returned unchanged (the
same object) at the cost of one C-speed scan.

**Leaving for a terminal** (:func:`for_terminal`, :func:`terminal_text`). Text that did not come from
ponder (model text, tool output, stored questions and answers, error details) is never sent to a
terminal raw and never parsed as rich markup. C0 controls other than newline and tab (ESC included:
CSI, OSC titles, OSC 8 links, clear screen), DEL, C1 controls (U+0080–U+009F, e.g. the 8-bit CSI
U+009B) and the bidirectional overrides (U+202A–U+202E, U+2066–U+2069, "Trojan Source") become visible
escapes (``\\x1b``, ``\\x9b``, ``\\u202e``); a lone ``\\r`` is escaped too (it would overwrite the
line), ``\\r\\n`` is a newline. :func:`terminal_text` wraps the result in a :class:`rich.text.Text`,
which rich prints as-is (no markup, no emoji codes); ponder's own styling goes around it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.text import Text

_SURROGATES = re.compile(r"[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]|\x00")
_CONTROLS = re.compile(r"\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_unit(match: re.Match[str]) -> str:
    unit = match.group()
    if len(unit) == 2:  # a surrogate pair held as two code units: the character it stands for
        high, low = ord(unit[0]), ord(unit[1])
        return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    code = ord(unit)
    if code == 0 or 0xDC80 <= code <= 0xDCFF:  # NUL, or an undecodable byte under surrogateescape
        return f"\\x{code & 0xFF:02x}"
    return f"\\u{code:04x}"


def is_clean(text: str) -> bool:
    """Whether ``text`` needs no :func:`clean` (valid UTF-8-encodable Unicode without NUL)."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def clean(text: str) -> str:
    """``text`` as valid Unicode: each lone surrogate, surrogateescape byte and NUL becomes a visible escape
    (see the module docs). Valid text comes back unchanged.

    >>> clean("a" + chr(0xD800) + "b"), clean("caf\\udcc3"), clean("ok")
    ('a\\\\ud800b', 'caf\\\\xc3', 'ok')
    """
    if is_clean(text):
        return text
    return _SURROGATES.sub(_escape_unit, text)


def decode(data: bytes | bytearray | memoryview) -> str:
    """Bytes from outside as text: UTF-8, each undecodable byte a visible ``\\xNN`` escape (the same policy
    as :func:`clean`).

    >>> decode(b"caf\\xc3\\xa9 \\xff")
    'café \\\\xff'
    """
    return clean(bytes(data).decode("utf-8", "backslashreplace"))


def decode_slice(data: bytes | bytearray | memoryview) -> str:
    """A byte range cut out of UTF-8 text, as text: a character cut in half at either edge is dropped (it is
    the neighbouring slice's), every other undecodable byte is a visible ``\\xNN`` escape (:func:`decode`).

    >>> decode_slice("é and ü".encode()[1:-1]), decode_slice(b"a\\xffb")
    (' and ', 'a\\\\xffb')
    """
    raw = bytes(data)
    start = 0
    while start < min(3, len(raw)) and 0x80 <= raw[start] <= 0xBF:  # continuation bytes of a cut character
        start += 1
    end = len(raw)
    for back in range(1, min(4, end - start) + 1):  # a lead byte whose character runs past the slice
        byte = raw[end - back]
        if byte < 0x80:
            break
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            if need > back:
                end -= back
            break
    return decode(raw[start:end])


#: how deep :func:`clean_tree` goes; deeper data is returned as it is (every consumer refuses data nested
#: that deep anyway, see :mod:`ponder.guards.payload`), so a hostile structure cannot exhaust the stack here
MAX_CLEAN_DEPTH = 64


def clean_tree(value: Any, _depth: int = 0) -> Any:
    """``value`` with :func:`clean` applied to every string in it (dict keys too), for JSON-like data
    (dicts, lists, tuples); other values are returned as they are. Unchanged data is returned as is."""
    if isinstance(value, str):
        return clean(value)
    if _depth >= MAX_CLEAN_DEPTH:
        return value
    if isinstance(value, Mapping):
        items = [(clean_tree(k, _depth + 1), clean_tree(v, _depth + 1)) for k, v in value.items()]
        if all(k is k0 and v is v0 for (k, v), (k0, v0) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, list | tuple):
        out = [clean_tree(v, _depth + 1) for v in value]
        if all(a is b for a, b in zip(out, value, strict=True)):
            return value
        return tuple(out) if isinstance(value, tuple) else out
    return value


def _escape_control(match: re.Match[str]) -> str:
    unit = match.group()
    if unit == "\r\n":
        return "\n"
    code = ord(unit)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def for_terminal(text: object, *, one_line: bool = False) -> str:
    """``text`` (any object; None is empty) as a string safe to write to a terminal: valid Unicode (see
    :func:`clean`), every control character that could move the cursor, set the title, make a link or
    clear the screen a visible escape. ``one_line``: newlines and tabs become spaces too (a table cell).

    >>> for_terminal("hi\\x1b]0;pwned\\x07 \\x1b[2J")
    'hi\\\\x1b]0;pwned\\\\x07 \\\\x1b[2J'
    """
    shown = clean("" if text is None else text if isinstance(text, str) else str(text))
    shown = _CONTROLS.sub(_escape_control, shown)
    if one_line:
        shown = " ".join(shown.split())
    return shown


def terminal_text(text: object, style: str = "", *, one_line: bool = False) -> Text:
    """:func:`for_terminal` as a rich :class:`~rich.text.Text`: printed literally, never parsed as markup."""
    from rich.text import Text

    return Text(for_terminal(text, one_line=one_line), style=style)
