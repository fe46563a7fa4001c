"""``fmtb report DIR…``: what each learner's runs folder holds, as a table for a teacher.

A row per series run in each folder (a learner's ``runs``, or one run folder): which
notebooks logged (by their event files), whether notebook 05 saved ``net.pt``, the
final test accuracy that notebook 06 records (``hparam/test accuracy``, a fraction)
and how many of the exercises pass, by the notebooks' own checks
(:mod:`fmtb_helpers.exercises`). A folder that is not a runs folder, cannot be read or
is half-written is one row that says so; nothing is written into the folders.
"""
from __future__ import annotations

import contextlib
import csv
import io
import re
import sys
from pathlib import Path

from fmtb_helpers import exercises, paths

from .errors import UsageError
from .results import ACCURACY

COLUMNS = ("learner", "run", "notebooks", "net.pt", "test accuracy", "exercises passed", "note")
NOTEBOOKS = ("01", "02", "03", "04", "05", "06")
# the runs the exercises add beside a series run
SIDE_RUNS = (exercises.LR_RUN, exercises.SLOW_RUN, exercises.DROPOUT_RUN)
_MARK = re.compile(r"\.(0[1-6])(?:-exercises)?$")


def event_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("events.out.tfevents.*") if p.is_file())


def notebooks_logged(run: Path) -> list[str]:
    """The notebooks whose event files are in ``run``: 02, 03, 05 and 06 mark theirs
    (``.05``); 01 writes the run's first file, unmarked; 04 a Projector sub-run."""
    files = sorted(event_files(run), key=lambda p: (p.name.split(".") + ["", "", "", ""])[3])
    found = {m.group(1) for p in files if (m := _MARK.search(p.name))}
    if files and not _MARK.search(files[0].name):
        found.add("01")
    if any((sub / "projector_config.pbtxt").is_file() for sub in run.glob("pixels_*")):
        found.add("04")
    return [n for n in NOTEBOOKS if n in found]


def test_accuracy(run: Path) -> str:
    acc = exercises.events(run)
    if ACCURACY not in acc.Tags().get("scalars", []):
        return ""
    return f"{acc.Scalars(ACCURACY)[-1].value:.4f}"


def exercises_passed(runs_dir: Path, run_name: str) -> tuple[int, list[str]]:
    """How many checks pass, and the ids of those that do not."""
    passed, failed = 0, []
    for number, check in exercises.CHECKS.items():
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                check(runs_dir, run_name)
            passed += 1
        except exercises.NotDone:
            failed.append(number)
    return passed, failed


def series_runs(folder: Path) -> list[Path]:
    """The runs a series wrote in ``folder``: sub-folders with event files, but not the
    exercises' side runs (``<run>_lr0.01``, ``<run>_lr0.001``, ``<run>_dropout``)."""
    runs = [p for p in sorted(folder.iterdir()) if p.is_dir() and event_files(p)]
    names = {p.name for p in runs}
    return [p for p in runs
            if not any(p.name.endswith(s) and p.name[:-len(s)] in names for s in SIDE_RUNS)]


def run_row(learner: str, run: Path) -> dict:
    row = {"learner": learner, "run": run.name, "note": ""}
    try:
        logged = notebooks_logged(run)
        row["notebooks"] = " ".join(logged)
        row["net.pt"] = "yes" if (run / paths.CHECKPOINT_NAME).is_file() else "no"
        row["test accuracy"] = test_accuracy(run)
        passed, failed = exercises_passed(run.parent, run.name)
        row["exercises passed"] = f"{passed}/{len(exercises.CHECKS)}"
        if failed:
            row["note"] = "not passed: " + " ".join(failed)
        if "05" in logged and row["net.pt"] == "no":
            row["note"] = ("05 logged but saved no net.pt; " + row["note"]).rstrip("; ")
    except exercises.NotDone as exc:  # event files TensorBoard cannot read
        row["note"] = str(exc)
    except OSError as exc:
        row["note"] = f"cannot read {run}: {exc.strerror or exc}"
    return row


def folder_rows(folder: Path) -> list[dict]:
    """The rows of one folder given on the command line."""
    learner = folder.name or str(folder)
    empty = {"learner": learner, "run": ""}
    try:
        if not folder.is_dir():
            return [{**empty, "note": "not a folder"}]
        if event_files(folder):  # a run folder itself
            return [run_row(folder.parent.name or learner, folder)]
        runs = series_runs(folder)
    except OSError as exc:
        return [{**empty, "note": f"cannot read it: {exc.strerror or exc}"}]
    if not runs:
        return [{**empty, "note": "not a runs folder: no run with event files in it"}]
    return [run_row(learner, run) for run in runs]


def report(folders: list[str | Path]) -> list[dict]:
    rows = []
    for folder in folders:
        rows.extend(folder_rows(Path(folder)))
    return [{c: row.get(c, "") for c in COLUMNS} for row in rows]


def table(rows: list[dict]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    line = "  ".join(f"{{{i}:<{widths[c]}}}" for i, c in enumerate(COLUMNS))
    out = [line.format(*COLUMNS).rstrip(), line.format(*("-" * widths[c] for c in COLUMNS))]
    out += [line.format(*(str(r[c]) for c in COLUMNS)).rstrip() for r in rows]
    return "\n".join(out)


def write_csv(rows: list[dict], path: str | Path) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    try:
        with paths.atomic_write(path) as f:
            f.write(text.getvalue().encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot write --csv {path}: {exc.strerror or exc}") from None


def main(folders: list[str], csv_path: str | None = None) -> int:
    rows = report(folders)
    print(table(rows))
    if csv_path:
        write_csv(rows, csv_path)
        print(f"wrote {len(rows)} rows to {csv_path}", file=sys.stderr)
    return 0
