"""Ending child processes."""
import subprocess
import sys

from fmtb import processes


def test_terminate_ends_a_child_that_ignores_sigterm():
    code = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    processes.terminate(proc, grace=0.5)
    assert proc.returncode == -9  # SIGTERM was ignored: killed


def test_terminate_lets_a_polite_child_exit():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    processes.terminate(proc)
    assert proc.returncode == -15
    processes.terminate(proc)  # an ended process is left alone
