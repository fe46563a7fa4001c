"""``fmtb sweep --engine ray``: one Ray task per combination of the grid.

A task runs notebooks 05 and 06 with papermill on whatever node Ray picks, with
the local engine's code (:func:`fmtb.sweep.train_and_assess`). No shared
filesystem is assumed: the task makes sure of the data on its node
(:func:`fmtb.fetch.ensure_data`: the files there, the mirror or a download,
SHA-256 checked), writes its run to a folder of its own there, and returns the
run folder and the executed notebooks as one archive, the metrics beside it.
The driver (this ``fmtb``) lays them out as the local engine does:
``<runs_dir>/sweep_N/<name>/`` and ``<out>/<name>/``.

Without an address (``--address`` or Ray's own ``$RAY_ADDRESS``) a local Ray
instance is started for the sweep and stopped after it; with one, the sweep
joins that cluster, whose nodes need this project installed (see the README).
A task whose worker process dies is run again once by Ray (``max_retries=1``),
then reported. Ctrl-C cancels the tasks still running, keeps the finished ones
and, for a local instance, stops Ray.
"""
from __future__ import annotations

import io
import os
import shutil
import socket
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from fmtb_helpers.data import DataError

from . import fetch, folders, params, runner, sweep
from .errors import NotebookFailed, UsageError

INSTALL = "pip install -e '.[ray]' (or: make ray)"
RETRIES = 1  # a task whose worker dies runs once more, then is reported


def import_ray(local: bool):
    """Ray, or a one-line UsageError saying how to install it. ``local``: the sweep
    will start its own instance, with Ray's default token authentication chosen
    explicitly, so that Ray does not warn that it chose it (read at import)."""
    if local:
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    try:
        import ray
    except ImportError:
        raise UsageError(f"--engine ray needs Ray, which is not installed in this "
                         f"environment: {INSTALL}") from None
    return ray


def check_options(cpus_per_trial: int, gpus_per_trial: float) -> None:
    if cpus_per_trial < 1:
        raise UsageError(f"--cpus-per-trial must be 1 or more, not {cpus_per_trial}")
    if gpus_per_trial < 0:
        raise UsageError(f"--gpus-per-trial must be 0 or more, not {gpus_per_trial:g}")


def trial_pairs(pairs: list[tuple[str, str]], combo: dict[str, str], cpus_per_trial: int,
                gpus_per_trial: float) -> list[tuple[str, str]]:
    """What a task passes its notebooks: the sweep's and the combination's values, and,
    unless given, torch threads for the CPUs Ray reserves for it and the device its
    GPUs (or none) make."""
    given = list(pairs) + list(combo.items())
    names = {name for name, _ in given}
    if "num_threads" not in names:
        given.append(("num_threads", str(cpus_per_trial)))
    if "device" not in names:
        given.append(("device", "cuda" if gpus_per_trial else "cpu"))
    return given


# --- on the node --------------------------------------------------------------

@dataclass(frozen=True)
class Trial:
    """What a task is given: one combination."""
    name: str                          # its folder, sweep.run_name(combo)
    pairs: tuple[tuple[str, str], ...]  # its parameters, as -p pairs
    sweep_name: str                    # sweep_N: the node's folders are named the same


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
    """Run one combination on this node, in a folder of its own removed afterwards."""
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="fmtb-trial-"))
    try:
        runs, out = work / trial.sweep_name, work / EXECUTED
        metrics = error = failed_copy = None
        try:
            pairs = list(trial.pairs)
            declarations = params.merge(params.declared(nb) for nb in runner.select(sweep.NOTEBOOKS))
            root = runner.data_root(params.parse(pairs, declarations), declarations)
            fetch.ensure_data(root)
            metrics = sweep.train_and_assess(trial.name, pairs, runs, out)
        except NotebookFailed as exc:
            error, failed_copy = exc.summary, exc.copy and Path(exc.copy).name
        except (UsageError, DataError, params.ParameterError) as exc:
            error = str(exc)
        return Outcome(trial.name, socket.gethostname(), time.perf_counter() - started,
                       pack({RUN: runs / trial.name, EXECUTED: out}), metrics, error,
                       failed_copy)
    finally:
        folders.remove_tree(work)


# --- on the driver ------------------------------------------------------------

def unpack(outcome: Outcome, sweep_dir: Path, out_dir: Path) -> None:
    """Lay a task's archive out as the local engine would have written it."""
    incoming = Path(tempfile.mkdtemp(prefix=f".incoming-{outcome.name}-", dir=sweep_dir))
    try:
        with tarfile.open(fileobj=io.BytesIO(outcome.archive), mode="r:gz") as tar:
            tar.extractall(incoming, filter="data")  # no absolute paths, links or ..
        if (incoming / RUN).is_dir():
            os.replace(incoming / RUN, sweep_dir / outcome.name)
        if (incoming / EXECUTED).is_dir():
            folders.make(out_dir)
            shutil.copytree(incoming / EXECUTED, out_dir / outcome.name, dirs_exist_ok=True)
    finally:
        folders.remove_tree(incoming)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


def _task_failure(ray, exc: BaseException) -> str:
    """One line for a task that ended without an Outcome."""
    if isinstance(exc, ray.exceptions.RayTaskError):  # run_trial raised: a bug, not a fault
        cause = exc.cause if exc.cause is not None else exc
        return f"the task raised {_first_line(cause)}"
    if isinstance(exc, (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                        ray.exceptions.OutOfMemoryError, ray.exceptions.LocalRayletDiedError)):
        return (f"its Ray worker died, also on the {RETRIES} retry Ray gave it "
                f"({_first_line(exc)})")
    return _first_line(exc)


def joins(address: str | None) -> str | None:
    """The cluster a sweep joins: ``--address``, else Ray's ``$RAY_ADDRESS`` (set for
    a Ray job); None: it starts a local instance."""
    return address or os.environ.get("RAY_ADDRESS") or None


class Cluster:
    """The Ray cluster of one sweep: joined (``address``) or started here, and left
    or stopped at the end, Ctrl-C included. Entering checks that a trial fits on it."""

    def __init__(self, ray, address: str | None, cpus_per_trial: int, gpus_per_trial: float,
                 log=print):
        self.ray, self.log = ray, log
        self.address = joins(address)
        self.cpus, self.gpus = cpus_per_trial, gpus_per_trial
        self.resources: dict = {}

    def __enter__(self) -> "Cluster":
        ray = self.ray
        options = {"log_to_driver": False, "configure_logging": False}
        if self.address:
            self.log(f"Joining the Ray cluster at {self.address} ...", flush=True)
            try:
                ray.init(address=self.address, **options)
            except Exception as exc:  # ConnectionError, ValueError, RuntimeError, ...
                raise UsageError(f"could not join the Ray cluster at {self.address}: "
                                 f"{_first_line(exc)}") from exc
        else:
            self.log("Starting a local Ray instance for this sweep ...", flush=True)
            ray.init(address="local", include_dashboard=False, **options)
        try:
            self.resources = ray.cluster_resources()
            self._check_fit()
        except BaseException:
            ray.shutdown()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.ray.shutdown()  # a local instance stops; a cluster is only left

    def _check_fit(self) -> None:
        cpus, gpus = self.resources.get("CPU", 0), self.resources.get("GPU", 0)
        where = f"the Ray cluster at {self.address}" if self.address else "this machine"
        short = [f"--{unit.lower()}s-per-trial {need:g} but {where} has {have:g} {unit}"
                 f"{'s' * (have != 1)}"
                 for unit, need, have in (("CPU", self.cpus, cpus), ("GPU", self.gpus, gpus))
                 if need > have]
        if not short:
            return
        if self.address:  # an autoscaling cluster may add the nodes later
            self.log(f"warning: {'; '.join(short)} now: the trials wait until it has them",
                     flush=True)
        else:
            raise UsageError("; ".join(short))

    def describe(self) -> str:
        cpus, gpus = self.resources.get("CPU", 0), self.resources.get("GPU", 0)
        at_once = int(cpus // self.cpus)
        if self.gpus:
            at_once = min(at_once, int(gpus // self.gpus))
        what = f"the cluster at {self.address}" if self.address else "a local instance"
        each = f"{self.cpus} CPU{'s' * (self.cpus > 1)}" + (
            f" and {self.gpus:g} GPU{'s' * (self.gpus != 1)}" if self.gpus else "")
        return (f"{what} ({cpus:g} CPUs, {gpus:g} GPUs): up to {max(at_once, 0)} at once, "
                f"{each} each")

    def run_all(self, combos: list[dict[str, str]], pairs: list[tuple[str, str]],
                sweep_dir: Path, out_dir: Path, lines: "sweep.Progress") -> None:
        """Submit every combination, then report and lay out each as it finishes."""
        ray = self.ray
        task = ray.remote(run_trial).options(
            num_cpus=self.cpus, num_gpus=self.gpus, max_retries=RETRIES,
            retry_exceptions=False, name="fmtb-trial")
        submitted = time.perf_counter()
        pending = {}
        for combo in combos:
            name = sweep.run_name(combo)
            trial = Trial(name, tuple(trial_pairs(pairs, combo, self.cpus, self.gpus)),
                          sweep_dir.name)
            pending[task.remote(trial)] = name
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in ready:
                    self._report(ref, pending.pop(ref), submitted, sweep_dir, out_dir, lines)
        finally:
            for ref in pending:  # Ctrl-C, or a failure here: end what still runs
                ray.cancel(ref, force=True)

    def _report(self, ref, name: str, submitted: float, sweep_dir: Path, out_dir: Path,
                lines: "sweep.Progress") -> None:
        ray = self.ray
        try:
            outcome = ray.get(ref)
        except ray.exceptions.RayError as exc:
            seconds = time.perf_counter() - submitted
            said = lines.outcome(name, seconds, error=_task_failure(ray, exc))
            node = ""
        else:
            unpack(outcome, sweep_dir, out_dir)
            error = outcome.error
            if outcome.failed_copy:
                error = str(NotebookFailed(error, out_dir / name / outcome.failed_copy))
            said = lines.outcome(name, outcome.seconds, outcome.metrics, error)
            node = f" on {outcome.node}" if self.address else ""
        lines.log(f"[{lines.done}/{lines.total}] {name}{node} {said}", flush=True)
