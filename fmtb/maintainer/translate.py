"""Write the Korean edition, ``notebooks/ko/0N_*.ipynb``, from the English notebooks.

``notebooks/ko/translations.json`` is the one source of the Korean prose: for each
English notebook (by file name), each markdown cell's id maps to
``{"en_sha256": <SHA-256 of the English cell's source>, "ko": <Korean markdown>}``.
Every code cell is copied as is (source, outputs, execution count, tags, id) and
every markdown cell is replaced by its Korean text, so the two editions cannot
drift. A translation that is missing, or stale (the English cell changed since it
was translated), stops the generator with one line naming notebook and cell.

``make notebooks`` runs it after storing the English notebooks; alone:
``python -m fmtb.maintainer.translate``.
"""
from __future__ import annotations

import copy
import hashlib
import json
import sys
from pathlib import Path

import nbformat

from fmtb_helpers import paths

LANG = "ko"


class TranslationError(Exception):
    """A missing or stale translation: one line."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def english_notebooks(notebooks_dir: Path | None = None) -> list[Path]:
    return sorted((notebooks_dir or paths.notebooks_dir()).glob("0[1-9]_*.ipynb"))


def translations_path(notebooks_dir: Path | None = None) -> Path:
    return (notebooks_dir or paths.notebooks_dir()) / LANG / "translations.json"


def load_translations(path: Path | None = None) -> dict:
    return json.loads((path or translations_path()).read_text(encoding="utf-8"))


def translate(english, name: str, table: dict):
    """The Korean notebook for the English notebook ``english`` (named ``name``)."""
    cells = table.get(name, {})
    nb = copy.deepcopy(english)
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        entry = cells.get(cell.id)
        if entry is None:
            raise TranslationError(f"{name}: markdown cell {cell.id} has no Korean "
                                   f"translation in {LANG}/translations.json")
        if entry.get("en_sha256") != sha256(cell.source):
            raise TranslationError(f"{name}: markdown cell {cell.id} changed in English "
                                   f"since it was translated; update its \"ko\" text and "
                                   f"en_sha256 ({sha256(cell.source)})")
        cell.source = entry["ko"]
    return nb


def generate(notebooks_dir: Path | None = None) -> dict[Path, str]:
    """Each Korean notebook's path and the text the generator writes there."""
    notebooks_dir = notebooks_dir or paths.notebooks_dir()
    table = load_translations(translations_path(notebooks_dir))
    out = {}
    for path in english_notebooks(notebooks_dir):
        nb = translate(nbformat.read(path, as_version=4), path.name, table)
        nbformat.validate(nb)
        out[notebooks_dir / LANG / path.name] = nbformat.writes(nb) + "\n"
    return out


def main(argv: list[str]) -> int:
    try:
        written = generate()
    except TranslationError as exc:
        print(f"translate: error: {exc}", file=sys.stderr)
        return 1
    for path, text in written.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(paths.project_root())}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
