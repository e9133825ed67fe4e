"""Who may set each field of a :class:`~ponder.spec.RunSpec` and of its parts (see :mod:`ponder.access`).

Strategy options declare their access in their registry entries; verifier and extraction kinds in
``ponder.verifiers.specs.ACCESS`` and ``ponder.extract.ACCESS``; the run's own fields here, as data, one
table per part. :func:`ponder.spec.client.client_spec` reads these tables; a test fails when a field of
a part has no entry.
"""

from __future__ import annotations

from ..access import CLIENT, OPERATOR, Access

#: the run spec's own fields
RUN: dict[str, Access] = {
    "strategy": CLIENT,  # each node's options, slots and verifier are checked by their own declarations
    "question": CLIENT,
    "history": CLIENT,
    "context_text": CLIENT,  # the long input a client sends as earlier messages (recursive)
    "budget": CLIENT,  # within the operator's limits (OperatorPolicy)
    "options": CLIENT,  # the generation options below
    "memory": CLIENT,
    "version": CLIENT,
    "models": OPERATOR,  # a model; a client names one of those the operator listed (--allow-model)
    "tools": OPERATOR,  # tools touch files, hosts, code
    "stop": OPERATOR,  # learned:PATH names a file
    "context": OPERATOR,  # a path on the server's disk
    "context_fingerprint": OPERATOR,
    "store": OPERATOR,
    "record": OPERATOR,
    "cache": OPERATOR,
    "trace": OPERATOR,  # a file to write
    "max_parallel_calls": OPERATOR,  # the server's threads
    "session": OPERATOR,  # a REPL kept in the server's store
    "prices": OPERATOR,  # the operator's price table (--prices)
}

#: the budget's fields: a client may ask for less than the operator's limit, never more
BUDGET: dict[str, Access] = {
    "max_steps": CLIENT,
    "max_model_calls": CLIENT,
    "max_tokens": CLIENT,
    "max_seconds": CLIENT,
    "max_depth": CLIENT,
    "max_usd": CLIENT,
}

#: the generation options (``max_tokens`` within the operator's limit; a grammar is checked before it runs)
OPTIONS: dict[str, Access] = {
    "temperature": CLIENT,
    "max_tokens": CLIENT,
    "seed": CLIENT,
    "stop": CLIENT,
    "top_p": CLIENT,
    "grammar": CLIENT,
    "tool_choice": CLIENT,
}

MEMORY: dict[str, Access] = {"mode": CLIENT, "threshold": CLIENT}
