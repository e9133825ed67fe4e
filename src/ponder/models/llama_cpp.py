"""In-process GGUF models through ``llama-cpp-python`` (the embedded default).

KV prefix reuse: an iterative strategy re-sends a prompt that mostly equals the
previous one. ``llama-cpp-python`` keeps the KV cache of the last sequence and
only evaluates tokens past the longest common prefix. This backend renders
prompts itself (the GGUF's own chat template, deterministic, so the same
messages give the same bytes), and counts the prompt tokens that were really
evaluated by watching the model's ``eval`` calls, so every completion reports
both ``prompt_tokens`` (sent) and ``prompt_tokens_evaluated`` (processed).
Pass ``prefix_cache=False`` to evaluate every prompt from scratch.

Batched decoding (on by default; ``batched=False``, the spec's ``batched_decode: false`` or
``PONDER_BATCHED_DECODE=0`` turn it off): every call goes through one decode loop
(:mod:`ponder.models.llama_batch`) that evaluates the shared prefix of a batch's prompts once and
decodes up to ``max_sequences`` sequences in one pass per step, those of a batch
(:meth:`LlamaCppModel.complete_batch`) and those of concurrent callers (``ponder serve``) alike.
Off, calls are serialised with a lock: one call at a time, through ``Llama.create_completion``.

Sharing the cores with other processes (``sharing=``, or ``PONDER_LLAMA_SHARING``;
see :mod:`ponder.models.cpu_lock`): llama.cpp's threads spin at barriers, so two
processes each running as many threads as there are cores starve each other.
The default is ``split``: each call runs ``cores // callers`` threads, so concurrent processes each
get a share of the cores instead of spinning against each other. Measured on 2 cores, idle
(BENCHMARKS.md, "Several processes on the embedded model"): two concurrent refine runs took 51.6 s
with ``split`` against 42.7 s for one (1.21×), 81.8 s with ``lock`` (2.10×: the calls take turns),
and had not finished after 420 s without sharing.
"""

from __future__ import annotations

import os
import queue
import random
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ModelCallError, ModelUnavailableError, PonderError, PromptTooLong
from ..grammar.check import check_grammar
from ..guards.text import clean
from ..types import Completion, GenerationOptions, Message, Usage
from .base import BatchDone, TextCallback
from .batching import resolve_batched, resolve_sequences
from .cpu_lock import Sharer, Sharing, resolve_sharing, sharer
from .llama_batch import Scheduler
from .llama_sequence import Report, sampler_chain
from .llama_sequence import Sequence as Decoding

DEFAULT_CONTEXT = 8192
#: how this backend shares the cores with other processes unless told otherwise
DEFAULT_SHARING: Sharing = "split"


def default_threads() -> int:
    """Threads for generation: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _chatml(messages: Sequence[dict[str, str]]) -> str:
    parts = [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages]
    return "".join(parts) + "<|im_start|>assistant\n"


class LlamaCppModel:
    """A GGUF model run in this process."""

    supports_tools = False
    supports_concurrency = False
    supports_grammar = True
    #: small local models cannot write the code of recursive code mode (``coder`` can: ``writes_code=True``)
    writes_code = False

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        n_ctx: int | None = None,
        threads: int | None = None,
        prefix_cache: bool = True,
        seed: int = 0,
        sharing: Sharing | None = None,
        writes_code: bool = False,
        batched: bool | None = None,
        max_sequences: int | None = None,
    ) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelUnavailableError("GGUF models need llama-cpp-python (pip install llama-cpp-python)") from exc
        self.path = Path(path)
        self.name = name or f"gguf:{self.path}"
        self.spec = self.name
        self.writes_code = writes_code
        self.prefix_cache = prefix_cache
        self.threads = threads or default_threads()
        self.sharing = resolve_sharing(sharing, DEFAULT_SHARING)
        self._sharer: Sharer = sharer(self.sharing)
        self._threads_now = self.threads
        #: whether calls go through the batched decode loop (may be switched off at any time, e.g. to compare)
        self.batched = resolve_batched(batched)
        self.max_sequences = resolve_sequences(max_sequences)
        self._scheduler: Scheduler | None = None
        try:
            self._llm: Any = Llama(
                model_path=str(self.path),
                n_ctx=n_ctx or DEFAULT_CONTEXT,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                n_batch=512,
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelUnavailableError(f"cannot load the GGUF model {self.path}: {exc}") from None
        train_ctx = int(
            self._llm.metadata.get(f"{self._llm.metadata.get('general.architecture', '')}.context_length", 0)
        )
        self.context_window = min(self._llm.n_ctx(), train_ctx) if train_ctx else self._llm.n_ctx()
        self._formatter = self._make_formatter()
        self._lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        self._first_eval: int | None = None
        original_eval = self._llm.eval

        def counting_eval(tokens: Sequence[int]) -> None:
            if self._first_eval is None:  # the first eval of a call is its prompt suffix
                self._first_eval = len(tokens)
            self._set_threads(self._sharer.threads(self.threads))
            original_eval(tokens)

        self._llm.eval = counting_eval  # type: ignore[method-assign]
        if self.batched:
            self._scheduler = self._make_scheduler()

    def reset_cache(self) -> None:
        """Forget the KV cache: the next call evaluates its whole prompt (benchmarks compare paths so)."""
        with self._lock:
            if self._scheduler is not None:
                self._scheduler.release()
            self._llm.reset()
            self._llm._ctx.kv_cache_clear()

    @property
    def supports_batch(self) -> bool:
        """Whether :meth:`complete_batch` decodes a batch's calls together (batched decoding on)."""
        return self.batched and self._scheduler is not None

    def _make_scheduler(self) -> Scheduler | None:
        """A context with ``max_sequences`` sequence ids on one unified KV cache, and its decode loop.

        ``Llama`` builds a one-sequence context; it is rebuilt (the old one freed first, so the KV
        cache is never held twice). None when this llama-cpp-python has no unified cache."""
        import llama_cpp
        from llama_cpp._internals import LlamaContext

        params = self._llm.context_params
        if not hasattr(params, "kv_unified") or not hasattr(llama_cpp, "llama_get_memory"):
            return None
        params.n_seq_max = self.max_sequences
        params.kv_unified = True
        self._llm._ctx.close()
        try:
            self._llm._ctx = LlamaContext(model=self._llm._model, params=params, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ModelUnavailableError(f"cannot make a batched context for {self.path}: {exc}") from None
        self._threads_now = self.threads
        return Scheduler(self, self.max_sequences, int(self._llm.n_batch), reuse=self.prefix_cache)

    def _set_threads(self, threads: int) -> None:
        """Run the next evaluations on ``threads`` threads (``split`` changes it during a call)."""
        if threads != self._threads_now:
            self._llm._ctx.set_n_threads(threads, threads)
            self._threads_now = threads

    def _grammar(self, text: str) -> Any:
        """Compile (and cache) a GBNF grammar; a bad grammar is a ConfigError. The grammar is read first as
        llama.cpp reads it (:mod:`ponder.grammar.check`): llama.cpp's sampler crashes the process on one it refuses."""
        cached = self._grammars.get(text)
        if cached is None:
            from llama_cpp.llama_grammar import LlamaGrammar

            check_grammar(text)
            try:
                cached = LlamaGrammar.from_string(text, verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise ConfigError(f"invalid GBNF grammar: {exc}") from None
            self._grammars[text] = cached
        return cached

    def _make_formatter(self) -> Any:
        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        model = self._llm._model
        eos = model.token_get_text(self._llm.token_eos())
        bos = model.token_get_text(self._llm.token_bos()) if self._llm.token_bos() != -1 else ""
        return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def render(self, messages: Sequence[Message]) -> str:
        """The exact prompt text sent to the model for ``messages``."""
        dicts = [m.to_dict() for m in messages]
        if self._formatter is None:
            return _chatml(dicts)
        prompt: str = self._formatter(messages=dicts).prompt
        return prompt

    def tokenize(self, text: str, *, special: bool = False) -> list[int]:
        tokens: list[int] = self._llm.tokenize(clean(text).encode("utf-8"), add_bos=False, special=special)
        return tokens

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text)) if text else 0

    def complete(
        self,
        messages: Sequence[Message],
        options: GenerationOptions,
        on_text: TextCallback | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
    ) -> Completion:
        if self.supports_batch:
            return self._complete_batched(messages, options, on_text)
        prompt = self.tokenize(self.render(messages), special=True)
        grammar = self._grammar(options.grammar) if options.grammar else None
        room = self._llm.n_ctx() - len(prompt)
        if room < 1:
            raise PromptTooLong(self.name, len(prompt), self._llm.n_ctx())
        with self._lock, self._sharer:
            if self._scheduler is not None:
                self._scheduler.release()
            if not self.prefix_cache:
                self._llm.reset()
            self._first_eval = None
            pieces: list[str] = []
            finish = "stop"
            try:
                stream = self._llm.create_completion(
                    prompt=prompt,
                    max_tokens=min(options.max_tokens, room),
                    temperature=options.temperature,
                    top_p=options.top_p,
                    seed=options.seed,
                    stop=list(options.stop) or None,
                    grammar=grammar,
                    stream=True,
                )
                for chunk in stream:
                    choice = chunk["choices"][0]
                    if choice["text"]:
                        pieces.append(choice["text"])
                        if on_text is not None:
                            on_text(choice["text"])
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
            except (RuntimeError, ValueError) as exc:
                raise ModelCallError(f"{self.name} failed: {exc}") from None
            evaluated = self._first_eval or 0
        text = "".join(pieces)
        usage = Usage(len(prompt), self.count_tokens(text), evaluated, 1)
        return Completion(text, "length" if finish == "length" else "stop", usage, self.name)

    # -- batched decoding -----------------------------------------------------------

    def complete_batch(
        self,
        calls: Sequence[tuple[Sequence[Message], GenerationOptions]],
        on_done: BatchDone,
        poll: Callable[[], None] | None = None,
    ) -> None:
        """Make ``calls`` together: one decode loop, their common prompt prefix evaluated once.

        ``on_done(i, completion or exception)`` is called on this thread as each call ends (a call
        that fails is its exception; the others go on). ``poll`` is called while waiting; when it
        raises, the calls not ended are cancelled and the exception goes on. Without batched
        decoding the calls are made one after another."""
        if not self.supports_batch:
            for i, (messages, options) in enumerate(calls):
                try:
                    outcome: Completion | Exception = self.complete(messages, options)
                except Exception as exc:
                    outcome = exc
                on_done(i, outcome)
                if poll is not None:
                    poll()
            return
        assert self._scheduler is not None
        report: queue.SimpleQueue[Report] = queue.SimpleQueue()
        group: list[Decoding] = []
        where: list[int] = []
        for i, (messages, options) in enumerate(calls):
            try:
                group.append(self._decoding(messages, options, report, streams=False))
            except Exception as exc:  # a prompt too long, a bad grammar: this call's failure
                on_done(i, exc)
                continue
            where.append(i)
        if not group:
            return

        def done(k: int, seq: Decoding) -> None:
            try:
                outcome: Completion | Exception = self._completion(seq)
            except Exception as exc:
                outcome = exc
            on_done(where[k], outcome)

        self._scheduler.submit(group)
        self._scheduler.wait(group, done, poll=poll)

    def _complete_batched(
        self, messages: Sequence[Message], options: GenerationOptions, on_text: TextCallback | None
    ) -> Completion:
        assert self._scheduler is not None
        seq = self._decoding(messages, options, queue.SimpleQueue(), streams=on_text is not None)
        self._scheduler.submit([seq])
        self._scheduler.wait([seq], lambda _i, _s: None, (lambda _s, piece: on_text(piece)) if on_text else None)
        return self._completion(seq)

    def _decoding(
        self, messages: Sequence[Message], options: GenerationOptions, report: queue.SimpleQueue[Report], streams: bool
    ) -> Decoding:
        """One call as a sequence of the decode loop (its sampler made here, on the caller's thread)."""
        import llama_cpp

        prompt = self.tokenize(self.render(messages), special=True)
        room = self._llm.n_ctx() - len(prompt)
        if room < 1:
            raise PromptTooLong(self.name, len(prompt), self._llm.n_ctx())
        seed = options.seed if options.seed is not None else random.Random(self._llm._seed).randint(0, 2**32 - 1)
        seq = Decoding(prompt, options, min(options.max_tokens, room), seed, options.grammar, report, streams)
        seq.sampler = sampler_chain(llama_cpp, self._llm._model.vocab, options, seed, options.grammar)
        return seq

    def _completion(self, seq: Decoding) -> Completion:
        """What an ended sequence returns: its completion, or its failure raised."""
        if seq.error is not None:
            if isinstance(seq.error, PonderError):
                raise seq.error
            raise ModelCallError(f"{self.name} failed: {seq.error}") from None
        usage = Usage(len(seq.prompt), self.count_tokens(seq.text), seq.evaluated, 1)
        return Completion(seq.text, "length" if seq.finish == "length" else "stop", usage, self.name)
