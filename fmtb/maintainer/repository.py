"""The repository's public address in each notebook's first code cell.

The address lives in one place, ``pyproject.toml``'s ``[project.urls]``
``Repository`` (absent until it is known). Each notebook's first code cell
(``code-helpers``) installs the helpers from it where the notebook runs alone
(Colab, Kaggle); this step writes it into that cell's ``REPOSITORY = "..."`` line, in
both editions (the English notebooks, and the Korean cells in
``notebooks/ko/translations.json`` with their ``en_sha256``). ``make notebooks`` runs
it before storing the notebooks; alone: ``python -m fmtb.maintainer.repository``.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import tomllib

from fmtb_helpers import paths

from .translate import english_notebooks, sha256, translations_path

CELL_ID = "code-helpers"
_LINE = re.compile(r'^REPOSITORY = "[^"\n]*"', re.M)


def address(pyproject: Path | None = None) -> str:
    """``[project.urls] Repository`` of ``pyproject.toml``, or "" where it is absent."""
    text = (pyproject or paths.project_root() / "pyproject.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["project"].get("urls", {}).get("Repository", "")


def filled(source: str, url: str) -> str:
    """``source`` with its ``REPOSITORY = "..."`` line naming ``url``."""
    if not _LINE.search(source):
        raise ValueError(f"no REPOSITORY line in the {CELL_ID} cell")
    return _LINE.sub(f"REPOSITORY = {json.dumps(url)}", source, count=1)


def fill(notebooks_dir: Path | None = None, url: str | None = None) -> list[Path]:
    """Write ``url`` (default: :func:`address`) into every notebook's first code cell;
    returns the files changed."""
    url = address() if url is None else url
    table_path = translations_path(notebooks_dir)
    table = json.loads(table_path.read_text(encoding="utf-8"))
    changed = []
    for path in english_notebooks(notebooks_dir):
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.get("id") == CELL_ID)
        if filled(cell.source, url) == cell.source:
            continue
        cell.source = filled(cell.source, url)
        entry = table[path.name][CELL_ID]
        entry.update(en_sha256=sha256(cell.source), ko=filled(entry["ko"], url))
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        changed.append(path)
    if changed:
        table_path.write_text(json.dumps(table, ensure_ascii=False, indent=1), encoding="utf-8")
    return changed


if __name__ == "__main__":
    for changed in fill():
        print(f"wrote {changed}")
    sys.exit(0)
