"""The repository's public address in each notebook: its install line and its launch
links.

The address lives in one place, ``pyproject.toml``'s ``[project.urls]``
``Repository`` (absent until it is known), which ``FMTB_REPOSITORY_URL`` overrides
(a fork, a mirror); ``FMTB_HUB_URL`` adds a class's JupyterHub (:mod:`fmtb.launch`
builds every address from them, for the site too). In both editions (the English
notebooks, and their Korean cells in ``notebooks/ko/translations.json`` with their
``en_sha256``), this step writes
- the address into each notebook's first code cell (``code-helpers``), whose
  ``REPOSITORY = "..."`` line installs the helpers where the notebook runs alone
  (Colab, Kaggle);
- the launch links (Colab, Binder, the hub, download, source) into a markdown cell
  ``md-launch`` right after the title, in the notebook's language; with no address,
  it removes that cell: a notebook carries no dead link.

``make notebooks`` runs it before storing the notebooks; alone:
``python -m fmtb.maintainer.repository``.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from pathlib import Path

import nbformat

from fmtb import launch

from .translate import LANG, english_notebooks, sha256, translations_path

CELL_ID = "code-helpers"
_LINE = re.compile(r'^REPOSITORY = "[^"\n]*"', re.M)


def address(pyproject: Path | None = None) -> str:
    """``[project.urls] Repository`` of ``pyproject.toml``, or "" where it is absent."""
    return launch.declared_repository(pyproject)


def filled(source: str, url: str) -> str:
    """``source`` with its ``REPOSITORY = "..."`` line naming ``url``."""
    if not _LINE.search(source):
        raise ValueError(f"no REPOSITORY line in the {CELL_ID} cell")
    return _LINE.sub(f"REPOSITORY = {json.dumps(url)}", source, count=1)


def _launch_cell(nb, entries: dict, text: dict[str, str]) -> bool:
    """Put ``text`` (English, Korean) in ``nb``'s cell md-launch, right after the title,
    and its Korean in ``entries``; remove both where the text is "". Whether it changed."""
    cells = [c for c in nb.cells if c.get("id") == launch.CELL_ID]
    if not text["en"]:
        entries.pop(launch.CELL_ID, None)
        nb.cells = [c for c in nb.cells if c.get("id") != launch.CELL_ID]
        return bool(cells)
    entry = {"en_sha256": sha256(text["en"]), "ko": text[LANG]}
    if cells and cells[0].source == text["en"] and nb.cells.index(cells[0]) == 1 and \
            entries.get(launch.CELL_ID) == entry:
        return False
    cell = cells[0] if cells else nbformat.v4.new_markdown_cell(id=launch.CELL_ID)
    cell.source = text["en"]
    nb.cells = [nb.cells[0], cell, *[c for c in nb.cells[1:] if c is not cell]]
    kept = [(k, v) for k, v in entries.items() if k != launch.CELL_ID]
    at = next((i + 1 for i, (k, _) in enumerate(kept) if k == nb.cells[0].get("id")), len(kept))
    entries.clear()
    entries.update([*kept[:at], (launch.CELL_ID, entry), *kept[at:]])
    return True


def fill(notebooks_dir: Path | None = None, url: str | None = None,
         environ=os.environ) -> list[Path]:
    """Write the repository address (``url``, else the one ``environ`` or pyproject
    gives; "" for none) into every notebook's install line and launch links; returns
    the files changed."""
    where = launch.addresses(environ)
    if url is not None:
        where = dataclasses.replace(where, repository=launch.repository(url))
    table_path = translations_path(notebooks_dir)
    table = json.loads(table_path.read_text(encoding="utf-8"))
    changed = []
    for path in english_notebooks(notebooks_dir):
        nb = nbformat.read(path, as_version=4)
        entries = table[path.name]
        cell = next(c for c in nb.cells if c.get("id") == CELL_ID)
        install = filled(cell.source, where.repository or "")
        links = {"en": launch.markdown(f"notebooks/{path.name}", "en", where),
                 LANG: launch.markdown(f"notebooks/{LANG}/{path.name}", LANG, where)}
        moved = _launch_cell(nb, entries, links)
        if install == cell.source and not moved:
            continue
        if install != cell.source:
            cell.source = install
            entry = entries[CELL_ID]
            entry.update(en_sha256=sha256(install), ko=filled(entry["ko"], where.repository or ""))
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        changed.append(path)
    if changed:
        table_path.write_text(json.dumps(table, ensure_ascii=False, indent=1) + "\n",
                              encoding="utf-8")
    return changed


if __name__ == "__main__":
    print(launch.addresses().describe())
    for changed in fill():
        print(f"wrote {changed}")
    sys.exit(0)
