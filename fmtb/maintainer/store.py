"""Re-execute notebooks in place, stored as one clean top-to-bottom run.

``make notebooks`` calls ``python -m fmtb.maintainer.store notebooks/0*.ipynb``:
each notebook runs in a fresh ``python3`` kernel with the notebooks folder as
working directory; outputs are replaced, execution counts run 1..n, and no
timing or papermill metadata is kept, so ``pytest --nbval`` has one honest
reference run to compare against.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from ..kernels import SeriesKernelManager, series_config


def clear(nb) -> None:
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def execute_in_place(path: str | Path, timeout: int = 1800) -> float:
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    clear(nb)
    started = time.perf_counter()
    NotebookClient(nb, kernel_name="python3", timeout=timeout, record_timing=False,
                   kernel_manager_class=SeriesKernelManager,  # encrypted sockets
                   config=series_config(),
                   resources={"metadata": {"path": str(path.parent.resolve())}}).execute()
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    if counts != list(range(1, len(counts) + 1)):
        raise RuntimeError(f"{path}: execution counts {counts} are not 1..n")
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return time.perf_counter() - started


def open_run(notebook: str | Path) -> Path:
    """Open the run ``notebook`` (01) logs to, as ``fmtb run`` does: an earlier run
    of that name, and the exercises' side runs beside it, are moved aside here, so the
    stored output is a first run's."""
    from fmtb_helpers import board

    from .. import params
    from ..report import SIDE_RUNS

    notebook = Path(notebook)
    declared = params.declared(notebook)
    runs_dir = (notebook.parent / declared["runs_dir"]).resolve()
    for side in SIDE_RUNS:
        if (runs_dir / (declared["run_name"] + side)).is_dir():
            board.start_run(runs_dir, declared["run_name"] + side)
    return board.start_run(runs_dir, declared["run_name"])


def main(argv: list[str]) -> int:
    from fmtb_helpers import board_servers

    from ..servers import stop_servers

    before = {info.pid for info in board_servers.running_servers()}
    try:
        _execute_all(argv)
    finally:  # the notebooks' own %tensorboard server, detached from its kernel
        stop_servers([i for i in board_servers.running_servers() if i.pid not in before])
    return 0


def _execute_all(argv: list[str]) -> None:
    for name in argv:
        if Path(name).name.startswith("01_"):
            open_run(name)
        print(f"executing {name} ...", end=" ", flush=True)
        print(f"{execute_in_place(name):.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
