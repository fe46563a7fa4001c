"""Every picture the notebooks or the README show, read back with tesseract: it must
contain the tags its caption names (in backticks) and no path of the machine or
build folder it was taken on."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("tesseract") is None,
                                 reason="tesseract is missing: apt-get install tesseract-ocr")]


def shown_pictures():
    """(where, caption, picture) for every ![caption](picture) of the notebooks, the
    READMEs and the docs pages."""
    found = []
    sources = [(page, page) for page in [ROOT / "README.md", ROOT / "README.ko.md",
                                          *sorted((ROOT / "docs").rglob("*.md"))]]
    for path in sorted((ROOT / "notebooks").glob("0[1-6]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                sources.append((path, cell.source))
    for where, text in sources:
        text = text.read_text() if isinstance(text, Path) else text
        for caption, target in re.findall(r"!\[([^\]]+)\]\(([^)]+)\)", text):
            found.append((where.name, caption, (where.parent / target).resolve()))
    return found


PICTURES = shown_pictures()


def squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def exercises_and_tutorial_code() -> tuple[str, str]:
    """The code of the exercises' cells (notebooks/exercises/*.yml), and of every other
    code cell of the notebooks."""
    from fmtb.maintainer.exercises import load_specs

    specs = load_specs(ROOT / "notebooks")
    ids = {entry["id"] for spec in specs for entry in spec["cells"]}
    theirs = [entry["code"]["en"] for spec in specs for entry in spec["cells"]
              if "code" in entry]
    ours = [cell.source for path in (ROOT / "notebooks").glob("0[1-6]_*.ipynb")
            for cell in nbformat.read(path, as_version=4).cells
            if cell.cell_type == "code" and cell.get("id") not in ids]
    return "\n".join(theirs), "\n".join(ours)


EXERCISES_CODE, TUTORIAL_CODE = exercises_and_tutorial_code()


def only_the_exercises(pattern: str) -> set[str]:
    """What ``pattern`` finds in the exercises' code and nowhere else in the notebooks."""
    return set(re.findall(pattern, EXERCISES_CODE)) - set(re.findall(pattern, TUTORIAL_CODE))


# the tags a writer's add_* logs only in the exercises, and the dashboards only they
# feed (TensorBoard names a dashboard in capitals in its top bar: add_text, TEXT)
EXERCISE_TAGS = only_the_exercises(r"\.add_\w+\(\s*['\"]([^'\"{]+)['\"]")
EXERCISE_DASHBOARDS = {m.upper() for m in only_the_exercises(r"\.add_(text)\(")}


def read_back(picture: Path, tmp_path: Path) -> str:
    """The picture's text, as tesseract reads it from a copy at twice the size."""
    big = tmp_path / "big.png"
    with Image.open(picture) as image:
        image.convert("L").resize((image.width * 2, image.height * 2)).save(big)
    # one OpenMP thread: tesseract's own threads spin and made each picture take ~4 s
    # (0.8 s on one) beside the other test worker (make test)
    return subprocess.run(["tesseract", str(big), "-", "--psm", "11"], capture_output=True,
                          text=True, check=True,
                          env={**os.environ, "OMP_THREAD_LIMIT": "1"}).stdout


def test_the_exercises_tags_are_found():
    """The check below reads the exercises' tags from their cells: it finds some."""
    assert {"sixteen_test_images", "exercise/squares"} <= EXERCISE_TAGS, EXERCISE_TAGS
    assert EXERCISE_DASHBOARDS == {"TEXT"}


def test_every_picture_exists_and_names_its_tags():
    assert PICTURES
    for where, caption, picture in PICTURES:
        assert picture.is_file(), f"{where}: {picture} is missing"
        assert re.findall(r"`([^`]+)`", caption), f"{where}: caption names no tag: {caption}"


@pytest.mark.parametrize("where, caption, picture", PICTURES,
                         ids=[f"{w}:{p.name}" for w, _, p in PICTURES])
def test_picture_shows_what_its_caption_says(where, caption, picture, tmp_path):
    text = read_back(picture, tmp_path)
    seen = squash(text)
    for tag in re.findall(r"`([^`]+)`", caption):
        assert squash(tag) in seen, f"{picture.name}: {tag!r} not read back from:\n{text}"
    # a picture stands beside the tutorial's text: no exercise's answer in it
    shown = [tag for tag in EXERCISE_TAGS if squash(tag) in seen]
    shown += [tab for tab in EXERCISE_DASHBOARDS if re.search(rf"\b{tab}\b", text)]
    assert not shown, f"{picture.name} shows what an exercise logs: {shown}"
    for path in ("/tmp/", "/work/", "/home/", "/root/", "build/", "screenshots-run"):
        assert path not in text, f"{picture.name} shows {path!r}"


def prediction_figures():
    """(printed labels, figure) for each cell of notebook 05 that prints a batch's
    labels and draws that batch with plot_classes_preds."""
    import ast
    import base64

    found = []
    nb = nbformat.read(ROOT / "notebooks" / "05_track_training.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "plot_classes_preds(net" not in cell.source:
            continue
        printed = [o.text for o in cell.outputs if o.output_type == "stream"]
        figures = [o.data["image/png"] for o in cell.outputs if "image/png" in o.get("data", {})]
        if printed and figures:
            found.append((ast.literal_eval(printed[0].strip()), base64.b64decode(figures[0])))
    return found


def test_prediction_figures_are_titled_with_their_images_labels(tmp_path):
    """The stored figures of notebook 05, read back: each image's '(label: …)' is the
    label printed for that image (once, all four were titled with another batch's)."""
    figures = prediction_figures()
    assert len(figures) == 2  # before and after training
    for labels, png in figures:
        picture = tmp_path / "figure.png"
        picture.write_bytes(png)
        text = " ".join(read_back(picture, tmp_path).split())
        assert re.findall(r"\(label: ([^)]+)\)", text) == labels, text


# --- what the notebooks' sentences promise, read back from their pictures ----------

IMG = ROOT / "docs" / "img"


def prose(number: str) -> str:
    (path,) = (ROOT / "notebooks").glob(f"{number}_*.ipynb")
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                     if c.cell_type == "markdown")


def test_the_predictions_picture_is_at_the_step_05_names_with_four_images(tmp_path):
    step = re.search(r"At step ([0-9,]*[0-9])", prose("05"))[1]
    text = read_back(IMG / "tb_05_predictions.png", tmp_path)
    assert re.search(rf"step\s*{step.replace(',', '[,.]?')}\b", text), text
    assert len(re.findall(r"\(label: *\w", text)) == 4, text


def test_the_graph_picture_shows_both_convolutions(tmp_path):
    assert "two convolutions" in prose("03")
    text = read_back(IMG / "tb_03_graphs.png", tmp_path)
    assert squash(text).count("conv2d") >= 2, text


def test_the_pr_curves_picture_shows_the_classes_06_discusses(tmp_path):
    from fmtb_helpers.tutorial import classes

    paragraph = re.search(r"^In \*\*PR Curves\*\*.*$", prose("06"), re.M)[0]
    named = [c for c in re.findall(r"\*(\w[\w/-]*)\*", paragraph) if c in classes]
    assert len(named) >= 3 and "recall across and precision up" in paragraph
    text = read_back(IMG / "tb_06_pr_curves.png", tmp_path)
    shown = [c for c in named if re.search(rf"\b{re.escape(c)}\b", text)]
    assert len(shown) >= 2, (named, text)


def test_the_hparams_picture_of_06_compares_several_runs(tmp_path):
    line = re.search(r"^!\[The HParams dashboard comparing .*$", prose("06"), re.M)[0]
    (picture,) = re.findall(r"\]\(\.\./docs/img/([^)]+)\)", line)
    text = read_back(IMG / picture, tmp_path)
    assert len(set(re.findall(r"[lI]r_0\.\d+", text))) >= 2, text  # tesseract reads l as I
