"""Long inputs for the ``recursive`` strategy: lazy sources, chunking and filtering.

A :class:`Context` is a string, a file or a folder of files; files are read
one block or chunk at a time with bounds-checked reads, so a multi-gigabyte
input is never loaded (and never loaded twice), and a file that shrinks or
vanishes while it is read is a :class:`ContextChangedError`, not a crash.
:func:`split` cuts it into overlapping chunks at sentence or line boundaries;
:func:`bm25_scores` ranks chunks against a question in one streaming pass;
:func:`records` cuts it into lines or sentences for aggregation (counting
questions). Unreadable files of a folder are skipped with a
:class:`ContextWarning` (and listed in ``Context.skipped``).
"""

from .chunks import Chunk, split
from .filter import bm25_scores, query_terms
from .reader import ContextChangedError, ContextFileError, ContextWarning
from .records import count_records, record_unit, records
from .source import Context, Document, open_context

__all__ = [
    "Chunk",
    "Context",
    "ContextChangedError",
    "ContextFileError",
    "ContextWarning",
    "Document",
    "bm25_scores",
    "count_records",
    "open_context",
    "query_terms",
    "record_unit",
    "records",
    "split",
]
