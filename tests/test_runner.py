"""``fmtb run`` for real: papermill, kernels, event files read back, bad input refused."""
import shutil
import subprocess

import nbformat
import pytest

from fmtb_helpers import board, data

from conftest import (CLASSES, EVAL_POINTS, LOG_POINTS, N_FEATURES, SERIES_RUN, assert_refused,
                      fmtb)


def test_series_writes_every_section(series):
    base, proc = series
    run = base / "runs" / "fashion_mnist_experiment_1"
    assert f"Run written to {run}" in proc.stdout
    assert "tensorboard --logdir" in proc.stdout.splitlines()[-1]
    assert sorted(p.name[:2] for p in (base / "out").glob("*.ipynb")) == [
        "01", "02", "03", "04", "05", "06"]
    summary = board.event_summary(run)
    assert summary["images"] == {"four_fashion_mnist_images": 1,
                                 "predictions vs. actuals": LOG_POINTS,
                                 "confusion matrix": 1, "most confident mistakes": 1}
    scalars = summary["scalars"]
    assert scalars["training loss"] == LOG_POINTS
    assert scalars["test loss"] == scalars["test accuracy"] == EVAL_POINTS
    assert {f"per-class accuracy/{c}" for c in CLASSES} <= set(scalars)
    assert summary["graph"] == {"graph": 1}
    histograms = summary["histograms"]
    assert len(histograms) == 20 and set(histograms.values()) == {LOG_POINTS}
    assert {"weights/fc3.weight", "gradients/conv1.bias"} <= set(histograms)
    tensors = summary["tensors"]
    assert all(tensors[c] == 1 for c in CLASSES)
    assert all(tensors[f"during training/{c}"] == EVAL_POINTS for c in CLASSES)
    (pixels,) = board.projector_summary(next(run.glob("pixels_*")))
    (learned,) = board.projector_summary(next(run.glob("learned_features_*")))
    assert pixels["shape"] == (100, 784) and set(pixels["labels"]) <= CLASSES
    assert pixels["thumbnail"] == (28, 28)
    assert learned["tensor_name"].startswith("learned features")
    assert learned["shape"] == (N_FEATURES, 84) and learned["thumbnail"] == (28, 28)
    assert (run / "net.pt").is_file()
    # one event file per notebook but 04 and one for add_hparams: no writer re-opened
    assert len(board.event_files(run)) == 6  # 04 and 06 write embeddings in runs of their own


def test_series_leaves_no_server(series):
    assert board.running_servers() == []


def test_series_kernels_were_forked(series):
    _, proc = series
    out = proc.stdout + proc.stderr
    assert "not forked" not in out and "the usual way" not in out
    # and talked to over encrypted sockets: ipykernel warns about plain TCP
    assert "without encryption" not in out


def test_the_tutorials_dataloader_path_runs_too(tmp_path):
    # in_memory False: torchvision's dataset and DataLoader workers, forked from a
    # kernel that is itself a fork
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                "-p", "in_memory", "False", "-p", "train_subset", "400", "-p", "log_every",
                "25", "-p", "eval_every", "50", "-p", "eval_images", "300",
                "-p", "n_features", "100", "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = board.event_summary(tmp_path / "runs" / "fashion_mnist_experiment_1")
    assert summary["scalars"]["training loss"] == 400 // 4 // 25
    assert summary["scalars"]["test accuracy"] == 400 // 4 // 50


def _texts(notebook):
    """The text outputs nbval compares."""
    nb = nbformat.read(notebook, as_version=4)
    return [o.get("text") or o.get("data", {}).get("text/plain")
            for c in nb.cells if c.cell_type == "code"
            and "# NBVAL_IGNORE_OUTPUT" not in c.source.splitlines() for o in c.outputs]


def test_spawned_kernels_give_what_forked_ones_give(series, tmp_path):
    base, _ = series
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                "--notebooks", "01,02", "--kernels", "spawn", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "without encryption" not in proc.stderr
    name = "02_write_to_tensorboard.ipynb"
    texts = _texts(tmp_path / "out" / name)
    assert len(texts) > 3 and texts == _texts(base / "out" / name)


def test_a_second_run_keeps_the_first(series):
    base, _ = series
    first = base / "runs" / "fashion_mnist_experiment_1"
    before = sorted((p.name, p.stat().st_mtime) for p in first.rglob("*"))
    proc = fmtb("run", "--runs-dir", str(base / "runs"), "--out", str(base / "out2"),
                "--notebooks", "01,02", "-q")
    assert proc.returncode == 0, proc.stderr
    assert (base / "runs" / "fashion_mnist_experiment_2").is_dir()
    assert sorted((p.name, p.stat().st_mtime) for p in first.rglob("*")) == before


def test_an_existing_run_name_is_refused(series):
    base, _ = series
    proc = fmtb("run", "--runs-dir", str(base / "runs"),
                "--run-name", "fashion_mnist_experiment_1", "-q")
    assert_refused(proc, "already exists", "--replace")


def test_a_failing_notebook_is_named(series, tmp_path):
    base, _ = series
    shutil.copytree(base / "runs" / "fashion_mnist_experiment_1", tmp_path / "runs" / "broken")
    model = tmp_path / "runs" / "broken" / "net.pt"
    model.write_bytes(model.read_bytes()[:100])
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "--run-name", "broken",
                "--notebooks", "06", "--out", str(tmp_path / "out"), "-q")
    assert_refused(proc, "notebook 06_assess_the_model failed in cell [",
                   str(tmp_path / "out" / "06_assess_the_model.ipynb"), code=1)
    assert board.running_servers() == []


@pytest.mark.parametrize("args, words", [
    (["-p", "bach_size", "4"], ["unknown parameter 'bach_size'", "did you mean 'batch_size'"]),
    (["-p", "batch_size", "0"], ["batch_size must be at least 1"]),
    (["-p", "batch_size", "-3"], ["batch_size must be at least 1"]),
    (["-p", "lr", "nan"], ["lr must be a finite number"]),
    (["-p", "lr", "-0.1"], ["lr must be a positive number"]),
    (["-p", "train_subset", "60001"], ["train_subset must be between 0 and 60000"]),
    (["-p", "device", "tpu"], ["device must be one of auto, cpu, cuda, mps"]),
    (["--notebooks", "09"], ["no notebook '09'"]),
    (["--kernels", "thread"], ["--kernels: invalid choice: 'thread'"]),
])
def test_bad_input_is_refused_before_any_kernel(args, words, tmp_path):
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), *args)
    assert_refused(proc, *words)
    assert proc.seconds < 30 and not (tmp_path / "runs").exists()
    assert not _zygotes()  # the kernels' zygote, started beside the checks, is gone


def _zygotes() -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if "-m fmtb.kernels" in line]


def test_absent_device_is_refused(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is present here")
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "-p", "device", "cuda")
    assert_refused(proc, "'cuda' is not available on this machine")


def test_missing_data_says_how_to_get_it(tmp_path):
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "-p", "data_root",
                str(tmp_path / "empty"), env={data.MIRROR_ENV: str(tmp_path / "no-mirror")})
    assert_refused(proc, "Fashion-MNIST is not under", data.MIRROR_ENV, "fmtb data")


def test_corrupt_data_file_is_named(tmp_path, real_data_root):
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    shutil.copytree(data.raw_dir(real_data_root), raw)
    victim = raw / "train-labels-idx1-ubyte"
    victim.write_bytes(victim.read_bytes()[:5000])
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "-p", "data_root",
                str(tmp_path / "data"))
    assert_refused(proc, str(victim), "truncated or corrupt")


def test_assessment_without_a_trained_model(tmp_path):
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "--notebooks", "06")
    assert_refused(proc, "has no trained model", "run notebook 05 first")


def test_dependencies_keep_the_order_that_matters():
    from fmtb import runner

    nbs = runner.all_notebooks()
    deps = runner.dependencies(nbs)
    by = {runner.number(nb): nb for nb in nbs}
    assert deps[by["06"]] == {by["05"], by["04"]}
    assert all(deps[by[n]] == set() for n in ("01", "02", "03", "04", "05"))
    only = runner.dependencies([by["05"], by["06"]])
    assert only[by["06"]] == {by["05"]} and only[by["05"]] == set()


def test_the_command_does_not_import_torch():
    """fmtb's own process stays small: torch (~0.5 GB here) lives in the kernels."""
    import subprocess
    import sys

    code = "import sys, fmtb.cli, papermill; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_reported_accuracy_is_the_saved_models(series, real_data_root):
    from fmtb_helpers import evaluation, model
    from fmtb import runner

    base, _ = series
    net, _ = model.load_checkpoint(base / "runs" / SERIES_RUN / "net.pt", "cpu")
    _, testset = data.load_datasets(real_data_root, in_memory=True)
    probs, labels = evaluation.predict(net, data.batches(testset))
    # 06 prints it to one decimal place of a percent
    assert runner.reported_accuracy(base / "out") == pytest.approx(
        evaluation.accuracy(probs, labels), abs=0.0005)
    with pytest.raises(FileNotFoundError, match="no executed notebook 06"):
        runner.reported_accuracy(base / "runs")
