"""The CLI: JSON output, traces, and one-line errors for bad input."""

from __future__ import annotations

import json

import pytest

from ponder.cli import main


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_ask_json_with_scripted_model(capsys):
    code, out, err = run_cli(capsys, "ask", "hello there", "--model", "scripted", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["answer"] == "echo: hello there"
    assert data["strategy"] == "single"
    assert data["model"] == "scripted"
    assert data["stop_reason"] == "answered"
    assert data["steps"][0]["kind"] == "answer"
    assert data["usage"]["model_calls"] == 1


def test_ask_refine_json_has_several_passes(capsys):
    code, out, _ = run_cli(capsys, "ask", "why?", "-m", "scripted", "-s", "refine", "--max-steps", "5", "--json")
    assert code == 0
    data = json.loads(out)
    kinds = [s["kind"] for s in data["steps"]]
    assert kinds[:3] == ["draft", "critique", "revision"]
    assert data["stop_reason"] in {"converged", "max_steps", "loop"}


def test_ask_live_view_shows_passes_and_summary(capsys):
    code, out, _ = run_cli(capsys, "ask", "why?", "-m", "scripted", "-s", "refine", "--max-steps", "3")
    assert code == 0
    assert "draft" in out and "critique" in out
    assert "stop reason" in out
    assert "echo: why?" in out


def test_trace_file_is_written(capsys, tmp_path):
    trace = tmp_path / "run.jsonl"
    code, _, _ = run_cli(capsys, "ask", "q", "-m", "scripted", "--json", "--trace", str(trace))
    assert code == 0
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert lines[0] == {"format": "ponder-trace", "version": 2}
    assert [e["type"] for e in lines[1:]] == ["run_started", "step_started", "model_call", "run_finished"]


def test_models_lists_backends(capsys):
    code, out, _ = run_cli(capsys, "models", "--json")
    assert code == 0
    specs = {b["spec"]: b for b in json.loads(out)}
    assert set(specs) == {"smollm2", "coder", "gguf:PATH", "hf:REPO/FILE", "openai:MODEL", "scripted"}
    assert specs["scripted"]["available"] is True


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["ask", "q", "--model", "nosuch"], "unknown model"),
        (["ask", "q", "-m", "scripted", "--strategy", "nosuch"], "unknown strategy"),
        (["ask", "q", "--model", "gguf:/no/such/file.gguf"], "no GGUF file"),
        (["ask", "   ", "-m", "scripted"], "question is empty"),
        (["ask", "", "-m", "scripted"], "question is empty"),
        (["ask", "q", "-m", "scripted", "--max-steps", "-1"], "--max-steps"),
        (["ask", "q", "-m", "scripted", "--max-steps", "0"], "--max-steps"),
        (["ask", "q", "-m", "scripted", "--max-tokens", "-5"], "--max-tokens"),
        (["ask", "q", "-m", "scripted", "--temperature", "-1"], "--temperature"),
        (["ask", "q", "-m", "scripted", "--max-seconds", "-1"], "--max-seconds"),
        (["ask", "q", "-m", "scripted", "--trace", "/no/such/dir/t.jsonl"], "cannot write the trace"),
        (["ask", "q", "-m", "scripted", "-s", "refine", "--context", "README.md"], "--context works with"),
        (["ask", "q", "-m", "scripted", "--context", "/no/such/file.txt"], "/no/such/file.txt"),
        (["ask"], "Missing argument"),
        (["nosuchcommand"], "No such command"),
    ],
)
def test_bad_input_gives_one_line_and_nonzero_exit(capsys, args, needle):
    code, _out, err = run_cli(capsys, *args)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ponder: error:")
    assert needle in lines[0]
    assert "Traceback" not in err


def test_unreachable_server_is_one_line(capsys):
    # port 9 on loopback: nothing listens there, the connection is refused
    code, _, err = run_cli(capsys, "ask", "q", "-m", "openai:any", "--base-url", "http://127.0.0.1:9/v1", "--json")
    assert code == 1
    assert err.count("\n") == 1
    assert "cannot reach the model server at http://127.0.0.1:9/v1" in err


def test_live_view_shows_tool_calls(capsys):
    from rich.console import Console

    from ponder import Engine, ScriptedModel
    from ponder.cli.live import LiveView
    from ponder.strategies import React
    from ponder.tools import calculator_tool

    view = LiveView(Console(force_terminal=False, width=100))
    model = ScriptedModel(["Action: calculator\nAction Input: 6*7", "Final Answer: 42"])
    result = Engine(model, sinks=[view], on_text=view.on_text).run(React(tools=[calculator_tool()]), "6 times 7?")
    view.summary(result)
    out = capsys.readouterr().out
    assert "calculator(6*7)" in out
    assert "42" in out
    assert "step 2: tool" in out


def test_live_view_shows_a_batch_as_one_header_when_it_starts():
    import io

    from rich.console import Console

    from ponder import Engine, ScriptedModel
    from ponder.cli.live import LiveView
    from ponder.strategies import Consistency

    screen = io.StringIO()
    view = LiveView(Console(file=screen, force_terminal=False, width=100))
    seen_while_running = []

    def reply(messages):
        seen_while_running.append(screen.getvalue())
        return "4"

    model = ScriptedModel(reply, supports_concurrency=False)
    result = Engine(model, sinks=[view], on_text=view.on_text).run(Consistency(samples=6, adaptive=False), "2+2?")
    view.summary(result)
    assert "steps 1-6: sample ×6" in seen_while_running[0]  # shown before the batch's first call returns
    out = screen.getvalue()
    assert out.count("sample ×6") == 1 and "step 2: sample" not in out  # one header, not six rules
    assert "[vote]" in out and "6 of 6 samples agree" in out
