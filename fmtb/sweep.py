"""``fmtb sweep``: training and assessment once per combination of a grid.

Each combination is its own run, ``<runs_dir>/sweep_N/<name>_<value>-...``, with
the notebooks that made it executed beside it (or in ``--out``); notebook 06
records ``add_hparams`` in it, so TensorBoard's HParams dashboard compares them.
One failing combination does not stop the others; failures are listed at the end
(exit code 1). A grid of more than :data:`LARGE` combinations is said with an
estimate first, and starts only with ``--yes`` (or a yes on a terminal).

Everything the sweep starts works in a ``$TMPDIR`` of its own (kernel connection
files, with their keys; a local Ray instance's session; the trials' folders) and
carries its mark: at the end, Ctrl-C and SIGKILL included, a reaper ends what is
left and removes the folder (:mod:`fmtb.scratch`).

The engines (:mod:`fmtb.engine`): :mod:`fmtb.local_sweep`, one combination after
another here (the default), and :mod:`fmtb.ray_sweep`, one Ray task per
combination. Both run a combination with :func:`fmtb.trials.train_and_assess`
and report it with :class:`fmtb.trials.Tally`; the grid is :mod:`fmtb.grid`'s.
"""
from __future__ import annotations

import sys
from pathlib import Path

from . import folders, grid, runner, scratch, trials
from .engine import Options
from .errors import Stopped, UsageError
from .local_sweep import LocalEngine
from .ray_sweep import RayEngine

ENGINES = {"local": LocalEngine,  # one after another here
           "ray": RayEngine}      # Ray tasks
LARGE = 20  # configurations: more start only with --yes (or a yes on a terminal)


def confirm(n: int, checked: list[dict[str, object]], yes: bool, log=print) -> None:
    """Above :data:`LARGE` configurations: say how many and about how long, then go
    on only with ``yes``, or a yes typed on a terminal."""
    if n <= LARGE or yes:
        return
    each = [trials.estimate(values) for values in checked]
    said = (f"the grid has {n} configurations, about {runner.duration(sum(each))} one after "
            f"another on one CPU core (up to {runner.duration(max(each))} each)")
    if not sys.stdin.isatty():
        raise UsageError(f"{said}; pass --yes to start it")
    log(said.capitalize() + ".", flush=True)
    try:
        answer = input("Start it? [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("sweep not started")


def sweep(grid_items: list[str], pairs: list[tuple[str, str]] = (), runs_dir=None,
          out=None, bars: bool = False, log=print, engine: str = "local",
          address: str | None = None, cpus_per_trial: int = 1,
          gpus_per_trial: float = 0, yes: bool = False) -> int:
    """Run the grid; returns the exit code (0 all well, 1 some configuration failed).
    ``engine="ray"``: on Ray (see :mod:`fmtb.ray_sweep`), joining the cluster at
    ``address`` or, without one, on a local instance started for the sweep."""
    if engine not in ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    chosen = ENGINES[engine](Options(address, cpus_per_trial, gpus_per_trial, bars), log)
    cells = grid.parse(grid_items)
    pairs = list(pairs)
    chosen.check(cells, pairs)  # before anything is written: one line
    checked = grid.check(cells, pairs, runs_here=chosen.runs_here)
    combos = grid.combinations(cells)
    runs = folders.runs_dir(runs_dir)
    folders.check_writable(runs, "--runs-dir")
    if out:
        folders.check_writable(Path(out).resolve(), "--out")
    confirm(len(combos), checked, yes, log)
    sizes = ", ".join(f"{name}: {len(values)} value{'s' * (len(values) > 1)}"
                      for name, values in cells.items())
    with scratch.reaped_tmpdir("fmtb-sw-"), chosen:
        sweep_dir = folders.claim_next_free(runs, "sweep")
        out_dir = Path(out).resolve() if out else sweep_dir  # beside each run
        where = chosen.describe()
        log(f"Sweep of {len(combos)} configuration{'s' * (len(combos) > 1)} ({sizes}) into "
            f"{sweep_dir}{f' {where}' if where else ''}; each trains (05) and "
            f"assesses (06) once", flush=True)
        tally = trials.Tally(len(combos), log)
        try:
            chosen.run(combos, pairs, sweep_dir, out_dir, tally)
        except (KeyboardInterrupt, Stopped):
            log(f"Sweep stopped: {tally.done} of {len(combos)} configurations "
                f"finished, kept in {sweep_dir}", flush=True)
            raise
    failures = tally.failures
    log(f"Sweep written to {sweep_dir} ({len(combos) - len(failures)} of {len(combos)} "
        f"configurations); compare them in the HParams dashboard: tensorboard --logdir "
        f"{sweep_dir}")
    for name, error in failures:
        log(f"failed: {name}: {error}")
    return 1 if failures else 0
