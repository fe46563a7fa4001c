"""What a finished run holds, read back by code: the contract between the
notebooks and ``fmtb sweep`` / the benchmark (``fmtb.maintainer.bench``).

Notebook 06 records its final test accuracy and loss with ``add_hparams`` as the
scalars :data:`METRICS` in the run folder (for TensorBoard's HParams dashboard);
they are read from the event files, never from printed text. Executed copies
carry papermill's per-cell timing; a cell is found by its tag.
"""
from __future__ import annotations

from pathlib import Path

ACCURACY, LOSS = "hparam/test accuracy", "hparam/test loss"
METRICS = (ACCURACY, LOSS)
TRAINING_CELL_TAG = "training-loop"  # notebook 05's training loop


def final_metrics(run_dir: str | Path) -> dict[str, float]:
    """``{"hparam/test accuracy": ..., "hparam/test loss": ...}`` as notebook 06
    recorded them in ``run_dir`` (the last value of each, if 06 ran twice)."""
    from fmtb_helpers import board

    acc = board.read_events(run_dir, "scalars")
    found = set(acc.Tags().get("scalars", []))
    missing = [tag for tag in METRICS if tag not in found]
    if missing:
        raise ValueError(f"{run_dir} holds no {', '.join(missing)}: notebook 06 has not "
                         f"finished in this run")
    return {tag: acc.Scalars(tag)[-1].value for tag in METRICS}


def executed(out_dir: str | Path, number: str):
    """The executed copy of notebook ``number`` ("05") in ``out_dir``."""
    import nbformat

    found = sorted(Path(out_dir).glob(f"{number}_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no executed notebook {number} in {out_dir}")
    return nbformat.read(found[0], as_version=4)


def cell_duration(notebook, tag: str) -> float:
    """Seconds papermill recorded for the one cell tagged ``tag`` of an executed notebook."""
    cells = [c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"{len(cells)} cells are tagged {tag!r}; expected one")
    duration = cells[0].metadata.get("papermill", {}).get("duration")
    if duration is None:
        raise ValueError(f"the cell tagged {tag!r} has no papermill duration: was it run?")
    return float(duration)
