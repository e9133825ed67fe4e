"""single vs react (calculator / python) on arithmetic word problems and GSM8K, on one model, with ``ponder eval``.

    python benchmarks/react_vs_single.py --arith 50 --gsm8k 50 [--model smollm2] [--out DIR]

The script only writes the two datasets (the generated arithmetic set of seed
2026 and the first GSM8K test problems) as JSONL and runs, for each,

    ponder eval DATA --strategy single --spec react+calculator.json --spec react+python.json
        --max-steps 6 --max-tokens 256 --scorer number --out DIR/SET

which prints each set's ``report.md`` (accuracy with a 95% interval, calls,
tokens and seconds per problem, and react paired against single with an exact
McNemar p-value). Rerunning with the same ``--out`` resumes: finished problems
are not run again.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ponder.cli import main as ponder_main
from ponder.spec import RunSpec
from tasks import Task, arithmetic_problems, gsm8k


def write_set(path: Path, tasks: list[Task]) -> None:
    with path.open("w", encoding="utf-8") as stream:
        for task in tasks:
            answer = int(task.answer) if task.answer.is_integer() else task.answer
            stream.write(json.dumps({"question": task.question, "answer": answer}) + "\n")


def run_set(name: str, tasks: list[Task], args: argparse.Namespace, out: Path) -> None:
    data = out / f"{name}.jsonl"
    write_set(data, tasks)
    flags = ["--model", args.model, "--max-steps", "6", "--max-tokens", str(args.max_tokens), "--scorer", "number"]
    specs: list[str] = []
    for tool in ("calculator", *(() if args.no_python else ("python",))):
        path = out / f"react+{tool}.json"
        spec = RunSpec.from_dict({"strategy": "react", "tools": [tool], "models": {"root": args.model}})
        path.write_text(spec.to_json(indent=2), encoding="utf-8")
        specs += ["--spec", str(path)]
    argv = ["eval", str(data), "--strategy", "single", *specs, *flags, "--out", str(out / name)]
    if ponder_main(argv) != 0:
        raise SystemExit(f"ponder eval failed on {name}")  # the command prints the report (report.md) itself


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--arith", type=int, default=50)
    parser.add_argument("--gsm8k", type=int, default=50)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--no-python", action="store_true", help="skip the react+python rows")
    parser.add_argument("--out", type=Path, default=None, help="keep the eval folders here (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="react-vs-single-") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        sets = [("arithmetic", arithmetic_problems(args.arith)), ("gsm8k", gsm8k(args.gsm8k) if args.gsm8k else [])]
        for name, tasks in sets:
            if tasks:
                print(f"## {name}\n", flush=True)
                run_set(name, tasks, args, out)


if __name__ == "__main__":
    main()
