"""What an OpenAI-compatible server supports: its kind, from configuration or a cheap probe.

``--server-kind llamacpp|vllm|ollama|openai|auto`` (``ModelSpec.server_kind``)
names the server. ``auto`` (the default) probes it once per base URL, with a
few GET requests of a second each, read in this order:

* ``GET /v1/models``: vLLM (``owned_by: vllm``, ``max_model_len``), llama.cpp's
  ``llama-server`` (``owned_by: llamacpp``), llama-cpp-python's server (``owned_by: me``);
* ``GET /props``: ``llama-server``'s ``n_ctx`` (the window it serves);
* ``GET /api/version``: Ollama (its ``/api/show`` lists whether the model has ``tools``);
* no base URL: the OpenAI API.

A server none of these identify is ``generic``: standard fields only. The
result is kept in this process per base URL and, when ``PONDER_PROBE_CACHE``
is set (``on``, or a file path), on disk for an hour.

What each kind gets (:class:`ServerInfo`): the constraint fields of
:mod:`ponder.grammar.constraint`, whether ``tool_choice`` is sent, whether native
tool calls are trusted (``--tool-protocol auto``), a tokenizer endpoint for
window checks, and the window where the server reports one. A field a server
rejects (HTTP 400/422 naming it) is added to :attr:`ServerInfo.rejected` and
never sent to that server again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigError

ServerKind = Literal["llamacpp", "vllm", "ollama", "openai", "generic"]
SERVER_KINDS: tuple[str, ...] = ("auto", "llamacpp", "vllm", "ollama", "openai")
#: how a grammar/schema is sent: llama.cpp's ``grammar``, vLLM's ``structured_outputs`` (>= 0.10.2) or
#: ``guided_*`` fields, ``response_format`` with a JSON schema, or nothing
ConstraintStyle = Literal["grammar", "structured_outputs", "guided", "json_schema", "none"]
PROBE_SECONDS = 1.5
DISK_TTL = 3600.0

log = logging.getLogger("ponder.models")
#: what a probe request returns when nothing answered at all (connection refused, timeout)
DOWN = object()


@dataclass
class ServerInfo:
    """What one server supports (see the module docs); ``rejected`` grows as the server refuses fields."""

    kind: ServerKind
    constraint: ConstraintStyle = "none"
    tool_choice: bool = False
    #: whether ``--tool-protocol auto`` uses native tool calls on this server
    native_tools: bool = False
    #: ``POST`` path and flavour of a tokenizer: ``llamacpp`` (/tokenize), ``llama-cpp-python``
    #: (/extras/tokenize/count), ``vllm`` (/tokenize with messages), or None
    tokenizer: str | None = None
    #: the window the server reports (``n_ctx``, ``max_model_len``), None when it reports none
    context_window: int | None = None
    version: str | None = None
    rejected: set[str] = field(default_factory=set)
    #: False when no probe got an answer (the server is down): not kept, probed again next time
    reached: bool = True
    #: replies in a row without a tool call to requests that required one (see :func:`note_tool_reply`)
    ignored_tools: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejected"] = sorted(self.rejected)
        return data


def info_for(kind: str) -> ServerInfo:
    """The capabilities of a configured server kind (nothing probed)."""
    if kind == "llamacpp":
        return ServerInfo("llamacpp", "grammar", tool_choice=True, native_tools=False, tokenizer="llamacpp")
    if kind == "vllm":
        return ServerInfo("vllm", "structured_outputs", tool_choice=True, native_tools=True, tokenizer="vllm")
    if kind == "ollama":
        return ServerInfo("ollama", "json_schema", tool_choice=False, native_tools=False)
    if kind == "openai":
        return ServerInfo("openai", "json_schema", tool_choice=True, native_tools=True)
    if kind == "generic":
        return ServerInfo("generic", "none", tool_choice=True, native_tools=True)
    raise ConfigError(f"unknown server kind {kind!r} (use {', '.join(SERVER_KINDS)})")


_memory: dict[str, ServerInfo] = {}
_lock = threading.Lock()


def server_info(base_url: str | None, kind: str, model: str, client: Any | None = None) -> ServerInfo:
    """The capabilities of the server at ``base_url`` for ``kind`` (``auto``: probed once, cached per URL).

    ``client`` is an ``httpx.Client``-like object with ``get``/``post`` (the openai SDK's own); the
    probes use it so that they share its connection pool.
    """
    if kind not in SERVER_KINDS:
        raise ConfigError(f"unknown server kind {kind!r} (use {', '.join(SERVER_KINDS)})")
    key = f"{kind} {root_url(base_url) if base_url else 'openai'} {model}"
    with _lock:
        known = _memory.get(key)
        if known is not None:
            return known
        if kind != "auto":
            found = info_for(kind)
            if base_url is not None:
                _detail(found, root_url(base_url), model, client)
        elif base_url is None:
            found = info_for("openai")
        else:
            stored = _from_disk(key)
            found = stored or probe(root_url(base_url), model, client)
            if stored is None and found.reached:
                _to_disk(key, found)
        if found.reached:
            _memory[key] = found
        return found


def forget(base_url: str | None = None) -> None:
    """Drop the cached capabilities (of one base URL, or all), e.g. after a server was replaced."""
    with _lock:
        if base_url is None:
            _memory.clear()
            return
        root = root_url(base_url)
        for key in [k for k in _memory if f" {root} " in k]:
            del _memory[key]


def root_url(base_url: str) -> str:
    """The server's root: ``http://host:8000/v1`` -> ``http://host:8000``."""
    parts = urlsplit(base_url.rstrip("/"))
    path = parts.path[: -len("/v1")] if parts.path.endswith("/v1") else parts.path
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def probe(root: str, model: str, client: Any | None = None) -> ServerInfo:
    """Identify the server at ``root`` with a few cheap GET requests (see the module docs)."""
    models = _get_json(client, f"{root}/v1/models")
    entries = models.get("data") if isinstance(models, dict) else None
    entry = _entry(entries, model)
    owner = str(entry.get("owned_by", "")).lower() if entry else ""
    if owner == "vllm" or (entry and "max_model_len" in entry):
        found = info_for("vllm")
        window = entry.get("max_model_len") if entry else None
        found.context_window = int(window) if isinstance(window, int) else None
        version = _get_json(client, f"{root}/version")
        found.version = str(version.get("version")) if isinstance(version, dict) and version.get("version") else None
        found.constraint = vllm_style(found.version)
        return found
    if owner in ("llamacpp", "me"):
        found = info_for("llamacpp")
        if owner == "me":  # llama-cpp-python's server: its own tokenizer route, no /props
            found.tokenizer = "llama-cpp-python"
            return found
        _detail(found, root, model, client)
        return found
    props = _get_json(client, f"{root}/props")
    if isinstance(props, dict) and "default_generation_settings" in props:
        found = info_for("llamacpp")
        found.context_window = _n_ctx(props)
        return found
    version = _get_json(client, f"{root}/api/version")
    if isinstance(version, dict) and "version" in version:
        found = info_for("ollama")
        found.version = str(version["version"])
        _detail(found, root, model, client)
        return found
    found = info_for("generic")
    found.reached = any(answer is not DOWN for answer in (models, props, version))
    return found


def vllm_style(version: str | None) -> ConstraintStyle:
    """vLLM took ``guided_*`` fields up to 0.10.1 and ``structured_outputs`` from 0.10.2."""
    if not version:
        return "guided"
    numbers = []
    for part in version.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit())
        numbers.append(int(digits) if digits else 0)
    return "structured_outputs" if tuple(numbers) >= (0, 10, 2) else "guided"


def _detail(found: ServerInfo, root: str, model: str, client: Any | None) -> None:
    """What a configured kind reports about itself: llama-server's window, Ollama's tool support."""
    if found.kind == "llamacpp":
        props = _get_json(client, f"{root}/props")
        found.context_window = _n_ctx(props) if isinstance(props, dict) else None
    elif found.kind == "ollama":
        shown = _post_json(client, f"{root}/api/show", {"model": model})
        capabilities = shown.get("capabilities") if isinstance(shown, dict) else None
        found.native_tools = isinstance(capabilities, list) and "tools" in capabilities


def _n_ctx(props: dict[str, Any]) -> int | None:
    settings = props.get("default_generation_settings")
    value = settings.get("n_ctx") if isinstance(settings, dict) else None
    value = value if value is not None else props.get("n_ctx")
    return int(value) if isinstance(value, int) and value > 0 else None


def _entry(entries: Any, model: str) -> dict[str, Any] | None:
    if not isinstance(entries, list) or not entries:
        return None
    dicts = [e for e in entries if isinstance(e, dict)]
    for e in dicts:
        if e.get("id") == model:
            return e
    return dicts[0] if dicts else None


def _get_json(client: Any | None, url: str) -> Any:
    return _call(client, "GET", url, None)


def _post_json(client: Any | None, url: str, body: dict[str, Any]) -> Any:
    return _call(client, "POST", url, body)


def _call(client: Any | None, method: str, url: str, body: dict[str, Any] | None) -> Any:
    import httpx

    try:
        if client is None:
            response = httpx.request(method, url, json=body, timeout=PROBE_SECONDS)
        else:
            response = client.request(method, url, json=body, timeout=PROBE_SECONDS)
    except (httpx.HTTPError, OSError):
        return DOWN
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


# -- the optional disk cache ------------------------------------------------------


def _disk_path() -> Path | None:
    setting = os.environ.get("PONDER_PROBE_CACHE", "").strip()
    if setting.lower() in ("", "0", "off", "no"):
        return None
    if setting.lower() in ("1", "on", "yes"):
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return base / "ponder" / "servers.json"
    return Path(setting).expanduser()


def _read_disk(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _from_disk(key: str) -> ServerInfo | None:
    path = _disk_path()
    if path is None:
        return None
    entry = _read_disk(path).get(key)
    if not isinstance(entry, dict) or time.time() - float(entry.get("time", 0)) > DISK_TTL:
        return None
    try:
        data = dict(entry["info"])
        data["rejected"] = set(data.get("rejected", ()))
        return ServerInfo(**data)
    except (KeyError, TypeError):
        return None


def _to_disk(key: str, info: ServerInfo) -> None:
    path = _disk_path()
    if path is None:
        return
    data = _read_disk(path)
    data[key] = {"time": time.time(), "info": info.to_dict()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:  # a cache only: the run goes on without it
        log.debug("cannot write the server cache %s: %s", path, exc)


#: replies in a row that ignored ``tool_choice: required`` after which native tools are not trusted
IGNORED_TOOLS = 2


def note_tool_reply(info: ServerInfo, called: bool, where: str) -> None:
    """Count a reply to a request that required a tool call: a server that keeps ignoring the tools
    loses ``native_tools`` (react's ``--tool-protocol auto`` then picks the text protocol), logged once."""
    if called:
        info.ignored_tools = 0
        return
    info.ignored_tools += 1
    if info.ignored_tools >= IGNORED_TOOLS and info.native_tools:
        info.native_tools = False
        log.warning("%s ignores native tool calls; runs from now on use react's text protocol", where)


def remember_rejection(info: ServerInfo, name: str, where: str) -> None:
    """Record that the server refused request field ``name``; logged once per server and field."""
    if name not in info.rejected:
        info.rejected.add(name)
        log.warning("%s rejected the request field %r; sending calls without it from now on", where, name)
