"""One trial of ``fmtb sweep --engine ray``, on the node Ray picks: what a task is
given (:class:`Trial`), what it does (:func:`run_trial`: notebooks 05 and 06 with
papermill, in a folder of its own), and what it sends back (:class:`Outcome`: the
run folder and the executed notebooks as one archive, the metrics beside it). No
shared filesystem is assumed: the task makes sure of the data on its node
(:func:`fmtb.fetch.ensure_data`). The driver's side is :mod:`fmtb.ray_sweep`.
"""
from __future__ import annotations

import io
import socket
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fmtb_helpers.errors import FmtbError

from . import fetch, folders, params, series
from .errors import NotebookFailed
from .trials import TRIAL_NOTEBOOKS, train_and_assess


@dataclass(frozen=True)
class Trial:
    """What a task is given: one combination."""
    name: str                          # its folder, grid.folder_name(combo)
    pairs: tuple[tuple[str, str], ...]  # its parameters, as -p pairs
    sweep_name: str                    # sweep_N: the node's folders are named the same
    sweep_id: str                      # this sweep among others, on any node

    def workdir(self) -> Path:
        """The trial's folder on its node: the same for a retry, which removes what a
        killed attempt left there."""
        return Path(tempfile.gettempdir()) / f"fmtb-trial-{self.sweep_id}-{self.name}"


@dataclass
class Outcome:
    """What a task returns: the archive of its run and executed notebooks, and either
    the metrics notebook 06 recorded or the one-line error."""
    name: str
    node: str
    seconds: float
    archive: bytes
    metrics: dict | None = None
    error: str | None = None
    failed_copy: str | None = None  # the executed notebook that shows the error


RUN, EXECUTED = "run", "executed"  # the archive's two folders


def pack(folders_by_name: dict[str, Path]) -> bytes:
    """The folders that exist, as one gzipped tar, each under its name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for name, folder in folders_by_name.items():
            if folder.is_dir():
                tar.add(folder, arcname=name)
    return buffer.getvalue()


def run_trial(trial: Trial) -> Outcome:
    """Run one combination on this node, in a folder of its own removed afterwards
    (also when Ray cancels it: Ray raises KeyboardInterrupt here first)."""
    started = time.perf_counter()
    work = trial.workdir()
    if work.exists():  # an earlier attempt, killed
        folders.remove_tree(work)
    work.mkdir(mode=0o700, parents=True)
    try:
        runs, out = work / trial.sweep_name, work / EXECUTED
        metrics = error = failed_copy = None
        try:
            pairs = list(trial.pairs)
            declared = series.declarations(series.select(TRIAL_NOTEBOOKS))
            root = series.data_root(params.parse(pairs, declared), declared)
            fetch.ensure_data(root)
            metrics = train_and_assess(trial.name, pairs, runs, out)
        except NotebookFailed as exc:
            error, failed_copy = exc.summary, exc.copy and Path(exc.copy).name
        except FmtbError as exc:  # UsageError, DataError, ParameterError, ...
            error = str(exc)
        return Outcome(trial.name, socket.gethostname(), time.perf_counter() - started,
                       pack({RUN: runs / trial.name, EXECUTED: out}), metrics, error,
                       failed_copy)
    finally:
        folders.remove_tree(work)


