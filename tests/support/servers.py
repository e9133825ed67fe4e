"""Real local servers for tests, on 127.0.0.1 only, started and stopped by the test.

* :class:`FakeChatServer`: a small threaded HTTP server speaking enough of the
  OpenAI chat-completions API (plain JSON and SSE streams). It can fail the
  first requests on purpose (an HTTP status, or a dropped connection), delay
  answers, reject ``stream_options``, and it records every request body and the
  most requests it ever had in flight at once.
* :func:`start_process_server` / :func:`stop_process`: run a server program
  (such as ``python -m llama_cpp.server``) as a child process, wait until it
  answers, and shut it down again.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: a fault injected for one request: an HTTP status code, DROP (close the connection unanswered),
#: GARBAGE (200 with a body that is not JSON) or STREAM_ERROR (a stream that breaks off with an error event)
Fault = int | str
DROP = "drop"
GARBAGE = "garbage"
STREAM_ERROR = "stream-error"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def echo_reply(body: dict[str, Any]) -> str:
    users = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
    return f"echo: {users[-1] if users else ''}"


@dataclass
class FakeChatServer:
    """A fake OpenAI-compatible chat server on a real socket. Use as a context manager.

    ``faults`` are answered, in order, to the first requests (``503``, ``429``,
    ``DROP``, ...); later requests get a valid completion whose text is
    ``reply(body)``. ``delay`` seconds pass before every answer. With
    ``usage=False`` no usage is reported (with ``cost``, usage reports that cost); ``retry_after_ms`` adds that header
    to error answers (the openai SDK then waits that long instead of its 0.5 s
    backoff); ``reject_stream_options`` answers 400 to any request that has it.
    With ``tool_call=(name, arguments)``, a request that offers ``tools`` is
    answered with that one native tool call (streamed in small argument pieces).
    """

    faults: Sequence[Fault] = ()
    reply: Callable[[dict[str, Any]], str] = echo_reply
    delay: float = 0.0
    usage: bool = True
    cached_tokens: int = 0
    #: dollars each call reports it cost (``usage.cost``, as OpenRouter does); None: no cost reported
    cost: float | None = None
    retry_after_ms: int | None = 10
    reject_stream_options: bool = False
    tool_call: tuple[str, str] | None = None
    #: extra routes, to emulate a server kind: GET path -> JSON answer; POST path -> function of the body
    get_routes: dict[str, Any] = field(default_factory=dict)
    post_routes: dict[str, Callable[[dict[str, Any]], Any]] = field(default_factory=dict)
    #: request fields answered with 400 and this message (as vLLM/llama.cpp/Ollama reject what they lack)
    reject_fields: dict[str, str] = field(default_factory=dict)
    #: bodies of the POSTs to other paths than /v1/chat/completions (tokenizers, /api/show)
    other_bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: paths of the GET requests, in order
    gets: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._faults = list(self.faults)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def requests(self) -> int:
        with self._lock:
            return len(self.bodies)

    def __enter__(self) -> FakeChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- request handling -----------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.gets.append(self.path)
                if self.path in server.get_routes:
                    self._json(200, server.get_routes[self.path])
                elif self.path.rstrip("/") == "/v1/models":
                    self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._json(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path in server.post_routes:
                    with server._lock:
                        server.other_bodies.append((self.path, body))
                    self._json(200, server.post_routes[self.path](body))
                    return
                with server._lock:
                    server.bodies.append(body)
                    fault = server._faults.pop(0) if server._faults else None
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if server.delay:
                        time.sleep(server.delay)
                    self._answer(body, fault)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout test): nothing to do
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _answer(self, body: dict[str, Any], fault: Fault | None) -> None:
                if fault == DROP:
                    self.close_connection = True  # no response at all: the client sees a disconnect
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault == GARBAGE:
                    data = b"<html>a proxy's login page</html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if isinstance(fault, int):
                    headers = {} if server.retry_after_ms is None else {"retry-after-ms": str(server.retry_after_ms)}
                    self._json(fault, {"error": {"message": f"injected {fault}", "type": "test"}}, headers)
                    return
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                for name, message in server.reject_fields.items():
                    if name in body:
                        self._json(400, {"error": {"message": message, "type": "invalid_request_error"}})
                        return
                if server.reject_stream_options and "stream_options" in body:
                    message = "Unrecognized request argument supplied: stream_options"
                    self._json(400, {"error": {"message": message, "type": "invalid_request_error"}})
                    return
                if server.tool_call is not None and body.get("tools"):
                    self._tool_call(body, *server.tool_call)
                    return
                text, finish = server.reply(body), "stop"
                words = text.split(" ")
                if len(words) > body.get("max_tokens", 1 << 30):  # one "token" per word
                    text, finish = " ".join(words[: body["max_tokens"]]), "length"
                usage = server._usage(body, text)
                if body.get("stream"):
                    self._stream(body, text, finish, usage, broken=fault == STREAM_ERROR)
                else:
                    message = {"role": "assistant", "content": text}
                    choice = {"index": 0, "message": message, "finish_reason": finish}
                    self._json(200, {**_envelope(body, "chat.completion"), "choices": [choice], "usage": usage})

            def _tool_call(self, body: dict[str, Any], name: str, arguments: str) -> None:
                call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
                if not body.get("stream"):
                    message = {"role": "assistant", "content": None, "tool_calls": [call]}
                    choice = {"index": 0, "message": message, "finish_reason": "tool_calls"}
                    self._json(200, {**_envelope(body, "chat.completion"), "choices": [choice]})
                    return
                head = _envelope(body, "chat.completion.chunk")
                first = {"index": 0, **call, "function": {"name": name, "arguments": ""}}
                deltas: list[dict[str, Any]] = [{"role": "assistant", "tool_calls": [first]}]
                for i in range(0, len(arguments), 3):  # the arguments arrive in pieces, as from real servers
                    deltas.append({"tool_calls": [{"index": 0, "function": {"arguments": arguments[i : i + 3]}}]})
                self._send_events(
                    [{**head, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
                    + [{**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}]
                )

            def _send_events(self, chunks: list[dict[str, Any]], error: str | None = None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                for chunk in chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                if error is not None:
                    payload = json.dumps({"error": {"message": error, "type": "server_error"}})
                    self.wfile.write(f"event: error\ndata: {payload}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _stream(
                self, body: dict[str, Any], text: str, finish: str, usage: dict[str, Any] | None, broken: bool
            ) -> None:
                head = _envelope(body, "chat.completion.chunk")
                pieces = [w if i == 0 else f" {w}" for i, w in enumerate(text.split(" "))]
                deltas = [{"role": "assistant"}, *({"content": p} for p in pieces)]
                chunks = [{**head, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
                chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
                if usage is not None and body.get("stream_options", {}).get("include_usage"):
                    chunks.append({**head, "choices": [], "usage": usage})
                if broken:  # the first piece, then an error event
                    self._send_events(chunks[:2], error="injected stream error")
                else:
                    self._send_events(chunks)

            def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def _usage(self, body: dict[str, Any], text: str) -> dict[str, Any] | None:
        if not self.usage:
            return None
        prompt = sum(len(m.get("content", "").split()) for m in body.get("messages", []))
        completion = len(text.split())
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": self.cached_tokens},
        }
        if self.cost is not None:
            usage["cost"] = self.cost
        return usage


def _envelope(body: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"id": "chatcmpl-test", "object": kind, "created": int(time.time()), "model": body.get("model", "")}


# -- child-process servers ----------------------------------------------------


class ServerStartError(RuntimeError):
    """The server process exited or did not answer in time; the message has its stderr tail."""


@dataclass
class ProcessServer:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start_process_server(
    command: Sequence[str], port: int, *, ready_path: str = "/v1/models", wait: float = 60.0
) -> ProcessServer:
    """Start ``command`` (which must listen on 127.0.0.1:``port``) and wait until ``ready_path`` answers 200.

    The process's stdout and stderr go to a temporary log file (a pipe could fill
    up and block it). Raises :class:`ServerStartError` with the log's tail when the
    process exits early or does not answer within ``wait`` seconds.
    """
    log = Path(tempfile.mkstemp(prefix="ponder-server-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait
    while True:
        if process.poll() is not None:
            raise ServerStartError(
                f"{command[0]} exited with code {process.returncode} before answering; its output:\n{_log_tail(log)}"
            )
        try:
            with urllib.request.urlopen(base + ready_path, timeout=2) as response:
                if response.status == 200:
                    return ProcessServer(process, base + "/v1", log)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            stop_process(process)
            raise ServerStartError(
                f"{' '.join(command[:4])} ... did not answer {ready_path} within {wait:g} s; its output:\n"
                f"{_log_tail(log)}"
            )
        time.sleep(0.2)


def stop_process(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Terminate ``process``; kill it if it has not exited after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace)
