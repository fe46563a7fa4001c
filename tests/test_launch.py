"""Launch links (fmtb/launch.py): one repository address gives Colab, Binder, a class's
JupyterHub, the download and the source, for the site's pages and for the notebooks'
own cell md-launch (fmtb.maintainer.repository, which `make notebooks` runs); with no
address a notebook carries no link at all. Run on temporary copies of the notebooks,
with the address given as a build's environment gives it."""
from __future__ import annotations

import shutil
import sys
import urllib.parse
from pathlib import Path

import nbformat
import pytest

from fmtb import launch
from fmtb.maintainer import repository, translate

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = sorted((ROOT / "notebooks").glob("0*.ipynb"))
GITHUB = "https://github.com/example-org/fmtb"
HUB = "https://hub.example.edu"


@pytest.fixture
def copy(tmp_path):
    """The six English notebooks and the Korean table, as `make notebooks` finds them."""
    (tmp_path / "ko").mkdir()
    for path in ENGLISH:
        shutil.copy(path, tmp_path)
    shutil.copy(ROOT / "notebooks/ko/translations.json", tmp_path / "ko")
    return tmp_path


def cell(nb, cell_id):
    return next((c for c in nb.cells if c.get("id") == cell_id), None)


def linked(markdown: str) -> dict[str, str]:
    """``{label: address}`` of a markdown line's links."""
    import re

    return dict(re.findall(r"\[([^\]]+)\]\(([^)\s]+)\)", markdown))


def test_without_an_address_the_stored_notebooks_carry_no_launch_links():
    table = translate.load_translations()
    declared = launch.declared_repository()
    for path in [*ENGLISH, *sorted((ROOT / "notebooks/ko").glob("0*.ipynb"))]:
        nb = nbformat.read(path, as_version=4)
        if not declared:  # today: no dead link
            assert cell(nb, launch.CELL_ID) is None, path.name
            assert launch.CELL_ID not in table.get(path.name, {}), path.name
        else:
            assert nb.cells[1].get("id") == launch.CELL_ID, path.name


def test_an_address_writes_the_launch_links_in_both_editions(copy):
    env = {"FMTB_REPOSITORY_URL": GITHUB + ".git", "FMTB_HUB_URL": HUB + "/"}
    assert len(repository.fill(copy, environ=env)) == 6
    assert repository.fill(copy, environ=env) == []  # already there
    korean = translate.generate(copy)  # the Korean edition still generates
    for path in sorted(copy.glob("0*.ipynb")):
        for lang, nb in (("en", nbformat.read(path, as_version=4)),
                         ("ko", nbformat.reads(korean[copy / "ko" / path.name], as_version=4))):
            stored = f"notebooks/{'ko/' if lang == 'ko' else ''}{path.name}"
            assert nb.cells[0].source.startswith("# ") and nb.cells[1].id == launch.CELL_ID
            links = linked(nb.cells[1].source)
            words = launch.LABELS[lang]
            assert list(links) == [words[k] for k in ("colab", "binder", "hub", "download",
                                                      "github")], (path.name, lang)
            colab, binder, hub, download, source = links.values()
            assert colab == f"https://colab.research.google.com/github/example-org/fmtb/blob/main/{stored}"
            assert urllib.parse.parse_qs(urllib.parse.urlsplit(binder).query) == \
                {"labpath": [stored]}
            assert binder.startswith("https://mybinder.org/v2/gh/example-org/fmtb/main?")
            assert hub.startswith(HUB + "/hub/user-redirect/git-pull?")
            assert urllib.parse.parse_qs(urllib.parse.urlsplit(hub).query) == {
                "repo": [GITHUB], "branch": ["main"], "urlpath": [f"lab/tree/fmtb/{stored}"]}
            assert download == f"https://raw.githubusercontent.com/example-org/fmtb/main/{stored}"
            assert source == f"{GITHUB}/blob/main/{stored}"
            helpers = cell(nb, repository.CELL_ID)  # the install line: the same address
            assert f'REPOSITORY = "{GITHUB}"' in helpers.source


def test_no_address_removes_the_links_and_leaves_the_notebooks_as_they_were(copy):
    before = {p.name: p.read_bytes() for p in copy.glob("0*.ipynb")}
    table = (copy / "ko" / "translations.json").read_bytes()
    repository.fill(copy, environ={"FMTB_REPOSITORY_URL": "https://git.example.org/a/fmtb"})
    nb = nbformat.read(copy / ENGLISH[0].name, as_version=4)
    links = linked(nb.cells[1].source)  # another host: no Colab, no download, no hub
    assert list(links) == ["Launch on Binder", "View source"], links
    assert links["View source"] == "https://git.example.org/a/fmtb"
    assert len(repository.fill(copy, url="", environ={})) == 6
    assert {p.name: p.read_bytes() for p in copy.glob("0*.ipynb")} == before
    assert (copy / "ko" / "translations.json").read_bytes() == table


def test_the_sites_page_shows_its_own_buttons_not_the_notebooks_cell(tmp_path, monkeypatch):
    """A page has the site's buttons (the download beside the page), never the cell too."""
    notebooks = tmp_path / "notebooks"
    (notebooks / "ko").mkdir(parents=True)
    shutil.copy(ENGLISH[0], notebooks)
    shutil.copy(ROOT / "notebooks/ko/translations.json", notebooks / "ko")
    shutil.copy(ROOT / "README.md", tmp_path)
    repository.fill(notebooks, environ={"FMTB_REPOSITORY_URL": GITHUB})
    monkeypatch.syspath_prepend(str(ROOT / "site"))
    monkeypatch.delitem(sys.modules, "build", raising=False)
    build = __import__("build")
    monkeypatch.setattr(build, "ROOT", tmp_path)
    where = launch.addresses({"FMTB_REPOSITORY_URL": GITHUB})
    page = build.site_copy(notebooks / ENGLISH[0].name, "en", where)
    sys.modules.pop("build", None)
    assert cell(nbformat.read(notebooks / ENGLISH[0].name, as_version=4), launch.CELL_ID)
    assert cell(page, launch.CELL_ID) is None
    assert f'href="{ENGLISH[0].name}" download>' in page.cells[0].source
    assert launch.LABELS["en"]["colab"] in page.cells[0].source


def test_one_address_as_pyproject_declares_it_or_none(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\n'
                         'Repository = "https://github.com/o/n.git/"\n')
    assert launch.declared_repository(pyproject) == "https://github.com/o/n.git/"
    assert launch.declared_repository(tmp_path / "missing.toml") == ""  # not a checkout
    assert launch.repository("https://github.com/o/n.git/") == "https://github.com/o/n"
    assert launch.repository("") is None
    nowhere = launch.Addresses(None, "main", HUB)  # a hub but no repository: no link at all
    assert launch.markdown("notebooks/01_x.ipynb", "en", nowhere) == ""
