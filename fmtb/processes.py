"""Child processes: started so that they end with fmtb, ended politely, then firmly.

fmtb runs on POSIX systems (Linux, macOS): :func:`check_platform` says so in one
line elsewhere. On Linux a child can also ask the kernel to signal it when fmtb
dies, even by SIGKILL (:func:`die_with_parent`).
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil

from fmtb_helpers.board_servers import alive  # one check: a process runs (not a zombie)

from .errors import UsageError


def check_platform() -> None:
    if os.name != "posix":
        raise UsageError(f"fmtb runs on Linux and macOS (POSIX), not on {sys.platform}; "
                         f"on Windows use WSL")


def _set_parent_death_signal(signum: int, parent: int) -> None:
    import ctypes

    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        os._exit(111)  # in the child, before exec: Popen reports it as a failure
    if os.getppid() != parent:  # fmtb died before prctl took effect
        os._exit(1)


def die_with_parent(signum: int = signal.SIGTERM, nice: int = 0):
    """A ``preexec_fn`` for ``subprocess.Popen``: the child gets ``signum`` when fmtb ends,
    however it ends (Linux; elsewhere only ``nice`` is applied), and runs ``nice`` lower.

    Linux sends the signal when the *thread* that started the child exits: start
    children that must outlive a worker thread from the main thread."""
    parent = os.getpid()
    linux = sys.platform.startswith("linux")

    def preexec() -> None:
        if nice:
            os.nice(nice)
        if linux:
            _set_parent_death_signal(signum, parent)

    return preexec


def terminate(proc: subprocess.Popen | int, grace: float = 10.0, group: bool = False) -> None:
    """SIGTERM ``proc`` (a Popen, or the pid of a process fmtb started); SIGKILL it if
    it has not exited within ``grace`` seconds. With ``group``, the whole process group
    ``proc`` leads (what it started in its session) gets the signals."""
    pid = proc if isinstance(proc, int) else proc.pid
    if not isinstance(proc, int) and proc.poll() is not None and not group:
        return
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            (os.killpg if group else os.kill)(pid, signum)
        if _ended(proc, group, wait):
            break
    if not isinstance(proc, int):
        proc.wait()


def _ended(proc: subprocess.Popen | int, group: bool, timeout: float) -> bool:
    """Whether ``proc`` (with ``group``, every process of its group) has ended within
    ``timeout`` seconds; children are reaped on the way (a Popen by itself, so that
    it keeps its exit status), zombies of others count as ended."""
    deadline = time.monotonic() + timeout
    pid = proc if isinstance(proc, int) else proc.pid
    if not isinstance(proc, int):
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        left = _group(pid) if group else []
    else:
        left = _group(pid) if group else _process(pid)
    while True:
        left = [p for p in left if alive(p.pid)]
        if not left:
            return True
        if time.monotonic() >= deadline:
            return False
        _, left = psutil.wait_procs(left, timeout=0.1)


def _process(pid: int) -> list[psutil.Process]:
    try:
        return [psutil.Process(pid)]
    except psutil.NoSuchProcess:
        return []


def _group(pgid: int) -> list[psutil.Process]:
    """The processes of process group ``pgid``."""
    members = []
    for process in psutil.process_iter():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(process.pid) == pgid:
                members.append(process)
    return members
