"""Who may set a piece of a run: a client of ``ponder serve``, or only the operator.

Every option a run spec can hold declares one of the two, beside its type and bounds (strategy options in
their registry entries, verifier and extraction kinds in their modules, the run spec's own fields in
:mod:`ponder.spec.access`). :func:`ponder.spec.client.client_spec` builds a client's spec from the
client-safe ones only. Anything that names a file, a model, a tool, code execution or a server resource is
the operator's; an operator opens such a field to clients value by value (``ponder serve --allow-verifier``,
``--allow-model``, ``--allow-code``).
"""

from __future__ import annotations

from typing import Literal

Access = Literal["client", "operator"]
#: a client may set it (within the declaration's client bounds)
CLIENT: Access = "client"
#: only the operator sets it (flags, a spec file, the Python API), or opens it to clients value by value
OPERATOR: Access = "operator"

__all__ = ["CLIENT", "OPERATOR", "Access"]
