"""ponder eval --ray: a real Ray cluster started by the test (``ray start --head`` on 127.0.0.1, stopped again),
and ``--ray local``; both give the same results rows as local workers on the scripted model, and the driver's
store holds every run."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from layout import SRC
from ponder.store import RunStore
from servers import free_port

pytest.importorskip("ray")

pytestmark = pytest.mark.integration

RAY = Path(sys.executable).parent / "ray"


def _env(tmp: Path, ray_temp: Path) -> dict[str, str]:
    """Ray's files go under ``ray_temp`` (no session under /tmp/ray) and no token is written to ~/.ray."""
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_AUTH_MODE": "disabled",
        "RAY_TMPDIR": str(ray_temp),
        "PONDER_STORE": str(tmp / "default.db"),
    }


def _session_pids(sid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                zombie = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
                if os.getsid(int(entry.name)) == sid and not zombie:
                    pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[tuple[str, Path]]:
    """A one-node Ray cluster of our own (its own session, temp dir and ports), torn down by process group."""
    ray_temp = Path(tempfile.mkdtemp(prefix="r15", dir="/tmp"))  # Ray's socket paths must stay short
    temp = ray_temp / "head"
    temp.mkdir()
    port = free_port()
    args = [str(RAY), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}"]
    args += ["--num-cpus=2", "--object-store-memory=100000000", "--include-dashboard=false"]
    args += [f"--temp-dir={temp}", "--disable-usage-stats"]
    log = (temp / "ray-start.log").open("wb")
    process = subprocess.Popen(
        args, env=_env(temp, ray_temp), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"ray start did not come up: {(temp / 'ray-start.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield f"127.0.0.1:{port}", ray_temp
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        deadline = time.monotonic() + 20
        while _session_pids(process.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in _session_pids(process.pid):  # whatever did not stop on SIGTERM
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        log.close()
        time.sleep(0.5)
        left = _session_pids(process.pid)
        shutil.rmtree(ray_temp, ignore_errors=True)
        assert not left, f"Ray processes left behind: {left}"


def run_eval(tmp: Path, ray_temp: Path, name: str, *extra: str) -> tuple[Path, dict]:
    data = tmp / "d.jsonl"
    if not data.exists():
        rows = [{"question": f"say {i}", "answer": i} for i in range(8)] + [{"question": "say nothing", "answer": 3}]
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp / name
    args = [sys.executable, "-m", "ponder", "eval", str(data), "-m", "scripted", "-s", "single,refine"]
    args += ["--max-steps", "3", "--out", str(out), "--store", str(out / "runs.db"), "--json", *extra]
    done = subprocess.run(args, env=_env(tmp, ray_temp), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, json.loads(done.stdout)


def plain(out: Path) -> list[dict]:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return sorted(
        ({k: v for k, v in r.items() if k not in ("seconds", "run_id")} for r in rows),
        key=lambda r: (r["item"], r["spec"]),
    )


def test_ray_local_and_a_ray_cluster_give_the_rows_of_local_workers(ray_cluster, tmp_path):
    address, ray_temp = ray_cluster
    local, _ = run_eval(tmp_path, ray_temp, "local", "--workers", "2")
    on_cluster, summary = run_eval(tmp_path, ray_temp, "cluster", "--ray", address, "--in-flight", "3")
    private, _ = run_eval(tmp_path, ray_temp, "private", "--ray", "local", "--in-flight", "2")
    assert len(plain(local)) == 18
    assert plain(on_cluster) == plain(local)
    assert plain(private) == plain(local)
    assert summary["ray"] == address and summary["complete"]
    assert [s["correct"] for s in summary["specs"]] == [8, 0]  # single echoes "say i": the number is right
    rows = [json.loads(line) for line in (on_cluster / "results.jsonl").read_text().splitlines()]
    with RunStore(on_cluster / "runs.db") as store:  # the driver's store holds every run, with its events
        for row in rows:
            info = store.run(row["run_id"])
            assert info["model_calls"] == row["model_calls"] > 0 and info["status"] == "finished"
            assert info["outcome"] == ("correct" if row["correct"] else "incorrect")
