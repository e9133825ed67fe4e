"""Helpers shared by tests/unit/test_remote_servers.py and tests/integration/test_remote_servers_integration.py."""

from __future__ import annotations

from typing import Any

from servers import FakeChatServer


def models_route(owner: str, **extra: Any) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": owner, **extra}]}


def vllm(version: str = "0.11.0", window: int = 2048, **kw: Any) -> FakeChatServer:
    def tokenize(body: dict[str, Any]) -> dict[str, Any]:
        words = sum(len(m["content"].split()) for m in body["messages"])
        return {"count": words, "max_model_len": window, "tokens": list(range(words))}

    return FakeChatServer(
        get_routes={"/v1/models": models_route("vllm", max_model_len=window), "/version": {"version": version}},
        post_routes={"/tokenize": tokenize},
        **kw,
    )
