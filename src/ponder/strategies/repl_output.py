"""What the root model sees of one REPL block: output that keeps both ends, and errors with their line.

* :func:`clip` keeps the head and the tail of a long output, with a marker in
  the middle that says how many characters (and lines) were cut; the end of an
  output (a final count, the last records, a traceback) is often what matters.
* :func:`error_lines` turns a traceback into the line of the model's block that
  raised (its number and source) and the exception, instead of a worker
  traceback or just the last line.
* :func:`observation` puts the two together for one :class:`~ponder.sandbox.ExecResult`.
* :data:`SHOW_VARS` defines ``SHOW_VARS()`` in the REPL: the variables the
  model made (name, type, size), without the REPL's own functions.
"""

from __future__ import annotations

import re

from ..sandbox import ExecResult

#: ``File "<cell 3>", line 2`` in a traceback from the sandbox worker
_FRAME = re.compile(r'File "<cell (\d+)>", line (\d+)(?:, in (\S+))?')


def clip(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters: its head and tail, with a marker of what was cut."""
    if limit < 1 or len(text) <= limit:
        return text
    head = text[: limit * 3 // 5]
    tail = text[len(text) - (limit - len(head)) :]
    cut = text[len(head) : len(text) - len(tail)]
    lines = cut.count("\n")
    what = f"{len(cut)} characters" + (f" ({lines} lines)" if lines else "")
    return f"{head}\n[... {what} cut from the middle; print less or slice ...]\n{tail}"


def error_lines(stderr: str, error: str) -> str:
    """The line of the model's code that raised and the exception (``error``: the one-line form).

    The block that ran last has the highest cell number in the traceback; its
    last frame is the line to show. Frames of the REPL's own functions (earlier
    cells) are named only when the error surfaced inside one of them.
    """
    frames = [(int(m.group(1)), int(m.group(2)), m.group(3), m.end()) for m in _FRAME.finditer(stderr)]
    if not frames:
        return error
    current = max(cell for cell, *_ in frames)
    mine = [f for f in frames if f[0] == current]
    _, line, function, end = mine[-1]
    source = _source_after(stderr, end)
    where = f"line {line}" + (f" (in {function})" if function and function != "<module>" else "")
    text = f"Error at {where}: {source}" if source else f"Error at {where}"
    last = frames[-1]
    if last[0] != current and last[2] not in (None, "<module>"):
        text += f"\n  inside {last[2]}()"
    return f"{text}\n{error}"


def observation(result: ExecResult, limit: int) -> str:
    """The text the root model sees for ``result``: its output, then the error with its line (or the sandbox's
    notes, such as a worker replaced because of threads that could not be stopped); clipped."""
    text = result.stdout
    if result.error:
        text = text.rstrip("\n") + ("\n" if text.strip() else "") + error_lines(result.stderr, result.error)
    elif result.restarted or result.stderr.startswith("note: "):  # the sandbox's notes: a worker lost or replaced
        notes = "\n".join(line for line in result.stderr.splitlines() if line.startswith("note: "))
        text = text.rstrip("\n") + ("\n" if text.strip() else "") + notes
    text = text.strip() or "(no output)"
    return clip(text, limit)


def _source_after(stderr: str, end: int) -> str:
    """The source line a traceback prints under the frame that ends at ``end`` (stripped), if any."""
    rest = stderr[end:].split("\n", 2)
    if len(rest) < 2:
        return ""
    line = rest[1].strip()
    if not line or line.startswith(("File ", "Traceback", "^", "~")) or set(line) <= set("^~ "):
        return ""
    return line


#: ``SHOW_VARS()`` for the REPL (run once at setup); names starting with ``_``, functions, classes, modules
#: and the REPL's own objects are hidden
SHOW_VARS = '''
def SHOW_VARS(limit=50):
    """List the REPL's variables (the contexts and what you made): name, type and size, at most ``limit``."""
    import sys as _sys
    import types as _types
    rows = []
    for _name, _value in list(globals().items()):
        if _name.startswith("_") or _name in _REPL_NAMES:
            continue
        if isinstance(_value, (_types.ModuleType, _types.FunctionType, type)):
            continue
        try:
            _size = f"len {len(_value)}"
        except TypeError:
            _size = f"{_sys.getsizeof(_value)} bytes"
        rows.append(f"{_name}: {type(_value).__name__}, {_size}")
    if not rows:
        print("(no variables yet)")
    for _row in rows[:limit]:
        print(_row)
    if len(rows) > limit:
        print(f"... and {len(rows) - limit} more")

_REPL_NAMES = {"host_call", "tools"}
'''
