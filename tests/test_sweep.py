"""fmtb sweep: grids checked like fmtb run, one run per combination, HParams filled."""
import pytest

from fmtb_helpers import board

from fmtb import servers, sweep
from fmtb.errors import UsageError
from support import assert_refused, fmtb

pytestmark = pytest.mark.integration


def test_parse_grid_and_combinations():
    grid = sweep.parse_grid(["lr=0.001,0.01", "momentum=0.9, 0.5"])
    assert grid == {"lr": ["0.001", "0.01"], "momentum": ["0.9", "0.5"]}
    combos = sweep.combinations(grid)
    assert len(combos) == 4 and combos[1] == {"lr": "0.001", "momentum": "0.5"}
    assert sweep.run_name(combos[1]) == "lr_0.001-momentum_0.5"


@pytest.mark.parametrize("items, message", [
    (["lr"], "--grid takes NAME=V1,V2"),
    (["lr="], "--grid takes NAME=V1,V2"),
    (["lr=1", "lr=2"], "names 'lr' twice"),
])
def test_malformed_grids(items, message):
    with pytest.raises(UsageError, match=message):
        sweep.parse_grid(items)


@pytest.mark.parametrize("args, words", [
    (["--grid", "bach_size=4,8"], ["unknown parameter 'bach_size'", "did you mean 'batch_size'"]),
    (["--grid", "lr=0.001,nan"], ["lr must be a finite number"]),
    (["--grid", "lr=0.01", "-p", "lr", "0.1"], ["lr is in --grid and in -p"]),
    (["--grid", "lr=0.01", "-p", "n_features", "0"], ["n_features must be between 1 and 10000"]),
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
    assert "[1/3] lr_0.001 ... done" in out and "[2/3] lr_0.01 ... done" in out
    assert "[3/3] lr_1e30 ... FAILED" in out
    failed = [line for line in out.splitlines() if line.startswith("failed: lr_1e30:")]
    assert failed and "notebook 05_track_training failed in cell" in failed[0]
    sweep_dir = tmp_path / "runs" / "sweep_1"
    assert sorted(p.name for p in sweep_dir.iterdir()) == ["lr_0.001", "lr_0.01", "lr_1e30"]
    with servers.TensorBoardServer(sweep_dir) as tb:
        groups = tb.hparams_sessions()
    assert set(groups) == {"lr_0.001", "lr_0.01"}
    for name, lr in (("lr_0.001", 0.001), ("lr_0.01", 0.01)):
        assert float(groups[name]["hparams"]["lr"]) == lr
        metrics = {m["name"]["tag"]: m["value"] for m in groups[name]["metricValues"]}
        assert 0 < metrics["hparam/test accuracy"] <= 1 and metrics["hparam/test loss"] > 0
    assert board.running_servers() == []
