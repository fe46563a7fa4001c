"""Child processes: started so that they end with fmtb, ended politely, then firmly
(:func:`end`, the one place fmtb sends SIGTERM and then SIGKILL).

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


def end(procs: list, grace: float = 10.0, group: int | None = None) -> list:
    """The one way fmtb ends processes: SIGTERM, up to ``grace`` seconds to exit, then
    SIGKILL and up to 10 s more. ``procs``: psutil Processes, or Popens (each reaped by
    itself, so that it keeps its exit status); with ``group``, each signal goes to that
    whole process group instead (what its members started meanwhile included).
    Returns those still running (none, normally)."""
    left = list(procs)
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        if group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signum)
        for proc in [] if group else left:
            with contextlib.suppress(ProcessLookupError, psutil.Error):
                proc.send_signal(signum)
        left = _wait(left, wait)
        if not left:
            break
    return left


def terminate(proc: subprocess.Popen | int, grace: float = 10.0, group: bool = False) -> None:
    """:func:`end` ``proc`` (a Popen, or the pid of a process fmtb started). With
    ``group``, the whole process group ``proc`` leads (what it started in its session)."""
    pid = proc if isinstance(proc, int) else proc.pid
    if not isinstance(proc, int) and proc.poll() is not None and not group:
        return
    members = _group(pid) if group else [] if not isinstance(proc, int) else _process(pid)
    if not isinstance(proc, int):
        members = [proc, *(m for m in members if m.pid != pid)]
    end(members, grace, group=pid if group else None)
    if not isinstance(proc, int):
        proc.wait()


def _wait(procs: list, timeout: float) -> list:
    """Those of ``procs`` still running after up to ``timeout`` seconds; children are
    reaped on the way (psutil.wait_procs), zombies of others count as ended."""
    deadline = time.monotonic() + timeout
    popens = [p for p in procs if isinstance(p, subprocess.Popen)]
    for popen in popens:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(max(0.0, deadline - time.monotonic()))
    left = [p for p in procs if not isinstance(p, subprocess.Popen)]
    while left := [p for p in left if alive(p.pid)]:
        if time.monotonic() >= deadline:
            break
        _, left = psutil.wait_procs(left, timeout=min(0.1, deadline - time.monotonic()))
    return [p for p in popens if p.returncode is None] + left


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
