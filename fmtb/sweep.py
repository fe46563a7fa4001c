"""``fmtb sweep``: training and assessment once per combination of a grid.

Each combination is its own run, ``<runs_dir>/sweep_N/<name>_<value>-...``;
notebook 06 records ``add_hparams`` in it, so TensorBoard's HParams dashboard
compares them. One failing combination does not stop the others; failures are
listed at the end (exit code 1).
"""
from __future__ import annotations

import itertools
import re
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
            for value in values:
                params.parse_value(name, value, declarations[name])
        params.parse(pairs, declarations)
    except params.ParameterError as exc:
        raise UsageError(str(exc)) from None


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
    for i, combo in enumerate(combos, 1):
        name = run_name(combo)
        started = time.perf_counter()
        log(f"[{i}/{len(combos)}] {name} ...", end=" ", flush=True)
        try:
            plan = runner.plan(NOTEBOOKS, runs_dir=str(sweep_dir), run_name=name,
                               out=str(out_dir / name), pairs=pairs + list(combo.items()))
            runner.execute(plan, progress=progress, jobs=1, log=lambda *a, **k: None)
            accuracy = results.final_metrics(plan.run_dir)[results.ACCURACY]
            log(f"done in {time.perf_counter() - started:.0f} s, test accuracy {accuracy:.1%}",
                flush=True)
        except (UsageError, NotebookFailed) as exc:
            log("FAILED", flush=True)
            failures.append((name, str(exc)))
    return failures
