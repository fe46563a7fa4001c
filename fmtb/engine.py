"""What ``fmtb sweep`` asks of an engine, one small interface.

An engine runs the trials of a sweep (:mod:`fmtb.trials`) somewhere: the local
engine (:mod:`fmtb.local_sweep`) one after another on this machine, the Ray
engine (:mod:`fmtb.ray_sweep`) as Ray tasks. The sweep (:mod:`fmtb.sweep`)
checks its options before anything is written, enters it (a Ray cluster is
started or joined), has it describe where the trials run, runs them, and leaves
it (Ctrl-C included)::

    engine = Engine(options, log)
    engine.check(grid, pairs)
    with engine:
        log(engine.describe())
        engine.run(combos, pairs, sweep_dir, out_dir, tally)
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path

from .trials import Tally


@dataclass(frozen=True)
class Options:
    """What the command line says of the engine."""
    address: str | None = None  # a Ray cluster to join
    cpus_per_trial: int = 1     # reserved for each trial, and its torch threads (Ray)
    gpus_per_trial: float = 0
    bars: bool = False          # papermill's progress bars (local engine)


class Engine(abc.ABC):
    """One way to run a sweep's trials."""

    runs_here = True  # the notebooks run on this machine (it checks devices and cores)

    def __init__(self, options: Options, log=print):
        self.options, self.log = options, log

    @abc.abstractmethod
    def check(self, grid: dict[str, list[str]], pairs: list[tuple[str, str]]) -> None:
        """Refuse (UsageError) options this engine cannot honour; writes nothing."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        return None

    @abc.abstractmethod
    def describe(self) -> str:
        """Where and how the trials run, said after the sweep's folder in its first line
        (``on Ray, a local instance ...``); '' for nothing to add."""

    @abc.abstractmethod
    def run(self, combos: list[dict[str, str]], pairs: list[tuple[str, str]],
            sweep_dir: Path, out_dir: Path, tally: Tally) -> None:
        """Run every combination into ``sweep_dir/<name>`` (executed notebooks in
        ``out_dir/<name>``), past failures, counting each with ``tally``."""
