"""``http_get``: fetch a web page from an allowlist of hosts.

Off unless the user names the hosts. An allowlist entry is a host name
(``example.com``, any port), a host and port (``127.0.0.1:8000``) or a
wildcard for subdomains (``*.example.com``). Only ``http``/``https`` URLs
without user info are fetched; redirects are followed by hand (at most 5), each
one checked against the allowlist, so a redirect to another host is refused.
The body is read up to ``max_bytes`` (the rest is cut with a marker), the
whole fetch is bounded by ``timeout`` seconds, binary content types are
refused, and HTML is reduced to its text. Proxy settings from the environment
are ignored unless ``trust_env=True``.

The ``timeout`` is a hard deadline for the whole fetch, not per read: a server
that drips one header line every few seconds would keep a per-read timeout happy
forever, so a watchdog shuts the fetch's sockets down when the deadline passes
(connections are not kept alive between calls, so every socket of a fetch is
its own). The engine's deadline for the tool call is a little longer, as a
second line of defence.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import ConfigError
from ..guards.netloc import format_host_port, parse_host_port
from .base import DEFAULT_MAX_OUTPUT, Tool, ToolError, ToolResult

MAX_REDIRECTS = 5
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml", "application/javascript")


class Allowlist:
    """Which hosts (and ports) may be fetched."""

    def __init__(self, hosts: Iterable[str]) -> None:
        self.entries: list[tuple[str, int | None]] = []
        for raw in hosts:
            entry = raw.strip().lower()
            if not entry:
                continue
            if "/" in entry or "@" in entry:
                raise ConfigError(f"http allowlist entries are host names (optionally host:port), got {raw!r}")
            self.entries.append(parse_host_port(entry))  # [::1]:8000, host:port, bare ::1
        if not self.entries:
            raise ConfigError("http_get needs at least one allowed host (e.g. http:example.com)")

    def allows(self, host: str, port: int | None) -> bool:
        host = host.lower().rstrip(".")
        for allowed, allowed_port in self.entries:
            if allowed_port is not None and allowed_port != port:
                continue
            if host == allowed or (allowed.startswith("*.") and host.endswith(allowed[1:])):
                return True
        return False

    def __str__(self) -> str:
        return ", ".join(format_host_port(h, p) for h, p in self.entries)


def check_url(url: str, allow: Allowlist) -> str:
    """``url`` if it may be fetched; ToolError saying why not otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ToolError(f"only http and https URLs can be fetched, got {parts.scheme or 'no scheme'!r}")
    if parts.username is not None or parts.password is not None:
        raise ToolError("URLs with user names or passwords are not allowed")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ToolError(f"bad port in URL: {exc}") from None
    host = parts.hostname or ""
    if not host or not allow.allows(host, port):
        raise ToolError(f"host {host or '(none)'!r} is not allowed; allowed: {allow}")
    return url.strip()


def http_get_tool(
    allow_hosts: Iterable[str] | str,
    max_bytes: int = 200_000,
    timeout: float = 10.0,
    *,
    max_output: int = DEFAULT_MAX_OUTPUT,
    trust_env: bool = False,
) -> Tool:
    """An ``http_get(url)`` tool limited to ``allow_hosts`` (a list, or a string split on ``|`` and ``,``)."""
    import httpx

    hosts = allow_hosts.replace("|", ",").split(",") if isinstance(allow_hosts, str) else list(allow_hosts)
    allow = Allowlist(hosts)
    if max_bytes < 1 or timeout <= 0:
        raise ConfigError("http_get: max_bytes and timeout must be positive")
    limits = httpx.Limits(max_keepalive_connections=0)  # a fresh connection per request: see the module doc
    client = httpx.Client(follow_redirects=False, timeout=timeout, trust_env=trust_env, limits=limits)

    def http_get(url: str) -> ToolResult:
        deadline = time.monotonic() + timeout
        current = check_url(url, allow)
        with _Watchdog(timeout) as watchdog:
            for _ in range(MAX_REDIRECTS + 1):
                try:
                    with client.stream(
                        "GET",
                        current,
                        headers={"Accept": "text/*, application/json"},
                        extensions={"trace": watchdog.trace},
                    ) as response:
                        if response.is_redirect:
                            location = response.headers.get("location", "")
                            current = check_url(urljoin(current, location), allow)
                            continue
                        return _read(response, current, max_bytes, deadline)
                except httpx.HTTPError as exc:
                    if watchdog.fired:
                        raise ToolError(f"timed out: no complete response within {timeout:g} s") from None
                    raise ToolError(f"{type(exc).__name__}: {exc}") from None
        raise ToolError(f"too many redirects (more than {MAX_REDIRECTS})")

    description = f"Fetch a web page (http or https) and return its text. Allowed hosts: {allow}."
    parameters = {
        "type": "object",
        "properties": {"url": {"type": "string", "description": "the full URL, e.g. https://example.com/page"}},
        "required": ["url"],
    }
    return Tool(
        "http_get", description, parameters, http_get, max_output=max_output, close=client.close, timeout=timeout + 5
    )


class _Watchdog:
    """Shuts down every socket one fetch opened once ``seconds`` have passed (unblocking any read)."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: remember each new connection's socket."""
        if event == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                with self._lock:
                    self._sockets.append(sock)
                    late = self.fired
                if late:
                    self._shut(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _read(response: Any, url: str, max_bytes: int, deadline: float) -> ToolResult:
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and not kind.startswith(_TEXT_TYPES) and not kind.endswith(("+json", "+xml")):
        raise ToolError(f"{url} returned {kind} content, which is not text")
    body = bytearray()
    cut = False
    for chunk in response.iter_bytes():
        body.extend(chunk)
        if len(body) > max_bytes:
            cut = True
            del body[max_bytes:]
            break
        if time.monotonic() > deadline:
            raise ToolError("timed out while reading the response")
    text = body.decode(response.encoding or "utf-8", errors="replace")
    if kind in ("text/html", "application/xhtml+xml"):
        text = html_to_text(text)
    if cut:
        text += f"\n[... truncated: the response is longer than {max_bytes} bytes]"
    if response.status_code >= 400:
        return ToolResult(False, text, f"HTTP {response.status_code} {response.reason_phrase}", cut)
    return ToolResult(True, text, None, cut)


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "pre"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The visible text of an HTML page, one block per line."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
