"""Whatever signal ends ``fmtb run``, what it started ends too; nobody else's processes
are touched. Each test finds only its own processes, by a mark in their environment."""
import os
import signal
import subprocess
import sys

import pytest

from support import FMTB, TensorBoard, marked_env, processes_marked, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]


def _start(tmp_path, mark: str) -> subprocess.Popen:
    return subprocess.Popen(
        [FMTB, "run", "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
         "--notebooks", "01,02,05", "-p", "train_subset", "8000", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=marked_env(mark),
        start_new_session=True)  # as `setsid fmtb run`: no terminal to take children along


def _kernels_and_server_running(mark: str):
    found = processes_marked(mark)
    kernels = [p for p, cmd in found if "ipykernel_launcher" in cmd]
    servers_ = [p for p, cmd in found if "tensorboard" in cmd and "--logdir" in cmd]
    return found if kernels and servers_ else None


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129),
                                          (signal.SIGINT, 130)])
def test_a_stopping_signal_ends_fmtb_and_all_it_started(signum, code, tmp_path, request):
    mark = f"{request.node.name}-{os.getpid()}"
    with TensorBoard(tmp_path / "bystander") as bystander:
        proc = _start(tmp_path, mark)
        assert wait_for(lambda: _kernels_and_server_running(mark), 120), \
            proc.communicate(timeout=60)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == code, out + err
        assert err.strip().splitlines()[-1] == (
            "fmtb run: interrupted (SIGINT)" if signum == signal.SIGINT
            else f"fmtb run: stopped by {signal.Signals(signum).name}")
        assert "Traceback" not in err
        assert wait_for(lambda: processes_marked(mark) == [], 20), processes_marked(mark)
        assert bystander.proc.poll() is None  # someone else's server is left alone


def test_sigkill_leaves_nothing_behind_within_seconds(tmp_path):
    mark = f"sigkill-{os.getpid()}"
    proc = _start(tmp_path, mark)
    assert wait_for(lambda: _kernels_and_server_running(mark), 120), \
        proc.communicate(timeout=60)
    proc.kill()
    proc.wait()
    assert wait_for(lambda: processes_marked(mark) == [], 20), processes_marked(mark)


def test_sigkill_early_leaves_nothing_behind(tmp_path):
    mark = f"sigkill-early-{os.getpid()}"
    proc = _start(tmp_path, mark)
    assert wait_for(lambda: len(processes_marked(mark)) > 1, 60)  # it has started something
    proc.kill()
    proc.wait()
    assert wait_for(lambda: processes_marked(mark) == [], 20), processes_marked(mark)
