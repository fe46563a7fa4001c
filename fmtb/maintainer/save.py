"""Write ``fmtb_helpers/tutorial.py``, the tutorial's own code, from the notebooks that
introduce it: d2l's ``#@save``, with the notebooks as the one source.

A code cell of an English notebook whose first line is ``#@save`` holds code of the
tutorial that later notebooks (and the rest of ``fmtb_helpers``) import: ``classes``
(01), ``matplotlib_imshow`` (02), ``Net`` (03), and so on. The generated module holds
each saved cell's code in notebook order, headed by a comment naming its notebook and
cell; nobody edits it by hand.

What a saved cell gives the module: its top-level ``def``, ``class`` and assignments,
each with the comment lines right above it and the comments that end its body. The
rest of the cell (01's loop printing the count of each class it just defined) stays
the lesson's, run in the notebook only: so a cell keeps reading as the tutorial wrote
it, no cell is split for the module's sake, and the module holds only definitions.
A saved cell holds plain Python (no magics); a name saved twice stops the generator.

The module's imports are :data:`IMPORTS`, kept here by hand: the few modules the
tutorial's code uses, as its notebooks import them. ``make lint`` names one that is
missing (F821) or no longer used (F401).

``make notebooks`` runs it before executing the notebooks; alone:
``python -m fmtb.maintainer.save``. ``--check`` writes nothing and fails in one line
when the module is not what the notebooks generate (``tests/test_save.py`` checks the
same).
"""
from __future__ import annotations

import argparse
import ast
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

from fmtb.maintainer.translate import english_notebooks
from fmtb_helpers import paths
from fmtb_helpers.errors import FmtbError

TAG = "#@save"
MODULE = Path("fmtb_helpers") / "tutorial.py"
HEADER = '''\
"""The tutorial's own code, generated from the notebooks that introduce it: do not edit.

Each block below is a code cell whose first line is ``#@save`` in the notebook named
above it. Edit the cell there, then run ``make notebooks`` (or
``python -m fmtb.maintainer.save``), which writes this file again.
"""
'''
IMPORTS = '''\
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .training import check_loss
'''


class SaveError(FmtbError):
    """A saved cell the generator cannot take, or a stale module: one line."""


@dataclass(frozen=True)
class Saved:
    """One ``#@save`` cell: where it is, the names it defines, the code it gives."""

    notebook: str
    cell_id: str
    names: tuple[str, ...]
    code: str


def is_saved(cell) -> bool:
    return cell.cell_type == "code" and cell.source.split("\n", 1)[0].strip() == TAG


def saved_cells(notebooks_dir: Path | None = None) -> list[Saved]:
    """Every ``#@save`` cell of the English notebooks, in order."""
    found = [take(path.name, cell) for path in english_notebooks(notebooks_dir)
             for cell in nbformat.read(path, as_version=4).cells if is_saved(cell)]
    where = {}
    for saved in found:
        for name in saved.names:
            if name in where:
                raise SaveError(f"{name} is saved twice, in {where[name]} and {saved.notebook} "
                                f"cell {saved.cell_id}: keep {TAG} on the first only")
            where[name] = f"{saved.notebook} cell {saved.cell_id}"
    return found


def take(notebook: str, cell) -> Saved:
    """The top-level definitions of a saved cell, with their comments."""
    lines = cell.source.splitlines()
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise SaveError(f"{notebook}: saved cell {cell.id} is not plain Python (line "
                        f"{exc.lineno}: {exc.msg}); keep magics out of {TAG} cells") from None
    names, blocks = [], []
    for node in tree.body:
        if not _names(node):
            continue
        names += _names(node)
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        while start > 1 and lines[start - 1].startswith("#"):  # its comment, above it
            start -= 1
        end = node.end_lineno
        while end < len(lines) and lines[end][:1].isspace() and lines[end].lstrip()[:1] == "#":
            end += 1  # the comments that end its body
        blocks.append("\n".join(lines[start:end]))
    if not names:
        raise SaveError(f"{notebook}: saved cell {cell.id} defines no function, class or "
                        f"name the module could hold; remove its {TAG} line")
    return Saved(notebook, cell.id, tuple(names), "\n\n\n".join(blocks))


def generate(notebooks_dir: Path | None = None) -> str:
    """The text of the tutorial's module: its imports, ``__all__`` (the saved names),
    then each saved cell's code under the name of its notebook and cell."""
    saved = saved_cells(notebooks_dir)
    names = ", ".join(f'"{name}"' for cell in saved for name in cell.names)
    parts = [HEADER + IMPORTS + "\n" + textwrap.fill(
        f"__all__ = [{names}]", 100, subsequent_indent="           ", break_long_words=False,
        break_on_hyphens=False) + "\n"]
    for cell in saved:
        parts.append(f"# from notebooks/{cell.notebook}, cell {cell.cell_id}\n{cell.code}\n")
    return "\n\n".join(parts)


def _names(node: ast.stmt) -> list[str]:
    """The names a top-level definition binds (none for anything else)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return []


def defined(text: str) -> set[str]:
    """The top-level names a module's text defines (imports aside)."""
    return {name for node in ast.parse(text).body for name in _names(node)}


def check(written: str, generated: str) -> None:
    """Raise :class:`SaveError` unless the module's text ``written`` is ``generated``."""
    if written == generated:
        return
    gone, new = sorted(defined(written) - defined(generated)), sorted(defined(generated) -
                                                                      defined(written))
    why = (f"it defines {', '.join(gone)}, which no {TAG} cell does now" if gone else
           f"{', '.join(new)} ha{'s' if len(new) == 1 else 've'} no code there" if new else
           "a saved cell changed, or the module was edited by hand")
    raise SaveError(f"{MODULE} is stale ({why}): run python -m fmtb.maintainer.save "
                    f"(make notebooks runs it)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m fmtb.maintainer.save", description=(
        f"Write {MODULE} from the notebooks' {TAG} cells."))
    parser.add_argument("--check", action="store_true",
                        help="write nothing; fail if the module is stale")
    args = parser.parse_args(argv)
    target = paths.project_root() / MODULE
    written = target.read_text(encoding="utf-8") if target.is_file() else ""
    try:
        text = generate()
        if args.check:
            check(written, text)
    except SaveError as exc:
        print(f"save: error: {exc}", file=sys.stderr)
        return 1
    if not args.check and written != text:
        with paths.atomic_write(target) as f:
            f.write(text.encode("utf-8"))
        print(f"wrote {MODULE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
