"""The notebooks' shape: one per section, parameters, stored run, the lesson in view."""
import ast
import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from fmtb import params

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-6]_*.ipynb"))
LESSON = {"01": ["SummaryWriter(", "%load_ext tensorboard"],
          "02": ["make_grid(", "writer.add_image('four_fashion_mnist_images'"],
          "03": ["writer.add_graph(net"],
          "04": ["writer.add_embedding(", "metadata=class_labels", "label_img="],
          "05": ["writer.add_scalar('training loss'", "writer.add_figure('predictions vs. actuals'",
                 "writer.add_histogram(", "writer.add_scalar('test accuracy'",
                 "writer.add_pr_curve(f'during training/"],
          "06": ["writer.add_pr_curve(", "add_pr_curve_tensorboard(i, test_probs, test_label)",
                 "writer.add_figure('confusion matrix'", "writer.add_embedding(features",
                 "writer.add_hparams(", "run_name='.'"]}
SHARED = {"run_name": "fashion_mnist_experiment_1", "seed": 0, "device": "auto"}
TRAINING = {"lr": 0.001, "momentum": 0.9, "epochs": 1, "log_every": 1000, "train_subset": 0,
            "eval_every": 5000, "batch_size": 4}


def load(path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_six_notebooks_one_per_section():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell(path):
    nb = load(path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    declared = params.declared(path)
    for node in ast.parse(tagged[0].source).body:  # literals only
        ast.literal_eval(node.value)
    # papermill must read every one of them (it silently skips lines it cannot parse)
    assert list(pm.inspect_notebook(str(path))) == list(declared)
    for name, default in SHARED.items():
        assert declared[name] == default
    assert {"data_root", "runs_dir"} <= set(declared)
    # the tutorial's batches of four wherever the batch size is a parameter
    assert declared.get("batch_size", 4) == 4
    assert ("batch_size" in declared) != path.name.startswith("06_")
    if path.name.startswith("05_"):
        assert {k: declared[k] for k in TRAINING} == TRAINING


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_as_one_clean_run(path):
    nb = load(path)
    assert nb.metadata.kernelspec.name == "python3"
    assert "papermill" not in nb.metadata
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1))
    for cell in code_cells(nb):
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata
        assert not [o for o in cell.outputs if o.output_type == "error"]
        # a first run, as a learner's would be: no path of the machine it was stored on
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "moved aside" not in text and "/tmp/" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_reads_like_a_tutorial(path):
    nb = load(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "**Goal:**" in first.source
    assert nb.cells[-1].cell_type == "markdown" and "## Summary" in nb.cells[-1].source
    for before, cell in zip(nb.cells, nb.cells[1:]):
        if cell.cell_type == "code":
            assert before.cell_type == "markdown", f"no lead-in before: {cell.source[:60]}"
            assert len(cell.source.splitlines()) <= 15, cell.source[:60]
    source = "\n".join(c.source for c in code_cells(nb))
    assert "sys.path" not in source and "import *" not in source
    assert "test_preds" not in source
    for call in LESSON[path.name[:2]]:
        assert call in source, f"{call} should stay visible in {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_tensorboard_inline_with_a_screenshot_below(path):
    nb = load(path)
    index = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and re.search(r"^%tensorboard ", c.source, re.M)]
    assert len(index) == 1
    cell = nb.cells[index[0]]
    assert "--logdir {runs_dir}" in cell.source and "--samples_per_plugin images=100" in cell.source
    html = "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)
    assert "tensorboard-frame" in html  # a server really answered, not an error message
    below = nb.cells[index[0] + 1]
    images = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", below.source)
    assert images and all((path.parent / img).is_file() for img in images)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_keeps_compared_text_outputs(path):
    compared = [c for c in code_cells(load(path))
                if "NBVAL_IGNORE_OUTPUT" not in c.source
                and any(o.output_type == "stream" or "text/plain" in o.get("data", {})
                        for o in c.outputs)]
    assert len(compared) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbval_markers_are_ones_nbval_reads(path):
    """nbval honours a marker only as a whole comment line; and, running without
    history, it shows a cell's last value even after a trailing ';'."""
    for cell in code_cells(load(path)):
        for line in cell.source.splitlines():
            if "NBVAL" in line:
                assert line.strip() == "# NBVAL_IGNORE_OUTPUT", line
        last = cell.source.rstrip().splitlines()[-1]
        assert not last.rstrip().endswith(";"), last
    ignored = [c for c in code_cells(load(path)) if "# NBVAL_IGNORE_OUTPUT" in c.source]
    allowed = ("%tensorboard", "start_run", "tqdm(", "accuracy")
    assert all(any(a in c.source for a in allowed) for c in ignored)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_show_whatever_the_backend(path):
    """A kernel started with MPLBACKEND=Agg (as CI's) shows no figures unless the
    notebook asks for the inline backend itself."""
    cells = code_cells(load(path))
    shows_figures = any("image/png" in o.get("data", {}) for c in cells for o in c.outputs)
    asks = any(line.strip() == "%matplotlib inline" for c in cells for line in c.source.splitlines())
    assert asks or not shows_figures
