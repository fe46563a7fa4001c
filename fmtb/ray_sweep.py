"""``fmtb sweep --engine ray``: one Ray task per combination of the grid.

:class:`RayEngine` implements :class:`fmtb.engine.Engine`. A task runs notebooks
05 and 06 with papermill on whatever node Ray picks, as the local engine does
(:func:`fmtb.trials.train_and_assess`). No shared filesystem is assumed: the
task makes sure of the data on its node (:func:`fmtb.fetch.ensure_data`: the
files there, the mirror or a download, SHA-256 checked), writes its run to a
folder of its own there, and returns the run folder and the executed notebooks
as one archive, the metrics beside it. The driver (this ``fmtb``) lays them out
as the local engine does: ``<runs_dir>/sweep_N/<name>/``, the executed notebooks
in it or in ``<out>/<name>/``; tarfile's ``data`` filter and :func:`_only_runs`
let nothing else out of an archive.

Without an address (``--address`` or Ray's own ``$RAY_ADDRESS``) a local Ray
instance is started for the sweep and stopped after it; with one, the sweep
joins that cluster, whose nodes need this project installed (see docs/ray.md);
an address where nothing answers within :data:`CONNECT_TIMEOUT_S` seconds is
refused in one line. A local instance relies on Ray's token
(``~/.ray/auth_token``): fmtb makes sure only its owner can read it. A task
whose worker process dies is run again once by Ray (``max_retries=1``), then
reported. Ctrl-C cancels the tasks still running, keeps the finished ones and,
for a local instance, stops Ray.
"""
from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

from . import folders
from .engine import Engine
from .errors import NotebookFailed, UsageError
from .grid import folder_name
from .ray_cluster import cluster_address, connect, first_line, import_ray
from .ray_node import EXECUTED, RUN, Outcome, Trial, run_trial
from .trials import Tally

RETRIES = 1  # a task whose worker dies runs once more, then is reported


def check_options(cpus_per_trial: int, gpus_per_trial: float,
                  pairs: list[tuple[str, str]], grid: dict[str, list[str]]) -> None:
    """Refuse resources Ray would refuse, and a device that contradicts them."""
    if cpus_per_trial < 1:
        raise UsageError(f"--cpus-per-trial must be 1 or more, not {cpus_per_trial}")
    if gpus_per_trial < 0:
        raise UsageError(f"--gpus-per-trial must be 0 or more, not {gpus_per_trial:g}")
    if 0 < gpus_per_trial < 1 and round(1 / gpus_per_trial, 4) % 1:
        raise UsageError(f"--gpus-per-trial below 1 must divide a GPU evenly (0.5, 0.25, "
                         f"...), not {gpus_per_trial:g}")
    devices = {value for name, value in pairs if name == "device"} | set(grid.get("device", []))
    if gpus_per_trial == 0 and devices & {"cuda"}:
        raise UsageError("device cuda needs a GPU for each trial: add --gpus-per-trial 1")
    if gpus_per_trial and devices & {"cpu", "mps"}:
        raise UsageError(f"--gpus-per-trial {gpus_per_trial:g} reserves GPUs that device "
                         f"{sorted(devices & {'cpu', 'mps'})[0]} would not use")


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


# tarfile's FilterError, where Python has the data filter; without it (Debian 12's
# Python 3.11.2) fmtb still imports, and check_tarfile_filter refuses the Ray engine
class NotARunError(getattr(tarfile, "FilterError", tarfile.TarError)):
    """An archive member that is no file or folder of a run."""

    def __init__(self, member: tarfile.TarInfo):
        super().__init__(f"the archive holds {member.name!r}, which is not a file or "
                         f"folder of a run")
        self.tarinfo = member


def _only_runs(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
    """tarfile's ``data`` filter (nothing outside the folder it is unpacked in, no
    absolute paths, links or devices that point out, no special modes), and then
    only plain files and folders under the archive's two folders."""
    member = tarfile.data_filter(member, dest)
    parts = Path(member.name).parts
    if not parts or parts[0] not in (RUN, EXECUTED) or not (member.isfile() or member.isdir()):
        raise NotARunError(member)
    return member


def unpack(outcome: Outcome, sweep_dir: Path, out_dir: Path) -> None:
    """Lay a task's archive out as the local engine would have written it: the executed
    notebooks first, then the run folder, which appears whole (one rename). With
    ``out_dir`` the sweep's folder, the executed notebooks go into the run folder."""
    incoming = Path(tempfile.mkdtemp(prefix=f".incoming-{outcome.name}-", dir=sweep_dir))
    try:
        with tarfile.open(fileobj=io.BytesIO(outcome.archive), mode="r:gz") as tar:
            tar.extractall(incoming, filter=_only_runs)
        run, executed = incoming / RUN, incoming / EXECUTED
        if executed.is_dir() and out_dir == sweep_dir:
            folders.make(run)
            for copy in executed.iterdir():
                os.replace(copy, run / copy.name)
        elif executed.is_dir():
            folders.make(out_dir)
            shutil.copytree(executed, out_dir / outcome.name, dirs_exist_ok=True)
        if run.is_dir():
            os.replace(run, sweep_dir / outcome.name)
    finally:
        folders.remove_tree(incoming)


def has_tarfile_filter() -> bool:
    return hasattr(tarfile, "data_filter")  # Python 3.10.12, 3.11.4 and later have it


def check_tarfile_filter() -> None:
    if not has_tarfile_filter():
        raise UsageError("--engine ray needs a Python with tarfile's data filter (3.10.12, "
                         "3.11.4, 3.12 or later) to unpack the trials' runs safely")


def _task_failure(ray, exc: BaseException) -> str:
    """One line for a task that ended without an Outcome."""
    if isinstance(exc, ray.exceptions.RayTaskError):  # run_trial raised: a bug, not a fault
        cause = exc.cause if exc.cause is not None else exc
        return f"the task raised {first_line(cause)}"
    if isinstance(exc, (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                        ray.exceptions.OutOfMemoryError, ray.exceptions.LocalRayletDiedError)):
        return (f"Ray lost the process running it, after running a lost one again "
                f"{RETRIES} time(s): {first_line(exc)}")
    return first_line(exc)


class RayEngine(Engine):
    """The Ray cluster of one sweep: joined (``--address``) or started here, and left
    or stopped at the end, Ctrl-C included. Entering checks that a trial fits on it."""

    runs_here = False  # the nodes check their own devices and cores

    def __init__(self, options, log=print):
        super().__init__(options, log)
        self.address = cluster_address(options.address)
        self.cpus, self.gpus = options.cpus_per_trial, options.gpus_per_trial
        self.resources: dict = {}
        self.ray = None
        self.task = None  # run_trial as a Ray task, once Ray is imported
        self.task_options = {"num_cpus": self.cpus, "num_gpus": self.gpus,
                             "max_retries": RETRIES, "retry_exceptions": False}

    def check(self, grid: dict[str, list[str]], pairs: list[tuple[str, str]]) -> None:
        check_options(self.cpus, self.gpus, pairs, grid)
        check_tarfile_filter()
        self.ray = import_ray(local=not self.address)  # one line if missing
        self.task = self.ray.remote(run_trial)

    def __enter__(self) -> RayEngine:
        """Join the cluster or start a local instance; then check that a trial fits and
        that Ray takes the task's options, before the sweep claims its folder."""
        ray = connect(self.ray, self.address, self.log)
        try:
            self.resources = ray.cluster_resources()
            self._check_fit()
            try:
                self.task.options(**self.task_options)
            except ValueError as exc:
                raise UsageError(f"Ray refuses these resources: {first_line(exc)}") from exc
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
        fits = f"up to {at_once} at once" if at_once > 0 else "none fits yet"
        return f"on Ray, {what} ({cpus:g} CPUs, {gpus:g} GPUs): {fits}, {each} each"

    def run(self, combos: list[dict[str, str]], pairs: list[tuple[str, str]],
            sweep_dir: Path, out_dir: Path, tally: Tally) -> None:
        """Submit every combination, then report and lay out each as it finishes."""
        ray = self.ray
        submitted = time.perf_counter()
        sweep_id = uuid.uuid4().hex[:12]
        pending = {}
        for combo in combos:
            name = folder_name(combo)
            trial = Trial(name, tuple(trial_pairs(pairs, combo, self.cpus, self.gpus)),
                          sweep_dir.name, sweep_id)
            task = self.task.options(**self.task_options, name=f"fmtb-trial-{name}")
            pending[task.remote(trial)] = name
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in ready:
                    self._report(ref, pending.pop(ref), submitted, sweep_dir, out_dir, tally)
        finally:
            if pending:  # Ctrl-C, or a failure here: end what still runs
                self._cancel(list(pending))

    def _cancel(self, refs: list, grace: float = 15.0) -> None:
        """Cancel the tasks: first as Ctrl-C would stop them (a KeyboardInterrupt in the
        task, so that it ends its kernels and removes its folder), then, after
        ``grace`` seconds, by killing their workers."""
        ray = self.ray
        for ref in refs:
            ray.cancel(ref)
        _, running = ray.wait(refs, num_returns=len(refs), timeout=grace)
        for ref in running:
            ray.cancel(ref, force=True)

    def _report(self, ref, name: str, submitted: float, sweep_dir: Path, out_dir: Path,
                tally: Tally) -> None:
        ray = self.ray
        try:
            outcome = ray.get(ref)
        except ray.exceptions.RayError as exc:
            seconds = time.perf_counter() - submitted
            said = tally.outcome(name, seconds, error=_task_failure(ray, exc))
            node = ""
        else:
            error = outcome.error
            if outcome.failed_copy:
                error = str(NotebookFailed(error, out_dir / name / outcome.failed_copy))
            try:
                unpack(outcome, sweep_dir, out_dir)
            except (OSError, tarfile.TarError) as exc:  # a full disk, a bad archive
                error = f"its run could not be laid out in {sweep_dir}: {first_line(exc)}"
            said = tally.outcome(name, outcome.seconds, outcome.metrics if error is None
                                 else None, error)
            node = f" on {outcome.node}" if self.address else ""
        tally.log(f"[{tally.done}/{tally.total}] {name}{node} {said}", flush=True)
