"""``HOST[:PORT]`` as a user writes it (an ``http:`` allowlist entry): names, IPv4 and bracketed IPv6.

``[::1]:8000`` is the IPv6 loopback on port 8000, ``[::1]`` and a bare ``::1`` the address on any
port; ``example.com:8080`` a name with a port. Anything else (an unclosed bracket, a port that is
not a number from 1 to 65535, a bare IPv6 address with a port glued on) is a ConfigError, never a
silent misreading.
"""

from __future__ import annotations

import ipaddress

from ..errors import ConfigError


def parse_host_port(raw: str) -> tuple[str, int | None]:
    """``(host, port or None)`` of ``raw`` (lower-cased, IPv6 without brackets); ConfigError when malformed."""
    entry = raw.strip().lower()
    if entry.startswith("["):
        address, bracket, rest = entry[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ConfigError(f"bad host in {raw!r}: an IPv6 address is written [ADDRESS] or [ADDRESS]:PORT")
        _ipv6(address, raw)
        return address, _port(rest[1:], raw) if rest else None
    if entry.count(":") > 1:  # a bare IPv6 address: no port can follow it unambiguously
        _ipv6(entry, raw)
        return entry, None
    host, colon, port = entry.partition(":")
    if not host or "[" in host or "]" in host:
        raise ConfigError(f"bad host in {raw!r}")
    return host, _port(port, raw) if colon else None


def format_host_port(host: str, port: int | None) -> str:
    """``host[:port]`` as :func:`parse_host_port` reads it back (an IPv6 address in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def _ipv6(address: str, raw: str) -> None:
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        raise ConfigError(f"bad IPv6 address in {raw!r} (write [ADDRESS]:PORT for a port)") from None


def _port(text: str, raw: str) -> int:
    if not text.isdigit() or len(text) > 5 or not 1 <= int(text) <= 65535:
        raise ConfigError(f"bad port in {raw!r} (a number from 1 to 65535)")
    return int(text)
