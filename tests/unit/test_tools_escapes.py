"""Confinement: read_file/search stay in their folder; http_get stays on its allowlist.

The HTTP tests run a real ``http.server`` on 127.0.0.1, started and stopped by
the test; nothing leaves the machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ponder.errors import ConfigError
from ponder.tools import Tool, file_tools, http_get_tool


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/ with text files, a binary, and links that point inside and outside; sibling/ beside it."""
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / ".git").mkdir()
    sibling = tmp_path / "sibling"
    sibling.mkdir()
    (sibling / "secret.txt").write_text("the sibling secret is swordfish\n")
    (tmp_path / "outside.txt").write_text("outside the root\n")
    (root / "france.txt").write_text("The capital of France is Paris.\nParis has the Eiffel tower.\n")
    (root / "docs" / "rome.md").write_text("# Rome\n\n" + "filler line\n" * 60 + "Rome is the capital of Italy.\n")
    (root / ".git" / "config").write_text("capital secret in git config\n")
    (root / "image.bin").write_bytes(b"\x89PNG\x00\x00capital")
    (root / "passwd").symlink_to("/etc/passwd")
    (root / "sib").symlink_to(sibling, target_is_directory=True)
    (root / "sibfile.txt").symlink_to(sibling / "secret.txt")
    (root / "alias.txt").symlink_to(root / "france.txt")
    return root


@pytest.fixture
def tools(tree: Path) -> dict[str, Tool]:
    return {t.name: t for t in file_tools(tree)}


def read(tools: dict[str, Tool], path: str, **extra: int) -> str:
    return tools["read_file"].invoke({"path": path, **extra}).observation


def test_read_file_inside_the_root(tools: dict[str, Tool]) -> None:
    assert read(tools, "france.txt") == (
        "[france.txt lines 1-2 of 2]\nThe capital of France is Paris.\nParis has the Eiffel tower."
    )
    assert read(tools, "docs/rome.md", start_line=62, max_lines=1) == (
        "[docs/rome.md lines 62-62 of 63]\nfiller line\n[more: start_line=63]"
    )
    assert read(tools, "docs/../france.txt").startswith("[france.txt lines 1-2")
    assert read(tools, "alias.txt").startswith("[france.txt lines 1-2")  # a link that stays inside is fine
    assert read(tools, "./docs//rome.md", max_lines=1).startswith("[docs/rome.md lines 1-1 of 63]")


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("../sibling/secret.txt", "path leaves the folder: '../sibling/secret.txt'"),
        ("docs/../../outside.txt", "path leaves the folder: 'docs/../../outside.txt'"),
        ("/etc/passwd", "absolute paths are not allowed: '/etc/passwd'; give a path relative to the folder"),
        ("~/x", "absolute paths are not allowed: '~/x'; give a path relative to the folder"),
        ("passwd", "path leaves the folder: 'passwd'"),
        ("sibfile.txt", "path leaves the folder: 'sibfile.txt'"),
        ("sib/secret.txt", "path leaves the folder: 'sib/secret.txt'"),
        ("sib", "path leaves the folder: 'sib'"),
        ("docs\x00/rome.md", "path contains a NUL byte"),
        ("docs", "'docs' is a folder, not a file"),
        ("image.bin", "'image.bin' is a binary file; only text files can be read"),
        ("nope.txt", "no such file: 'nope.txt'"),
        ("", "empty path"),
        ("a/" * 3000, "path too long: 6000 characters (limit 4096)"),
    ],
)
def test_read_file_refuses_escapes(tools: dict[str, Tool], path: str, error: str) -> None:
    result = tools["read_file"].invoke({"path": path})
    assert not result.ok
    assert result.error == error


def test_read_file_refuses_special_files_and_bad_sizes(tree: Path, tools: dict[str, Tool]) -> None:
    os.mkfifo(tree / "pipe")  # opening a FIFO for reading would block: it must be refused, not opened blindly
    assert tools["read_file"].invoke({"path": "pipe"}).error == "'pipe' is not a regular file"
    assert tools["read_file"].invoke({"path": "france.txt", "start_line": 0}).error == "start_line must be >= 1, got 0"
    assert tools["read_file"].invoke({"path": "france.txt", "start_line": 9}).error == (
        "start_line 9 is past the end (2 lines)"
    )
    assert tools["read_file"].invoke({"path": "france.txt", "max_lines": 10**9}).error == (
        "max_lines must be between 1 and 1000, got 1000000000"
    )
    assert tools["read_file"].invoke({"path": 5}).error == "no such file: '5'"
    assert tools["read_file"].invoke({"path": ["a"]}).error == "argument 'path' must be a string, got a list of 1 items"
    huge = tools["read_file"].invoke({"path": "x" * 1_000_000})
    assert huge.error == "input too large: 1000012 characters (limit 50000)"


def test_large_files_and_long_lines(tree: Path) -> None:
    (tree / "big.txt").write_text("x" * 5000 + "\n")
    small = {t.name: t for t in file_tools(tree, max_file_bytes=1000)}
    assert small["read_file"].invoke({"path": "big.txt"}).error == "file too large: 5001 bytes (limit 1000)"
    normal = {t.name: t for t in file_tools(tree, max_output=100_000)}
    line = normal["read_file"].invoke({"path": "big.txt"}).output.splitlines()[1]
    assert line == "x" * 2000 + " [... 3000 more characters]"


def test_search_finds_passages_and_stays_inside(tools: dict[str, Tool]) -> None:
    result = tools["search"].invoke({"query": "capital of Italy", "k": 3})
    assert result.ok, result.error
    first = result.output.splitlines()[0]
    assert first.startswith("1. docs/rome.md (lines 41-63, score")  # the second passage of rome.md
    assert "63: Rome is the capital of Italy." in result.output
    # never what lies outside, behind links or in hidden folders; never binaries; the alias only once
    everything = tools["search"].invoke({"query": "capital secret swordfish paris", "k": 20}).output
    assert "swordfish" not in everything and "git" not in everything and "image.bin" not in everything
    assert "sib" not in everything and "passwd" not in everything
    assert everything.count("The capital of France is Paris.") == 1
    assert tools["search"].invoke({"query": "zebra"}).output == "no results for 'zebra'"


def test_search_argument_limits(tools: dict[str, Tool]) -> None:
    assert tools["search"].invoke({"query": "  "}).error == "empty query"
    assert tools["search"].invoke({"query": "paris", "k": 0}).error == "k must be between 1 and 20, got 0"
    assert tools["search"].invoke({"query": "q" * 2000}).error == "query too long: 2000 characters (limit 1000)"
    assert tools["search"].invoke_text("Eiffel tower").output.startswith("1. france.txt (lines 1-2")


def test_root_must_be_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="folder not found"):
        file_tools(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ConfigError, match="not a folder"):
        file_tools(tmp_path / "file.txt")


def test_http_get_refuses_bad_urls_without_connecting() -> None:
    get = http_get_tool(["example.com", "127.0.0.1:9"])
    try:
        for url, error in [
            ("file:///etc/passwd", "only http and https URLs can be fetched, got 'file'"),
            ("ftp://example.com/x", "only http and https URLs can be fetched, got 'ftp'"),
            ("example.com/page", "only http and https URLs can be fetched, got 'no scheme'"),
            ("http://user:pw@example.com/", "URLs with user names or passwords are not allowed"),
            ("http://evil.com/", "host 'evil.com' is not allowed; allowed: example.com, 127.0.0.1:9"),
            (
                "http://example.com.evil.com/",
                "host 'example.com.evil.com' is not allowed; allowed: example.com, 127.0.0.1:9",
            ),
            ("http://127.0.0.1:8080/", "host '127.0.0.1' is not allowed; allowed: example.com, 127.0.0.1:9"),
            ("http://example.com:99999/", "bad port in URL: Port out of range 0-65535"),
        ]:
            assert get.invoke({"url": url}).error == error, url
        refused = get.invoke({"url": "http://127.0.0.1:9/"})  # allowed, but nothing listens there
        assert not refused.ok and refused.error is not None and refused.error.startswith("ConnectError")
    finally:
        get.close()
    with pytest.raises(ConfigError, match="at least one allowed host"):
        http_get_tool([])
    with pytest.raises(ConfigError, match="host names"):
        http_get_tool(["http://example.com/"])
