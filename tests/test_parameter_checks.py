"""The notebooks' own parameter checks (fmtb_helpers.params), as a notebook runs them:
typed values from papermill's -p, one line naming the parameter, in its language."""
import os

import pytest

from fmtb_helpers import params
from fmtb_helpers.errors import FmtbError
from fmtb_helpers.params import ParameterError

pytestmark = pytest.mark.unit

DEFAULTS = {"data_root": "../data", "runs_dir": "../runs", "run_name": "fashion_mnist_experiment_1",
            "seed": 0, "batch_size": 4, "device": "auto", "lr": 0.001, "momentum": 0.9,
            "epochs": 1, "log_every": 1000, "eval_images": 2000,
            "train_subset": 0, "in_memory": True, "num_threads": 1, "fresh_run": True,
            "n_points": 100, "n_features": 1000}


@pytest.fixture
def values(tmp_path, monkeypatch):
    """The defaults, with folders a kernel in ``tmp_path`` may use."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FMTB_LANG", "en")
    return {**DEFAULTS, "data_root": str(tmp_path / "data"), "runs_dir": str(tmp_path / "runs")}


def test_the_defaults_pass(values):
    params.check(values)


@pytest.mark.parametrize("name, value, message", [
    ("batch_size", 0, "batch_size must be at least 1, not 0"),
    ("batch_size", -1, "batch_size must be at least 1, not -1"),
    ("batch_size", 100000, "batch_size must be at most 60000 (the training set's size)"),
    ("batch_size", 4.5, "batch_size must be a whole number, not 4.5"),
    ("batch_size", True, "batch_size must be a whole number, not True"),
    ("train_subset", -5, "train_subset must be between 0 and 60000, not -5"),
    ("train_subset", 70000, "train_subset must be between 0 and 60000, not 70000"),
    ("eval_images", -10, "eval_images must be between 0 and 10000, not -10"),
    ("eval_images", 20000, "eval_images must be between 0 and 10000, not 20000"),
    ("epochs", 0, "epochs must be at least 1, not 0"),
    ("log_every", 0, "log_every must be at least 1, not 0"),
    ("lr", 0, "lr must be a positive number, not '0'"),
    ("lr", -0.01, "lr must be a positive number, not '-0.01'"),
    ("lr", float("nan"), "lr must be a finite number"),
    ("lr", "0.1", "lr must be a number, not '0.1'"),
    ("momentum", 1.0, "momentum must be below 1.0"),
    ("seed", -1, "seed must be between 0 and 4294967295, not -1"),
    ("n_points", 0, "n_points must be between 1 and 60000, not 0"),
    ("in_memory", "no", "in_memory must be true or false, not 'no'"),
    ("device", "gpu", "device must be one of auto, cpu, cuda, mps, not 'gpu'"),
    ("run_name", 1, "run_name must be text, not 1; with papermill pass it with -r (raw)"),
    ("run_name", ".", "run_name must be a folder name, not a path"),
    ("run_name", "..", "run_name must be a folder name, not a path"),
    ("run_name", "../x", "run_name must be a folder name, not a path"),
    ("run_name", "/tmp", "run_name must be a folder name, not a path"),
    ("run_name", "a\\b", "run_name must be a folder name, not a path"),
    ("run_name", "", "run_name must be a folder name, not a path"),
    ("run_name", "a\nb", "run_name must be a folder name, not a path"),
    ("run_name", "x" * 300, "run_name is 300 bytes long in UTF-8"),
    ("run_name", "실험" * 40, "run_name is 240 bytes long in UTF-8 (a Hangul syllable takes 3)"),
])
def test_a_wrong_value_stops_in_one_line_naming_it(values, name, value, message):
    with pytest.raises(ParameterError) as err:
        params.check({**values, name: value})
    assert message in str(err.value)
    assert isinstance(err.value, FmtbError) and err.value.exit_code == 2
    assert err.value._render_traceback_() == [f"ParameterError: {err.value}"]
    assert "\n" not in str(err.value).replace("'a\\nb'", "")


@pytest.mark.parametrize("name", ["my run", "실험 1", "run 🚀", "e\u0301tude", ".hidden-ok"])
def test_names_with_spaces_emoji_and_any_script_are_names(values, name):
    params.check({**values, "run_name": name})


def test_the_largest_run_name_fits_once_moved_aside(values):
    name = "x" * params.MAX_RUN_NAME_BYTES
    params.check({**values, "run_name": name})
    assert len(f"{name}-05-20261206-052301-12".encode()) < 255


@pytest.mark.parametrize("name", ["data_root", "runs_dir"])
def test_a_folder_that_is_a_file_is_named(values, tmp_path, name):
    (tmp_path / "file").write_text("not a folder")
    for value in (str(tmp_path / "file"), str(tmp_path / "file" / "below")):
        with pytest.raises(ParameterError, match=f"{name} '.*' is not a folder: .*file is a file"):
            params.check({**values, name: value})


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_data_root_without_the_data_is_named(values, tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(ParameterError, match="data_root '.*ro': .* is read-only, and "
                                             "Fashion-MNIST is not there yet to be downloaded"):
        params.check({**values, "data_root": str(tmp_path / "ro")})


def test_a_data_root_that_holds_the_data_may_be_read_only(values, real_data_root):
    params.check({**values, "data_root": str(real_data_root)})


def test_relative_folders_are_the_kernels(values, tmp_path):
    (tmp_path / "data").write_text("a file where the notebook looks")
    with pytest.raises(ParameterError, match="data_root 'data' is not a folder"):
        params.check({**values, "data_root": "data"})


def test_korean_notebooks_say_it_in_korean(values, monkeypatch):
    monkeypatch.setenv("FMTB_LANG", "ko")
    with pytest.raises(ParameterError, match=r"^batch_size 값은 1 이상이어야 합니다. 지금 값: 0$"):
        params.check({**values, "batch_size": 0})
    with pytest.raises(ParameterError, match="run_name 값은 경로가 아닌 폴더 이름이어야 합니다"):
        params.check({**values, "run_name": "."})
    with pytest.raises(ParameterError, match="device 값은 auto, cpu, cuda, mps 중 하나여야"):
        params.check({**values, "device": "gpu"})


def test_empty_folders_are_the_defaults(values):
    params.check({**values, "data_root": "", "runs_dir": ""})


def test_only_known_parameters_are_checked(values):
    params.check({**values, "data": object(), "net": None, "i": -1})


@pytest.mark.parametrize("every, batches, times, expected", [
    (1000, 15000, 10, 1000), (1000, 1000, 10, 1000), (1000, 750, 10, 75), (5000, 750, 3, 250),
    (1000, 5, 10, 1), (1000, 1, 3, 1)])
def test_log_points_scale_to_a_short_epoch(capsys, monkeypatch, every, batches, times, expected):
    monkeypatch.setenv("FMTB_LANG", "en")
    assert params.within_epoch("log_every", every, batches, times) == expected
    said = capsys.readouterr().out
    if expected == every:
        assert said == ""
    else:
        assert said == (f"log_every {every} is more than the {batches} mini-batches of an "
                        f"epoch: every {expected} instead\n")


def test_a_figure_of_predictions_draws_at_most_eight_images():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from fmtb_helpers.tutorial import Net, plot_classes_preds

    for n in (1, 4, 8, 500):
        fig = plot_classes_preds(Net(), torch.zeros(n, 1, 28, 28), torch.arange(n) % 10)
        assert len(fig.axes) == min(n, 8)
        plt.close(fig)


def test_fmtb_checks_with_the_same_rules():
    from fmtb import params as fmtb_params

    assert fmtb_params.ParameterError is ParameterError
    for pair in (("batch_size", "0"), ("train_subset", "-5"), ("log_every", "0"),
                 ("epochs", "0")):
        with pytest.raises(ParameterError) as cli:
            fmtb_params.parse([pair], {pair[0]: 1})
        with pytest.raises(ParameterError) as nb:
            params.check({pair[0]: int(pair[1])})
        assert str(cli.value) == str(nb.value)
