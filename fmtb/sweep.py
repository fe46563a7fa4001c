"""``fmtb sweep``: training and assessment once per combination of a grid.

Each combination is its own run, ``<runs_dir>/sweep_N/<name>_<value>-...``;
notebook 06 records ``add_hparams`` in it, so TensorBoard's HParams dashboard
compares them. One failing combination does not stop the others; failures are
listed at the end (exit code 1). Everything the sweep and its kernels put in
``$TMPDIR`` (kernel connection files, with their keys) goes to a folder of its
own, removed at the end, Ctrl-C included.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

from fmtb_helpers import paths

from . import folders, params, results, runner
from .errors import NotebookFailed, UsageError

NOTEBOOKS = "05,06"


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


def check(grid: dict[str, list[str]], pairs: list[tuple[str, str]]) -> None:
    """Refuse, before anything runs, what ``fmtb run`` would refuse."""
    declarations = params.merge(params.declared(nb) for nb in runner.select(NOTEBOOKS))
    for name in ("runs_dir", "run_name"):
        declarations.pop(name)
    try:
        params.check_names(list(grid), list(declarations))
        for name, values in grid.items():
            if any(n == name for n, _ in pairs):
                raise params.ParameterError(f"{name} is in --grid and in -p; give it once")
            parsed = [params.parse_value(name, value, declarations[name]) for value in values]
            for i, value in enumerate(parsed):  # 0.001 and 1e-3 would be one run twice
                if value in parsed[:i]:
                    raise params.ParameterError(
                        f"--grid {name} gives {value!r} twice ({values[parsed.index(value)]!r} "
                        f"and {values[i]!r}); give each value once")
        params.parse(pairs, declarations)
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


def _duration(seconds: float) -> str:
    return (f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400
            else f"{seconds / 3600:.1f} h")


@contextlib.contextmanager
def _own_tmpdir():
    """Point ``$TMPDIR`` (for this process and all it starts: kernels, TensorBoard)
    at a new folder, removed at the end: normally, on an error or on Ctrl-C (a
    SIGTERM or SIGHUP reaches this only where fmtb turns it into an exception)."""
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

        def gone_already(function, path, exc_info):  # removed meanwhile by its owner
            if not issubclass(exc_info[0], FileNotFoundError):
                raise exc_info[1]

        shutil.rmtree(own, onerror=gone_already)


def sweep(grid_items: list[str], pairs: list[tuple[str, str]] = (), runs_dir=None,
          out=None, progress: bool = False, log=print) -> int:
    """Run the grid; returns the exit code (0 all well, 1 some configuration failed)."""
    grid = parse_grid(grid_items)
    pairs = list(pairs)
    check(grid, pairs)
    combos = combinations(grid)
    runs = paths.runs_dir(runs_dir)
    folders.check_writable(runs, "--runs-dir")
    if out:
        folders.check_writable(Path(out).resolve(), "--out")
    sweep_dir = folders.claim_next_free(runs, "sweep")
    out_dir = Path(out).resolve() if out else paths.build_dir() / "executed" / sweep_dir.name
    sizes = ", ".join(f"{name}: {len(values)} value{'s' * (len(values) > 1)}"
                      for name, values in grid.items())
    log(f"Sweep of {len(combos)} configuration{'s' * (len(combos) > 1)} ({sizes}) into "
        f"{sweep_dir}; each trains (05) and assesses (06) once", flush=True)
    with _own_tmpdir():
        failures = _run_all(combos, pairs, sweep_dir, out_dir, progress, log)
    log(f"Sweep written to {sweep_dir} ({len(combos) - len(failures)} of {len(combos)} "
        f"configurations); compare them in the HParams dashboard: tensorboard --logdir "
        f"{sweep_dir}")
    for name, error in failures:
        log(f"failed: {name}: {error}")
    return 1 if failures else 0


def _run_all(combos, pairs, sweep_dir: Path, out_dir: Path, progress: bool,
             log) -> list[tuple[str, str]]:
    """Each combination in turn, past failures; the failed ones and why."""
    failures = []
    began = time.perf_counter()
    for i, combo in enumerate(combos, 1):
        name = run_name(combo)
        started = time.perf_counter()
        log(f"[{i}/{len(combos)}] {name} ...", end=" ", flush=True)
        try:
            plan = runner.plan(NOTEBOOKS, runs_dir=str(sweep_dir), run_name=name,
                               out=str(out_dir / name), pairs=pairs + list(combo.items()))
            runner.execute(plan, progress=progress, jobs=1, log=lambda *a, **k: None)
            accuracy = results.final_metrics(plan.run_dir)[results.ACCURACY]
            outcome = (f"done in {_duration(time.perf_counter() - started)}, "
                       f"test accuracy {accuracy:.1%}")
        except (UsageError, NotebookFailed) as exc:
            outcome = "FAILED"
            failures.append((name, str(exc)))
        # the time left, extrapolated from the configurations done so far
        left = (time.perf_counter() - began) / i * (len(combos) - i)
        log(outcome + (f" (about {_duration(left)} left)" if i < len(combos) else ""),
            flush=True)
    return failures
