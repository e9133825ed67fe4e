"""The seccomp filter handed to bubblewrap (``--seccomp FD``): kernel interfaces sandboxed code never needs.

Built on the host with ``pyseccomp`` (a ctypes binding to the system's libseccomp, the
library bubblewrap, systemd and container runtimes use), exported as classic BPF into a
memory file, and passed to bubblewrap as an inherited descriptor; bubblewrap installs it
(with ``no_new_privs``) right before it starts the worker, so it holds for the worker and
everything the code starts, and cannot be removed.

Policy: allow by default, and make the calls below fail with ``EPERM`` (a clear error in
the code, not a kill). Syscalls of another architecture (``int 0x80`` on x86-64) are killed:
libseccomp's filter checks the architecture first. The list:

* ``io_uring_setup``/``io_uring_enter``/``io_uring_register``: a large kernel attack surface
  that also bypasses per-syscall filtering;
* ``ptrace``, ``process_vm_readv``/``process_vm_writev``: no tracing or reading of other
  processes, bubblewrap's own pid 1 included;
* ``bpf``, ``userfaultfd``, ``perf_event_open``: common kernel-exploit primitives;
* ``keyctl``, ``add_key``, ``request_key``: the kernel keyrings;
* the mount family: ``mount``, ``umount2``, ``pivot_root``, ``move_mount``, ``open_tree``,
  ``fsopen``, ``fsmount``, ``fsconfig``, ``fspick``, ``mount_setattr``.

Without the binding or the library the filter cannot be built: :func:`build_filter` says why,
and the sandbox still runs isolated by namespaces, with a warning (``require_isolation`` does
not demand seccomp; install ``pyseccomp`` and ``libseccomp2``).
"""

from __future__ import annotations

import errno
import os
import tempfile
from typing import Any

DENIED = (
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "bpf",
    "userfaultfd",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "mount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "mount_setattr",
)

_cached: tuple[bytes | None, str] | None = None


def filter_program() -> tuple[bytes | None, str]:
    """The BPF program (built once per process), or ``(None, why not)``."""
    global _cached
    if _cached is None:
        _cached = _build()
    return _cached


def _build() -> tuple[bytes | None, str]:
    try:
        import pyseccomp
    except (ImportError, OSError) as exc:  # the binding, or libseccomp.so.2 behind it, is missing
        return None, f"no seccomp filter: pyseccomp/libseccomp unavailable ({exc})"
    try:
        rules: Any = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        for name in DENIED:
            try:
                rules.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
            except (ValueError, OSError, RuntimeError):  # a call this libseccomp does not know: not on this kernel
                continue
        with tempfile.TemporaryFile() as out:
            rules.export_bpf(out)
            out.seek(0)
            return out.read(), ""
    except Exception as exc:  # libseccomp refused: report, run without the filter
        return None, f"no seccomp filter: libseccomp failed ({exc})"


def filter_fd() -> tuple[int | None, str]:
    """A fresh readable descriptor holding the filter (the caller passes it to bubblewrap and closes it)."""
    program, reason = filter_program()
    if program is None:
        return None, reason
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("ponder-seccomp", 0)  # not close-on-exec flags: passed with pass_fds anyway
    else:  # pragma: no cover - Linux always has memfd_create
        fd, path = tempfile.mkstemp()
        os.unlink(path)
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd, ""
