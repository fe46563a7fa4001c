"""Write the Korean edition, ``notebooks/ko/0N_*.ipynb``, from the English notebooks.

``notebooks/ko/translations.json`` is the one source of the Korean text: for each
English notebook (by file name), a cell's id maps to
``{"en_sha256": <SHA-256 of the English cell's source>, "ko": <Korean source>}``.
Every markdown cell has one. A code cell may have one too: the same code with the
Korean edition's comments and docstrings. Its syntax tree, without docstrings, must
equal the English cell's (comments are not in the tree); the generator refuses one
that differs. A code cell tagged ``translate-strings`` (a message the learner reads,
as in each notebook's first code cell) may differ in its string constants too.
Everything else of a code cell (outputs, execution count, tags, id) is the English
cell's, and a code cell without an entry is copied as is, so the two
editions cannot drift. A translation that is missing, stale (the English cell
changed since it was translated) or whose code differs stops the generator with one
line naming notebook and cell.

``make notebooks`` runs it after storing the English notebooks; alone:
``python -m fmtb.maintainer.translate``.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import json
import sys
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from fmtb import folders
from fmtb_helpers import paths
from fmtb_helpers.errors import FmtbError

LANG = "ko"
STRINGS_TAG = "translate-strings"  # a code cell whose string constants are translated too
_DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


class TranslationError(FmtbError):
    """A missing or stale translation, or translated code that differs: one line."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def without_docstrings(tree: ast.AST) -> ast.AST:
    """A copy of ``tree`` with the docstring of every module, class and function
    removed (comments are never in a syntax tree)."""
    tree = copy.deepcopy(tree)
    for node in ast.walk(tree):
        if (isinstance(node, _DOCUMENTED) and node.body and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
                and isinstance(node.body[0].value.value, str)):
            node.body = node.body[1:]
    return tree


class _BlankStrings(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant("") if isinstance(node.value, str) else node


def as_python(source: str) -> str:
    """A code cell's source as plain Python: IPython's magics as the calls they stand for
    (the one place the project turns a cell into Python; tests use it too)."""
    return TransformerManager().transform_cell(source)


def code_tree(source: str, strings: bool = True) -> str:
    """A code cell as Python parses it (IPython's magics as the calls they stand
    for), without comments and docstrings: equal for two cells that run the same code;
    without ``strings``, every string constant is blank: equal for two cells that run
    the same code but for what their strings say."""
    tree = without_docstrings(ast.parse(as_python(source)))
    return ast.dump(tree if strings else _BlankStrings().visit(tree))


def english_notebooks(notebooks_dir: Path | None = None) -> list[Path]:
    return folders.notebooks(notebooks_dir)


def translations_path(notebooks_dir: Path | None = None) -> Path:
    return (notebooks_dir or paths.notebooks_dir()) / LANG / "translations.json"


def load_translations(path: Path | None = None) -> dict:
    return json.loads((path or translations_path()).read_text(encoding="utf-8"))


def translate(english, name: str, table: dict):
    """The Korean notebook for the English notebook ``english`` (named ``name``)."""
    cells = table.get(name, {})
    nb = copy.deepcopy(english)
    where = f"{LANG}/translations.json"
    for cell in nb.cells:
        kind = cell.cell_type
        entry = cells.get(cell.id)
        if entry is None:
            if kind == "markdown":
                raise TranslationError(f"{name}: markdown cell {cell.id} has no Korean "
                                       f"translation in {where}")
            continue
        if kind not in ("markdown", "code"):
            raise TranslationError(f"{name}: {kind} cell {cell.id} cannot be translated; "
                                   f"remove its entry from {where}")
        if entry.get("en_sha256") != sha256(cell.source):
            raise TranslationError(f"{name}: {kind} cell {cell.id} changed in English "
                                   f"since it was translated; update its \"ko\" text and "
                                   f"en_sha256 ({sha256(cell.source)}) in {where}")
        strings = STRINGS_TAG not in cell.metadata.get("tags", [])
        if kind == "code" and (_korean_tree(entry["ko"], name, cell.id, strings)
                               != code_tree(cell.source, strings)):
            what = "comments and docstrings" + ("" if strings else " and strings")
            raise TranslationError(f"{name}: the Korean code of cell {cell.id} is not the "
                                   f"English code; in {where} translate only its {what}")
        cell.source = entry["ko"]
    return nb


def _korean_tree(source: str, name: str, cell_id: str, strings: bool = True) -> str:
    try:
        return code_tree(source, strings)
    except SyntaxError as exc:
        raise TranslationError(f"{name}: the Korean code of cell {cell_id} does not parse "
                               f"(line {exc.lineno}: {exc.msg}); fix it in "
                               f"{LANG}/translations.json") from None


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
