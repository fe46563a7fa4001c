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

from fmtb_helpers.board import server_alive as alive  # one check: a pid exists

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


    return True


def _ended(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:  # not our child: look it up instead
        pass
    return not alive(pid)


def terminate(proc: subprocess.Popen | int, grace: float = 10.0, group: bool = False) -> None:
    """SIGTERM ``proc`` (a Popen, or the pid of a process fmtb started); SIGKILL it if
    it has not exited within ``grace`` seconds. With ``group``, the whole process group
    ``proc`` leads (what it started in its session) gets the signals."""
    pid = proc if isinstance(proc, int) else proc.pid
    if not isinstance(proc, int) and proc.poll() is not None and not group:
        return

    def send(signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            (os.killpg if group else os.kill)(pid, signum)

    send(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if (proc.poll() is not None) if not isinstance(proc, int) else _ended(pid):
            if not group:
                return
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    send(signal.SIGKILL)
    if not isinstance(proc, int):
        proc.wait()
    else:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
