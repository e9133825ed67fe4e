"""Escape attempts against the bubblewrap sandbox: each must be contained, and the same
sandbox must still answer a normal call afterwards.

These tests need bubblewrap; they skip (with the reason) where it cannot run.
"""

from __future__ import annotations

import ctypes
import os
import socket
import sys
import uuid
from pathlib import Path

import pytest

from layout import ROOT
from ponder.errors import SandboxUnavailableError
from ponder.sandbox import Sandbox, SandboxConfig

pytestmark = pytest.mark.integration

SECRET_NAME = "PONDER_ESCAPE_TEST_SECRET"
SECRET = f"s3cret-{uuid.uuid4().hex}"
REPO = ROOT
CONFIG = SandboxConfig(timeout=5.0, max_processes=32, max_file_mb=64, tmp_mb=96, require_isolation=True)


def _start(config: SandboxConfig = CONFIG) -> Sandbox:
    try:
        return Sandbox(config).start()
    except SandboxUnavailableError as exc:
        pytest.skip(f"bubblewrap cannot run here: {exc}")


@pytest.fixture(scope="module")
def sb():
    os.environ[SECRET_NAME] = SECRET  # the host process has a secret the sandbox must not see
    try:
        sandbox = _start()
    finally:
        del os.environ[SECRET_NAME]
    assert sandbox.isolated
    yield sandbox
    sandbox.close()


def run(sb: Sandbox, code: str) -> str:
    """Run the attempt, then prove the sandbox still works; returns the attempt's stdout."""
    result = sb.run(code)
    assert not result.timed_out, result
    probe = sb.run("print('alive', 6 * 7)")
    assert probe.stdout == "alive 42\n", probe
    return result.stdout


# -- network -------------------------------------------------------------------------------------


def test_dns_lookup_fails(sb):
    out = run(
        sb,
        "import socket\ntry:\n    socket.getaddrinfo('example.com', 80)\n    print('ESCAPED')\nexcept socket.gaierror:\n    print('blocked')",
    )
    assert out == "blocked\n"


def test_tcp_to_a_public_ip_fails(sb):
    code = (
        "import socket\ns = socket.socket()\ns.settimeout(3)\n"
        "try:\n    s.connect(('1.1.1.1', 53))\n    print('ESCAPED')\nexcept OSError as e:\n    print('blocked', e.errno)"
    )
    assert run(sb, code).startswith("blocked")


def test_udp_to_a_public_ip_fails(sb):
    code = (
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n    s.sendto(b'x', ('8.8.8.8', 53))\n    print('ESCAPED')\nexcept OSError as e:\n    print('blocked', e.errno)"
    )
    assert run(sb, code).startswith("blocked")


def test_host_loopback_listener_sees_no_connection(sb):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    try:
        code = (
            "import socket\ns = socket.socket()\ns.settimeout(2)\n"
            f"try:\n    s.connect(('127.0.0.1', {port}))\n    print('ESCAPED')\nexcept OSError as e:\n    print('blocked', e.errno)"
        )
        assert run(sb, code).startswith("blocked")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever reached the host's loopback
    finally:
        listener.close()


def test_only_a_private_loopback_interface_exists(sb):
    assert run(sb, "import socket\nprint([name for _, name in socket.if_nameindex()])") == "['lo']\n"


# -- filesystem ----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/pwned", "/usr/pwned", "/etc/pwned", "/dev/pwned"])
def test_writing_outside_tmp_fails(sb, target):
    code = f"try:\n    open({target!r}, 'w').write('x')\n    print('ESCAPED')\nexcept OSError as e:\n    print('blocked', e.errno)"
    assert run(sb, code).startswith("blocked")


def test_writing_to_the_venv_and_the_project_fails(sb):
    targets = [Path(sys.prefix) / f"pwned-{uuid.uuid4().hex}", REPO / f"pwned-{uuid.uuid4().hex}"]
    for target in targets:
        code = f"import os\ntry:\n    os.makedirs({str(target.parent)!r}, exist_ok=True)\n    open({str(target)!r}, 'w').write('x')\n    print('wrote')\nexcept OSError as e:\n    print('blocked', e.errno)"
        run(sb, code)  # inside, at most a throw-away path on the sandbox's own tmpfs
        assert not target.exists()


def test_interpreter_prefix_is_read_only(sb):
    code = "import os, sys\ntry:\n    open(os.path.join(sys.prefix, 'pwned'), 'w')\n    print('ESCAPED')\nexcept OSError as e:\n    print('blocked', e.errno)"
    assert run(sb, code) == "blocked 30\n"  # EROFS


def test_host_files_are_invisible(sb, tmp_path):
    outside_tmp = tmp_path / "host-secret.txt"
    outside_tmp.write_text(SECRET)
    in_repo = REPO / f".escape-test-{uuid.uuid4().hex}"
    in_repo.write_text(SECRET)
    try:
        for path in (outside_tmp, in_repo, REPO / "pyproject.toml"):
            code = f"try:\n    print(open({str(path)!r}).read())\nexcept OSError as e:\n    print('blocked', e.errno)"
            out = run(sb, code)
            assert out == "blocked 2\n" and SECRET not in out  # ENOENT: the path does not exist inside
        assert run(sb, "import os\nprint(os.path.exists('/work'), os.path.exists('/home'))") == "False False\n"
    finally:
        in_repo.unlink()


def test_home_directory_contents_are_not_readable(sb):
    home = Path.home()
    visible = sorted(p.name for p in home.iterdir())[:20] if home.is_dir() else []
    code = (
        f"import os\nhome = {str(home)!r}\n"
        f"print(sorted(n for n in {visible!r} if os.path.exists(os.path.join(home, n)) and n != '.pyenv'))\n"
        "print(os.environ.get('HOME'))"
    )
    assert run(sb, code) == "[]\n/tmp\n"


def test_huge_file_in_tmp_is_refused(sb):
    code = (
        "import os\nchunk = b'x' * (1 << 20)\n"
        "try:\n    with open('/tmp/big', 'wb') as f:\n        for _ in range(100):\n            f.write(chunk)\n    print('ESCAPED')\n"
        "except OSError as e:\n    print('blocked', e.errno)\nfinally:\n    os.remove('/tmp/big')"
    )
    assert run(sb, code) == "blocked 27\n"  # EFBIG: max_file_mb


def test_filling_tmp_stops_at_its_size(sb):
    code = (
        "import os\nchunk = b'x' * (1 << 20)\nwritten = 0\n"
        "try:\n    for i in range(4):\n        with open(f'/tmp/fill{i}', 'wb') as f:\n            for _ in range(60):\n"
        "                f.write(chunk); written += 1\n    print('ESCAPED')\n"
        "except OSError as e:\n    print('blocked', e.errno, written < 100)\n"
        "for i in range(4):\n    try: os.remove(f'/tmp/fill{i}')\n    except OSError: pass"
    )
    assert run(sb, code) == "blocked 28 True\n"  # ENOSPC: tmp_mb


# -- processes, identity, kernel interfaces ------------------------------------------------------


def test_host_environment_is_not_visible(sb):
    code = (
        "import os\n"
        f"print({SECRET_NAME!r} in os.environ)\n"
        "for path in ('/proc/self/environ', '/proc/1/environ'):\n"
        "    try: print(open(path, 'rb').read().decode(errors='replace'))\n"
        "    except OSError as e: print('blocked', e.errno)\n"
        "print(sorted(os.environ))"
    )
    out = run(sb, code)
    assert SECRET not in out
    assert out.splitlines()[0] == "False"
    assert out.splitlines()[-1] == "['HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR']"


def test_host_proc_entries_are_out_of_reach(sb):
    host = os.getpid()
    code = (
        f"for name in ('environ', 'cmdline', 'status'):\n"
        f"    try: print(open('/proc/{host}/' + name, 'rb').read()[:200])\n"
        "    except OSError as e: print('blocked', e.errno)"
    )
    out = run(sb, code)
    assert SECRET not in out and "pytest" not in out
    assert out.count("blocked") == 3


def test_signals_cannot_reach_the_host(sb):
    host = os.getpid()
    code = (
        "import os, signal\n"
        f"try:\n    os.kill({host}, signal.SIGKILL)\n    print('ESCAPED')\nexcept OSError as e:\n    print('blocked', e.errno)\n"
        "print(os.getpid(), os.getppid())"
    )
    assert run(sb, code) == "blocked 3\n2 1\n"  # ESRCH: the host pid does not exist in the sandbox


def test_killing_everything_inside_spares_the_host(sb):
    code = (
        "import os, signal, subprocess\nassert os.getpid() == 2  # never run this outside a pid namespace\n"
        "child = subprocess.Popen(['sleep', '100'])\nos.kill(-1, signal.SIGKILL)\nprint('survived', child.wait())"
    )
    assert run(sb, code) == "survived -9\n"
    assert os.getppid() > 0  # and the host (this test process) is obviously still here


def test_uid_is_nobody_without_capabilities(sb):
    code = (
        "import os\nprint(os.getuid(), os.geteuid(), os.getgid(), os.getgroups())\n"
        "status = dict(l.split(':', 1) for l in open('/proc/self/status'))\n"
        "print(status['CapEff'].strip(), status['NoNewPrivs'].strip())"
    )
    assert run(sb, code) == "65534 65534 65534 []\n0000000000000000 1\n"


def test_namespaces_are_not_the_hosts(sb):
    kinds = ["net", "pid", "mnt", "user", "ipc", "uts"]
    host = [os.readlink(f"/proc/self/ns/{kind}") for kind in kinds]
    inside = run(sb, f"import os\nprint([os.readlink('/proc/self/ns/' + k) for k in {kinds!r}])")
    assert all(link not in inside for link in host)
    assert run(sb, "import socket\nprint(socket.gethostname())").strip() != socket.gethostname()


def test_fork_bomb_is_capped(sb):
    code = (
        "import os, time\nkids = 0\n"
        "try:\n    while kids < 10000:\n        pid = os.fork()\n        if pid == 0:\n            time.sleep(60)\n            os._exit(0)\n        kids += 1\n"
        "    print('ESCAPED')\nexcept OSError as e:\n    print('capped', e.errno, kids < 32)"
    )
    assert run(sb, code) == "capped 11 True\n"  # EAGAIN below max_processes
    assert run(sb, "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))") == "[1, 2]\n"


def test_shell_fork_bomb_is_capped_and_cleaned_up(sb):
    code = (
        "import os, subprocess, time\np = subprocess.Popen(['sh', '-c', 'b(){ b | b & }; b'], stderr=subprocess.DEVNULL)\n"
        "time.sleep(1)\nprint(len([d for d in os.listdir('/proc') if d.isdigit()]) <= 32)"
    )
    assert run(sb, code) == "True\n"
    assert run(sb, "import os\nprint(len([d for d in os.listdir('/proc') if d.isdigit()]))") == "2\n"


def test_memory_bomb_raises_memory_error(sb):
    code = (
        "import subprocess, sys\nhog = []\ntry:\n    while True:\n        hog.append(bytearray(50 * 2**20))\n"
        "except MemoryError:\n    print('capped', len(hog) * 50 < 600)\ndel hog\n"
        "child = subprocess.run([sys.executable, '-c', 'bytearray(2 * 2**30)'], capture_output=True, text=True)\n"
        "print(child.returncode, child.stderr.strip().splitlines()[-1])"
    )
    assert run(sb, code) == "capped True\n1 MemoryError\n"


def test_cpu_burn_is_stopped_by_the_cpu_limit():
    with _start(SandboxConfig(timeout=30, cpu_seconds=1, require_isolation=True)) as sandbox:
        sandbox.run("kept = 'state'")
        result = sandbox.run("while True:\n    pass")
        assert not result.timed_out and (result.error or "").startswith("CPUTimeLimitExceeded")
        child = sandbox.run("import subprocess\nprint(subprocess.run(['sh', '-c', 'while :; do :; done']).returncode)")
        assert child.stdout == "-24\n"  # SIGXCPU killed the child
        assert sandbox.run("print(kept)").stdout == "state\n"


def test_endless_output_is_bounded():
    with _start(SandboxConfig(timeout=1, max_output=1000, require_isolation=True)) as sandbox:
        result = sandbox.run("while True:\n    print('spam ' * 100)")
        assert result.timed_out and result.truncated
        assert len(result.stdout) < 1200 and "output truncated" in result.stdout
        assert sandbox.run("print('fine')").stdout == "fine\n"


def test_background_process_does_not_outlive_its_call(sb):
    run(sb, "import subprocess\nbg = subprocess.Popen(['sleep', '1000'])")
    assert run(sb, "print(bg.poll() is not None)") == "True\n"


def test_ctypes_cannot_gain_privileges(sb):
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.setuid(0), libc.setgid(0))\n"
        "print(libc.unshare(0x10000000), libc.unshare(0x00020000), libc.unshare(0x40000000))\n"  # user, mount, net ns
        "print(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None), libc.mount(b'/', b'/tmp', None, 4096, None))\n"
        "print(libc.chroot(b'/tmp'))"
    )
    assert run(sb, code) == "-1 -1\n-1 -1 -1\n-1 -1\n-1\n"


def test_ctypes_memory_reads_stay_inside(sb):
    # reading our own memory is fine; a segfault only kills the worker, which restarts
    assert run(sb, "import ctypes\nprint(len(ctypes.string_at(id(b'abc'), 64)))") == "64\n"
    result = sb.run("import ctypes\nctypes.cast(8, ctypes.POINTER(ctypes.c_int)).contents.value")
    assert result.error is not None and "died" in result.error
    assert sb.run("print('restarted')").stdout == "restarted\n"


def test_ptrace_and_proc_root_tricks_fail(sb):
    host = os.getpid()
    code = (
        "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        f"print(libc.ptrace(16, {host}, None, None), ctypes.get_errno())\n"  # PTRACE_ATTACH: EPERM (seccomp)
        # pid 1 is bwrap's reaper inside the sandbox: same uid, no capabilities, nothing to gain by tracing it
        "status = dict(l.split(':', 1) for l in open('/proc/1/status'))\n"
        "print(status['Uid'].split(), status['CapEff'].strip(), status['CapBnd'].strip())\n"
        "print(os.path.exists('/proc/1/root/work'), sorted(os.listdir('/proc/1/root')) == sorted(os.listdir('/')))\n"
        "print(sorted(os.readlink('/proc/1/fd/' + fd).split(':')[0] for fd in os.listdir('/proc/1/fd')))"
    )
    lines = run(sb, code).splitlines()
    assert lines[0] == ("-1 1" if sb.hardening["seccomp"] else "-1 3")  # without the filter: ESRCH
    assert lines[1] == "['65534', '65534', '65534', '65534'] 0000000000000000 0000000000000000"
    assert lines[2] == "False True"
    assert set(eval(lines[3])) <= {"pipe", "anon_inode"}  # only the worker's own pipes, no host directory


def test_dev_has_no_real_devices(sb):
    code = "import os\nprint(sorted(os.listdir('/dev')))\nprint(open('/dev/null', 'w').write('ok'))"
    out = run(sb, code)
    assert out.splitlines()[1] == "2"
    for device in ("sda", "vda", "mem", "kmsg", "port", "nvme0"):
        assert f"'{device}'" not in out


def test_shadow_and_kernel_keyring_are_out_of_reach(sb):
    assert run(sb, "import os\nprint(os.path.exists('/etc/shadow'), os.listdir('/etc'))") == "False ['ld.so.cache']\n"
    libc = ctypes.CDLL(None, use_errno=True)
    key = libc.syscall(248, b"user", b"ponder-escape-test", SECRET.encode(), len(SECRET), -3)  # add_key to session
    if key < 0:
        pytest.skip(f"keyctl unavailable here (errno {ctypes.get_errno()})")
    try:
        with _start() as fresh:  # started while the host's session keyring holds the key
            code = (
                "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nbuf = ctypes.create_string_buffer(200)\n"
                f"n = libc.syscall(250, 11, {key}, buf, 200)\nprint(n, buf.raw[: max(n, 0)])"
            )
            result = fresh.run(code)
            assert result.stdout.startswith("-1 ") and SECRET not in result.stdout
    finally:
        libc.syscall(250, 3, key)  # KEYCTL_REVOKE


def test_setuid_binaries_do_not_grant_root(sb):
    code = (
        "import subprocess\n"
        "r = subprocess.run(['mount', '-t', 'tmpfs', 'none', '/tmp'], capture_output=True, text=True)\n"
        "print(r.returncode != 0)\n"
        "print(subprocess.run(['sh', '-c', 'id -u'], capture_output=True, text=True).stdout.strip())"
    )
    assert run(sb, code) == "True\n65534\n"


def test_chroot_escape_fails(sb):
    code = (
        "import os\nos.makedirs('/tmp/jail', exist_ok=True)\n"
        "try:\n    os.chroot('/tmp/jail')\n    print('ESCAPED')\nexcept OSError as e:\n    print('blocked', e.errno)\n"
        "for _ in range(50):\n    os.chdir('..')\nprint(os.getcwd(), os.path.exists('/work'))"
    )
    assert run(sb, code) == "blocked 1\n/ False\n"


def test_shell_sees_only_the_sandbox(sb):
    code = (
        "import subprocess\n"
        "script = 'id -u; ls /work 2>&1 | head -1; echo \"secret=${" + SECRET_NAME + ":-none}\"; cat /proc/1/comm'\n"
        "print(subprocess.run(['sh', '-c', script], capture_output=True, text=True).stdout)"
    )
    out = run(sb, code)
    lines = out.splitlines()
    assert lines[0] == "65534"
    assert "No such file" in lines[1]
    assert lines[2] == "secret=none"
    assert lines[3] == "bwrap"


def test_sandbox_does_not_outlive_a_killed_host(tmp_path):
    import signal
    import subprocess
    import time

    script = tmp_path / "host.py"
    script.write_text(
        "import sys, time\nfrom ponder.sandbox import Sandbox, SandboxConfig\n"
        "sb = Sandbox(SandboxConfig(require_isolation=True)).start()\n"
        "print(sb._worker.proc.pid, flush=True)\n"  # the bwrap process (private attribute: test only)
        "sb.run('import time\\nwhile True: time.sleep(1)', timeout=300)\n"
    )
    host = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = host.stdout.readline()
        if not line.strip().isdigit():
            pytest.skip(f"bubblewrap cannot run here: {host.stderr.read()[-300:]}")
        sandbox_pid = int(line)
        time.sleep(0.3)
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
        for _ in range(200):
            try:
                state = Path(f"/proc/{sandbox_pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                state = "gone"
            if state in ("gone", "Z"):
                break
            time.sleep(0.01)
        assert state in ("gone", "Z")
    finally:
        if host.poll() is None:
            host.kill()


# -- seccomp filter, hard limits, stray threads, total memory (issue 12) ---------------------------

# x86-64 syscall numbers: (name, number, arguments); every one must fail with EPERM from the filter
DENIED = [
    ("ptrace", 101, (16, 1, 0, 0)),  # PTRACE_ATTACH to the sandbox's pid 1 (bwrap, same uid)
    ("io_uring_setup", 425, (8, "params")),
    ("io_uring_enter", 426, (0, 1, 0, 0, 0, 0)),
    ("io_uring_register", 427, (0, 0, 0, 0)),
    ("process_vm_readv", 310, (1, 0, 0, 0, 0, 0)),
    ("bpf", 321, (0, 0, 0)),
    ("userfaultfd", 323, (0,)),
    ("perf_event_open", 298, ("attr", 0, -1, -1, 0)),
    ("keyctl", 250, (0, -3)),  # KEYCTL_GET_KEYRING_ID of the session keyring
    ("add_key", 248, (b"user", b"k", b"v", 1, -3)),
    ("request_key", 249, (b"user", b"k", 0, 0)),
    ("mount", 165, (b"none", b"/tmp", b"tmpfs", 0, 0)),
    ("umount2", 166, (b"/tmp", 0)),
    ("pivot_root", 155, (b"/tmp", b"/tmp")),
    ("open_tree", 428, (-100, b"/", 1)),
    ("move_mount", 429, (-100, b"/tmp", -100, b"/", 0)),
    ("fsopen", 430, (b"tmpfs", 0)),
    ("fsconfig", 431, (0, 6, 0, 0, 0)),
    ("fsmount", 432, (0, 0, 0)),
    ("fspick", 433, (-100, b"/", 0)),
]


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="syscall numbers are x86-64's")
def test_seccomp_denies_dangerous_syscalls_with_eperm(sb):
    if not sb.hardening["seccomp"]:
        pytest.skip("no seccomp filter here (pyseccomp or libseccomp missing)")
    code = [
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nlibc.syscall.restype = ctypes.c_long\n"
        "buf = ctypes.create_string_buffer(256)\n"
        "def call(nr, *args):\n"
        "    args = [ctypes.addressof(buf) if a in ('params', 'attr') else a for a in args]\n"
        "    ctypes.set_errno(0)\n"
        "    r = libc.syscall(nr, *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])\n"
        "    return r, ctypes.get_errno()\n"
    ]
    code += [f"print({name!r}, *call({nr}, *{args!r}))\n" for name, nr, args in DENIED]
    lines = run(sb, "".join(code)).splitlines()
    assert lines == [f"{name} -1 1" for name, _nr, _args in DENIED]


def test_the_cpu_limits_hard_value_is_set_and_cannot_be_raised(sb):
    code = (
        "import resource\nsoft, hard = resource.getrlimit(resource.RLIMIT_CPU)\n"
        "print(hard != resource.RLIM_INFINITY, soft <= hard)\n"
        "try:\n    resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
        "except ValueError as e:\n    print('refused:', e)\n"
        "try:\n    resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))\n    print('soft raised to hard only')\n"
        "except ValueError as e:\n    print(e)\n"
        "print(resource.getrlimit(resource.RLIMIT_AS)[1] != resource.RLIM_INFINITY)"
    )
    assert run(sb, code).splitlines() == [
        "True True",
        "refused: not allowed to raise maximum limit",
        "soft raised to hard only",  # allowed, but the hard value is the worker's lifetime allowance
        "True",
    ]
    assert CONFIG.cpu_lifetime < 10_000


def test_a_worker_near_its_lifetime_cpu_allowance_is_replaced():
    with _start(SandboxConfig(timeout=30, cpu_seconds=1, require_isolation=True)) as sandbox:
        sandbox.run("kept = 1")
        sandbox._cpu_used = sandbox.config.cpu_lifetime  # as if 20 calls had each burned their second
        result = sandbox.run("print('fresh' if 'kept' not in globals() else 'old')")
        assert result.stdout == "fresh\n"
        assert "used its lifetime CPU allowance (20 s)" in result.stderr and "variables are lost" in result.stderr


def test_a_thread_left_running_is_stopped_at_the_end_of_its_call(sb):
    out = run(
        sb,
        "import threading\nkept = 'yes'\ndef burn():\n    while True:\n        pass\n"
        "burner = threading.Thread(target=burn, daemon=True)\nburner.start()\nprint('started')",
    )
    assert out == "started\n"
    # the thread was stopped when its call ended; the worker (and its variables) stayed
    assert run(sb, "print(burner.is_alive(), threading.active_count(), kept)") == "False 1 yes\n"


def test_a_thread_that_cannot_be_stopped_replaces_the_worker(sb):
    result = sb.run("import threading, time\nkept = 1\nthreading.Thread(target=time.sleep, args=(1000,)).start()")
    assert result.ok and "could not be stopped; the worker was replaced" in result.stderr
    assert sb.run("print('kept' in globals())").stdout == "False\n"  # a fresh worker: nothing ran in between


def test_many_processes_together_stay_under_the_memory_limit(sb):
    if not sb.hardening["cgroup"]:
        pytest.skip("no memory cgroup here (needs root or a delegated cgroup): memory is limited per process")
    code = (
        "import subprocess, sys\n"
        'hog = \'import time; b = b"x" * (400 << 20); time.sleep(3); print("ok")\'\n'
        "procs = [subprocess.Popen([sys.executable, '-c', hog], stdout=subprocess.PIPE, text=True) for _ in range(4)]\n"
        "outs = [p.communicate()[0].strip() for p in procs]\n"
        "print(outs.count('ok'), sorted(p.returncode for p in procs))"
    )
    result = sb.run(code, timeout=30)
    if result.error is not None and "died" in result.error:  # the OOM killer chose the worker itself
        assert sb.run("print('alive')").stdout == "alive\n"
        return
    survivors = int(result.stdout.split()[0])
    assert survivors <= 1, result.stdout  # 4 x 400 MB cannot fit in 512 MB (+ 96 MB of /tmp)
    assert "-9" in result.stdout  # the others were killed by the OOM killer, inside the sandbox only
    assert sb.run("print('alive')").stdout == "alive\n"
