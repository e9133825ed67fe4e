"""The sandbox as a REPL: state, errors, output, limits, host calls, fallback, CLI.

These tests start a process, a server or a real model; the others are in tests/unit/test_sandbox.py."""

from __future__ import annotations

import json
import os
import warnings

import pytest

from layout import BENCHMARKS
from ponder.cli import main
from ponder.errors import ConfigError, SandboxUnavailableError
from ponder.sandbox import ExecResult, IsolationWarning, Sandbox, SandboxConfig
from sandbox_helpers import FAST


def _isolated_or_skip(config: SandboxConfig) -> Sandbox:
    sandbox = Sandbox(SandboxConfig(**{**_fields(config), "require_isolation": True}))
    try:
        return sandbox.start()
    except SandboxUnavailableError as exc:
        pytest.skip(f"bubblewrap cannot run here: {exc}")


def _fields(config: SandboxConfig) -> dict[str, object]:
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


@pytest.fixture(scope="module")
def sb():
    sandbox = _isolated_or_skip(FAST)
    yield sandbox
    sandbox.close()


# -- the REPL ------------------------------------------------------------------------------------


@pytest.mark.integration
def test_state_survives_between_calls(sb):
    first = sb.run("x = 21\nprint(x*2)")
    assert isinstance(first, ExecResult)
    assert first.stdout == "42\n" and first.ok and first.isolated
    assert sb.run("print(x)").stdout == "21\n"


@pytest.mark.integration
def test_last_expression_is_shown_like_a_repl(sb):
    assert sb.run("y = [1, 2]\ny + [3]").stdout == "[1, 2, 3]\n"
    assert sb.run("None").stdout == ""


@pytest.mark.integration
def test_exception_is_one_line_error_with_traceback_in_stderr(sb):
    result = sb.run("def f():\n    return 1/0\nf()")
    assert result.error == "ZeroDivisionError: division by zero"
    assert not result.timed_out
    assert 'File "<cell' in result.stderr and "return 1/0" in result.stderr
    assert "<string>" not in result.stderr  # the worker's own frames are hidden
    assert sb.run("print('still here')").stdout == "still here\n"


@pytest.mark.integration
def test_syntax_error_is_reported(sb):
    result = sb.run("def (:")
    assert result.error is not None and result.error.startswith("SyntaxError")


@pytest.mark.integration
def test_sys_exit_does_not_kill_the_worker(sb):
    sb.run("kept = 'yes'")
    assert sb.run("import sys; sys.exit(3)").error == "SystemExit: 3"
    assert sb.run("raise SystemExit").error is None
    assert sb.run("print(kept)").stdout == "yes\n"


@pytest.mark.integration
def test_stderr_and_child_process_output_are_captured(sb):
    result = sb.run(
        "import sys, subprocess\nprint('py')\nprint('err', file=sys.stderr)\n_ = subprocess.run(['echo', 'child'])"
    )
    assert result.stdout == "py\nchild\n"
    assert result.stderr == "err\n"
    assert sb.run("import os; n = os.write(1, b'raw\\n')").stdout == "raw\n"


@pytest.mark.integration
def test_set_variable_puts_json_values_in_the_namespace(sb):
    sb.set_variable("context", "big text " * 1000)
    sb.set_variable("items", {"a": [1, 2.5, None, True]})
    assert sb.run("len(context), items['a']").stdout == "(9000, [1, 2.5, None, True])\n"
    with pytest.raises(ConfigError):
        sb.set_variable("not an identifier", 1)
    with pytest.raises(ConfigError):
        sb.set_variable("bad", object())


@pytest.mark.integration
def test_output_is_truncated_with_a_marker():
    with Sandbox(SandboxConfig(max_output=100)) as sandbox:
        result = sandbox.run("print('x' * 5000)\nimport subprocess\nsubprocess.run(['seq', '1', '100000'])")
        assert result.truncated
        assert result.stdout.startswith("x" * 100)
        assert "output truncated" in result.stdout and len(result.stdout) < 300
        assert not sandbox.run("print('short')").truncated


@pytest.mark.integration
def test_wall_clock_timeout_interrupts_and_keeps_variables(sb):
    sb.run("kept = 42")
    result = sb.run("import time\ntime.sleep(30)", timeout=0.5)
    assert result.timed_out and "variables are kept" in (result.error or "")
    assert sb.run("print(kept)").stdout == "42\n"


@pytest.mark.integration
def test_timeout_that_cannot_be_interrupted_kills_and_restarts():
    with Sandbox(SandboxConfig(timeout=0.5)) as sandbox:
        sandbox.run("kept = 1")
        code = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True: pass"
        result = sandbox.run(code)
        assert result.timed_out and "variables are lost" in (result.error or "")
        assert sandbox.run("print(1 + 1)").stdout == "2\n"
        assert sandbox.run("kept").error == "NameError: name 'kept' is not defined"


@pytest.mark.integration
def test_worker_death_is_reported_and_the_next_call_gets_a_fresh_worker(sb):
    sb.run("kept = 1")
    result = sb.run("import os; os._exit(7)")
    assert result.error is not None and "died" in result.error and "variables are lost" in result.error
    assert sb.run("print('back')").stdout == "back\n"


@pytest.mark.integration
def test_replaced_signal_handlers_do_not_disable_the_soft_timeout(sb):
    sb.run("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nkept = 'yes'")
    result = sb.run("while True:\n    pass", timeout=0.5)
    assert result.timed_out and "variables are kept" in (result.error or "")
    assert sb.run("print(kept)").stdout == "yes\n"


@pytest.mark.integration
def test_worker_that_exits_between_calls_is_noticed(sb):
    import signal

    # no code can leave a thread running past its call any more (see test_sandbox_escapes), so the
    # worker is ended from outside between two calls
    assert sb.run("x = 1").ok
    os.killpg(sb._worker.proc.pid, signal.SIGKILL)
    sb._worker.proc.wait()
    result = sb.run("print('fresh')")
    assert result.stdout == "fresh\n"
    assert result.stderr.startswith("note: the sandbox worker had exited") and "variables are lost" in result.stderr


@pytest.mark.integration
def test_forged_protocol_frames_are_contained(sb):
    code = (
        "import os, struct\n"
        "for fd in range(3, 64):\n"
        "    try: os.write(fd, struct.pack('>I', 5) + b'junk!')\n"
        "    except OSError: pass\n"
    )
    result = sb.run(code)
    assert result.error is not None and "SandboxCrash" in result.error
    assert sb.run("print('ok')").stdout == "ok\n"


@pytest.mark.integration
def test_sandbox_started_in_a_short_lived_thread_keeps_its_worker():
    import threading
    import time

    boxes = []
    thread = threading.Thread(target=lambda: boxes.append(Sandbox(FAST).start()))
    thread.start()
    thread.join()
    with boxes[0] as sandbox:
        sandbox.run("kept = 'alive'")
        time.sleep(0.2)
        result = sandbox.run("print(kept)")
        assert result.stdout == "alive\n" and result.stderr == ""


# -- host calls ----------------------------------------------------------------------------------


@pytest.mark.integration
def test_host_call_reaches_the_handler_and_returns_its_result():
    calls = []

    def handler(name, payload):
        calls.append((name, payload))
        if name == "boom":
            raise ValueError("bad payload")
        return {"upper": str(payload).upper()}

    with Sandbox(FAST, handler=handler) as sandbox:
        assert sandbox.run("host_call('shout', 'hi')['upper']").stdout == "'HI'\n"
        failed = sandbox.run("host_call('boom', [1])")
        assert failed.error == "HostCallError: ValueError: bad payload"
        assert (
            sandbox.run("try:\n    host_call('boom')\nexcept HostCallError as e:\n    print('caught')").stdout
            == "caught\n"
        )
    assert calls == [("shout", "hi"), ("boom", [1]), ("boom", None)]


@pytest.mark.integration
def test_interrupt_in_the_handler_propagates_and_drops_the_worker():
    def handler(name, payload):
        raise KeyboardInterrupt

    with Sandbox(FAST, handler=handler) as sandbox:
        sandbox.run("kept = 1")
        with pytest.raises(KeyboardInterrupt):
            sandbox.run("host_call('x')")
        assert sandbox.run("print('fresh')").stdout == "fresh\n"
        assert sandbox.run("kept").error == "NameError: name 'kept' is not defined"


@pytest.mark.integration
def test_host_call_without_handler_is_an_error_inside(sb):
    assert "no host handler" in (sb.run("host_call('x')").error or "")


@pytest.mark.integration
def test_handler_time_is_not_charged_to_the_call():
    import time

    def slow(name, payload):
        time.sleep(0.8)
        return "done"

    with Sandbox(SandboxConfig(timeout=0.5), handler=slow) as sandbox:
        result = sandbox.run("host_call('slow')")
        assert result.ok and result.stdout == "'done'\n"


@pytest.mark.integration
def test_fallback_without_bwrap_warns_and_reports_not_isolated():
    with pytest.warns(IsolationWarning, match="WITHOUT filesystem or network isolation"):
        sandbox = Sandbox(SandboxConfig(bwrap_path="/nonexistent/bwrap", allow_unisolated_root=True)).start()
    with sandbox:
        assert not sandbox.isolated
        result = sandbox.run("x = 2\nprint(x ** 10)")
        assert result.stdout == "1024\n" and result.isolated is False
        assert sandbox.run("import resource; resource.getrlimit(resource.RLIMIT_AS)[0] // 2**20").stdout == "512\n"
        timed = sandbox.run("while True: pass", timeout=0.3)
        assert timed.timed_out and sandbox.run("print(x)").stdout == "2\n"


@pytest.mark.integration
def test_unisolated_fallback_is_refused_as_root_unless_allowed(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)  # as root (these tests may run as another user too)
    monkeypatch.delenv("PONDER_ALLOW_UNISOLATED_ROOT", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # refused before any fallback warning
        with pytest.raises(SandboxUnavailableError, match="ponder runs as root: model-written code would run as root"):
            Sandbox(SandboxConfig(bwrap_path="/nonexistent/bwrap")).start()
    monkeypatch.setenv("PONDER_ALLOW_UNISOLATED_ROOT", "1")
    assert SandboxConfig().allow_unisolated_root
    with pytest.warns(IsolationWarning), Sandbox(SandboxConfig(bwrap_path="/nonexistent/bwrap")) as sandbox:
        assert sandbox.run("print(1)").stdout == "1\n" and not sandbox.isolated


# -- CLI -----------------------------------------------------------------------------------------


@pytest.mark.integration
def test_cli_runs_a_file_and_prints_its_output(tmp_path, capsys):
    script = tmp_path / "hello.py"
    script.write_text("print(sum(range(10)))\n")
    code = main(["sandbox", "run", str(script), "--require-isolation"])
    out, err = capsys.readouterr()
    if code == 1 and "isolation" in err:
        pytest.skip("bubblewrap cannot run here")
    assert code == 0 and out == "45\n"


@pytest.mark.integration
def test_cli_json_reports_a_timeout(tmp_path, capsys):
    script = tmp_path / "loop.py"
    script.write_text("while True:\n    pass\n")
    code = main(["sandbox", "run", str(script), "--timeout", "0.5", "--json"])
    out, _ = capsys.readouterr()
    data = json.loads(out)
    assert code == 1
    assert data["timed_out"] is True
    assert {"stdout", "stderr", "error", "timed_out", "isolated", "seconds"} <= set(data)


@pytest.mark.integration
def test_cli_reads_code_from_stdin(monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("print('from stdin')\n1/0\n"))
    code = main(["sandbox", "run", "-"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == "from stdin\n"
    assert "ZeroDivisionError" in err


@pytest.mark.integration
def test_latency_benchmark_prints_its_table(capsys):
    import importlib.util

    path = BENCHMARKS / "sandbox_latency.py"
    spec = importlib.util.spec_from_file_location("bench_sandbox_latency", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--calls", "3", "--starts", "1"]) == 0
    out = capsys.readouterr().out
    assert "| fallback (no isolation) |" in out
    assert "3 warm calls per snippet, 1 cold starts per mode" in out
