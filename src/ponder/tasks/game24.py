"""The Game of 24 as a tree-search task (Yao et al., "Tree of Thoughts", 2023).

A state is the numbers still left (each with the expression that made it) and
the steps taken. A thought is one step, ``a op b = c (left: ...)``. Every
proposed step goes through :func:`~ponder.tasks.game24_math.check_step`: a step
that uses a number that is not there, divides by zero or gets the arithmetic
wrong is rejected (shown in the tree as ``invalid``, never expanded). When one
number is left the state is final: it is a solution if the expression built
from its steps passes :func:`~ponder.tasks.game24_math.check_expression`
(each input used once, exactly 24), otherwise it is dead without a model call.

``arithmetic`` chooses who computes a step's result:

* ``"model"``: the model writes the whole step, ``a op b = c (left: ...)``, and
  the checker rejects wrong results and wrong ``left`` lists;
* ``"result"``: as ``"model"``, but only the result ``c`` is checked; the
  program works out which numbers are left (small models add better than they
  keep track of a list);
* ``"program"`` (default): the model only picks ``a op b``; the checker fills
  in ``= c (left: ...)`` exactly. Small models choose operations far better
  than they add, so this is where a weak model is rescued.

In both modes the final expression is assembled from the checked steps by the
program (the model never writes it). The model also judges states
(sure/likely/impossible), unless the strategy is given another evaluator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from ..errors import ConfigError
from ..requests import Generate
from ..steps import PROPOSE, THOUGHT, VALUE, VOTE
from .base import VALUE_GRAMMAR, Rejected, chat_prompt, numbered, split_thoughts, vote_grammar
from .game24_math import TARGET, check_expression, check_step, fmt, numbers_text, parse_puzzle

_NUMBER = '"-"? [0-9]+ ("/" [0-9]+)?'


@dataclass(frozen=True, slots=True)
class Game24State:
    """The puzzle's numbers, what is left (value, expression) and the steps taken."""

    inputs: tuple[int, ...]
    items: tuple[tuple[Fraction, str], ...]
    steps: tuple[str, ...] = ()

    @classmethod
    def start(cls, inputs: Sequence[int]) -> Game24State:
        return cls(tuple(inputs), tuple((Fraction(n), str(n)) for n in inputs))

    @property
    def numbers(self) -> tuple[Fraction, ...]:
        return tuple(sorted(v for v, _ in self.items))

    def combine(self, a: Fraction, op: str, b: Fraction, result: Fraction, step: str) -> Game24State:
        """The state after ``a op b = result`` (``a`` and ``b`` must be available)."""
        items = list(self.items)
        ia = next(i for i, (v, _) in enumerate(items) if v == a)
        ea = items.pop(ia)[1]
        ib = next(i for i, (v, _) in enumerate(items) if v == b)
        eb = items.pop(ib)[1]
        items.append((result, f"({ea} {op} {eb})"))
        return Game24State(self.inputs, tuple(items), (*self.steps, step))

    @property
    def expression(self) -> str | None:
        """The expression for the last number, once only one is left."""
        if len(self.items) != 1:
            return None
        text = self.items[0][1]
        return text[1:-1] if text.startswith("(") and text.endswith(")") else text


def _grammar(k: int, full: bool, numbers: Sequence[Fraction]) -> str:
    """Up to ``k`` step lines whose operands are among ``numbers`` (``full``: with ``= c (left: ...)``)."""
    operand = " | ".join(f'"{fmt(n)}"' for n in sorted(set(numbers)))
    tail = ' " = " num " (left:" (" " num)* ")"' if full else ""
    lines = " ".join(["line"] + ["line?"] * (k - 1))
    return (
        f'root ::= {lines}\nline ::= operand " " op " " operand{tail} "\\n"\n'
        f'op ::= "+" | "-" | "*" | "/"\noperand ::= {operand}\nnum ::= {_NUMBER}\n'
    )


@dataclass(frozen=True, slots=True)
class Game24:
    """Use four numbers and + - * / to make 24 (see the module docs)."""

    arithmetic: Literal["model", "result", "program"] = "program"
    constrained: bool = False
    name: str = "game24"
    has_final_check: bool = True
    depth: int | None = 3

    def __post_init__(self) -> None:
        if self.arithmetic not in ("model", "result", "program"):
            raise ConfigError(f"game24 arithmetic must be 'model', 'result' or 'program', not {self.arithmetic!r}")

    def root(self, question: str) -> Game24State:
        numbers = parse_puzzle(question)
        if numbers is None:
            raise ConfigError(
                f"not a Game of 24 puzzle (expected four numbers, e.g. 'Use 4 9 10 13 to make 24'): {question!r}"
            )
        return Game24State.start(numbers)

    def describe(self, state: Game24State) -> str:
        return f"left: {numbers_text(state.numbers)}"

    def thought(self, state: Game24State) -> str:
        return state.steps[-1] if state.steps else f"numbers: {' '.join(map(str, state.inputs))}"

    def key(self, state: Game24State) -> str:
        return numbers_text(state.numbers)

    def propose(self, state: Game24State, k: int) -> Generate:
        full = self.arithmetic != "program"
        name = "game24/propose_model" if full else "game24/propose"
        messages = chat_prompt(name, numbers=numbers_text(state.numbers))
        grammar = _grammar(max(1, k), full, state.numbers) if self.constrained else None
        return Generate.of(messages, kind=PROPOSE, stop=("\n\n",), grammar=grammar)

    def sample(self, state: Game24State) -> Generate:
        full = self.arithmetic != "program"
        name = "game24/propose_model" if full else "game24/propose"
        messages = chat_prompt(name, numbers=numbers_text(state.numbers))
        grammar = _grammar(1, full, state.numbers) if self.constrained else None
        return Generate.of(messages, kind=THOUGHT, stop=("\n",), grammar=grammar)

    def expand(self, state: Game24State, text: str, limit: int) -> list[Game24State | Rejected]:
        out: list[Game24State | Rejected] = []
        for line in split_thoughts(text):
            if len(out) >= limit:
                break
            program, result = self.arithmetic == "program", self.arithmetic == "result"
            check = check_step(state.numbers, line, compute=program, check_left=not result)
            if not check.ok:
                out.append(Rejected(line, check.reason))
                continue
            out.append(state.combine(check.a, check.op, check.b, check.result, check.step))
        return out

    def value(self, state: Game24State) -> Generate:
        messages = chat_prompt("game24/value", numbers=numbers_text(state.numbers))
        return Generate.of(messages, kind=VALUE, stop=("\n",), grammar=VALUE_GRAMMAR)

    def vote(self, candidates: Sequence[Game24State]) -> Generate:
        choices = numbered([numbers_text(c.numbers) for c in candidates])
        messages = chat_prompt("game24/vote", choices=choices)
        return Generate.of(messages, kind=VOTE, stop=("\n",), grammar=vote_grammar(len(candidates)))

    def is_final(self, state: Game24State) -> bool:
        return len(state.items) <= 1

    def solution(self, state: Game24State) -> str | None:
        expression = state.expression
        if expression is None or state.items[0][0] != TARGET:
            return None
        return expression if check_expression(expression, state.inputs).ok else None

    def dead(self, state: Game24State) -> str | None:
        if not self.is_final(state) or self.solution(state) is not None:
            return None
        return f"ends at {fmt(state.items[0][0])}, not 24"

    def answer(self, state: Game24State) -> Generate | None:
        return None

    def parse_answer(self, state: Game24State, text: str) -> str | None:
        return self.solution(state)
