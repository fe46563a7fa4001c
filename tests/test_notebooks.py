"""The notebooks' shape: one per section, the tutorial's code in view (tests/test_save.py
checks the module generated from it), documented parameters, a stored clean run,
prose for learners."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from fmtb import params
from fmtb.maintainer import save, translate

pytestmark = pytest.mark.unit  # the stored notebooks read as files; no kernel
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-6]_*.ipynb"))
BOTH_EDITIONS = NOTEBOOKS + sorted((ROOT / "notebooks" / "ko").glob("0[1-6]_*.ipynb"))
LESSON = {"01": ["SummaryWriter(", "%load_ext tensorboard", "%tensorboard --logdir"],
          "02": ["make_grid(", "writer.add_image('four_fashion_mnist_images'"],
          "03": ["writer.add_graph(net"],
          "04": ["writer.add_embedding(", "metadata=class_labels", "label_img="],
          "05": ["writer.add_scalar('training loss'", "writer.add_figure('predictions vs. actuals'",
                 "optimizer.zero_grad()", "loss.backward()", "optimizer.step()",
                 "writer.add_histogram(", "writer.add_scalar('test accuracy'",
                 "writer.add_pr_curve(f'during training/"],
          "06": ["writer.add_pr_curve(",
                 "add_pr_curve_tensorboard(writer, i, test_probs, test_label)",
                 "writer.add_figure('confusion matrix'", "add_embedding(features",
                 "writer.add_hparams(", "run_name='.'"]}
SHARED = {"run_name": "fashion_mnist_experiment_1", "seed": 0, "data_root": ""}
HELPERS_CELLS = ("md-helpers", "code-helpers")  # each notebook's check of its kernel
TRAINING = {"lr": 0.001, "momentum": 0.9, "epochs": 1, "log_every": 1000, "train_subset": 0,
            "batch_size": 4}
DOCS = "https://pytorch.org/docs/stable/tensorboard.html#torch.utils.tensorboard.writer.SummaryWriter."


def load(path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


python = translate.as_python  # a cell as Python, its magics as the calls they stand for


def test_six_notebooks_one_per_section():
    assert [p.name[:3] for p in NOTEBOOKS] == ["01_", "02_", "03_", "04_", "05_", "06_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_are_documented_and_used(path):
    nb = load(path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0].cell_type == "code"
    declared = params.declared(path)
    # papermill must read every one of them (it silently skips lines it cannot parse),
    # with a type and a meaning
    inspected = pm.inspect_notebook(str(path))
    assert list(inspected) == list(declared)
    for name, p in inspected.items():
        assert p["inferred_type_name"] in ("str", "int", "float", "bool"), name
        assert p["help"], f"{name} has no comment saying what it means"
    for name, default in SHARED.items():
        assert declared[name] == default
    assert {"data_root", "runs_dir"} <= set(declared)
    if path.name.startswith("05_"):
        assert {k: declared[k] for k in TRAINING} == TRAINING
    rest = "\n".join(python(c.source) for c in code_cells(nb) if c is not tagged[0])
    used = {n.id for n in ast.walk(ast.parse(rest)) if isinstance(n, ast.Name)}
    used |= set(re.findall(r"\{(\w+)\}", "\n".join(c.source for c in code_cells(nb))))
    assert not set(declared) - used, f"unused parameters: {set(declared) - used}"


def test_papermill_help_gives_every_parameter_a_type():
    for path in NOTEBOOKS:
        out = subprocess.run([sys.executable, "-m", "papermill", "--help-notebook", str(path)],
                             capture_output=True, text=True, check=True).stdout
        assert "Unknown type" not in out and "lr: float (default 0.001)" in out or \
            not path.name.startswith("05"), out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_imports_are_used(path):
    code = [ast.parse(python(c.source)) for c in code_cells(load(path))]
    imported = set()
    for tree in code:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
    used = {n.id for tree in code for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not imported - used, f"unused imports: {imported - used}"


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
        assert "runs_previous" not in text and "/tmp/" not in text and "/work/" not in text
        assert "Warning" not in text, text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_reads_like_a_tutorial(path):
    nb = load(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "**Goal:**" in first.source
    assert nb.cells[-1].cell_type == "markdown" and "## Summary" in nb.cells[-1].source
    for before, cell in zip(nb.cells, nb.cells[1:], strict=False):
        if cell.cell_type == "code":
            assert before.cell_type == "markdown", f"no lead-in before: {cell.source[:60]}"
            limit = 40 if save.is_saved(cell) else 15  # the tutorial's functions stay whole
            assert len(cell.source.splitlines()) <= limit, cell.source[:60]
    source = "\n".join(c.source for c in code_cells(nb))
    assert "sys.path" not in source and "import *" not in source
    assert "test_preds" not in source
    for call in LESSON[path.name[:2]]:
        assert call in source, f"{call} should stay visible in {path.name}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_writer_call_links_its_documentation(path):
    nb = load(path)
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    calls = set(re.findall(r"writer\.(add_\w+)\(", "\n".join(c.source for c in code_cells(nb))))
    for call in calls:
        assert DOCS + call in prose, f"{path.name}: {call} has no link to its documentation"


def test_links_to_the_tutorial_the_dataset_and_precision_recall():
    first = load(NOTEBOOKS[0]).cells[0].source
    assert "https://pytorch.org/tutorials/intermediate/tensorboard_tutorial.html" in first
    assert "https://tutorials.pytorch.kr/intermediate/tensorboard_tutorial.html" in first
    assert "https://github.com/zalandoresearch/fashion-mnist" in first
    last = "\n".join(c.source for c in load(NOTEBOOKS[5]).cells if c.cell_type == "markdown")
    assert "**Precision** is" in last and "**recall** is" in last


def test_01_opens_with_the_tutorials_introduction():
    first = load(NOTEBOOKS[0]).cells[0].source
    intro = first.split("**Goal:**")[0]
    assert "deep_learning_60min_blitz" in intro and "PyTorch integrates with" in intro
    for item in ("1. Read in data and with appropriate transforms", "2. Set up TensorBoard.",
                 "3. Write to TensorBoard.", "4. Inspect a model architecture using TensorBoard.",
                 "5. Use TensorBoard to create interactive versions",
                 "- A couple of ways to inspect our training data",
                 "- How to track our model's performance as it trains",
                 "- How to assess our model's performance once it is trained."):
        assert item in intro, item


@pytest.mark.parametrize("path", BOTH_EDITIONS, ids=lambda p: "/".join(p.parts[-2:]))
def test_each_notebook_ends_by_asking_to_shut_its_kernel_down(path):
    """Six kernels left running held 3.4 GB (make bench-memory), more than a learner
    gets on Binder or a JupyterHub; TensorBoard runs apart from them. One line in each
    closing cell; the figures once, in 01."""
    last = load(path).cells[-1].source
    assert "(**Kernel → Shut Down Kernel**)" in last
    assert "TensorBoard" in last
    assert re.search(r"shut this (one's|notebook's) kernel down|"
                     r"커널(을|도) 종료하(십시오|여)", last)
    figures = ("0.45" in last and "3.4" in last)
    assert figures == path.name.startswith("01_"), "memory figures belong in 01 alone"


def test_memory_figures_in_one_notebook_only():
    givers = {p.name for p in NOTEBOOKS for c in load(p).cells if c.cell_type == "markdown"
              and re.search(r"\d(\.\d+)?\s?[GM]B\b", c.source)}
    assert givers == {"01_setup_tensorboard.ipynb"}, givers


def test_no_machinery_in_the_lesson():
    """The notebooks teach TensorBoard; how fmtb runs them (papermill, the fmtb
    command), how it keeps, marks or moves runs, belongs in docs/."""
    for path in NOTEBOOKS:
        for cell in load(path).cells:
            if cell.id in HELPERS_CELLS:  # names the kernel "Python (fmtb)" to pick
                continue
            assert "NBVAL" not in cell.source and "zygote" not in cell.source.lower()
            if cell.cell_type != "markdown":
                continue
            found = re.findall(r"papermill|\bfmtb\b|_previous|\bmark(?:s|ed|er)?\b|"
                               r"a process of its own|sub-runs?\b", cell.source, re.I)
            assert not found, f"{path.name} {cell.id}: {found}"


def test_no_output_names_a_process_id():
    """The notebooks print TensorBoard's address, never a pid a learner might kill;
    TensorBoard's own 'Reusing TensorBoard … (pid …)' line is explained in 02."""
    for path in NOTEBOOKS:
        for cell in code_cells(load(path)):
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert "TensorBoard (pid" not in text, f"{path.name} {cell.id}: {text}"
    prose = "\n".join(c.source for c in load(NOTEBOOKS[1]).cells if c.cell_type == "markdown")
    assert "Reusing TensorBoard" in prose and "Do not kill it" in prose


def test_01_teaches_the_words_of_tensorboard():
    """Log directory, run, tag, step and event file, each defined in bold before the
    later notebooks use them, with a picture of the folder tree."""
    prose = "\n".join(c.source for c in load(NOTEBOOKS[0]).cells if c.cell_type == "markdown")
    for word in ("log directory", "run", "tag", "step", "event file"):
        assert re.search(rf"^- (An?|The) \*\*{word}\*\*,? ", prose, re.M), word
    tree = re.search(r"```\n(runs/.*?)```", prose, re.S)
    assert tree and "fashion_mnist_experiment_1/" in tree[1] and "events.out.tfevents" in tree[1]


def test_each_later_notebook_teaches_its_new_words():
    def prose(i):
        return "\n".join(c.source for c in load(NOTEBOOKS[i]).cells if c.cell_type == "markdown")
    assert "--samples_per_plugin images=100` keeps" in prose(0)
    assert "by **tracing** it" in prose(2)
    assert "**PCA**" in prose(3) and "in your browser" in prose(3)
    assert "The step is the depth axis" in prose(4)
    last = prose(5)
    assert "**Precision** is" in last and "**recall** is" in last
    assert "**area under the curve**" in last and "recall on the horizontal axis" in last


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_differences_from_the_tutorial_are_explained(path):
    """One short note per notebook; the lead-in of every cell with a `# fixed:` comment
    points to it or says what the tutorial did."""
    nb = load(path)
    notes = [c for c in nb.cells if c.cell_type == "markdown"
             and c.source.startswith("## Differences from the tutorial")]
    # after the lesson, before the exercises (which practise it) and the summary
    first_exercise = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                           and c.source.startswith("## Exercises")), len(nb.cells) - 1)
    assert len(notes) == 1 and nb.cells[first_exercise - 1] is notes[0]
    assert len(notes[0].source) < 1200
    fixed = [c for c in code_cells(nb) if "# fixed:" in c.source]
    for cell in fixed:
        lead_in = nb.cells[nb.cells.index(cell) - 1].source
        assert re.search(r"Differences from the tutorial|the tutorial (passed|logged|drew)",
                         lead_in), cell.id


def test_05_trains_with_the_tutorials_loop_and_logs_the_extras_after_it():
    """The cell that runs loss.backward() logs what the tutorial logged and nothing
    else; the extras follow the training, in a section of their own, uncalled by it."""
    nb = load(NOTEBOOKS[4])
    cells = nb.cells
    (loop,) = [c for c in code_cells(nb) if "loss.backward()" in c.source]
    calls = re.findall(r"writer\.(add_\w+)\('([^']+)'", loop.source)
    assert calls == [("add_scalar", "training loss"), ("add_figure", "predictions vs. actuals")]
    for extra in ("add_histogram", "add_pr_curve", "also_log", "hook", "callback",
                  "log_weights", "log_test_set", "tqdm"):
        assert extra not in loop.source, extra
    changed = [line for line in loop.source.splitlines() if "# fixed:" in line]
    assert len(changed) == 3  # the device (twice), the check of the loss
    (call,) = [c for c in code_cells(nb) if re.match(r"train\(", c.source)]
    extras = next(i for i, c in enumerate(cells) if c.source.startswith("## Beyond the tutorial"))
    assert cells.index(loop) < cells.index(call) < extras
    assert all("writer.add_" not in c.source for c in cells[:extras] if c is not loop
               and c.cell_type == "code" and "add_histogram" in c.source)
    assert not [c for c in cells[:extras] if "add_histogram" in c.source
                or "add_pr_curve" in c.source]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nbval_tags_only_where_outputs_vary(path):
    for cell in code_cells(load(path)):
        tags = set(cell.metadata.get("tags", []))
        assert tags <= {"parameters", "nbval-ignore-output", "training-loop", "translate-strings"}
        if "nbval-ignore-output" in tags:  # ports, the progress bar, versions, accuracy,
            # a writer's notice that depends on what ran before on that run
            assert re.search(r"%tensorboard|address|train\(|start_run|print\(dev\)|"
                             r"__version__|accuracy|notebook_writer", cell.source), cell.source
        last = cell.source.rstrip().splitlines()[-1]
        assert not last.rstrip().endswith(";"), last  # nbval runs without history
    compared = [c for c in code_cells(load(path))
                if "nbval-ignore-output" not in c.metadata.get("tags", [])
                and any(o.output_type == "stream" or "text/plain" in o.get("data", {})
                        for o in c.outputs)]
    assert len(compared) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_tensorboard_inline_with_a_picture_below(path):
    nb = load(path)
    index = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and re.search(r"^%tensorboard ", c.source, re.M)]
    assert len(index) == 1
    cell = nb.cells[index[0]]
    # quoted: a log directory with a space still works
    assert '--logdir "{runs_dir}"' in cell.source
    assert "--samples_per_plugin images=100" in cell.source
    html = "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)
    assert "tensorboard-frame" in html  # a server really answered, not an error message
    below = nb.cells[index[0] + 1]
    images = re.findall(r"!\[[^\]]+\]\(([^)]+)\)", below.source)
    assert images and all((path.parent / img).is_file() for img in images)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_show_whatever_the_backend(path):
    """A kernel started with MPLBACKEND=Agg (as CI's) shows no figures unless the
    notebook asks for the inline backend itself."""
    cells = code_cells(load(path))
    shows_figures = any("image/png" in o.get("data", {}) for c in cells for o in c.outputs)
    asks = any(line.strip() == "%matplotlib inline"
               for c in cells for line in c.source.splitlines())
    assert asks or not shows_figures
