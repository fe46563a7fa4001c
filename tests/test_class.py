"""A class graded with real nbgrader, in a temporary course folder, as docs/teaching.md
tells a teacher: the exercises put into notebooks 01 and 02 (fmtb.maintainer.exercises),
`nbgrader generate_assignment` makes the student version, `nbgrader autograde` grades
a complete submission, an untouched one and a half-done one."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from fmtb.maintainer import exercises as insert
from fmtb_helpers import paths

pytestmark = pytest.mark.integration
nbgrader_api = pytest.importorskip("nbgrader.api", reason="pip install -e '.[class]'")

NOTEBOOKS = ("01_setup_tensorboard.ipynb", "02_write_to_tensorboard.ipynb")
BIN = Path(sys.executable).parent


def prepared_notebooks(tmp_path: Path) -> Path:
    """Copies of notebooks 01 and 02 with their exercises (idempotent where the stored
    notebooks already hold them)."""
    src, dst = paths.notebooks_dir(), tmp_path / "notebooks"
    (dst / "ko").mkdir(parents=True)
    for name in NOTEBOOKS:
        shutil.copy(src / name, dst)
    shutil.copy(src / "ko" / "translations.json", dst / "ko")
    shutil.copytree(src / "exercises", dst / "exercises")
    for spec in (dst / "exercises").glob("*.yml"):
        if not spec.name.startswith(("01", "02")):
            spec.unlink()
    assert insert.main([str(dst)]) == 0
    return dst


def the_class_data(nb, data_root: Path) -> None:
    """The class's shared data, as a teacher points every learner's notebook at it."""
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = re.sub(r"^data_root\b.*$", f'data_root: str = "{data_root}"',
                                 cell.source, flags=re.M)


def nbgrader(course: Path, *args):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}  # it runs alembic
    proc = subprocess.run([str(BIN / "nbgrader"), *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def errors(nb) -> dict[str, list]:
    return {c.id: [o for o in c.outputs if o.output_type == "error"]
            for c in nb.cells if c.cell_type == "code"}


def test_generate_and_autograde(tmp_path, real_data_root):
    prepared = prepared_notebooks(tmp_path)
    course = tmp_path / "course"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "fmtb"\nc.Execute.timeout = 300\n')
    for name in NOTEBOOKS:
        nb = nbformat.read(prepared / name, as_version=4)
        the_class_data(nb, Path(real_data_root).resolve())
        nbformat.write(nb, course / "source" / "ps1" / name)

    nbgrader(course, "generate_assignment", "ps1", "--force")
    release = course / "release" / "ps1"
    for name in NOTEBOOKS:
        text = (release / name).read_text()
        assert "BEGIN SOLUTION" not in text and "add_scalar('exercise/squares'" not in text
        assert "raise NotImplementedError()" in text

    # three learners: all done, nothing done, the exercises of 01 only
    submitted = course / "submitted"
    for learner in ("complete", "untouched", "half"):
        (submitted / learner / "ps1").mkdir(parents=True)
    for name in NOTEBOOKS:
        shutil.copy(course / "source" / "ps1" / name, submitted / "complete" / "ps1")
        shutil.copy(release / name, submitted / "untouched" / "ps1")
    solved = {c.id: c.source for c in nbformat.read(course / "source" / "ps1" / NOTEBOOKS[0],
                                                     as_version=4).cells}
    half = nbformat.read(release / NOTEBOOKS[0], as_version=4)
    for cell in half.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = solved[cell.id]
    nbformat.write(half, submitted / "half" / "ps1" / NOTEBOOKS[0])
    shutil.copy(release / NOTEBOOKS[1], submitted / "half" / "ps1")

    nbgrader(course, "autograde", "ps1", "--create", "--force")
    with nbgrader_api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission("ps1", s).score for s in ("complete", "untouched", "half")}
        max_score = gb.find_submission("ps1", "complete").max_score
    assert max_score >= 4
    assert scores == {"complete": max_score, "untouched": 0, "half": 2}, scores

    autograded = course / "autograded"
    for learner in ("complete", "untouched", "half"):  # each logged into a runs folder of its own
        assert (autograded / learner / "runs" / "fashion_mnist_experiment_1").is_dir()
    assert not (course / "source" / "runs").exists()

    # the student version runs up to its first exercise; each check answers in one line
    for name in NOTEBOOKS:
        nb = nbformat.read(autograded / "untouched" / "ps1" / name, as_version=4)
        found = errors(nb)
        first = next(c.id for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
        ids = [c.id for c in nb.cells if c.cell_type == "code"]
        assert not any(found[i] for i in ids[:ids.index(first)]), name
        assert found[first][0]["ename"] == "NotImplementedError"
        checks = [c.id for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        for check in checks:
            (error,) = found[check]
            assert error["ename"] == "NotDone" and len(error["traceback"]) == 1, error
            assert "hint" in error["traceback"][0] or "log it" in error["traceback"][0]
