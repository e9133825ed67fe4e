"""A generated haystack with one needle: a long input that needs no data files.

:func:`write_haystack` writes about ``tokens`` tokens of plausible, varied filler (sentences made from a
seeded vocabulary of town-council minutes: who reviewed what, where, when, for how much) and puts one
needle sentence at a relative ``depth``, at a sentence boundary. The filler's own numbers are years,
amounts and counts, never the needle's six-digit code, so the answer is only where the needle is.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

#: bytes per token of the filler for the embedded model's tokenizer (measured: 4.3-4.5)
BYTES_PER_TOKEN = 4.4

_WHO = ("The council", "The harbor board", "A delegation from the mill", "The school committee", "Mayor Alda Brennan",
        "The planning office", "Two fishermen", "The library trustees", "The water authority", "A farmer from Elm Ridge",
        "The treasurer", "The fire brigade", "The market guild", "Several residents", "The bridge engineer")  # fmt: skip
_DID = ("reviewed", "approved", "postponed", "questioned", "presented", "amended", "rejected", "summarised",
        "debated", "praised", "inspected", "estimated")  # fmt: skip
_WHAT = ("the budget for the north road", "a plan to repaint the lighthouse", "the winter ferry timetable",
         "repairs to the grain store", "the price of harbor permits", "a new bench by the fountain",
         "the schedule of the spring fair", "the report on the flooded cellars", "a request for more lamps",
         "the accounts of the old tannery", "the survey of the east orchard", "a petition about noisy carts")  # fmt: skip
_WHEN = ("in March", "after a long silence", "before the vote", "at the second reading", "late in the evening",
         "over tea", "with some reluctance", "in the presence of the clerk", "for the third time")  # fmt: skip
_TAIL = ("The cost was put at {n} crowns.", "The motion passed by {k} votes to {j}.", "The matter goes back to {y}.",
         "Nobody spoke against it.", "The clerk noted {k} objections.", "It was left to the autumn meeting.",
         "The minutes of {y} were read aloud.", "{k} people signed the list.")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Haystack:
    path: Path
    bytes: int
    #: the needle's offset in bytes, and its depth (0..1)
    offset: int
    depth: float


def _sentence(rng: random.Random) -> str:
    main = f"{rng.choice(_WHO)} {rng.choice(_DID)} {rng.choice(_WHAT)} {rng.choice(_WHEN)}."
    tail = rng.choice(_TAIL).format(n=rng.randint(12, 980), k=rng.randint(2, 40), j=rng.randint(0, 9),
                                    y=rng.randint(1820, 1899))  # fmt: skip
    return f"{main} {tail}"


def write_haystack(path: Path, tokens: int, needle: str, depth: float = 0.5, seed: int = 7) -> Haystack:
    """Write about ``tokens`` tokens of filler with ``needle`` at ``depth`` into ``path``."""
    if not 0.0 <= depth <= 1.0:
        raise ValueError("depth must be between 0 and 1")
    rng = random.Random(seed)
    target = int(tokens * BYTES_PER_TOKEN)
    at = int(target * depth)
    written, offset = 0, -1
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            paragraph = " ".join(_sentence(rng) for _ in range(rng.randint(3, 7))) + "\n\n"
            if offset < 0 and written + len(paragraph) >= at:
                out.write(needle + " ")
                offset = written
                written += len(needle) + 1
            out.write(paragraph)
            written += len(paragraph)
    return Haystack(path, written, offset, offset / max(1, written))
