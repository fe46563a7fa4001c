"""Put the exercises of ``notebooks/exercises/0N.yml`` into the notebooks.

Each YAML file lists one notebook's exercise cells: an id, markdown or code, the
English source and, for markdown and commented code, the Korean. A ``solution`` cell
carries nbgrader's metadata for a solution cell, a ``check`` cell that of an
autograded test cell with its points (``grade_id`` unique in the series). This
inserts them into the English notebook just before its closing ``## Summary`` cell,
replacing cells of the same ids (run it again after editing a YAML file), and writes
their Korean into ``notebooks/ko/translations.json`` with the English cells' SHA-256;
``python -m fmtb.maintainer.translate`` then writes the Korean notebooks. Outputs of
the new cells are empty until the notebooks are executed again (``make notebooks``).
:func:`remove` takes them out of a copy again (``make screenshots``).

    python -m fmtb.maintainer.exercises [NOTEBOOKS_DIR]   # default: notebooks/
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import yaml

from fmtb_helpers import paths
from fmtb_helpers.errors import FmtbError

from .translate import sha256, translations_path

SUMMARY = "## Summary"


class ExerciseError(FmtbError):
    """A YAML file or a notebook the exercises cannot go into: one line."""


# the sentence before each check cell (a notebook's code cell follows a markdown one)
CHECK_LEAD = {"en": "Check what your run holds now:", "ko": "이제 런에 기록된 내용을 확인합니다:"}


def with_leads(cells: list[dict]) -> list[dict]:
    """The cells, with the lead-in sentence ``md-check-…`` before each check cell."""
    out = []
    for entry in cells:
        if "check" in entry:
            out.append({"id": "md-" + entry["id"].removeprefix("code-"),
                        "markdown": entry.get("lead", CHECK_LEAD)})
        out.append(entry)
    return out


def load_specs(notebooks_dir: Path) -> list[dict]:
    specs = []
    for path in sorted((notebooks_dir / "exercises").glob("0[1-9].yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        spec["path"], spec["cells"] = path, with_leads(spec["cells"])
        specs.append(spec)
    grade_ids = [c.get(k, {}).get("grade_id") for s in specs for c in s["cells"]
                 for k in ("solution", "check") if k in c]
    if len(set(grade_ids)) != len(grade_ids):
        raise ExerciseError("a grade_id is used twice in notebooks/exercises: make each unique")
    return specs


def nbgrader_metadata(entry: dict) -> dict | None:
    common = {"schema_version": 3, "task": False}
    if "solution" in entry:
        return {**common, "grade": False, "grade_id": entry["solution"]["grade_id"],
                "locked": False, "solution": True}
    if "check" in entry:
        return {**common, "grade": True, "grade_id": entry["check"]["grade_id"],
                "locked": True, "points": entry["check"]["points"], "solution": False}
    return None


def make_cell(entry: dict):
    kind = "markdown" if "markdown" in entry else "code"
    text = entry[kind]
    source = text["en"].rstrip("\n")
    cell = (nbformat.v4.new_markdown_cell(source) if kind == "markdown"
            else nbformat.v4.new_code_cell(source))
    cell.id = entry["id"]
    if (grading := nbgrader_metadata(entry)) is not None:
        cell.metadata["nbgrader"] = grading
    if entry.get("tags"):
        cell.metadata["tags"] = list(entry["tags"])
    return cell


def insert(nb, spec: dict):
    """``nb`` with the spec's cells just before ``## Summary``, earlier copies removed."""
    ids = [entry["id"] for entry in spec["cells"]]
    nb.cells = [c for c in nb.cells if c.get("id") not in ids]
    summary = [i for i, c in enumerate(nb.cells)
               if c.cell_type == "markdown" and c.source.startswith(SUMMARY)]
    if len(summary) != 1:
        raise ExerciseError(f"{spec['notebook']}: {len(summary)} cells begin with "
                            f"{SUMMARY!r}; expected one to put the exercises before")
    at = summary[0]
    nb.cells[at:at] = [make_cell(entry) for entry in spec["cells"]]
    return nb


def korean(table: dict, nb, spec: dict) -> None:
    """Each cell's Korean (a code cell without comments keeps its English) into ``table``."""
    entries = table.setdefault(spec["notebook"], {})
    sources = {c.id: c.source for c in nb.cells}
    for entry in spec["cells"]:
        text = entry.get("markdown") or entry["code"]
        if "ko" in text:
            entries[entry["id"]] = {"en_sha256": sha256(sources[entry["id"]]),
                                    "ko": text["ko"].rstrip("\n")}
        elif "markdown" in entry:
            raise ExerciseError(f"{spec['path'].name}: markdown cell {entry['id']} has no Korean")
        else:
            entries.pop(entry["id"], None)


def apply(notebooks_dir: Path) -> list[Path]:
    """Insert every notebook's exercises; the files written."""
    specs = load_specs(notebooks_dir)
    table_path = translations_path(notebooks_dir)
    table = json.loads(table_path.read_text(encoding="utf-8"))
    written = []
    for spec in specs:
        path = notebooks_dir / spec["notebook"]
        if not path.is_file():
            raise ExerciseError(f"{spec['path'].name} names {spec['notebook']}, which is not in "
                                f"{notebooks_dir}")
        nb = insert(nbformat.read(path, as_version=4), spec)
        nbformat.validate(nb)
        korean(table, nb, spec)
        text = nbformat.writes(nb) + "\n"
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    text = json.dumps(table, indent=1, ensure_ascii=False)
    if table_path.read_text(encoding="utf-8") != text:
        table_path.write_text(text, encoding="utf-8")
        written.append(table_path)
    return written


def remove(notebooks_dir: Path) -> None:
    """Take every exercise's cells out of the notebooks in ``notebooks_dir``, a copy
    (``make screenshots``: its pictures stand beside the tutorial's text, where a
    learner has not done the exercises yet)."""
    for spec in load_specs(notebooks_dir):
        ids = {entry["id"] for entry in spec["cells"]}
        path = notebooks_dir / spec["notebook"]
        if not path.is_file():
            raise ExerciseError(f"{spec['path'].name} names {path}, which is missing")
        nb = nbformat.read(path, as_version=4)
        kept = [cell for cell in nb.cells if cell.get("id") not in ids]
        if len(kept) == len(nb.cells):
            raise ExerciseError(f"{path}: none of the cells of {spec['path'].name} is there")
        nb.cells = kept
        nbformat.write(nb, path)


def main(argv: list[str]) -> int:
    notebooks_dir = Path(argv[0]) if argv else paths.notebooks_dir()
    try:
        written = apply(notebooks_dir)
    except ExerciseError as exc:
        print(f"exercises: error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
