"""fmtb sweep: grids checked like fmtb run, one run per combination, HParams filled."""
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from fmtb import grid
from fmtb.errors import UsageError
from support import FMTB, assert_hparams_sessions, assert_refused, fmtb

pytestmark = pytest.mark.integration


def test_parse_grid_and_combinations():
    cells = grid.parse(["lr=0.001,0.01", "momentum=0.9, 0.5"])
    assert cells == {"lr": ["0.001", "0.01"], "momentum": ["0.9", "0.5"]}
    combos = grid.combinations(cells)
    assert len(combos) == 4 and combos[1] == {"lr": "0.001", "momentum": "0.5"}
    assert grid.folder_name(combos[1]) == "lr_0.001-momentum_0.5"


@pytest.mark.parametrize("items, message", [
    (["lr"], "--grid takes NAME=V1,V2"),
    (["lr="], "--grid takes NAME=V1,V2"),
    (["lr=1", "lr=2"], "names 'lr' twice"),
])
def test_malformed_grids(items, message):
    with pytest.raises(UsageError, match=message):
        grid.parse(items)


@pytest.mark.parametrize("args, words", [
    (["--grid", "bach_size=4,8"], ["unknown parameter 'bach_size'", "did you mean 'batch_size'"]),
    (["--grid", "lr=0.001,nan"], ["lr must be a finite number"]),
    (["--grid", "lr=0.01", "-p", "lr", "0.1"], ["lr is in --grid and in -p"]),
    (["--grid", "lr=0.01", "-p", "n_features", "0"], ["n_features must be between 1 and 10000"]),
    (["--grid", "lr=0.001,0.001"], ["--grid lr gives 0.001 twice ('0.001' and '0.001')",
                                    "give each value once"]),
    (["--grid", "lr=0.001,0.01,1e-3"], ["--grid lr gives 0.001 twice ('0.001' and '1e-3')"]),
    (["--grid", "in_memory=true,yes"], ["--grid in_memory gives True twice"]),
    (["--grid", "data_root=/a b,/a_b"], ["'/a b' and '/a_b' would share the folder "
                                         "data_root__a_b"]),
])
def test_bad_grids_are_refused_in_one_line(args, words, tmp_path):
    proc = fmtb("sweep", "--runs-dir", str(tmp_path), *args)
    assert_refused(proc, *words, command="sweep")
    assert list(tmp_path.iterdir()) == []


def test_a_sweep_fills_hparams_and_survives_a_failing_configuration(tmp_path, real_data_root):
    proc = fmtb("sweep", "--grid", "lr=0.001,0.01,1e30", "-p", "train_subset", "400",
                "-p", "log_every", "50", "-p", "eval_every", "50", "-p", "n_features", "50",
                "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "-q")
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    lines = out.splitlines()
    assert lines[0].startswith("Sweep of 3 configurations (lr: 3 values) into ")
    assert "[1/3] lr_0.001 ... done" in out and "[2/3] lr_0.01 ... done" in out
    # measured, then extrapolated: the time left after each but the last
    assert "(2 left, about " in lines[1] and "(1 left, about " in lines[2]
    assert "left" not in lines[3]
    assert "test accuracy " in lines[1] and "test loss " in lines[1]
    assert "[3/3] lr_1e30 ... FAILED after " in out
    failed = [line for line in out.splitlines() if line.startswith("failed: lr_1e30:")]
    assert failed and "notebook 05_track_training failed in cell" in failed[0]
    sweep_dir = tmp_path / "runs" / "sweep_1"
    assert sorted(p.name for p in sweep_dir.iterdir()) == ["lr_0.001", "lr_0.01", "lr_1e30"]
    assert_hparams_sessions(sweep_dir, {"lr_0.001": 0.001, "lr_0.01": 0.01})
    # the sweep's TensorBoard servers (and this test's) are gone; found by their logdir,
    # not by what else runs on the machine
    assert _processes_naming(sweep_dir) == []


def _processes_naming(path) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if str(path) in line]


def test_ctrl_c_leaves_no_connection_files(tmp_path, real_data_root):
    """Kernel connection files hold the kernel's keys: an interrupted sweep leaves none
    in $TMPDIR (Ctrl-C: SIGINT to the foreground process group)."""
    tmp = Path(tempfile.mkdtemp(prefix="s"))
    proc = subprocess.Popen(
        [FMTB, "sweep", "--grid", "lr=0.001,0.01", "-p", "train_subset", "4000", "-q",
         "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "TMPDIR": str(tmp)})
    try:
        deadline = time.monotonic() + 300
        while not list(tmp.rglob("*.json")) and proc.poll() is None:
            assert time.monotonic() < deadline, "no kernel started in 300 s"
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
        time.sleep(1)  # the kernel is starting or running
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        left = list(tmp.rglob("*"))
        shutil.rmtree(tmp)
    assert proc.returncode == 130, out + err
    assert "fmtb sweep: interrupted (SIGINT)" in err.splitlines() and "Traceback" not in err
    assert [p for p in left if p.suffix == ".json"] == []
    assert out.startswith("Sweep of 2 configurations (lr: 2 values) into ")
    # its kernel (named by its connection file) and TensorBoard (by its logdir) end too
    deadline = time.monotonic() + 20
    while _processes_naming(tmp) + _processes_naming(tmp_path / "runs"):
        assert time.monotonic() < deadline, _processes_naming(tmp) + _processes_naming(
            tmp_path / "runs")
        time.sleep(0.5)
