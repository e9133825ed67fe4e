"""Hostile text (issue 12, classes 1 and 2): invalid Unicode and terminal escapes through every boundary.

Policy (see :mod:`ponder.guards.text`): text entering ponder is made valid Unicode where it enters (a lone
surrogate becomes ``\ud800``, an undecodable byte ``\x80``, NUL ``\x00``); text shown on a terminal
that did not come from ponder has its control characters shown as escapes and is never rich markup.
The property tests push seeded random strings (surrogates, NUL, escape sequences, markup, any code
point) through each boundary; the named examples of the issue have a test each."""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import sqlite3

import pytest
from rich.console import Console

from hostile_text_helpers import hostile
from ponder import CallTool, Completion, Engine, JsonlTrace, Outcome, Record, RunStore, ScriptedModel
from ponder.cli import main
from ponder.cli.live import LiveView
from ponder.events import StepRecorded, StepStarted, ToolCalled
from ponder.guards.text import clean, clean_tree, decode, decode_slice, for_terminal, is_clean, terminal_text
from ponder.requests import Generate
from ponder.sandbox.protocol import HEADER, HostChannel
from ponder.tools import tool
from ponder.types import ToolCall, user

SEEDS = range(25)
#: anything a terminal would act on: C0 (but newline and tab), DEL, C1, bidi overrides
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strict_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


# -- the policy itself --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_clean_makes_any_text_valid_and_keeps_valid_text(seed):
    rng = random.Random(seed)
    for _ in range(40):
        text = hostile(rng, 30)
        cleaned = clean(text)
        assert strict_utf8(cleaned)
        assert clean(cleaned) == cleaned  # idempotent: the stored record is not rewritten again
        json.dumps({"t": cleaned}, ensure_ascii=False, allow_nan=False).encode("utf-8")
        valid = cleaned.replace("\\", "")
        assert clean(valid) is valid  # valid text passes untouched (the same object)
        assert is_clean(cleaned)


def test_clean_escapes_are_visible_and_say_what_was_there():
    assert clean("a\ud800b") == "a\\ud800b"
    assert clean("caf\udcc3") == "caf\\xc3"  # a surrogateescape byte (argv, file names) as the byte
    assert clean("nul\x00") == "nul\\x00"
    assert clean("\ud83d\ude00") == "😀"  # a pair held as two code units is the character
    assert decode(b"caf\xc3\xa9 \xff\xfe") == "café \\xff\\xfe"
    assert clean_tree({"k\ud800": ["x\x00", ("y",)], "n": 1}) == {"k\\ud800": ["x\\x00", ("y",)], "n": 1}


@pytest.mark.parametrize("seed", SEEDS)
def test_random_bytes_decode_to_valid_text(seed):
    rng = random.Random(seed)
    for _ in range(40):
        data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        text = decode(data)
        assert strict_utf8(text)
        with contextlib.suppress(UnicodeDecodeError):  # valid UTF-8 is read as it is
            assert text == data.decode("utf-8").replace("\x00", "\\x00")


@pytest.mark.parametrize("seed", SEEDS)
def test_a_slice_of_utf8_text_drops_only_the_characters_cut_at_its_edges(seed):
    """Context documents are read by byte ranges: a cut character is the neighbour's, nothing else is lost."""
    rng = random.Random(seed)
    for _ in range(30):
        text = clean(hostile(rng, 30))
        data = text.encode("utf-8")
        start, end = sorted(rng.randrange(len(data) + 1) for _ in range(2))
        piece = decode_slice(data[start:end])
        assert piece in text and len(piece.encode()) >= (end - start) - 6
        noisy = bytes(rng.randrange(256) for _ in range(rng.randint(0, 30)))
        assert strict_utf8(decode_slice(noisy))


@pytest.mark.parametrize("seed", SEEDS)
def test_for_terminal_leaves_nothing_a_terminal_acts_on(seed):
    rng = random.Random(seed)
    for _ in range(40):
        text = hostile(rng, 30)
        for one_line in (False, True):
            shown = for_terminal(text, one_line=one_line)
            assert strict_utf8(shown) and not _UNSAFE.search(shown)
            if one_line:
                assert "\n" not in shown and "\t" not in shown
    assert for_terminal("a\r\nb\rc") == "a\nb\\x0dc"


def _rich_output(print_it) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="truecolor", width=100)
    print_it(console)
    return out.getvalue()


@pytest.mark.parametrize("seed", SEEDS)
def test_terminal_text_is_never_markup_and_prints_only_styles(seed):
    rng = random.Random(seed)
    for _ in range(10):
        text = hostile(rng, 20)
        output = _rich_output(lambda c, t=text: c.print(terminal_text(t, "bold")))
        assert re.search(r"\x1b(?!\[[0-9;]*m)", output) is None  # only SGR styles, never OSC/CSI moves
        assert "\x07" not in output and "\x9b" not in output and "\x9d" not in output
    output = _rich_output(lambda c: c.print(terminal_text("[link=http://evil.example/]x[/link] [/bold] :smile:")))
    assert "[link=http://evil.example/]x[/link] [/bold] :smile:" in output and "\x1b]8" not in output


# -- the engine's boundaries: question, model reply, stream, tool output, records, store, trace ----------


class _Everything:
    """A strategy touching every engine boundary with hostile text: a call, a tool call, a record, an answer."""

    name = "everything"

    def __init__(self, tool_, rng: random.Random) -> None:
        self.tool, self.rng = tool_, rng

    def run(self, question):
        reply = yield Generate.of([user(question), user(hostile(self.rng))], "draft")
        result = yield CallTool(self.tool, {"text": reply.text})
        yield Record("check", hostile(self.rng), {"note": hostile(self.rng), hostile(self.rng): 1})
        return Outcome(reply.text + result.output, "answered")


@pytest.mark.parametrize("seed", SEEDS)
def test_hostile_text_through_every_engine_boundary_is_stored_traced_and_printed(tmp_path, seed):
    rng = random.Random(seed)

    @tool
    def echo(text: str) -> str:
        """Echo the text with more hostile text."""
        return text + hostile(rng)

    streamed: list[str] = []
    reply = Completion(hostile(rng), tool_calls=(ToolCall("id\ud800", "f\x00", '{"a": "\udc80"}'),))
    model = ScriptedModel([reply])
    store = RunStore(tmp_path / "runs.db")
    trace = io.StringIO()
    engine = Engine(
        model, sinks=[store.sink(), JsonlTrace(trace)], on_text=lambda step, kind, piece: streamed.append(piece)
    )
    result = engine.run(_Everything(echo, rng), "q " + hostile(rng))
    data = result.to_dict()
    json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    assert all(strict_utf8(piece) for piece in streamed)
    assert strict_utf8(result.answer or "") and strict_utf8(result.question)
    # the stored record is what the run used, faithfully: the same text in the store, the trace and the result
    events = store.events(result.run_id)
    stored = next(e for e in events if e["type"] == "run_finished")
    assert stored["answer"] == result.answer
    assert [json.loads(line) for line in trace.getvalue().splitlines()[1:]] == [e.to_dict() for e in result.events]
    model_call = next(e for e in events if e["type"] == "model_call")
    assert model_call["text"] == clean(reply.text)
    assert all(strict_utf8(m.content) for m in model.calls[0].messages)  # what the backend (tokenizer) got
    store.close()


def test_hostile_question_through_the_cli_ask_json_live_view_runs_and_resume(capsys, tmp_path):
    """capsys writes UTF-8 strictly, like a terminal: a surrogate reaching it would raise."""
    db = str(tmp_path / "cli.db")
    rng = random.Random(7)
    for round_ in range(8):
        question = "q " + hostile(rng)
        assert main(["ask", question, "-m", "scripted", "--json", "--store", db]) == 0, capsys.readouterr().err
        answer = json.loads(capsys.readouterr().out)["answer"]
        assert strict_utf8(answer)
        assert main(["ask", question, "-m", "scripted", "-s", "refine", "--max-steps", "4", "--store", db]) == 0
        out = capsys.readouterr().out
        assert not _UNSAFE.search(out.replace("\n", "")), f"round {round_}: {out!r}"
    for args in (["runs", "list"], ["runs", "list", "--json"], ["runs", "export"]):
        assert main([*args, "--store", db]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out
    rows = RunStore(db).list_runs()
    for row in rows:
        assert main(["runs", "show", row["run_id"], "--store", db]) == 0
        out = capsys.readouterr().out
        assert not _UNSAFE.search(out.replace("\n", "").replace("\t", ""))
    # resume a hostile refine run cut after its first call
    refine = next(r for r in rows if r["strategy"] == "refine")
    run_id = refine["run_id"]
    with sqlite3.connect(db) as conn:
        (first,) = conn.execute(
            "SELECT min(seq) FROM events WHERE root_id = ? AND type = 'model_call'", (run_id,)
        ).fetchone()
        conn.execute("DELETE FROM events WHERE root_id = ? AND seq > ?", (run_id, first))
        conn.execute(
            "UPDATE runs SET status = 'unfinished', answer = NULL, stop_reason = NULL WHERE root_id = ?", (run_id,)
        )
    assert main(["resume", run_id, "--store", db]) == 0, capsys.readouterr().err
    assert not _UNSAFE.search(capsys.readouterr().out.replace("\n", ""))


def test_markup_in_a_question_does_not_crash_the_summary_nor_become_a_link(capsys, tmp_path):
    """The issue's examples: ``[/bold] what`` crashed the summary after the run; ``[link=...]`` became a link."""
    for question in ("[/bold] what", "[link=http://evil.example/]click[/link] me", "[bold]x[/bold"):
        assert main(["ask", question, "-m", "scripted", "--store", str(tmp_path / "s.db")]) == 0
        out = capsys.readouterr().out
        assert question in out  # shown literally, in the live view and the answer panel


def test_escape_sequences_in_model_text_and_tool_output_are_shown_not_obeyed():
    out = io.StringIO()
    view = LiveView(Console(file=out, force_terminal=True, width=120))
    evil = "\x1b]0;pwned\x07\x1b[2J\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\\x9b2J"
    view(StepStarted("r", 1, 0.0, 0, "draft" + evil, 0))
    view.on_text(0, "draft", evil)
    view(StepRecorded("r", 2, 0.0, 1, "check", evil, {}))
    view(ToolCalled("r", 3, 0.0, 2, "web" + evil, {"url": evil}, True, evil, None, 0.1))
    view(ToolCalled("r", 4, 0.0, 3, "web", evil, False, evil, evil, 0.1))
    written = out.getvalue()
    assert re.search(r"\x1b(?!\[[0-9;]*m)", written) is None and "\x07" not in written and "\x9b" not in written
    assert "\\x1b]0;pwned\\x07" in written  # visible, so a reader sees what was sent


@pytest.mark.parametrize("seed", range(10))
def test_worker_frames_are_valid_text_however_the_worker_encodes_them(seed):
    """Everything from the sandbox (prints, code-mode answers, host calls) crosses the protocol: cleaned there."""
    rng = random.Random(seed)
    read_end, write_end = os.pipe()
    try:
        channel = HostChannel(os.open(os.devnull, os.O_WRONLY), read_end)
        for _ in range(10):
            text = hostile(rng)
            body = json.dumps({"op": "done", "stdout": text, "answer": [text]}).encode()  # \\ud800-style escapes
            os.write(write_end, HEADER.pack(len(body)) + body)
            message = channel.receive(deadline=float("inf"))
            assert message is not None and message["stdout"] == clean(text) and strict_utf8(message["stdout"])
    finally:
        os.close(read_end)
        os.close(write_end)


def test_rows_written_by_hand_with_bad_text_are_read_as_valid_text(capsys, tmp_path):
    db = tmp_path / "runs.db"
    assert main(["ask", "hello", "-m", "scripted", "--store", str(db), "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE runs SET question = CAST(x'ff41e29c' AS TEXT), answer = ? WHERE run_id = ?",
                     ('{"a": "\\ud800"}', run_id))  # fmt: skip
        conn.execute(
            "UPDATE events SET data = ? WHERE root_id = ? AND type = 'model_call'",
            (json.dumps({"type": "model_call", "run_id": run_id, "step": 0, "kind": "draft"})[:-1]
             + ', "text": "x\\ud800\\u0000y"}', run_id),
        )  # fmt: skip
    for args in (["runs", "show", run_id], ["runs", "show", run_id, "--json"], ["runs", "list"], ["runs", "export"]):
        assert main([*args, "--store", str(db)]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert strict_utf8(out)
    assert main(["runs", "show", run_id, "--store", str(db)]) == 0
    out = capsys.readouterr().out
    assert "question: \\xffA\\xe2\\x9c" in out and "x\\ud800\\x00y" in out


# -- random escape sequences through every printer --------------------------------------------------------


def _safe_terminal_output(written: str) -> bool:
    """Only SGR style escapes (rich's own colours) and no other control character reach the terminal."""
    return re.search(r"\x1b(?!\[[0-9;]*m)", written) is None and not _UNSAFE.search(
        re.sub(r"\x1b\[[0-9;]*m", "", written).replace("\r\n", "\n")
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_the_live_view_prints_random_hostile_events_and_summaries_safely(seed):
    from ponder.result import RunResult
    from ponder.types import Usage

    rng = random.Random(seed)
    out = io.StringIO()
    view = LiveView(Console(file=out, force_terminal=True, color_system="truecolor", width=90))
    for i in range(6):
        view(StepStarted("r", i, 0.0, i, hostile(rng), 0, rng.choice((1, 3))))
        view.on_text(i, "draft", hostile(rng))
        view(StepRecorded("r", i, 0.0, i, hostile(rng), hostile(rng), {}))
        args = hostile(rng) if rng.random() < 0.5 else {hostile(rng): hostile(rng)}
        view(ToolCalled("r", i, 0.0, i, hostile(rng), args, rng.random() < 0.5, hostile(rng), hostile(rng), 0.1))
    result = RunResult(
        "r", hostile(rng), hostile(rng), hostile(rng), hostile(rng), hostile(rng), hostile(rng), [], Usage(), 0.5
    )
    view.summary(result)
    assert _safe_terminal_output(out.getvalue())


@pytest.mark.parametrize("seed", range(8))
def test_runs_list_and_show_print_random_hostile_stored_rows_safely(capsys, tmp_path, seed):
    """Rows as a hand edit or another writer could leave them: every text column and event text is hostile."""
    rng = random.Random(seed)
    db = tmp_path / "runs.db"
    assert main(["ask", "hi", "-m", "scripted", "-s", "refine", "--max-steps", "4", "--store", str(db), "--json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE runs SET question = ?, answer = ?, strategy = ?, model = ?, detail = ?, stop_reason = ?",
            tuple(clean(hostile(rng)) for _ in range(6)),
        )
        for seq, data in conn.execute("SELECT seq, data FROM events WHERE root_id = ?", (run_id,)).fetchall():
            event = json.loads(data)
            for key in ("text", "kind", "output", "tool", "question", "answer"):
                if key in event:
                    event[key] = hostile(rng)  # with \\ud800-style escapes and raw controls in the JSON
            conn.execute("UPDATE events SET data = ? WHERE root_id = ? AND seq = ?", (json.dumps(event), run_id, seq))
    for args in (["runs", "list"], ["runs", "show", run_id]):
        assert main([*args, "--store", str(db)]) == 0, capsys.readouterr().err
        assert _safe_terminal_output(capsys.readouterr().out)


@pytest.mark.parametrize("seed", SEEDS)
def test_sandbox_output_and_error_lines_print_random_hostile_text_safely(capsys, seed):
    from ponder.cli import _fail
    from ponder.cli.sandbox import _print
    from ponder.sandbox import ExecResult

    rng = random.Random(seed)
    result = ExecResult(clean(hostile(rng)), clean(hostile(rng)), clean(hostile(rng)), False, True, 0.1)
    _print(result, as_json=False)
    _fail(hostile(rng), 1)
    captured = capsys.readouterr()
    assert _safe_terminal_output(captured.out) and _safe_terminal_output(captured.err)
    _print(result, as_json=True)
    assert json.loads(capsys.readouterr().out)["stdout"] == result.stdout  # --json: the faithful record


@pytest.mark.parametrize("stream", [False, True])
def test_hostile_text_over_http_answers_and_streams(tmp_path, stream):
    from starlette.testclient import TestClient

    from ponder.serve.app import create_app
    from ponder.serve.config import ServeConfig

    app = create_app(ServeConfig(model="scripted", store=str(tmp_path / "s.db")))
    rng = random.Random(11)
    with TestClient(app) as client:
        for _ in range(5):
            question = "q " + hostile(rng)
            body = json.dumps(  # \\ud800-style escapes: valid JSON text for a lone surrogate
                {"model": "single", "stream": stream, "messages": [{"role": "system", "content": hostile(rng)},
                                                                   {"role": "user", "content": question}]}
            )  # fmt: skip
            response = client.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
            assert response.status_code == 200, response.text
            assert strict_utf8(response.content.decode("utf-8"))
            if not stream:
                assert clean(question).strip() in response.json()["choices"][0]["message"]["content"]


def test_the_store_takes_events_made_outside_the_engine_with_bad_text(tmp_path):
    from ponder.events import RunFinished, RunStarted
    from ponder.types import Usage

    with RunStore(tmp_path / "runs.db") as store:
        store.write_event("r1", RunStarted("r1", 1, 0.0, "s\ud800", "m\x00", "q\udc80", 0, None, {}, {}, None))
        store.write_event("r1", RunFinished("r1", 2, 1.0, "a\ud800", "answered", "d", Usage(), 1.0, None, {}))
        [row] = store.list_runs()
        assert (row["question"], row["answer"], row["strategy"], row["model"]) == (
            "q\\x80",
            "a\\ud800",
            "s\\ud800",
            "m\\x00",
        )
        assert [e["type"] for e in store.events("r1")] == ["run_started", "run_finished"]
