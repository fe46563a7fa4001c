"""`fmtb report` over learners' runs folders as a teacher runs it: a complete series, one
with notebooks 01-03 only, junk, a half-written run; one row each, exit 0, --csv."""
from __future__ import annotations

import csv
import json
import shutil

import pytest

from fmtb import report, results
from fmtb_helpers import exercises, paths

from support import SERIES_RUN, fmtb

pytestmark = pytest.mark.integration


def check_cells(*numbers: str) -> int:
    """How many autograded check cells the stored notebooks numbered so hold."""
    count = 0
    for nb_path in sorted(paths.notebooks_dir().glob("0[1-6]_*.ipynb")):
        if nb_path.name[:2] in numbers:
            cells = json.loads(nb_path.read_text())["cells"]
            count += sum(c["metadata"].get("nbgrader", {}).get("grade", False) for c in cells)
    return count


def snapshot(folder):
    return sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*"))


def test_report_of_a_class(tmp_path, series):
    base, _ = series
    learners = tmp_path / "learners"
    shutil.copytree(base / "runs", learners / "alice")
    bob = fmtb("run", "--notebooks", "01,02,03", "--runs-dir", str(learners / "bob"),
               "--run-name", SERIES_RUN, "--out", str(tmp_path / "out"), "-q")
    assert bob.returncode == 0, bob.stdout + bob.stderr
    junk = learners / "carol"
    (junk / "notes").mkdir(parents=True)
    (junk / "notes" / "todo.txt").write_text("train a model")
    (junk / "weird").mkdir()
    (junk / "weird" / "events.out.tfevents.1.host.1.0").write_bytes(b"\x00\xff" * 64)
    half = learners / "dave" / SERIES_RUN
    shutil.copytree(base / "runs" / SERIES_RUN, half)
    for event in half.glob("*tfevents*.05"):
        event.write_bytes(event.read_bytes()[:event.stat().st_size // 2])  # cut mid-record
    before = snapshot(learners)

    out = tmp_path / "class.csv"
    proc = fmtb("report", *(str(learners / n) for n in ("alice", "bob", "carol", "dave")),
                str(learners / "erin"), "--csv", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert snapshot(learners) == before  # nothing written into learners' folders

    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == list(report.COLUMNS)
    by = {(r["learner"], r["run"]): r for r in rows}
    n = len(exercises.CHECKS)

    alice = by[("alice", SERIES_RUN)]
    assert alice["notebooks"] == "01 02 03 04 05 06" and alice["net.pt"] == "yes"
    accuracy = results.final_metrics(base / "runs" / SERIES_RUN)[results.ACCURACY]
    assert float(alice["test accuracy"]) == pytest.approx(accuracy, abs=5e-5)
    all_six = check_cells("01", "02", "03", "04", "05", "06")
    assert alice["exercises passed"] == f"{all_six}/{n}"
    assert ("alice", SERIES_RUN + exercises.LR_RUN) not in by  # a side run is no row

    bob_row = by[("bob", SERIES_RUN)]
    assert (bob_row["notebooks"], bob_row["net.pt"], bob_row["test accuracy"]) == (
        "01 02 03", "no", "")
    assert bob_row["exercises passed"] == f"{check_cells('01', '02', '03')}/{n}"

    carol = [r for r in rows if r["learner"] == "carol"]
    assert len(carol) == 1 and carol[0]["run"] == "weird"  # its one folder with event files
    assert carol[0]["exercises passed"] in ("", f"0/{n}")
    dave = by[("dave", SERIES_RUN)]
    assert dave["notebooks"].startswith("01 02 03 04 05")
    assert by[("erin", "")]["note"] == "not a folder"
    assert len(rows) == 5
    printed = proc.stdout.splitlines()
    assert printed[0].split()[0] == "learner" and len(printed) == 2 + len(rows)


def test_a_folder_without_runs_is_one_row(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert report.main([str(tmp_path / "empty")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "not a runs folder" in lines[2]
