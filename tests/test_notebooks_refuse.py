"""The notebooks as a learner runs them with papermill (no fmtb): a wrong parameter
stops in one line before anything is written, run names are names, nothing stale is
trusted, short runs still draw curves, reruns say where the earlier logs went."""
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from fmtb_helpers import board, paths

from support import event_files

pytestmark = pytest.mark.integration

PAPERMILL = str(Path(sys.executable).with_name("papermill"))
NOTEBOOK = {p.name[:2]: p for p in paths.notebooks_dir().glob("0[1-6]_*.ipynb")}


def papermill_args(notebook: str, out: Path, *pairs, raw=()) -> list[str]:
    args = [PAPERMILL, str(NOTEBOOK[notebook]), str(out / f"{notebook}.ipynb"),
            "--cwd", str(paths.notebooks_dir())]
    for flag, given in (("-p", pairs), ("-r", raw)):
        for name, value in given:
            args += [flag, name, str(value)]
    return args


def learner_env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "FMTB_LANG"}


def papermill(notebook: str, out: Path, *pairs, raw=()):
    """Run a notebook as a learner would, with papermill; ``(rc, stdout, stderr)``."""
    proc = subprocess.run(papermill_args(notebook, out, *pairs, raw=raw), capture_output=True,
                          text=True, timeout=600, env=learner_env())
    return proc.returncode, proc.stdout, proc.stderr


def error_line(stderr: str) -> str:
    """The error papermill reports, which must be one line (no traceback)."""
    shown = stderr.split("Exception encountered at")[-1].strip().splitlines()[1:]
    assert len(shown) == 1, stderr[-3000:]
    return shown[0]


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def beside_the_project() -> set[str]:
    return {p.name for p in paths.project_root().parent.iterdir()}


@pytest.mark.parametrize("run_name", [".", "ABSOLUTE", "../x"])
def test_01_refuses_a_run_name_that_is_a_path_and_moves_nothing(tmp_path, run_name,
                                                                real_data_root):
    runs, elsewhere = tmp_path / "runs", tmp_path / "elsewhere"
    (runs / "keep").mkdir(parents=True)
    (runs / "keep" / "events.out.tfevents.1.keep").write_text("a run of the learner's")
    (elsewhere / "mine").mkdir(parents=True)
    name = str(elsewhere) if run_name == "ABSOLUTE" else run_name
    before, around = tree(tmp_path), beside_the_project()
    rc, _, err = papermill("01", tmp_path, ("runs_dir", runs), raw=[("run_name", name)])
    assert rc != 0
    assert error_line(err) == (
        f"ParameterError: run_name must be a folder name, not a path: {name!r} is empty, "
        f"'.' or '..', or holds a '/', '\\' or a control character; give a name such as "
        f"'experiment_2'")
    assert tree(tmp_path) == sorted(before + ["01.ipynb"])
    assert beside_the_project() == around


@pytest.mark.parametrize("name, value, message", [
    ("batch_size", 0, "batch_size must be at least 1, not 0"),
    ("train_subset", -5, "train_subset must be between 0 and 60000, not -5"),
    ("log_every", 0, "log_every must be at least 1, not 0"),
    ("epochs", 0, "epochs must be at least 1, not 0"),
])
def test_05_refuses_a_wrong_value_before_writing_anything(tmp_path, name, value, message):
    rc, _, err = papermill("05", tmp_path, ("runs_dir", tmp_path / "runs"), (name, value))
    assert rc != 0
    assert error_line(err) == f"ParameterError: {message}"
    assert tree(tmp_path) == ["05.ipynb"]


def test_01_names_a_data_root_that_is_a_file(tmp_path):
    (tmp_path / "data").write_text("not a folder")
    rc, _, err = papermill("01", tmp_path, ("runs_dir", tmp_path / "runs"),
                           ("data_root", tmp_path / "data"))
    assert rc != 0
    assert error_line(err) == (f"ParameterError: data_root '{tmp_path / 'data'}' is not a "
                               f"folder: {tmp_path / 'data'} is a file; give a folder")
    assert not (tmp_path / "runs").exists()


def test_01_names_a_read_only_data_root_it_would_download_into(tmp_path):
    # a read-only mount (root writes through chmod), in a mount namespace of its own
    ro = tmp_path / "ro"
    ro.mkdir()
    mount = f"mount --bind {shlex.quote(str(ro))} {shlex.quote(str(ro))} && " \
            f"mount -o remount,bind,ro {shlex.quote(str(ro))}"
    if subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", mount],
                      capture_output=True).returncode != 0:
        pytest.skip("no read-only mount of our own here (unshare -m and mount need root)")
    args = shlex.join(papermill_args("01", tmp_path, ("runs_dir", tmp_path / "runs"),
                                     ("data_root", ro)))
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                           f"{mount} && {args}"], capture_output=True, text=True, timeout=600,
                          env=learner_env())
    assert proc.returncode != 0
    assert error_line(proc.stderr) == (
        f"ParameterError: data_root '{ro}': {ro} is read-only, and Fashion-MNIST is not "
        f"there yet to be downloaded; give a writable folder")
    assert not (tmp_path / "runs").exists()


@pytest.fixture(scope="module")
def short_run(tmp_path_factory, real_data_root):
    """Notebook 05 on the README's quick sweep's subset (3000 images, log_every left at
    its default 1000): ``(runs_dir, stdout+stderr)``."""
    base = tmp_path_factory.mktemp("short")
    rc, out, err = papermill("05", base, ("runs_dir", base / "runs"), ("train_subset", 3000),
                             ("eval_images", 500))
    assert rc == 0, err[-3000:]
    return base / "runs", base / "05.ipynb"


def outputs(executed: Path) -> str:
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    return "".join(o.get("text", "") + "".join(o.get("traceback", []))
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_a_short_run_draws_curves_and_says_so(short_run):
    runs, executed = short_run
    said = outputs(executed)
    assert "log_every 1000 is more than the 750 mini-batches of an epoch: every 75 instead" in said
    logged = board.event_summary(runs / "fashion_mnist_experiment_1")
    assert logged["scalars"]["training loss"] >= 3
    assert logged["scalars"]["test accuracy"] == 2  # before and after training
    assert logged["images"]["predictions vs. actuals"] >= 3


def test_a_diverging_rerun_leaves_no_model_that_06_takes_for_its_own(short_run, tmp_path):
    runs, _ = short_run
    run = runs / "fashion_mnist_experiment_1"
    assert (run / "net.pt").is_file()
    rc, _, err = papermill("05", tmp_path, ("runs_dir", runs), ("train_subset", 3000),
                           ("lr", 10000))
    assert rc != 0 and "the training diverged" in error_line(err)
    said = outputs(tmp_path / "05.ipynb")
    (copy,) = (runs.parent / "runs_previous").iterdir()
    assert ("Notebook 05 ran on run fashion_mnist_experiment_1 before: its new logs replace "
            f"the earlier ones, which are now in {copy} with its trained model, net.pt.") in said
    assert (copy / "net.pt").is_file() and [f.suffix for f in event_files(copy)] == [".05"]
    assert not (run / "net.pt").exists()

    rc, _, err = papermill("06", tmp_path, ("runs_dir", runs))
    assert rc != 0
    assert error_line(err) == (
        f"ModelError: run fashion_mnist_experiment_1 has no finished training of its own "
        f"(net.pt is not in {run}): run notebook 05 on this run first")
    assert "trained with" not in outputs(tmp_path / "06.ipynb")
    assert not list(run.glob("*.06"))
