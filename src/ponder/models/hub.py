"""``hf:`` models: a GGUF from the Hugging Face Hub, through ``huggingface_hub`` and its cache.

Two forms (the second is llama.cpp's ``-hf`` syntax):

- ``hf:OWNER/REPO/PATH.gguf``: that file of the repository;
- ``hf:OWNER/REPO[:QUANT]``: the repository's GGUF of quantization ``QUANT`` (``Q4_K_M``, ``q8_0``, …:
  matched case-insensitively as a whole word of the file name). Without ``:QUANT`` the only GGUF of
  the repository, else its ``Q4_K_M``. Vision projectors (``mmproj*``) are never chosen; a model split
  into shards (``…-00001-of-00003.gguf``) is fetched whole and loaded from its first shard.

Files are fetched by the Hub's client into its own cache (``HF_HOME`` / ``HF_HUB_CACHE``; ``HF_TOKEN``
for private repos; its progress bars on stderr). A model the cache already holds (the cached snapshot
of ``main``, else the newest cached one) is loaded from it without asking the Hub: a run starts
without a request, and works offline; to take a newer upload, delete the cached one (``hf cache
delete``). With ``HF_HUB_OFFLINE=1`` a model not in the cache is one error line; when the Hub cannot be
reached, the client retries for about 25 seconds, then it is one error line too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ModelNotFoundError, ModelUnavailableError

INSTALL = "pip install 'ponder-rlm[hf]'"
DEFAULT_QUANT = "Q4_K_M"
#: file names listed in an error at most
SHOWN = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class HubRef:
    """A parsed ``hf:`` spec: the repository, and a file in it or a quantization (both None: choose)."""

    repo: str
    file: str | None = None
    quant: str | None = None


def parse(arg: str) -> HubRef:
    """``OWNER/REPO/PATH.gguf`` or ``OWNER/REPO[:QUANT]`` (the text after ``hf:``); anything else is a ConfigError."""
    usage = f"hf: takes OWNER/REPO/FILE.gguf or OWNER/REPO[:QUANT], not {arg[:200]!r}"
    head, sep, quant = arg.partition(":")
    pieces = head.split("/")
    if len(pieces) < 2 or not all(_NAME.match(p) for p in pieces[:2]):
        raise ConfigError(usage)
    repo = "/".join(pieces[:2])
    if len(pieces) > 2:
        file = "/".join(pieces[2:])
        bad = any(p in ("", ".", "..") for p in pieces[2:]) or not file.lower().endswith(".gguf")
        if sep or bad or len(file) > 500:
            raise ConfigError(usage)
        return HubRef(repo, file=file)
    if sep and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", quant):
        raise ConfigError(usage)
    return HubRef(repo, quant=quant or None)


def choose(files: Sequence[str], ref: HubRef) -> list[str]:
    """The files to fetch for ``ref`` among a repository's ``files`` (the one to load first)."""
    ggufs = sorted(f for f in files if f.lower().endswith(".gguf") and not Path(f).name.lower().startswith("mmproj"))
    if not ggufs:
        raise ModelNotFoundError(f"{ref.repo} has no GGUF file")
    groups: dict[str, list[str]] = {}
    for name in ggufs:  # the shards of one model form one group
        groups.setdefault(_SHARD.sub("", name), []).append(name)
    wanted = ref.quant or DEFAULT_QUANT
    matching = [key for key in groups if _has_quant(key, wanted)]
    if not matching and ref.quant is None and len(groups) == 1:
        matching = list(groups)
    if len(matching) != 1:
        quants = sorted({_quant_of(key) for key in groups})
        listed = ", ".join(quants[:SHOWN]) + (" …" if len(quants) > SHOWN else "")
        if not matching:
            raise ModelNotFoundError(f"{ref.repo} has no {wanted} GGUF; it has {listed}: name one, hf:{ref.repo}:QUANT")
        names = ", ".join(matching[:SHOWN])
        raise ModelNotFoundError(f"{ref.repo} has several {wanted} GGUFs ({names}): name one, hf:{ref.repo}/FILE")
    return groups[matching[0]]


def _has_quant(key: str, quant: str) -> bool:
    stem = key.lower().removesuffix(".gguf")
    return re.search(rf"(?:^|[-._/]){re.escape(quant.lower())}(?:$|[-./])", stem) is not None


def _quant_of(key: str) -> str:
    """The quantization named at the end of a file name (``…-Q4_K_M.gguf`` -> ``Q4_K_M``), else the name."""
    stem = Path(key).name.removesuffix(".gguf").removesuffix(".GGUF")
    found = re.search(r"(?i)(?:^|[-._])((?:i?q\d\w*|f16|bf16|f32))$", stem)
    return found.group(1) if found else Path(key).name


def resolve(arg: str, *, cache_dir: str | Path | None = None, offline: bool | None = None) -> Path:
    """The local path of the GGUF that ``hf:ARG`` names, fetched into the Hub's cache if it is not there.

    ``cache_dir``: the Hub's cache (default ``HF_HUB_CACHE``); ``offline``: never use the network
    (default ``HF_HUB_OFFLINE``)."""
    ref = parse(arg)
    hub = _hub()
    if offline is None:
        offline = bool(hub.constants.HF_HUB_OFFLINE)
    found = _from_cache(hub, ref, cache_dir, offline)
    if found is not None:
        return found
    spec = f"hf:{ref.repo}/{ref.file}" if ref.file else f"hf:{ref.repo}"
    if offline:
        raise ModelUnavailableError(
            f"{spec} is not in the Hugging Face cache and HF_HUB_OFFLINE is set: fetch it once online"
        )
    files = [ref.file] if ref.file is not None else choose(_list_files(hub, ref), ref)
    paths = [_download(hub, ref, name, cache_dir) for name in files]
    return paths[0]


def _hub() -> Any:
    try:
        import huggingface_hub
        import huggingface_hub.constants
        import huggingface_hub.errors  # submodules: the package's lazy attributes do not include them
    except ImportError:
        raise ModelUnavailableError(f"hf: models need the huggingface_hub package: {INSTALL}") from None
    return huggingface_hub


def _from_cache(hub: Any, ref: HubRef, cache_dir: str | Path | None, offline: bool) -> Path | None:
    """The model's path when the cache holds all its files (no request to the Hub), else None.

    Offline, a quantization the cached files lack is that error (it lists what the cache has)."""
    cached = _cached_snapshot(hub, ref.repo, cache_dir)
    if cached is None:
        return None
    snapshot, files = cached
    if ref.file is not None:
        wanted = [ref.file] if ref.file in files else []
    else:
        try:
            wanted = choose(files, ref)
        except ModelNotFoundError:
            if offline:
                raise
            return None
    paths = [snapshot / name for name in wanted]
    return paths[0] if paths and all(p.is_file() for p in paths) else None


def _cached_snapshot(hub: Any, repo: str, cache_dir: str | Path | None) -> tuple[Path, list[str]] | None:
    """``repo``'s cached snapshot of ``main`` (else its newest one) and its files, None when none is cached."""
    try:
        info = hub.scan_cache_dir(cache_dir)
    except (hub.CacheNotFound, OSError):
        return None
    for cached in info.repos:
        if cached.repo_id == repo and cached.repo_type == "model" and cached.revisions:
            newest = max(cached.revisions, key=lambda r: ("main" in r.refs, r.last_modified))
            snapshot = Path(newest.snapshot_path)
            return snapshot, [str(Path(f.file_path).relative_to(snapshot)) for f in newest.files]
    return None


def _list_files(hub: Any, ref: HubRef) -> list[str]:
    try:
        files: list[str] = hub.HfApi().list_repo_files(ref.repo)
    except hub.errors.RepositoryNotFoundError:
        raise ModelNotFoundError(_no_repo(ref.repo)) from None
    except Exception as exc:  # unreachable, down, or its HTTP client's own error
        raise ModelUnavailableError(_unreachable(f"hf:{ref.repo}", exc)) from None
    return files


def _download(hub: Any, ref: HubRef, name: str, cache_dir: str | Path | None) -> Path:
    spec = f"hf:{ref.repo}/{name}"
    try:
        path = hub.hf_hub_download(ref.repo, name, cache_dir=cache_dir)
    except hub.errors.RepositoryNotFoundError:
        raise ModelNotFoundError(_no_repo(ref.repo)) from None
    except hub.errors.LocalEntryNotFoundError as exc:  # not cached, and the Hub did not answer
        raise ModelUnavailableError(_unreachable(spec, exc)) from None
    except hub.errors.EntryNotFoundError:
        raise ModelNotFoundError(f"{ref.repo} has no file {name}") from None
    except Exception as exc:  # the Hub's HTTP errors, its client's own (httpx, requests), a full disk
        raise ModelUnavailableError(f"cannot fetch {spec}: {_first_line(exc)}") from None
    return Path(path)


def _no_repo(repo: str) -> str:
    return f"no Hugging Face model repository {repo} (or it is private or gated: set HF_TOKEN)"


def _unreachable(spec: str, exc: BaseException) -> str:
    return (
        f"{spec} is not in the Hugging Face cache and the Hub cannot be reached ({_first_line(exc)}); "
        "HF_HUB_OFFLINE=1 skips the Hub"
    )


def _first_line(exc: BaseException) -> str:
    """The first line of the error at the root of ``exc`` (the client wraps a refused connection in prose)."""
    root, seen = exc, 0
    while root.__cause__ is not None and seen < 10:
        root, seen = root.__cause__, seen + 1
    text = str(root).strip().splitlines()
    return (text[0] if text else type(root).__name__)[:200]
