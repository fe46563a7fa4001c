"""One trial of a sweep, and the lines that report trials as they finish.

A trial is one combination of the grid: notebooks 05 (training) and 06
(assessment) into a run of its own (:func:`train_and_assess`). Both engines of
``fmtb sweep`` run it so and report it with :class:`Tally`; neither owns it.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

from . import params, results, runner

TRIAL_NOTEBOOKS = "05,06"

# About how long a trial takes on one CPU core (measured on the project's 2-core
# machine, see docs/benchmarks.md): starting both notebooks' kernels and
# assessing (06), then notebook 05's mini-batches.
START_S, PER_BATCH_S = 25.0, 0.0025


def train_and_assess(name: str, pairs: list[tuple[str, str]], runs_dir: Path, out_dir: Path,
                     bars: bool = False) -> dict[str, float]:
    """One combination: notebooks 05 and 06 into ``runs_dir/name`` (executed copies in
    ``out_dir``; ``bars``: papermill's progress bars); the metrics 06 recorded.
    Raises NotebookFailed or UsageError."""
    plan = runner.plan(TRIAL_NOTEBOOKS, runs_dir=str(runs_dir), run_name=name, out=str(out_dir),
                       pairs=pairs)
    runner.execute(plan, progress=bars, jobs=1, log=lambda *a, **k: None)
    return results.final_metrics(plan.run_dir)


def estimate(values: dict[str, object]) -> float:
    """Seconds one trial of these parameter values takes, roughly, on one CPU core."""
    images = int(values.get("train_subset") or 0) or params.TRAIN_SIZE
    batches = int(values.get("epochs", 1)) * math.ceil(images / int(values.get("batch_size", 4)))
    return START_S + PER_BATCH_S * batches


class Tally:
    """Finished trials, counted: one line per trial, the same for both engines: its
    metrics, how long it took, how many are left and, extrapolated from those done
    so far, about how long they will take."""

    def __init__(self, total: int, log):
        self.total, self.log, self.done = total, log, 0
        self.began = time.perf_counter()
        self.failures: list[tuple[str, str]] = []

    def outcome(self, name: str, seconds: float, metrics: dict | None = None,
                error: str | None = None) -> str:
        """Count one trial as finished; what the line says of it."""
        self.done += 1
        if error is None:
            said = (f"done in {runner.duration(seconds)}: "
                    f"test accuracy {metrics[results.ACCURACY]:.1%}, "
                    f"test loss {metrics[results.LOSS]:.3f}")
        else:
            said = f"FAILED after {runner.duration(seconds)}"
            self.failures.append((name, error))
        left = self.total - self.done
        if left:  # the time left, at the pace so far (with several at once, too)
            pace = (time.perf_counter() - self.began) / self.done
            said += f" ({left} left, about {runner.duration(pace * left)})"
        return said
