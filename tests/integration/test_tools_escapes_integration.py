"""Confinement: read_file/search stay in their folder; http_get stays on its allowlist.

These tests start a process, a server or a real model; the others are in tests/unit/test_tools_escapes.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ponder.tools import http_get_tool

# --- http_get ---------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        port = self.server.server_address[1]
        routes = {
            "/hello": (200, "text/plain", b"hello from the test server"),
            "/page": (
                200,
                "text/html",
                b"<html><head><title>t</title><script>x()</script></head><body><h1>Title</h1><p>Some <b>bold</b> text.</p></body></html>",
            ),
            "/big": (200, "text/plain", b"a" * 5000),
            "/image": (200, "image/png", b"\x89PNG"),
            "/missing": (404, "text/plain", b"not here"),
        }
        if self.path == "/redirect-inside":
            self._redirect(f"http://127.0.0.1:{port}/hello")
        elif self.path == "/redirect-outside":
            self._redirect(f"http://localhost:{port}/hello")
        elif self.path == "/redirect-loop":
            self._redirect("/redirect-loop")
        elif self.path in routes:
            status, kind, body = routes[self.path]
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(500)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.integration
def test_http_get_allowlist(server: str) -> None:
    get = http_get_tool("127.0.0.1", max_bytes=1000, timeout=5)
    try:
        assert get.invoke({"url": f"{server}/hello"}).output == "hello from the test server"
        assert get.invoke({"url": f"{server}/page"}).output == "Title\nSome bold text."
        assert get.invoke({"url": f"{server}/redirect-inside"}).output == "hello from the test server"
        port = server.rsplit(":", 1)[1]
        assert get.invoke({"url": f"{server}/redirect-outside"}).error == (
            "host 'localhost' is not allowed; allowed: 127.0.0.1"
        )
        assert get.invoke({"url": f"http://localhost:{port}/hello"}).error == (
            "host 'localhost' is not allowed; allowed: 127.0.0.1"
        )
        assert get.invoke({"url": f"{server}/redirect-loop"}).error == "too many redirects (more than 5)"
        big = get.invoke({"url": f"{server}/big"})
        assert big.ok and big.truncated
        assert big.output == "a" * 1000 + "\n[... truncated: the response is longer than 1000 bytes]"
        assert (
            get.invoke({"url": f"{server}/image"}).error
            == f"{server}/image returned image/png content, which is not text"
        )
        missing = get.invoke({"url": f"{server}/missing"})
        assert (missing.ok, missing.output, missing.error) == (False, "not here", "HTTP 404 Not Found")
    finally:
        get.close()
