"""Starting and ending child processes."""
import os
import signal
import subprocess
import sys
import time

import pytest

from fmtb import errors, processes

pytestmark = pytest.mark.unit

IGNORES_SIGTERM = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                   "print('ready', flush=True); time.sleep(60)")


def test_terminate_ends_a_child_that_ignores_sigterm():
    proc = subprocess.Popen([sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline() == "ready\n"
    processes.terminate(proc, grace=0.5)
    assert proc.returncode == -9  # SIGTERM was ignored: killed


def test_terminate_lets_a_polite_child_exit():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    processes.terminate(proc)
    assert proc.returncode == -15
    processes.terminate(proc)  # an ended process is left alone


def test_terminate_by_pid_and_by_group():
    # a child in a session of its own that started a grandchild ignoring SIGTERM
    code = ("import subprocess, sys, time; "
            f"p = subprocess.Popen([sys.executable, '-c', {IGNORES_SIGTERM!r}], "
            "stdout=subprocess.PIPE, text=True); p.stdout.readline(); "
            "print(p.pid, flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    grandchild = int(proc.stdout.readline())
    processes.terminate(proc.pid, grace=0.5, group=True)
    assert not processes.alive(proc.pid)
    deadline = time.monotonic() + 5
    while processes.alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)  # killed; its parent is gone, so init reaps it
    assert not processes.alive(grandchild) or _zombie(grandchild)


def _zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(") ", 1)[1].startswith("Z")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_child_started_with_die_with_parent_ends_when_its_parent_is_killed():
    code = ("import subprocess, sys, time; from fmtb import processes; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], "
            "preexec_fn=processes.die_with_parent()); print(p.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert processes.alive(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while processes.alive(child) and not _zombie(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes.alive(child) or _zombie(child)


def test_alive():
    assert processes.alive(os.getpid())
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not processes.alive(proc.pid)


def test_other_systems_get_one_line(monkeypatch):
    monkeypatch.setattr(processes.os, "name", "nt")
    with pytest.raises(errors.UsageError, match="fmtb runs on Linux and macOS"):
        processes.check_platform()


def test_stopped_names_its_signal():
    assert str(errors.Stopped(signal.SIGTERM)) == "SIGTERM"
    assert not isinstance(errors.Stopped(signal.SIGHUP), Exception)  # unwinds like Ctrl-C
