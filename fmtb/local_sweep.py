"""The local engine of ``fmtb sweep``: the trials one after another on this machine."""
from __future__ import annotations

import time
from pathlib import Path

from fmtb_helpers.errors import FmtbError

from .engine import Engine
from .errors import UsageError
from .grid import folder_name
from .trials import Tally, train_and_assess


class LocalEngine(Engine):
    def check(self, grid: dict[str, list[str]], pairs: list[tuple[str, str]]) -> None:
        o = self.options
        if o.address is not None or o.cpus_per_trial != 1 or o.gpus_per_trial:
            raise UsageError("--address, --cpus-per-trial and --gpus-per-trial are for "
                             "--engine ray")

    def describe(self) -> str:
        return ""

    def run(self, combos: list[dict[str, str]], pairs: list[tuple[str, str]],
            sweep_dir: Path, out_dir: Path, tally: Tally) -> None:
        for i, combo in enumerate(combos, 1):
            name = folder_name(combo)
            started = time.perf_counter()
            tally.log(f"[{i}/{len(combos)}] {name} ...", end=" ", flush=True)
            metrics, error = None, None
            try:
                metrics = train_and_assess(name, pairs + list(combo.items()), sweep_dir,
                                           out_dir / name, self.options.bars)
            except FmtbError as exc:  # UsageError, NotebookFailed, ...
                error = str(exc)
            tally.log(tally.outcome(name, time.perf_counter() - started, metrics, error),
                      flush=True)
