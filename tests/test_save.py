"""The tutorial's code has one source, the notebook cells marked ``#@save``:
``fmtb.maintainer.save`` writes ``fmtb_helpers/tutorial.py`` from them, and nothing
else in ``fmtb_helpers`` defines the same names."""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from fmtb.maintainer import save

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / save.MODULE
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-6]_*.ipynb"))
# The tutorial's code, each piece saved in the notebook that introduces it.
SAVED = {"01_setup_tensorboard.ipynb": {"classes"},
         "02_write_to_tensorboard.ipynb": {"matplotlib_imshow"},
         "03_inspect_the_model.ipynb": {"Net"},
         "04_projector.ipynb": {"select_n_random"},
         "05_track_training.ipynb": {"images_to_probs", "plot_classes_preds", "train"},
         "06_assess_the_model.ipynb": {"predict", "add_pr_curve_tensorboard"}}


def test_the_module_is_what_the_notebooks_generate():
    save.check(MODULE.read_text(encoding="utf-8"), save.generate())


def test_the_command_checks_it_too():
    out = subprocess.run([sys.executable, "-m", "fmtb.maintainer.save", "--check"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and not out.stdout, out.stderr


def test_each_piece_is_saved_in_the_notebook_that_introduces_it():
    found = {}
    for cell in save.saved_cells():
        found.setdefault(cell.notebook, set()).update(cell.names)
    assert found == SAVED


def test_the_module_names_each_pieces_notebook_and_cell():
    text = MODULE.read_text(encoding="utf-8")
    assert "generated" in text.splitlines()[0] and "do not edit" in text.splitlines()[0]
    for cell in save.saved_cells():
        block = f"# from notebooks/{cell.notebook}, cell {cell.cell_id}\n"
        assert block in text
        assert all(name in save.defined(text.split(block)[1]) for name in cell.names)


def test_no_piece_of_the_tutorial_is_written_twice():
    """The hand-written modules import the tutorial's code from the generated one."""
    saved = {name for cell in save.saved_cells() for name in cell.names}
    for path in (ROOT / "fmtb_helpers").glob("*.py"):
        if path != MODULE:
            assert not save.defined(path.read_text(encoding="utf-8")) & saved, path.name


def test_the_module_imports_and_lists_what_it_holds():
    from fmtb_helpers import tutorial

    assert len(tutorial.classes) == 10
    assert tutorial.Net()(tutorial.torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert set(tutorial.__all__) == set().union(*SAVED.values())


def copy_notebooks(tmp_path) -> Path:
    for path in NOTEBOOKS:
        shutil.copy(path, tmp_path)
    assert save.generate(tmp_path) == MODULE.read_text(encoding="utf-8")
    return tmp_path


def change_cell(notebook: Path, cell_id: str, change) -> None:
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if c.id == cell_id)
    cell.source = change(cell.source)
    nbformat.write(nb, notebook)


def stale(notebooks: Path) -> str:
    with pytest.raises(save.SaveError) as refused:
        save.check(MODULE.read_text(encoding="utf-8"), save.generate(notebooks))
    message = str(refused.value)
    assert "\n" not in message and "python -m fmtb.maintainer.save" in message
    return message


def test_a_saved_cell_that_disappears_leaves_the_module_stale(tmp_path):
    notebooks = copy_notebooks(tmp_path)
    change_cell(notebooks / NOTEBOOKS[2].name, "code-06", lambda s: s.replace("#@save\n", ""))
    assert "it defines Net, which no #@save cell does now" in stale(notebooks)


def test_a_changed_saved_cell_leaves_the_module_stale(tmp_path):
    notebooks = copy_notebooks(tmp_path)
    change_cell(notebooks / NOTEBOOKS[4].name, "code-20",
                lambda s: s.replace("print('Finished Training')", "print('Done')"))
    assert "a saved cell changed" in stale(notebooks)


def test_a_saved_cell_gives_its_definitions_and_their_comments_only():
    cell = nbformat.v4.new_code_cell(
        "#@save\n# the constant\nN = 3\nprint(N)\n\n# unsaved note\n\n"
        "# the function\n@staticmethod\ndef f(x):\n    return x * N\n    # its last comment\n"
        "f(1)\n")
    cell.id = "code-01"
    saved = save.take("01_x.ipynb", cell)
    assert saved.names == ("N", "f")
    assert saved.code == ("# the constant\nN = 3\n\n\n# the function\n@staticmethod\n"
                          "def f(x):\n    return x * N\n    # its last comment")


def test_what_the_generator_cannot_take_stops_it_in_one_line(tmp_path):
    notebooks = copy_notebooks(tmp_path)
    change_cell(notebooks / NOTEBOOKS[3].name, "code-16", lambda s: "#@save\n" + s)
    with pytest.raises(save.SaveError, match="04_projector.ipynb: saved cell code-16 defines no"):
        save.generate(notebooks)  # a call: add_embedding
    notebooks = copy_notebooks(tmp_path)
    change_cell(notebooks / NOTEBOOKS[1].name, "code-08", lambda s: s + "\n\nclasses = ()\n")
    with pytest.raises(save.SaveError, match="classes is saved twice, in 01_setup_tensorboard"):
        save.generate(notebooks)
    notebooks = copy_notebooks(tmp_path)
    change_cell(notebooks / NOTEBOOKS[1].name, "code-08", lambda s: s + "\n%matplotlib inline")
    with pytest.raises(save.SaveError, match="code-08 is not plain Python"):
        save.generate(notebooks)
