"""The ``ponder`` command line: a thin shell over the public API.

:func:`main` is the entry point. It turns every error a person must fix into
one line on stderr and a non-zero exit; it never shows a traceback unless
``PONDER_DEBUG=1`` is set.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import warnings
from typing import TextIO

import click

from ..errors import PonderError
from ..guards.text import for_terminal
from .ask import ask
from .demo import demo
from .eval import eval_command, generate
from .mcp import mcp
from .models import models
from .resume import resume
from .runs import runs
from .sandbox import sandbox
from .serve import serve
from .sessions import sessions


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ponder-rlm", prog_name="ponder")
def cli() -> None:
    """ponder: run language models in visible, budgeted reasoning loops."""


cli.add_command(ask)
cli.add_command(demo)
cli.add_command(eval_command)
cli.add_command(generate)
cli.add_command(mcp)
cli.add_command(models)
cli.add_command(runs)
cli.add_command(resume)
cli.add_command(sandbox)
cli.add_command(serve)
cli.add_command(sessions)


#: a write to stdout, a trace or an output file failed for a reason a person must fix
_WRITE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS)


def _fail(message: str, code: int) -> int:
    line = for_terminal(message, one_line=True)  # a message may quote text from outside (a server, a file)
    with contextlib.suppress(OSError):
        print(f"ponder: error: {line}", file=sys.stderr)
    return code


def _warn(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """ponder's own warnings (a context file skipped, ...) as one line, like its errors."""
    print(f"ponder: warning: {for_terminal(message, one_line=True)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 runtime error, 2 bad usage, 130 interrupted)."""
    previous = warnings.showwarning
    warnings.showwarning = _warn
    try:
        return _main(argv)
    finally:
        warnings.showwarning = previous


def _main(argv: list[str] | None) -> int:
    try:
        result = cli.main(args=argv, prog_name="ponder", standalone_mode=False)
        sys.stdout.flush()  # a full disk behind stdout is reported here, not at exit
        return result if isinstance(result, int) else 0
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as other tools do
        _drop_stdout()
        return 141
    except OSError as exc:
        if exc.errno not in _WRITE_ERRORS:
            return _internal(exc)
        _drop_stdout()
        where = f" {exc.filename}" if exc.filename else " the output"
        return _fail(f"cannot write{where}: {exc.strerror or exc}", 1)
    except click.exceptions.Abort:
        return _fail("interrupted", 130)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except click.ClickException as exc:
        return _fail(exc.format_message(), exc.exit_code or 2)
    except PonderError as exc:
        return _fail(str(exc), 1)
    except Exception as exc:  # a bug in ponder: still one line, traceback on request
        return _internal(exc)


def _internal(exc: Exception) -> int:
    if os.environ.get("PONDER_DEBUG"):
        raise exc
    return _fail(f"internal error: {type(exc).__name__}: {exc} (set PONDER_DEBUG=1 for a traceback)", 1)


def _drop_stdout() -> None:
    """Point stdout at /dev/null, so the output still buffered is not written (and fails) again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's capture): nothing is flushed at exit


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
