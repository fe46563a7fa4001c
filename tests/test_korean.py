"""The Korean edition, notebooks/ko: written by ``fmtb.maintainer.translate`` from the
English notebooks and notebooks/ko/translations.json, so its code cells are the
English ones and only its prose is Korean; a change to an English markdown cell
shows here as a stale translation."""
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from fmtb import runner
from fmtb.maintainer import translate

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KO = NOTEBOOKS / "ko"
ENGLISH = sorted(NOTEBOOKS.glob("0[1-6]_*.ipynb"))
KOREAN = sorted(KO.glob("0[1-6]_*.ipynb"))
PAIRS = [(en, KO / en.name) for en in ENGLISH]
TABLE = json.loads((KO / "translations.json").read_text(encoding="utf-8"))
KOREAN_TUTORIAL = "https://tutorials.pytorch.kr/intermediate/tensorboard_tutorial.html"


def load(path):
    return nbformat.read(path, as_version=4)


def cells(nb, kind):
    return [c for c in nb.cells if c.cell_type == kind]


def markdown(path) -> str:
    return "\n".join(c.source for c in cells(load(path), "markdown"))


def hangul_share(text: str) -> float:
    """Hangul among all letters, URLs and code included."""
    letters = [ch for ch in text if ch.isalpha()]
    return sum("\uac00" <= ch <= "\ud7a3" for ch in letters) / len(letters)


def pictures(text: str) -> dict[str, list[str]]:
    """Each picture's file name and the tags its caption names in backticks."""
    return {Path(target).name: sorted(re.findall(r"`([^`]+)`", caption))
            for caption, target in re.findall(r"!\[([^\]]+)\]\(([^)]+)\)", text)}


def test_six_korean_notebooks_beside_the_english_ones():
    assert [p.name for p in KOREAN] == [p.name for p in ENGLISH]
    assert len(KOREAN) == 6


@pytest.mark.parametrize("path", ENGLISH, ids=lambda p: p.stem)
def test_every_english_markdown_cell_has_a_fresh_translation(path):
    table = TABLE.get(path.name, {})
    for cell in cells(load(path), "markdown"):
        assert cell.id in table, f"{path.name}: markdown cell {cell.id} is not translated"
        assert table[cell.id]["en_sha256"] == translate.sha256(cell.source), (
            f"{path.name}: markdown cell {cell.id} changed in English; update its Korean text "
            f"and en_sha256 in notebooks/ko/translations.json")
        assert table[cell.id]["ko"].strip()


def test_no_translation_of_a_cell_the_english_notebooks_lack():
    english = {p.name: {c.id for c in cells(load(p), "markdown")} for p in ENGLISH}
    for name, table in TABLE.items():
        assert name in english, f"translations.json names a notebook {name} that is gone"
        assert set(table) <= english[name], f"{name}: {set(table) - english[name]} are gone"


def test_the_korean_notebooks_are_what_the_generator_writes():
    written = translate.generate()
    assert sorted(written) == KOREAN
    for path, text in written.items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.name} was edited by hand or is out of date: edit "
            f"notebooks/ko/translations.json and run python -m fmtb.maintainer.translate")


@pytest.mark.parametrize("en, ko", PAIRS, ids=lambda p: p.stem)
def test_code_cells_equal_the_english_ones(en, ko):
    en_nb, ko_nb = load(en), load(ko)
    assert [(c.cell_type, c.id) for c in ko_nb.cells] == [(c.cell_type, c.id) for c in en_nb.cells]
    en_code, ko_code = cells(en_nb, "code"), cells(ko_nb, "code")
    assert len(ko_code) == len(en_code)
    for e, k in zip(en_code, ko_code):
        assert k.source == e.source, f"{ko.name} {k.id}: source differs"
        assert k.outputs == e.outputs, f"{ko.name} {k.id}: outputs differ"
        assert k.execution_count == e.execution_count, f"{ko.name} {k.id}: execution count"
        assert k.metadata.get("tags") == e.metadata.get("tags"), f"{ko.name} {k.id}: tags"
    assert ko_nb.metadata == en_nb.metadata


@pytest.mark.parametrize("path", KOREAN, ids=lambda p: p.stem)
def test_the_prose_is_mostly_hangul(path):
    assert hangul_share(markdown(path)) > 0.5


@pytest.mark.parametrize("en, ko", PAIRS, ids=lambda p: p.stem)
def test_links_stay_in_the_korean_edition_and_pictures_are_the_english_ones(en, ko):
    text = markdown(ko)
    for target in re.findall(r"\]\(([^)]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        assert (KO / target).resolve().exists() or target.startswith("../../docs/img/"), target
        if target.endswith(".ipynb") and target != "../01_setup_tensorboard.ipynb":
            assert "/" not in target, f"{ko.name} links {target}, not its Korean sibling"
    assert pictures(text) == pictures(markdown(en))
    assert all(t.startswith("../../docs/img/")
               for t in re.findall(r"!\[[^\]]+\]\(([^)]+)\)", text))


def test_each_01_links_the_other_edition_and_the_tutorial_in_its_language():
    ko = markdown(KO / "01_setup_tensorboard.ipynb")
    assert "](../01_setup_tensorboard.ipynb)" in ko
    assert KOREAN_TUTORIAL in ko
    first = cells(load(NOTEBOOKS / "01_setup_tensorboard.ipynb"), "markdown")[0].source
    assert "](ko/01_setup_tensorboard.ipynb)" in first
    assert "https://pytorch.org/tutorials/intermediate/tensorboard_tutorial.html" in first


def test_a_missing_or_stale_translation_stops_the_generator_in_one_line(tmp_path):
    (tmp_path / "ko").mkdir()
    shutil.copy(ENGLISH[1], tmp_path)
    table = {ENGLISH[1].name: dict(TABLE[ENGLISH[1].name])}
    table[ENGLISH[1].name]["md-03"] = dict(table[ENGLISH[1].name]["md-03"], en_sha256="0" * 64)
    (tmp_path / "ko" / "translations.json").write_text(json.dumps(table))
    with pytest.raises(translate.TranslationError) as stale:
        translate.generate(tmp_path)
    assert ENGLISH[1].name in str(stale.value) and "md-03" in str(stale.value)
    del table[ENGLISH[1].name]["md-05"]
    table[ENGLISH[1].name]["md-03"] = TABLE[ENGLISH[1].name]["md-03"]
    (tmp_path / "ko" / "translations.json").write_text(json.dumps(table))
    with pytest.raises(translate.TranslationError) as missing:
        translate.generate(tmp_path)
    assert "md-05" in str(missing.value) and "\n" not in str(missing.value)


def test_the_notebooks_relative_paths_reach_the_project_from_ko():
    """The code cells say data_root="../data", runs_dir="../runs": from notebooks/ko
    that is notebooks/data and notebooks/runs, links to the project's folders."""
    for name in ("data", "runs"):
        assert os.readlink(NOTEBOOKS / name) == f"../{name}"
        assert (KO / ".." / name).resolve() == (ROOT / name).resolve()


def test_fmtb_run_lang_picks_the_edition(real_data_root, tmp_path):
    plan = runner.plan("01,02", runs_dir=str(tmp_path / "runs"), lang="ko")
    assert [p.parent for p in plan.notebooks] == [KO, KO] and plan.notebooks_dir == KO
    assert runner.plan("01", runs_dir=str(tmp_path / "runs")).notebooks_dir == NOTEBOOKS
    with pytest.raises(runner.UsageError, match="--lang"):
        runner.plan("01", runs_dir=str(tmp_path / "runs"), lang="fr")
    args = runner_cli_args(["run", "--lang", "ko", "--notebooks", "01"])
    assert args.lang == "ko"


def runner_cli_args(argv):
    from fmtb import cli

    return cli.build_parser().parse_args(argv)


def test_readme_ko_quick_start_gallery_and_errors():
    readme_ko = (ROOT / "README.ko.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for text in ("make run", "make test", "jupyter lab notebooks/ko/01_setup_tensorboard.ipynb",
                 "fmtb run: error:", "fmtb data", "--replace", "--lang ko"):
        assert text in readme_ko, text
    # the same pictures, captions naming the same tags (tests/test_pictures.py reads
    # the English captions' tags back from them)
    ko, en = pictures(readme_ko), pictures(readme)
    assert len(ko) >= 1 and ko == {name: en.get(name) for name in ko}  # the gallery: docs/
    assert hangul_share(readme_ko) > 0.3
    assert "README.ko.md" in readme.splitlines()[2]
