"""``ponder mcp`` as a real server process, with the official ``mcp`` client SDK over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from ponder.store import RunStore
from servers import free_port, stop_process

pytestmark = pytest.mark.integration


@asynccontextmanager
async def stdio_session(*args: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=sys.executable, args=["-m", "ponder", "mcp", *args], env=dict(os.environ))
    with open(os.devnull, "w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


def run(session_args: tuple[str, ...], body: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with stdio_session(*session_args) as session:
            return await asyncio.wait_for(body(session), 120)

    return asyncio.run(main())


def text_of(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "log.txt").write_text(" ".join(f"Day {i}: the caravan rested." for i in range(200)) + " Code 7312.")
    (tmp_path / "secret.txt").write_text("not for clients")
    (folder / "link.txt").symlink_to(tmp_path / "secret.txt")
    return folder


def test_stdio_lists_the_tools_and_ask_runs_a_strategy_with_progress_and_a_stored_run(tmp_path):
    db = tmp_path / "runs.db"
    progress: list[tuple[float, str | None]] = []

    async def body(session: ClientSession) -> tuple[Any, Any]:
        listed = await session.list_tools()

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append((done, message))

        called = await session.call_tool(
            "ask", {"question": "Why is the sky blue?", "strategy": "refine"}, progress_callback=on_progress
        )
        return listed, called

    listed, called = run(("--model", "scripted", "--store", str(db)), body)
    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) == {"ask", "query"}
    assert set(tools["ask"].input_schema["properties"]) == {"question", "strategy"}
    assert "consistency" in tools["ask"].description
    assert not called.is_error
    answer = called.structured_content
    assert answer["answer"].startswith("echo:") and answer["strategy"] == "refine" and answer["model_calls"] >= 3
    assert [done for done, _ in progress] == list(range(1, len(progress) + 1)) and len(progress) >= 3
    assert progress[0][1] == "step 0: draft" and progress[1][1] == "step 1: critique"
    with RunStore(str(db)) as store:
        stored = store.run(answer["run_id"])
    assert stored["answer"] == answer["answer"] and stored["strategy"] == "refine"


def test_query_reads_only_what_the_operator_allowed(tmp_path, files):
    async def body(session: ClientSession) -> list[Any]:
        out = [await session.call_tool("query", {"question": "What is the code?", "path": "log.txt"})]
        for path in (str(tmp_path / "secret.txt"), "link.txt", "../secret.txt", "missing.txt", "a\x00b"):
            out.append(await session.call_tool("query", {"question": "What is in it?", "path": path}))
        out.append(await session.call_tool("ask", {"question": "x", "strategy": "nope"}))
        out.append(await session.call_tool("ask", {"question": "   "}))
        out.append(await session.call_tool("ask", {"question": "What?", "strategy": "recursive"}))
        return out

    found, *refused, unknown, empty, recursive = run(
        ("--model", "scripted", "--store", str(tmp_path / "r.db"), "--allow", str(files)), body
    )
    assert not found.is_error and found.structured_content["strategy"] == "recursive"
    assert found.structured_content["model_calls"] >= 1
    with RunStore(str(tmp_path / "r.db")) as store:  # the operator's policy shaped it: no code mode unless allowed
        spec = store.spec_data(found.structured_content["run_id"])
    assert spec["strategy"]["mode"] == "plan" and spec["context"] == str((files / "log.txt").resolve())
    assert all(r.is_error for r in refused)
    assert [("not under" in text_of(r)) for r in refused] == [True, True, True, False, False]
    assert "cannot read" in text_of(refused[3]) and "cannot read" in text_of(refused[4])
    assert unknown.is_error and "does not exist" in text_of(unknown) and "strategy" in text_of(unknown).lower()
    assert empty.is_error and "question" in text_of(empty)
    assert recursive.is_error and "use the query tool" in text_of(recursive)


def test_query_without_allowed_paths_reads_nothing(tmp_path, files):
    async def body(session: ClientSession) -> Any:
        return await session.call_tool("query", {"question": "What?", "path": str(files / "log.txt")})

    result = run(("--model", "scripted", "--no-store"), body)
    assert result.is_error and "allowed none" in text_of(result)


@pytest.mark.parametrize("bad", [["--model", "gguf:/nonexistent.gguf"], ["--model", "scripted", "--tools", "nosuch"]])
def test_a_bad_model_or_tool_fails_at_start_with_one_line(tmp_path, bad):
    done = subprocess.run(
        [sys.executable, "-m", "ponder", "mcp", *bad],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "ponder: error:" in done.stderr and "Traceback" not in done.stderr


def wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "ponder mcp exited"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("ponder mcp did not listen")


def test_streamable_http_lists_and_calls_the_tools(tmp_path, files):
    port = free_port()
    command = [sys.executable, "-m", "ponder", "mcp", "--transport", "http", "--port", str(port)]
    command += ["--model", "scripted", "--store", str(tmp_path / "runs.db"), "--allow", str(files)]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, process)
        progress: list[str | None] = []

        async def main() -> tuple[Any, Any, Any]:
            async def on_progress(done: float, total: float | None, message: str | None) -> None:
                progress.append(message)

            url = f"http://127.0.0.1:{port}/mcp"
            async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                listed = await session.list_tools()
                asked = await session.call_tool(
                    "ask", {"question": "What is 2 + 2?", "strategy": "consistency"}, progress_callback=on_progress
                )
                queried = await session.call_tool("query", {"question": "What is the code?", "path": "log.txt"})
                return listed, asked, queried

        listed, asked, queried = asyncio.run(asyncio.wait_for(main(), 120))
        assert {tool.name for tool in listed.tools} == {"ask", "query"}
        assert not asked.is_error and asked.structured_content["answer"] == "echo: What is 2 + 2?"
        assert progress and all(message and message.startswith("step") for message in progress)
        assert not queried.is_error and queried.structured_content["strategy"] == "recursive"
        with RunStore(str(tmp_path / "runs.db")) as store:
            assert store.run(asked.structured_content["run_id"])["strategy"] == "consistency"
    finally:
        stop_process(process)


@pytest.mark.integration
def test_the_embedded_model_answers_through_mcp(tmp_path):
    async def body(session: ClientSession) -> Any:
        return await session.call_tool("ask", {"question": "What is the capital of France?", "strategy": "single"})

    async def main() -> Any:
        async with stdio_session("--store", str(tmp_path / "runs.db")) as session:
            return await asyncio.wait_for(body(session), 300)

    result = asyncio.run(main())
    assert not result.is_error and "Paris" in result.structured_content["answer"]
    assert result.structured_content["model_calls"] == 1 and result.structured_content["prompt_tokens"] > 10
