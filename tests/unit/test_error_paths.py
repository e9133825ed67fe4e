"""Small error paths (issue 12, class 8): each is one clear line, and nothing is created or lost by reading.

* a write that fails (``ENOSPC`` on stdout, ``--trace``, ``runs export -o``) is ``ponder: error: cannot
  write ...`` and exit 1 (``/dev/full`` gives ENOSPC for real);
* read-only ``runs`` commands open the store read-only: a store on a read-only mount is readable, a
  mistyped ``--store`` path is an error and no file or folder appears there;
* a row damaged by hand is reported and skipped: ``runs show`` shows the rest of that run, ``runs
  export`` writes every other run;
* ``--tools http:[::1]:8000`` means the IPv6 loopback on port 8000; a malformed entry is an error;
* a FIFO given to ``--context`` is said to be a FIFO (and never blocks the run);
* an MCP server that writes something not JSON-RPC fails its start in one line, quickly."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from error_paths_helpers import FULL, _store_with_runs, needs_dev_full
from ponder.cli import main
from ponder.errors import ConfigError
from ponder.guards.netloc import format_host_port, parse_host_port
from ponder.store import RunStore
from ponder.tools import parse_tool_specs
from ponder.tools.base import ToolError
from ponder.tools.http import Allowlist, check_url


@needs_dev_full
def test_a_full_disk_behind_the_trace_or_the_export_file_is_one_line(tmp_path, capsys):
    db = tmp_path / "runs.db"
    _store_with_runs(db)
    capsys.readouterr()
    assert main(["ask", "q", "-m", "scripted", "--store", str(db), "--trace", str(FULL)]) == 1
    err = capsys.readouterr().err
    assert err == "ponder: error: cannot write the trace file /dev/full: No space left on device\n"
    assert main(["runs", "export", "-o", str(FULL), "--store", str(db)]) == 1
    assert capsys.readouterr().err == "ponder: error: cannot write /dev/full: No space left on device\n"


def test_read_only_commands_never_create_a_store_at_a_mistyped_path(tmp_path, capsys):
    missing = tmp_path / "no" / "such" / "runs.db"
    for args in (["runs", "list"], ["runs", "show", "abc"], ["runs", "export"], ["runs", "html", "abc", "-o", "x"],
                 ["runs", "outcome", "abc", "correct"], ["resume", "abc"], ["runs", "fit-stop", "-o", "x"]):  # fmt: skip
        assert main([*args, "--store", str(missing)]) == 1
        assert capsys.readouterr().err == f"ponder: error: no run store at {missing}\n"
    assert not (tmp_path / "no").exists()


def test_a_missing_default_store_reads_as_empty_and_is_not_created(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PONDER_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main(["runs", "list"]) == 0
    assert capsys.readouterr().out == "no runs recorded yet\n"
    assert not (tmp_path / "data").exists()


def test_a_damaged_row_is_reported_and_skipped_not_fatal(tmp_path, capsys):
    db = tmp_path / "runs.db"
    damaged, intact = _store_with_runs(db)[::-1]  # newest first: "second" is intact, "first" damaged
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE events SET data = '{broken' WHERE root_id = ? AND type = 'model_call'", (damaged,)
        )  # by hand
    capsys.readouterr()
    assert main(["runs", "show", damaged, "--store", str(db)]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and f"run {damaged} has an unreadable event" in captured.err
    assert "answer: echo: first" in captured.out  # the rest of the run is shown
    out = tmp_path / "export.jsonl"
    assert main(["runs", "export", "-o", str(out), "--store", str(db)]) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["run_id"] for r in records] == [intact]
    assert "wrote 1 records" in captured.out and "(1 unreadable runs skipped)" in captured.out
    assert f"run {damaged} has an unreadable event" in captured.err
    # valid JSON without the fields an event has is damaged too
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE events SET data = '[]' WHERE root_id = ?", (intact,))
    assert main(["runs", "export", "--store", str(db)]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "entry,expected",
    [
        ("[::1]:8000", ("::1", 8000)),
        ("[::1]", ("::1", None)),
        ("::1", ("::1", None)),
        ("[2001:db8::7]:443", ("2001:db8::7", 443)),
        ("Example.COM:8080", ("example.com", 8080)),
        ("127.0.0.1", ("127.0.0.1", None)),
        ("*.example.com", ("*.example.com", None)),
    ],
)
def test_host_port_entries_parse_ipv6_names_and_ports(entry, expected):
    assert parse_host_port(entry) == expected
    assert parse_host_port(format_host_port(*expected)) == expected


@pytest.mark.parametrize("entry", ["[::1", "[::1]8000", "[::1]:", "[::1]:0", "[::1]:99999", "::1:8000:x", "h:port",
                                   "[nothost]:80", "h:-1", ":80"])  # fmt: skip
def test_malformed_host_port_entries_are_one_clear_error(entry):
    with pytest.raises(ConfigError, match="bad"):
        parse_host_port(entry)


def test_tools_http_ipv6_loopback_with_a_port_means_what_it_says():
    """The issue's example: ``--tools 'http:[::1]:8000'`` was silently misparsed."""
    [http_get] = parse_tool_specs("http:[::1]:8000")
    allowlist = Allowlist(["[::1]:8000"])
    assert check_url("http://[::1]:8000/x", allowlist) == "http://[::1]:8000/x"
    with pytest.raises(ToolError):
        check_url("http://[::1]:8001/", allowlist)
    with pytest.raises(ToolError):
        check_url("http://localhost:8000/", allowlist)
    assert "[::1]:8000" in http_get.description
    with pytest.raises(ConfigError, match="bad port"):
        parse_tool_specs("http:[::1]:80000")


def test_a_fifo_as_context_is_named_a_fifo_and_never_blocks(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main(["ask", "q", "-m", "scripted", "--no-store", "--context", str(fifo)]) == 1
    assert capsys.readouterr().err == f"ponder: error: cannot read the context file {fifo}: a FIFO\n"


def test_fit_stop_skips_a_damaged_run_with_one_warning(tmp_path, capsys):
    db = tmp_path / "runs.db"
    for question in ("one", "two"):
        assert main(["ask", question, "-m", "scripted", "-s", "refine", "--max-steps", "4", "--store", str(db)]) == 0
    with RunStore(db) as store:
        damaged, intact = (row["run_id"] for row in store.list_runs())
    for run_id in (damaged, intact):
        assert main(["runs", "outcome", run_id, "correct", "--store", str(db)]) == 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE events SET data = '{broken' WHERE root_id = ? AND type = 'model_call'", (damaged,))
    capsys.readouterr()
    main(["runs", "fit-stop", "-o", str(tmp_path / "stop.json"), "--store", str(db)])
    err = capsys.readouterr().err
    assert f"run {damaged} has an unreadable event" in err and "run not used" in err and "internal error" not in err
