"""``fmtb run`` for real: papermill, kernels, event files read back, bad input refused,
runs kept apart."""
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fmtb import fetch, results, runner
from fmtb_helpers import board, data
from fmtb_helpers.tutorial import classes

from support import (
    EVAL_POINTS,
    FMTB,
    LOG_POINTS,
    MARK,
    N_FEATURES,
    SERIES_MARK,
    SERIES_RUN,
    TensorBoard,
    assert_refused,
    event_files,
    fmtb,
    processes_marked,
    wait_for,
)

pytestmark = pytest.mark.integration


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
                                 "confusion matrix": 1, "most confident mistakes": 1,
                                 "sixteen_test_images": 1}  # 02's first exercise
    scalars = summary["scalars"]
    assert scalars["training loss"] == LOG_POINTS
    assert scalars["test loss"] == scalars["test accuracy"] == EVAL_POINTS
    assert {f"per-class accuracy/{c}" for c in classes} <= set(scalars)
    assert summary["graph"] == {"graph": 1}
    histograms = summary["histograms"]
    assert len(histograms) == 20 and set(histograms.values()) == {EVAL_POINTS}
    assert {"weights/fc3.weight", "gradients/conv1.bias"} <= set(histograms)
    tensors = summary["tensors"]
    assert all(tensors[c] == 1 for c in classes)
    assert all(tensors[f"during training/{c}"] == EVAL_POINTS for c in classes)
    (pixels,) = board.projector_summary(next(run.glob("pixels_*")))
    (learned,) = board.projector_summary(next(run.glob("learned_features_*")))
    assert pixels["shape"] == (100, 784) and set(pixels["labels"]) <= set(classes)
    assert pixels["thumbnail"] == (28, 28)
    assert learned["tensor_name"].startswith("learned features")
    assert learned["shape"] == (N_FEATURES, 84) and learned["thumbnail"] == (28, 28)
    assert (run / "net.pt").is_file()
    # one event file per notebook but 04 and one for add_hparams, and one per notebook
    # for its exercises: no writer re-opened (04 and 06 write embeddings in runs of their own)
    assert len(event_files(run)) == 6
    assert len(list(run.glob("events.out.tfevents.*-exercises"))) == 6


def test_series_leaves_no_process(series):
    assert processes_marked(SERIES_MARK) == []


def test_series_kernels_use_encrypted_sockets(series):
    _, proc = series
    # ipykernel warns about plain TCP once per kernel otherwise
    assert "without encryption" not in proc.stdout + proc.stderr


def test_the_tutorials_dataloader_path_runs_too(series):
    """The series ran with in_memory False (conftest.py): torchvision's dataset and
    DataLoader workers in every notebook that reads images."""
    base, _ = series
    for number in ("02", "03", "04", "05", "06"):
        executed = results.executed(base / "out", number)
        injected = [c for c in executed.cells
                    if "injected-parameters" in c.metadata.get("tags", [])]
        assert "in_memory = False" in injected[0].source, number
    summary = board.event_summary(base / "runs" / "fashion_mnist_experiment_1")
    assert summary["scalars"]["training loss"] == LOG_POINTS
    assert summary["scalars"]["test accuracy"] == 2  # before and after training


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
    mark = f"broken-{os.getpid()}"
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "--run-name", "broken",
                "--notebooks", "06", "--out", str(tmp_path / "out"), "-q", env={MARK: mark})
    assert_refused(proc, "notebook 06_assess_the_model failed in cell [",
                   str(tmp_path / "out" / "06_assess_the_model.ipynb"), code=1)
    assert processes_marked(mark) == []


@pytest.mark.parametrize("args, words", [
    (["-p", "bach_size", "4"], ["unknown parameter 'bach_size'", "did you mean 'batch_size'"]),
    (["-p", "batch_size", "0"], ["batch_size must be at least 1"]),
    (["-p", "batch_size", "-3"], ["batch_size must be at least 1"]),
    (["-p", "lr", "nan"], ["lr must be a finite number"]),
    (["-p", "lr", "-0.1"], ["lr must be a positive number"]),
    (["-p", "train_subset", "60001"], ["train_subset must be between 0 and 60000"]),
    (["-p", "device", "tpu"], ["device must be one of auto, cpu, cuda, mps"]),
    (["--notebooks", "09"], ["no notebook '09'"]),
    (["--notebooks", " "], ["--notebooks ' ' names no notebook"]),
    (["--notebooks", ","], ["names no notebook"]),
    (["--run-name", "x" * 300], ["--run-name is 300 characters long; give at most 100"]),
    (["--run-name", "실험/1"], ["run_name must be a plain folder name"]),
    (["-j", "0"], ["argument -j/--jobs: must be 1 or more, not 0"]),
    (["-j", "-3"], ["argument -j/--jobs: must be 1 or more, not -3"]),
])
def test_bad_input_is_refused_before_any_kernel(args, words, tmp_path):
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                *args)
    assert_refused(proc, *words)
    assert proc.seconds < 30 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", ["--runs-dir", "--out"])
def test_a_file_where_a_folder_belongs_is_refused(flag, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    given = {"--runs-dir": str(tmp_path / "runs"), "--out": str(tmp_path / "out"),
             flag: str(tmp_path / "file" / "sub")}
    proc = fmtb("run", "--notebooks", "01", *[x for kv in given.items() for x in kv])
    assert_refused(proc, flag, str(tmp_path / "file"), "is a file, not a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("flag", ["--runs-dir", "--out"])
def test_a_read_only_folder_is_refused(flag, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    given = {"--runs-dir": str(tmp_path / "runs"), "--out": str(tmp_path / "out"),
             flag: str(locked / "sub")}
    proc = fmtb("run", "--notebooks", "01", *[x for kv in given.items() for x in kv])
    assert_refused(proc, flag, "is not writable")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locked"]


def test_absent_device_is_refused(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is present here")
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "-p", "device", "cuda")
    assert_refused(proc, "'cuda' is not available on this machine")


def test_missing_data_says_how_to_get_it(tmp_path):
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "-p", "data_root",
                str(tmp_path / "empty"), env={fetch.MIRROR_ENV: str(tmp_path / "no-mirror")})
    assert_refused(proc, "Fashion-MNIST is not under", fetch.MIRROR_ENV, "fmtb data")


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
    assert_refused(proc, "has no net.pt from notebook 05", "run notebook 05 first")


def test_dependencies_keep_the_order_that_matters():
    nbs = runner.all_notebooks()
    deps = runner.dependencies(nbs)
    by = {runner.number(nb): nb for nb in nbs}
    assert deps[by["06"]] == {by["05"]}
    assert all(deps[by[n]] == set() for n in ("01", "02", "03", "04", "05"))
    only = runner.dependencies([by["05"], by["06"]])
    assert only[by["06"]] == {by["05"]} and only[by["05"]] == set()


def test_the_command_does_not_import_torch():
    """fmtb's own process stays small: torch (~0.5 GB here) lives in the kernels."""
    import subprocess

    code = "import sys, fmtb.cli, papermill; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_final_metrics_are_the_saved_models(series, real_data_root):
    from fmtb_helpers import evaluation, model, tutorial

    base, _ = series
    run = base / "runs" / SERIES_RUN
    net, _ = model.load_checkpoint(run / "net.pt", "cpu")
    _, testset = data.load_datasets(real_data_root, in_memory=True)
    probs, labels = tutorial.predict(net, data.batches(testset))
    metrics = results.final_metrics(run)
    assert metrics[results.ACCURACY] == pytest.approx(evaluation.accuracy(probs, labels),
                                                      abs=1e-6)
    assert metrics[results.LOSS] == pytest.approx(evaluation.loss(probs, labels), rel=1e-5)
    with pytest.raises(ValueError, match="notebook 06 has not finished"):
        results.final_metrics(base / "runs")


def test_the_training_cell_is_timed(series):
    base, _ = series
    executed = results.executed(base / "out", "05")
    training = results.cell_duration(executed, results.TRAINING_CELL_TAG)
    assert 0 < training < executed.metadata.papermill.duration


# --- issue 17: runs kept apart ------------------------------------------------

def test_each_kernel_gets_its_working_directory_and_fmtb_keeps_its_own(
        tmp_path, monkeypatch, real_data_root):
    # papermill's cwd= changed the whole process's directory while a notebook ran,
    # so a kernel another thread started meanwhile could start in the wrong one
    foreign = tmp_path / "elsewhere"
    foreign.mkdir()
    monkeypatch.chdir(foreign)
    seen, stop = set(), threading.Event()

    def watch():
        while not stop.is_set():
            seen.add(os.getcwd())
            time.sleep(0.001)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        plan = runner.plan("01,02", runs_dir=str(tmp_path / "runs"),
                           out=str(tmp_path / "out"))
        runner.execute(plan, progress=False, jobs=2, log=lambda *a, **k: None)
    finally:
        stop.set()
        watcher.join()
    assert seen == {str(foreign)}
    assert list(foreign.iterdir()) == []  # no data/ decompressed beside the caller
    assert len(event_files(tmp_path / "runs" / SERIES_RUN)) == 2


def test_two_runs_at_once_get_two_run_folders(tmp_path, real_data_root):
    args = [FMTB, "run", "--notebooks", "01", "--runs-dir", str(tmp_path / "runs"), "-q"]
    procs = [subprocess.Popen(args + ["--out", str(tmp_path / f"out{i}")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert runs == ["fashion_mnist_experiment_1", "fashion_mnist_experiment_2"]
    for run in runs:
        assert len(event_files(tmp_path / "runs" / run)) == 1


def test_a_run_folder_is_claimed_when_the_run_starts_not_when_it_is_planned(
        tmp_path, real_data_root):
    # two commands that both checked their input before either started: the next
    # free name was looked up at planning and created later, so both took the same
    # (execute's first step is runner.claimed; two runs written at once, each into
    # its own folder, are test_two_runs_at_once_get_two_run_folders)
    plans = [runner.plan("01", runs_dir=str(tmp_path / "runs"), out=str(tmp_path / f"out{i}"))
             for i in range(2)]
    assert [p.run_name for p in plans] == [None, None]  # named when claimed, not before
    with runner.claimed(plans[0]) as first, runner.claimed(plans[1]) as second:
        assert first and second
        runs = [p.run_dir for p in plans]
        assert [r.name for r in runs] == ["fashion_mnist_experiment_1",
                                          "fashion_mnist_experiment_2"]
        assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [r.name for r in runs]


def test_one_run_name_given_twice_at_once_runs_once(tmp_path, real_data_root):
    args = [FMTB, "run", "--notebooks", "01", "--runs-dir", str(tmp_path / "runs"),
            "--run-name", "same", "-q"]
    procs = [subprocess.Popen(args + ["--out", str(tmp_path / f"out{i}")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 2], outs
    refused = next(err for (_, err), p in zip(outs, procs, strict=True) if p.returncode == 2)
    assert refused.strip().endswith("or pass --replace to move the old one aside")
    assert len(event_files(tmp_path / "runs" / "same")) == 1


def test_training_again_on_a_finished_run_needs_replace(series):
    base, _ = series
    run = base / "runs" / SERIES_RUN
    before = sorted((p.name, p.stat().st_mtime) for p in run.rglob("*"))
    proc = fmtb("run", "--runs-dir", str(base / "runs"), "--run-name", SERIES_RUN,
                "--notebooks", "05", "-p", "train_subset", "40", "-q")
    assert_refused(proc, "already exists", "--replace")
    assert sorted((p.name, p.stat().st_mtime) for p in run.rglob("*")) == before


def test_a_server_someone_else_starts_meanwhile_survives(tmp_path, real_data_root):
    (tmp_path / "theirs").mkdir()
    run = tmp_path / "runs" / SERIES_RUN
    fmtb_run = subprocess.Popen([FMTB, "run", "--notebooks", "01,02", "--runs-dir",
                                 str(tmp_path / "runs"), "--out", str(tmp_path / "out"), "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: run.is_dir() and event_files(run), 120)
        with TensorBoard(tmp_path / "theirs") as theirs:
            out, err = fmtb_run.communicate(timeout=300)
            assert fmtb_run.returncode == 0, out + err
            assert theirs.proc.poll() is None
            assert theirs.get_json("/data/runs") == []
    finally:
        if fmtb_run.poll() is None:
            fmtb_run.kill()
            fmtb_run.wait()


def test_a_successful_series_logs_no_error(series):
    """jupyter_client interrupts a kernel before shutting it down, and ipykernel logs
    an interrupt that lands in a message handler as an ERROR: the runner's kernels
    are shut down without it."""
    _, proc = series
    assert "ERROR" not in proc.stdout + proc.stderr, proc.stderr


@pytest.fixture(scope="module")
def hangul_run(tmp_path_factory, real_data_root):
    """Notebooks 01 and 02 into a run named in Hangul, output piped as in a CI log:
    ``(runs dir, CompletedProcess)``."""
    base = tmp_path_factory.mktemp("hangul")
    proc = fmtb("run", "--notebooks", "01,02", "--runs-dir", str(base / "runs"),
                "--run-name", "실험1", "--out", str(base / "out"))
    return base / "runs", proc


def test_a_run_named_in_hangul_runs_and_tensorboard_shows_it(hangul_run):
    runs, proc = hangul_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Run written to {runs / '실험1'}" in proc.stdout
    with TensorBoard(runs) as tb:
        tags = wait_for(lambda: tb.get_json("/data/plugin/images/tags"), timeout=30)
    assert list(tags) == ["실험1"] and "four_fashion_mnist_images" in tags["실험1"]


def test_progress_off_a_terminal_is_plain_lines(hangul_run):
    # `fmtb run ... | cat`: no bars redrawn with escape codes and carriage returns,
    # but a line as each notebook starts and as it ends, with how long it took
    _, proc = hangul_run
    out = proc.stdout + proc.stderr
    assert "\x1b" not in out and "\r" not in out
    lines = proc.stdout.splitlines()
    for i, stem in enumerate(["01_setup_tensorboard", "02_write_to_tensorboard"], 1):
        assert f"[{i}/2] {stem}" in lines
        assert any(line.startswith(f"{stem} done in ") and line.endswith(" s")
                   for line in lines), lines


def _old_run(runs):
    (runs / "x").mkdir(parents=True)
    (runs / "x" / "old.txt").write_text("the run --replace moves aside")


def _event_files_01(runs):
    """How many event files notebook 01 left in each run folder, the moved-aside included."""
    others = tuple(f".{n:02d}" for n in range(2, 7))  # the other notebooks' suffixes
    return {run.name: len([f for f in event_files(run) if not f.name.endswith(others)])
            for run in runs.parent.glob("runs*/*") if run.is_dir()}


def test_two_replace_runs_of_one_name_at_once_never_share_it(tmp_path, real_data_root):
    runs = tmp_path / "runs"
    _old_run(runs)
    args = [FMTB, "run", "--notebooks", "01", "--runs-dir", str(runs), "--run-name", "x",
            "--replace", "-q"]
    procs = [subprocess.Popen(args + ["--out", str(tmp_path / f"out{i}")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes in ([0, 0], [0, 2]), outs
    for (_, err), p in zip(outs, procs, strict=True):
        if p.returncode == 2:  # refused in one line, having written nothing
            assert err.strip().splitlines()[-1] == (
                f"fmtb run: error: run 'x' in {runs} is being written by another fmtb run "
                f"right now; wait for it to end, or choose another --run-name")
    counts = _event_files_01(runs)
    assert counts["x"] == 1 and set(counts.values()) <= {0, 1}, counts
    assert len(counts) == 1 + codes.count(0)  # x, and one folder moved aside per replace


def test_a_run_being_written_is_neither_replaced_nor_added_to(tmp_path, real_data_root):
    runs = tmp_path / "runs"
    _old_run(runs)
    plan = runner.plan("01", runs_dir=str(runs), run_name="x", out=str(tmp_path / "out"),
                       replace=True)
    with runner.claimed(plan) as new:  # as fmtb run holds it while its kernels write
        assert new
        before = sorted(p.name for p in tmp_path.rglob("*"))
        proc = fmtb("run", "--notebooks", "01", "--runs-dir", str(runs), "--run-name", "x",
                    "--replace", "--out", str(tmp_path / "out2"), "-q")
        assert_refused(proc, "run 'x'", "is being written by another fmtb run right now")
        assert sorted(p.name for p in tmp_path.rglob("*")) == before
    proc = fmtb("run", "--notebooks", "01", "--runs-dir", str(runs), "--run-name", "x",
                "--replace", "--out", str(tmp_path / "out2"), "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr  # released: replaced as asked
    (previous,) = runs.parent.glob("runs_previous/*")  # the old run, moved aside once
    assert _event_files_01(runs) == {"x": 1, previous.name: 0}


@pytest.mark.parametrize("notebook", ["01_setup_tensorboard", "02_write_to_tensorboard"])
def test_papermill_from_the_projects_root_says_to_run_from_the_notebooks_folder(
        tmp_path, real_data_root, notebook):
    # a newcomer's first call: the kernel runs in the root, where '../data' is outside
    # (01 would download there, and write its run to '../runs')
    from fmtb_helpers import paths

    root = paths.project_root()
    if (data.raw_dir(root.parent / "data") / "train-images-idx3-ubyte").is_file():
        pytest.skip(f"{root.parent / 'data'} holds Fashion-MNIST: '../data' would find it")
    outside = [(root.parent / name).exists() for name in ("data", "runs")]
    proc = subprocess.run([str(Path(sys.executable).with_name("papermill")),
                           f"notebooks/{notebook}.ipynb", str(tmp_path / "out.ipynb")],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (f"DataError: Fashion-MNIST is not in {root.parent / 'data'}/FashionMNIST/raw: "
                    f"this kernel runs in {root}, and data_root '../data' is relative to the "
                    f"notebooks' folder; run them from there (papermill --cwd notebooks)"
                    ), proc.stderr[-2000:]
    assert [(root.parent / name).exists() for name in ("data", "runs")] == outside


def test_a_full_disk_in_notebook_03_names_the_run_and_what_to_do(tmp_path, real_data_root):
    # a real full disk: a 64 KiB tmpfs, filled, in a mount namespace of fmtb's own
    tiny, out = tmp_path / "tiny", tmp_path / "out"
    tiny.mkdir()
    mount = f"mount -t tmpfs -o size=64k fmtb-test {shlex.quote(str(tiny))}"
    if subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", mount],
                      capture_output=True).returncode != 0:
        pytest.skip("no tmpfs of our own here (unshare -m and mount need root)")
    fill = f"head -c 1M /dev/zero > {shlex.quote(str(tiny / 'filler'))} 2>/dev/null"
    series = shlex.join([FMTB, "run", "--notebooks", "03", "--runs-dir", str(tiny / "runs"),
                         "--run-name", "r", "--out", str(out), "-q"])
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                           f"{mount} && {{ {fill}; {series}; }}"],
                          capture_output=True, text=True, timeout=300)
    run = tiny / "runs" / "r"
    assert_refused(proc, "notebook 03_inspect_the_model failed in cell [",
                   f"WriteError: could not write TensorBoard's event file in {run}: No space "
                   f"left on device; free some disk space or choose a writable runs_dir, then "
                   f"run notebook 03 again", code=1)
