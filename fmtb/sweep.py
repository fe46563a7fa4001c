"""``fmtb sweep``: training and assessment once per combination of a grid.

Each combination is its own run, ``<runs_dir>/sweep_N/<name>_<value>-...``;
notebook 06 records ``add_hparams`` in it, so TensorBoard's HParams dashboard
compares them. One failing combination does not stop the others; failures are
listed at the end (exit code 1). Everything the sweep and its kernels put in
``$TMPDIR`` (kernel connection files, with their keys) goes to a folder of its
own, removed at the end, Ctrl-C included.

Two engines run the combinations: this module's, one after another on this
machine (the default), and Ray's (:mod:`fmtb.ray_sweep`), one task per
combination on whatever node Ray picks. Both run a combination with
:func:`train_and_assess` and report it with :class:`Progress`.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import re
import tempfile
import time
from pathlib import Path

from fmtb_helpers import paths

from . import folders, params, results, runner
from .errors import NotebookFailed, Stopped, UsageError

NOTEBOOKS = "05,06"
ENGINES = ("local", "ray")  # one after another here; Ray tasks (fmtb.ray_sweep)


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """``["lr=0.001,0.01"]`` as ``{"lr": ["0.001", "0.01"]}``."""
    grid: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        choices = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not name or not choices:
            raise UsageError(f"--grid takes NAME=V1,V2,...; not {item!r}")
        if name in grid:
            raise UsageError(f"--grid names {name!r} twice")
        grid[name] = choices
    if not grid:
        raise UsageError("give at least one --grid NAME=V1,V2,...")
    return grid


def combinations(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*grid.values())]


def run_name(combo: dict[str, str]) -> str:
    text = "-".join(f"{name}_{value}" for name, value in combo.items())
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


def check(grid: dict[str, list[str]], pairs: list[tuple[str, str]], here: bool = True) -> None:
    """Refuse, before anything runs, what ``fmtb run`` would refuse; ``here=False``:
    the notebooks run on other machines, which check their devices and cores."""
    declarations = params.merge(params.declared(nb) for nb in runner.select(NOTEBOOKS))
    for name in ("runs_dir", "run_name"):
        declarations.pop(name)
    try:
        params.check_names(list(grid), list(declarations))
        for name, values in grid.items():
            if any(n == name for n, _ in pairs):
                raise params.ParameterError(f"{name} is in --grid and in -p; give it once")
            parsed = [params.parse_value(name, value, declarations[name], here)
                      for value in values]
            for i, value in enumerate(parsed):  # 0.001 and 1e-3 would be one run twice
                if value in parsed[:i]:
                    raise params.ParameterError(
                        f"--grid {name} gives {value!r} twice ({values[parsed.index(value)]!r} "
                        f"and {values[i]!r}); give each value once")
        params.parse(pairs, declarations, here)
    except params.ParameterError as exc:
        raise UsageError(str(exc)) from None
    seen: dict[str, dict[str, str]] = {}
    for combo in combinations(grid):
        other = seen.setdefault(run_name(combo), combo)
        if other is not combo:
            diff = [n for n in combo if combo[n] != other[n]]
            raise UsageError(
                f"--grid {diff[0]} values {other[diff[0]]!r} and {combo[diff[0]]!r} would share "
                f"the folder {run_name(combo)}; give values that differ in letters or digits")


def duration(seconds: float) -> str:
    return (f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400
            else f"{seconds / 3600:.1f} h")


@contextlib.contextmanager
def _own_tmpdir():
    """Point ``$TMPDIR`` (for this process and all it starts: kernels, TensorBoard, a
    local Ray instance) at a new folder, removed at the end: normally, on an error or
    on Ctrl-C (a SIGTERM or SIGHUP reaches this only where fmtb turns it into an
    exception)."""
    saved = os.environ.get("TMPDIR")
    own = tempfile.mkdtemp(prefix="fmtb-sw-")
    os.environ["TMPDIR"], tempfile.tempdir = own, None
    try:
        yield own
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved
        tempfile.tempdir = None
        folders.remove_tree(Path(own))


def train_and_assess(name: str, pairs: list[tuple[str, str]], runs_dir: Path, out_dir: Path,
                     progress: bool = False) -> dict[str, float]:
    """One combination: notebooks 05 and 06 into ``runs_dir/name`` (executed copies in
    ``out_dir``); the metrics 06 recorded. Raises NotebookFailed or UsageError."""
    plan = runner.plan(NOTEBOOKS, runs_dir=str(runs_dir), run_name=name, out=str(out_dir),
                       pairs=pairs)
    runner.execute(plan, progress=progress, jobs=1, log=lambda *a, **k: None)
    return results.final_metrics(plan.run_dir)


class Progress:
    """One line per finished combination, the same for both engines: its metrics,
    how long it took, how many are left and, extrapolated from those done so far,
    about how long they will take."""

    def __init__(self, total: int, log):
        self.total, self.log, self.done = total, log, 0
        self.began = time.perf_counter()
        self.failures: list[tuple[str, str]] = []

    def outcome(self, name: str, seconds: float, metrics: dict | None = None,
                error: str | None = None) -> str:
        """Count one combination as finished; what the line says of it."""
        self.done += 1
        if error is None:
            said = (f"done in {duration(seconds)}: test accuracy {metrics[results.ACCURACY]:.1%}"
                    f", test loss {metrics[results.LOSS]:.3f}")
        else:
            said = f"FAILED after {duration(seconds)}"
            self.failures.append((name, error))
        left = self.total - self.done
        if left:  # the time left, at the pace so far (with several at once, too)
            pace = (time.perf_counter() - self.began) / self.done
            said += f" ({left} left, about {duration(pace * left)})"
        return said


def sweep(grid_items: list[str], pairs: list[tuple[str, str]] = (), runs_dir=None,
          out=None, progress: bool = False, log=print, engine: str = "local",
          address: str | None = None, cpus_per_trial: int = 1,
          gpus_per_trial: float = 0) -> int:
    """Run the grid; returns the exit code (0 all well, 1 some configuration failed).
    ``engine="ray"``: on Ray (see :mod:`fmtb.ray_sweep`), joining the cluster at
    ``address`` or, without one, on a local instance started for the sweep."""
    if engine not in ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    grid = parse_grid(grid_items)
    pairs = list(pairs)
    on_ray = engine == "ray"
    if on_ray:
        from . import ray_sweep

        ray_sweep.check_options(cpus_per_trial, gpus_per_trial, pairs, grid)
        ray = ray_sweep.import_ray(local=not ray_sweep.joins(address))  # before anything is written: one line if missing
    elif address is not None or cpus_per_trial != 1 or gpus_per_trial:
        raise UsageError("--address, --cpus-per-trial and --gpus-per-trial are for "
                         "--engine ray")
    check(grid, pairs, here=not on_ray)
    combos = combinations(grid)
    runs = paths.runs_dir(runs_dir)
    folders.check_writable(runs, "--runs-dir")
    if out:
        folders.check_writable(Path(out).resolve(), "--out")
    sizes = ", ".join(f"{name}: {len(values)} value{'s' * (len(values) > 1)}"
                      for name, values in grid.items())
    with _own_tmpdir():
        with (ray_sweep.Cluster(ray, address, cpus_per_trial, gpus_per_trial, log) if on_ray
              else contextlib.nullcontext()) as cluster:
            sweep_dir = folders.claim_next_free(runs, "sweep")
            out_dir = Path(out).resolve() if out else paths.build_dir() / "executed" / sweep_dir.name
            where = f" on Ray, {cluster.describe()}" if on_ray else ""
            log(f"Sweep of {len(combos)} configuration{'s' * (len(combos) > 1)} ({sizes}) into "
                f"{sweep_dir}{where}; each trains (05) and assesses (06) once", flush=True)
            progress_lines = Progress(len(combos), log)
            try:
                if on_ray:
                    cluster.run_all(combos, pairs, sweep_dir, out_dir, progress_lines)
                else:
                    _run_all(combos, pairs, sweep_dir, out_dir, progress, progress_lines)
            except (KeyboardInterrupt, Stopped):
                log(f"Sweep stopped: {progress_lines.done} of {len(combos)} configurations "
                    f"finished, kept in {sweep_dir}", flush=True)
                raise
    failures = progress_lines.failures
    log(f"Sweep written to {sweep_dir} ({len(combos) - len(failures)} of {len(combos)} "
        f"configurations); compare them in the HParams dashboard: tensorboard --logdir "
        f"{sweep_dir}")
    for name, error in failures:
        log(f"failed: {name}: {error}")
    return 1 if failures else 0



def _run_all(combos, pairs, sweep_dir: Path, out_dir: Path, progress: bool,
             lines: Progress) -> None:
    """The local engine: each combination in turn, past failures."""
    for i, combo in enumerate(combos, 1):
        name = run_name(combo)
        started = time.perf_counter()
        lines.log(f"[{i}/{len(combos)}] {name} ...", end=" ", flush=True)
        metrics, error = None, None
        try:
            metrics = train_and_assess(name, pairs + list(combo.items()), sweep_dir,
                                       out_dir / name, progress)
        except (UsageError, NotebookFailed) as exc:
            error = str(exc)
        lines.log(lines.outcome(name, time.perf_counter() - started, metrics, error),
                  flush=True)
