"""ponder against the reference RLM (PyPI ``rlms``) on one small code model: the long-context suite.

    python benchmarks/rlm_peer.py --sizes 16k,64k --seeds 100,101,102 [--systems code,rlms] [--report]

Tasks: ``ponder.tasks.long_context`` (multi-key and multi-value needles, variable tracking,
counting), generated from the seeds at each size (tokens = characters / 4, the suite's measure),
scored exactly (``LongTask.score``). Systems, all on the same GGUF (``--model``; Qwen2.5-Coder-1.5B):

* ``code``: ponder ``recursive`` code mode, root and ``sub`` role on the model;
* ``code-smol``: the same with the ``sub`` role on the embedded SmolLM2-135M (``--small``);
* ``plan``: ponder ``recursive`` plan mode on the model (counting takes the count plan, one call
  per record: skipped, the call count listed);
* ``flat``: one call with the whole input, only where it fits the model's window;
* ``rlms``: the reference implementation (PyPI ``rlms`` 0.1.3, alexzhang13/rlm), installed by this
  script into a throwaway venv (``--rlms-venv``, never the project's), its calls going to
  llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``) serving the same
  GGUF on 127.0.0.1, started and stopped here (restarted after a trial that had to be killed).

Every system gets the same sampling (temperature 0, ``--max-tokens``), the same root turns
(``--max-iterations``) and the same time limit per trial (``--time-limit``): its own limit
inside the run (ponder's ``Budget.max_seconds``, rlms's ``max_timeout``), and a kill of the
trial's process 90 s after it. Each trial runs in its own process and appends one JSON line to
``--out-dir/SYSTEM.jsonl`` as it ends; a rerun skips the trials already there (so the script can
be stopped and resumed, and several copies can run different ``--systems`` at once).
``--report`` only prints the table and draws the plot from those files.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ponder  # noqa: E402
from ponder.run_models import ModelCache  # noqa: E402
from ponder.tasks.long_context import KINDS, LongTask, generate  # noqa: E402
from rlm_peer_report import report  # noqa: E402
from rlm_peer_scripted import scripted_models  # noqa: E402

SYSTEMS = ("code", "code-smol", "plan", "flat", "rlms")
GGUF = "/work/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
RLMS = "rlms==0.1.3"
KILL_GRACE = 90.0  # seconds past --time-limit before a trial's process is killed
SERVED_NAME = "qwen2.5-coder-1.5b"
FLAT_MAX = 40_000  # sizes above this never fit a 32k window (below it the trial counts the tokens)


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * mult)


def default_model() -> str:
    """``coder`` where ponder has that backend, else the GGUF file."""
    return "coder" if "coder" in ponder.models.registry.backends() else f"gguf:{GGUF}"


def gguf_path(spec: str) -> Path:
    """The GGUF file behind a ponder model spec (``gguf:PATH``, or ``coder``, assembled on first use),
    for the llama server of the rlms rows: the backend's ``path``, loaded with a tiny window."""
    if spec.startswith("gguf:"):
        return Path(spec.partition(":")[2]).expanduser()
    path = getattr(ponder.load_model(spec, n_ctx=512), "path", None)
    if path is None:
        raise SystemExit(f"--model {spec!r} is not a GGUF backend: the rlms rows need one (give gguf:PATH)")
    return Path(path)


class Models(ModelCache):
    """The run's models, loaded once; ``scripted``: the stand-in of the trial (``code-root`` or ``reader``)."""

    def __init__(self, scripted: ponder.Model | None) -> None:
        super().__init__()
        self.scripted = scripted

    def get(self, wanted: ponder.ModelSpec, *, pin: bool = False) -> ponder.Model:
        return self.scripted if self.scripted is not None else super().get(wanted, pin=pin)

    def release(self, wanted: ponder.ModelSpec) -> None:
        if self.scripted is None:
            super().release(wanted)


# -- one ponder trial (in its own process) -------------------------------------------------------


def run_spec(system: str, task: LongTask, args: argparse.Namespace) -> dict[str, Any]:
    """The trial as a run spec (what ``ponder ask`` builds): the user's path, so the strategy is
    configured from its models as a user's run is (e.g. code mode's sub-call reading size)."""
    root: dict[str, Any] = {"model": args.model}
    if args.model.startswith("gguf:"):
        root["context_window"] = 32768
    spec: dict[str, Any] = {"models": {"root": root}, "record": False, "options": {"max_tokens": args.max_tokens}}
    spec["budget"] = {"max_steps": 1 if system == "flat" else "auto", "max_seconds": float(args.time_limit)}
    if system == "flat":
        spec["strategy"] = {"strategy": "single"}
        spec["question"] = f"{task.context}\n\nQuestion: {task.question}\nAnswer:"
        return spec
    spec["question"] = task.question
    spec["context_text"] = task.context
    if system == "plan":
        spec["strategy"] = {"strategy": "recursive", "mode": "plan"}
        return spec
    spec["strategy"] = {"strategy": "recursive", "mode": "code", "max_iterations": args.max_iterations}
    if system == "code-smol":
        spec["models"]["sub"] = {"model": args.small}
    return spec


def ponder_trial(system: str, task: LongTask, args: argparse.Namespace) -> dict[str, Any]:
    scripted = None
    if args.model == "scripted":
        scripted = scripted_models()["code-root" if system.startswith("code") else "reader"]
    spec = ponder.RunSpec.from_dict(run_spec(system, task, args))
    models = Models(scripted)
    if system == "flat":
        root = models.get(spec.models["root"])
        if root.count_tokens(spec.question or "") + args.max_tokens > root.context_window:
            return {"answer": None, "stop_reason": "does_not_fit", "skipped": True, "seconds": 0.0}
    with ponder.open_run(spec, models=models) as opened:
        t0 = time.perf_counter()
        result = opened.run()
        seconds = time.perf_counter() - t0
    roots = [s for s in result.steps if s.depth == 0]
    turns = sum(1 for s in roots if s.usage is not None)
    if args.transcripts is not None:
        lines = [f"--- {s.kind}\n{s.text[:3000]}" for s in roots]
        _transcript(args.transcripts, system, task).write_text("\n".join(lines) + f"\n=== {result.detail}\n")
    return {
        "answer": result.answer,
        "stop_reason": result.stop_reason,
        "error": result.detail[:300] if result.stop_reason != "answered" else "",
        "turns": turns,
        "calls": result.usage.model_calls,
        "prompt_tokens": result.usage.prompt_tokens,
        "prompt_tokens_evaluated": result.usage.prompt_tokens_evaluated,
        "completion_tokens": result.usage.completion_tokens,
        "seconds": round(seconds, 3),
    }


def _transcript(folder: Path, system: str, task: LongTask) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{system}-{task.kind}-{task.tokens}-{task.seed}.txt"


# -- the reference implementation ---------------------------------------------------------------


def rlms_python(venv: Path) -> Path:
    """The throwaway venv's Python with ``rlms`` installed (made on first use)."""
    python = venv / "bin" / "python"
    marker = venv / ".rlms-installed"
    if not marker.exists():
        print(f"installing {RLMS} into {venv} (a venv of its own)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", RLMS], check=True)
        marker.write_text(RLMS + "\n")
    return python


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LlamaServer:
    """llama-cpp-python's OpenAI-compatible server on loopback, serving the benchmark's GGUF."""

    def __init__(self, gguf: Path, n_ctx: int, log: Path, threads: int = 1) -> None:
        self.gguf, self.n_ctx, self.log, self.threads = gguf, n_ctx, log, threads
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        port = _port()
        threads = str(self.threads)
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.gguf), "--host", "127.0.0.1"]
        command += ["--port", str(port), "--n_ctx", str(self.n_ctx), "--model_alias", SERVED_NAME]
        command += ["--n_threads", threads, "--n_threads_batch", threads]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit(f"the llama server did not start (log: {self.log})") from None
                time.sleep(0.5)
        self.url = f"http://127.0.0.1:{port}/v1"
        return self.url

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def rlms_trial(python: Path, server: LlamaServer, task: LongTask, args: argparse.Namespace) -> dict[str, Any]:
    if server.process is None:
        server.start()
    with tempfile.TemporaryDirectory(prefix="rlm-peer-") as tmp:
        context_file = Path(tmp) / "context.txt"
        context_file.write_text(task.context, encoding="utf-8")
        transcript = _transcript(args.transcripts, "rlms", task) if args.transcripts is not None else None
        job = {
            "base_url": server.url,
            "model": SERVED_NAME,
            "context_file": str(context_file),
            "question": task.question,
            "max_iterations": args.max_iterations,
            "max_timeout": float(args.time_limit),
            # the same sampling as ponder's; max_tokens in the body (the client would rename it)
            "sampling": {"temperature": 0.0, "seed": 0, "extra_body": {"max_tokens": args.max_tokens}},
            "transcript": str(transcript) if transcript else None,
        }
        command = [str(python), str(HERE / "rlm_peer_rlms.py")]
        row = _child(command, json.dumps(job), args.time_limit)
    if row.get("stop_reason") == "killed":
        server.stop()  # it may still be generating for the killed trial: start afresh
    return row


# -- running trials ---------------------------------------------------------------------------


def _child(command: list[str], stdin: str, limit: float) -> dict[str, Any]:
    """Run one trial's process; its last stdout line is the row. Killed ``KILL_GRACE`` s past ``limit``."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        try:
            out, _ = process.communicate(stdin.encode(), timeout=limit + KILL_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            seconds = round(time.perf_counter() - t0, 3)
            return {
                "answer": None,
                "stop_reason": "killed",
                "error": f"killed after {seconds:.0f} s",
                "seconds": seconds,
            }
        lines = out.decode(errors="replace").strip().splitlines()
        if process.returncode != 0 or not lines:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-600:]
            seconds = round(time.perf_counter() - t0, 3)
            return {"answer": None, "stop_reason": "crashed", "error": tail, "seconds": seconds}
    row: dict[str, Any] = json.loads(lines[-1])
    return row


def ponder_rev() -> str:
    src = Path(ponder.__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        return f"{src}@{rev.stdout.strip()}"
    except OSError:
        return str(src)


def done_keys(out_dir: Path, system: str) -> set[tuple[str, int, int]]:
    path = out_dir / f"{system}.jsonl"
    if not path.exists():
        return set()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {(r["kind"], r["tokens"], r["seed"]) for r in rows}


def run_trial(system: str, task: LongTask, args: argparse.Namespace, rlms: Any) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    if system == "rlms":
        row = rlms_trial(rlms["python"], rlms["server"], task, args)
    elif args.in_process:
        row = ponder_trial(system, task, args)
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--trial", system, task.kind, str(task.tokens)]
        command += [str(task.seed), *args.passthrough]
        row = _child(command, "", args.time_limit)
    full = {"system": system, "kind": task.kind, "tokens": task.tokens, "seed": task.seed}
    full |= {"score": task.score(row.get("answer")), "exact": task.exact(row.get("answer")), "gold": list(task.answers)}
    full |= row
    full["answer"] = (row.get("answer") or "")[:300]
    full |= {"load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}
    full |= {"model": args.model, "ponder": args.rev, "time_limit": args.time_limit}
    full["finished"] = datetime.datetime.now(datetime.UTC).isoformat()
    return full


def plan(args: argparse.Namespace) -> tuple[list[tuple[str, LongTask]], list[str]]:
    """The trials still to run (sizes, then seeds, then kinds, then systems) and the cells skipped."""
    todo: list[tuple[str, LongTask]] = []
    skipped: list[str] = []
    done = {s: done_keys(args.out_dir, s) for s in args.systems}
    for tokens in args.sizes:
        for seed in args.seeds:
            for kind in args.kinds:
                task = generate(kind, tokens, seed)
                for system in args.systems:
                    if (kind, tokens, seed) in done[system]:
                        continue
                    if system == "plan" and kind == "counting":
                        records = round(task.context.count("\n") + 1, -2)
                        skipped.append(
                            f"plan/counting at {tokens:,} tokens: the count plan, about {records:,} calls a task"
                        )
                    elif system == "flat" and tokens > FLAT_MAX:
                        skipped.append(f"flat at {tokens:,} tokens: larger than the 32k-token window")
                    else:
                        todo.append((system, task))
    return todo, sorted(set(skipped))


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--sizes", default="16k,64k")
    ap.add_argument("--seeds", default="100,101,102", help="task seeds (report seeds: code mode is tuned on 0-4)")
    ap.add_argument("--model", default=None, help="ponder model spec (default: coder, or gguf:" + GGUF + ")")
    ap.add_argument("--small", default="smollm2", help="the sub model of code-smol")
    ap.add_argument("--max-iterations", type=int, default=30, help="root turns (ponder code mode and rlms)")
    ap.add_argument("--max-tokens", type=int, default=512, help="tokens per reply, every system")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds per trial")
    ap.add_argument("--n-ctx", type=int, default=32768, help="the llama server's window")
    ap.add_argument(
        "--server-threads",
        type=int,
        default=1,
        help="the llama server's threads (1: on a shared machine 2 spinning threads were 8x slower; ponder's"
        " in-process model splits the cores among the processes using it)",
    )
    ap.add_argument("--out-dir", type=Path, default=HERE / "rlm_peer")
    ap.add_argument("--plot", type=Path, default=HERE / "rlm_peer.png")
    ap.add_argument("--transcripts", type=Path, default=None, help="folder for each trial's root turns")
    ap.add_argument("--rlms-venv", type=Path, default=Path(tempfile.gettempdir()) / "ponder-bench-rlms-venv")
    ap.add_argument("--in-process", action="store_true", help="run ponder trials in this process (no kill)")
    ap.add_argument("--report", action="store_true", help="only print the table and draw the plot")
    ap.add_argument("--only-seeds", default=None, help="with --report: the rows of these seeds only (e.g. 110,111)")
    ap.add_argument("--ponder-label", default=None, help="what the rows say ponder was (default: its git commit)")
    ap.add_argument("--trial", nargs=4, metavar=("SYSTEM", "KIND", "TOKENS", "SEED"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.model = args.model or default_model()
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    args.kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    args.sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if not set(args.systems) <= set(SYSTEMS) or not set(args.kinds) <= set(KINDS) or args.time_limit <= 0:
        ap.error(f"--systems from {', '.join(SYSTEMS)}; --kinds from {', '.join(KINDS)}; --time-limit > 0")
    args.passthrough = ["--model", args.model, "--small", args.small, "--max-iterations", str(args.max_iterations)]
    args.passthrough += ["--max-tokens", str(args.max_tokens), "--time-limit", str(args.time_limit)]
    if args.transcripts is not None:
        args.passthrough += ["--transcripts", str(args.transcripts)]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.trial is not None:
        system, kind, tokens, seed = args.trial
        print(json.dumps(ponder_trial(system, generate(kind, int(tokens), int(seed)), args)), flush=True)
        return 0
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.report:
        seeds = {int(s) for s in args.only_seeds.split(",") if s.strip()} if args.only_seeds else None
        report(args.out_dir, args.plot, seeds)
        return 0
    args.rev = args.ponder_label or ponder_rev()
    todo, skipped = plan(args)
    print(f"{len(todo)} trials to run ({os.cpu_count()} cores, load {os.getloadavg()}, ponder {args.rev})")
    for line in skipped:
        print(f"skipped: {line}")
    with _rlms(args, any(s == "rlms" for s, _ in todo)) as rlms:
        for system, task in todo:
            row = run_trial(system, task, args, rlms)
            with (args.out_dir / f"{system}.jsonl").open("a") as f:
                f.write(json.dumps(row) + "\n")
            print(
                f"{system} {task.kind} {task.tokens} seed {task.seed}: score {row['score']:.2f}"
                f" ({row['stop_reason']}, {row.get('calls', '?')} calls, {row['seconds']:.0f} s,"
                f" load {row['load_before']})",
                flush=True,
            )
    report(args.out_dir, args.plot)
    return 0


@contextlib.contextmanager
def _rlms(args: argparse.Namespace, needed: bool) -> Iterator[dict[str, Any]]:
    if not needed:
        yield {}
        return
    python = rlms_python(args.rlms_venv)
    log = Path(tempfile.gettempdir()) / "rlm-peer-llama-server.log"
    server = LlamaServer(gguf_path(args.model), args.n_ctx, log, args.server_threads)
    try:
        yield {"python": python, "server": server}
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
