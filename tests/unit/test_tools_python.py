"""The python tool: how a sandbox run becomes an observation, and (when present) the real sandbox."""

from __future__ import annotations

from dataclasses import dataclass

from ponder.tools import python_tool


@dataclass(frozen=True)
class Run:
    """The fields of ponder.sandbox.ExecResult that the tool reads."""

    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    timed_out: bool = False
    truncated: bool = False


class Replay:
    """Stands in for the sandbox: returns prepared results and records the code it was given."""

    def __init__(self, *runs: Run) -> None:
        self.runs = list(runs)
        self.code: list[str] = []
        self.closed = False

    def run(self, code: str) -> Run:
        self.code.append(code)
        return self.runs.pop(0)

    def close(self) -> None:
        self.closed = True


def test_observation_shows_stdout_stderr_error_and_timeouts() -> None:
    sandbox = Replay(
        Run(stdout="4\n"),
        Run(
            stdout="partial\n",
            stderr="Traceback ...\nZeroDivisionError: division by zero\n",
            error="ZeroDivisionError: division by zero",
        ),
        Run(timed_out=True, error="TimeoutError: stopped after 5 s; variables kept"),
        Run(timed_out=True, error="worker restarted; variables lost"),
        Run(timed_out=True),
        Run(),
        Run(stderr="a warning\n"),
    )
    py = python_tool(sandbox)
    assert py.invoke_text("print(2 + 2)").output == "4"
    assert sandbox.code == ["print(2 + 2)"]
    failed = py.invoke({"code": "1/0"})
    assert (failed.ok, failed.error) == (False, "ZeroDivisionError: division by zero")
    assert failed.output == "partial\n[stderr]\nTraceback ...\nZeroDivisionError: division by zero"
    assert failed.observation.endswith("\nError: ZeroDivisionError: division by zero")
    assert py.invoke({"code": "loop()"}).error == "TimeoutError: stopped after 5 s; variables kept"
    assert py.invoke({"code": "loop()"}).error == "timed out: worker restarted; variables lost"
    assert py.invoke({"code": "loop()"}).error == "timed out: the code ran too long and was stopped"
    assert py.invoke({"code": "x = 1"}).output == "(no output; use print() to show a value)"
    warned = py.invoke({"code": "warn()"})
    assert warned.ok and warned.output == "[stderr]\na warning"


def test_each_part_is_truncated_with_a_marker() -> None:
    sandbox = Replay(Run(stdout="x" * 100, stderr="e" * 30, error="E" * 25, truncated=False))
    result = python_tool(sandbox, max_output=20).invoke({"code": "noisy()"})
    assert result.truncated
    assert (
        result.output
        == "x" * 20 + "\n[... truncated 80 characters]\n[stderr]\n" + "e" * 20 + "\n[... truncated 10 characters]"
    )
    assert result.error == "E" * 20 + "\n[... truncated 5 characters]"


def test_code_is_unfenced_and_dedented_and_checked() -> None:
    sandbox = Replay(Run(stdout="ok"))
    py = python_tool(sandbox, max_input=100, owns_sandbox=True)
    assert py.invoke_text("```python\n    for i in range(2):\n        print(i)\n```").ok
    assert sandbox.code == ["for i in range(2):\n    print(i)"]
    assert py.invoke({"code": "x" * 200}).error == "input too large: 212 characters (limit 100)"
    assert py.invoke({"source": "1"}).error == "unknown argument 'source'; expected: code"
    assert len(sandbox.code) == 1  # refused calls never reach the sandbox
    py.close()
    assert sandbox.closed
    assert not python_tool(Replay()).close()  # a tool that does not own its sandbox leaves it open
