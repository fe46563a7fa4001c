"""``fmtb run``: the notebook series in batch, with papermill.

Everything a user can get wrong is checked before the first kernel starts, and
nothing is written while checking (:func:`fmtb.series.plan`). :func:`execute` then,
step by step:

1. claims the run folder (:func:`claimed`: atomically, and locked while it runs: two
   ``fmtb run`` never share one, ``--replace`` included);
2. starts one TensorBoard server for the whole series (:func:`shared_server`) with the
   very arguments of the notebooks' ``%tensorboard`` cells, so each notebook reuses it;
3. runs the chosen notebooks (:func:`_schedule`), ``jobs`` at a time as their order
   allows, each in a kernel of this environment whose working directory is the
   edition's folder (set per kernel: fmtb's own never changes);
4. ends the kernels, the server (unless ``--serve``) and the claim, in that order.

Everything fmtb starts ends with it: kernels watch fmtb and end when it does,
the server is signalled by the kernel when fmtb dies (Linux), and on SIGINT,
SIGTERM or SIGHUP fmtb ends both itself (see :mod:`fmtb.cli`).
"""
from __future__ import annotations

import contextlib
import logging
import os
import shlex
import sys
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

from fmtb_helpers import board, board_servers

from . import folders, series, servers
from .errors import NotebookFailed, UsageError
from .series import (  # noqa: PLC2701 (one package)
    ASSESSMENT,
    RUN_STEM,
    TRAINING,
    Plan,
    _may_add_to,
    _refuse_existing,
    dependencies,
    number,
)

# fmtb run's first step, where its callers have always found it
plan, select, all_notebooks = series.plan, series.select, series.all_notebooks


def _refuse_busy(run: Path) -> UsageError:
    return UsageError(f"run {run.name!r} in {run.parent} is being written by another fmtb run "
                      f"right now; wait for it to end, or choose another --run-name")


def _create(plan: Plan) -> bool:
    """Create the plan's run folder (naming it if the plan does not); False: it exists,
    and the plan replaces it or adds to it. Another ``fmtb`` that created it first wins."""
    if plan.run_name is None:
        plan.run_name = folders.claim_next_free(plan.runs_dir, RUN_STEM).name
        return True
    try:
        folders.claim(plan.run_dir)
        return True
    except FileExistsError:
        if plan.replace or (not plan.fresh and _may_add_to(plan.notebooks, plan.run_dir)):
            return False
        raise _refuse_existing(plan.run_dir) from None


@contextlib.contextmanager
def claimed(plan: Plan):
    """The plan's run folder, created before anything is written to it and locked
    for the ``with`` block (a lock on its name: :func:`fmtb.folders.hold`); yields
    whether the folder is new. A run that another ``fmtb`` is writing is neither
    moved aside nor added to; with ``--replace`` the old run is moved aside."""
    with folders.claiming(plan.runs_dir):  # name, create and lock as one step
        new = _create(plan)
        lock = folders.hold(plan.run_dir)
        if lock is None:
            raise _refuse_busy(plan.run_dir)
        if not new and plan.replace:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                board.start_run(plan.runs_dir, plan.run_name)  # moves the old one aside
            new = True
    try:
        yield new
    finally:
        folders.release(lock)


def notebook_parameters(plan: Plan, notebook: Path) -> dict[str, object]:
    """What papermill passes ``notebook``: only names it declares."""
    # The runner has opened the run (see execute), so 01 must not move aside
    # what notebooks running beside it have begun to write.
    given = dict(plan.values, runs_dir=str(plan.runs_dir), run_name=plan.run_name,
                 fresh_run=False)
    return {k: v for k, v in given.items() if k in plan.per_notebook[notebook]}


def tensorboard_arguments(runs_dir: Path) -> list[str]:
    """What the notebooks' ``%tensorboard --logdir {runs_dir} ...`` cell passes."""
    return ["--logdir", str(runs_dir), *servers.SERVER_FLAGS]


def start_shared_server(plan: Plan, serve: bool = False, log=print):
    """Start TensorBoard exactly as ``%tensorboard`` would from the notebooks folder,
    so every notebook's cell reuses it. Returns ``(info, Popen or None)``: the Popen
    when fmtb started it, None when a server of the same arguments was running."""
    from tensorboard import manager

    args = tensorboard_arguments(plan.runs_dir)
    key = manager.cache_key(working_directory=str(plan.edition_dir),
                            arguments=args, configure_kwargs={})
    running = [i for i in board_servers.running_servers() if i.cache_key == key]
    if running:
        return running[0], None
    try:
        # nice: training comes first
        proc, info = servers.start(args, cwd=plan.edition_dir, timeout=60,
                                   outlive_fmtb=serve, nice=10)
    except RuntimeError as exc:
        log(f"warning: {exc}; each notebook's %tensorboard starts its own")
        return None, None
    return info, proc


def _describe_failure(exc, notebook: Path, copy: Path) -> NotebookFailed:
    cell = getattr(exc, "exec_count", None) or getattr(exc, "cell_index", "?")
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = str(getattr(exc, "evalue", exc)).strip().splitlines()
    evalue = evalue[-1] if evalue else ""
    return NotebookFailed(f"notebook {notebook.stem} failed in cell [{cell}]: {ename}: {evalue}",
                          copy)


def duration(seconds: float) -> str:
    """``seconds`` as a person reads it: 42 s, 7 min, 1.5 h."""
    return (f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400
            else f"{seconds / 3600:.1f} h")


def _on_a_terminal() -> bool:
    """Whether progress bars can be drawn: tqdm moves the cursor up and back (escape
    codes), unreadable in a pipe, a file or a CI log."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def _run_one(plan: Plan, notebook: Path, progress, nice: int, kernels) -> float:
    import papermill as pm

    from .kernels import SeriesKernelManager, series_config

    copy = plan.out_dir / notebook.name
    started = time.perf_counter()
    try:
        # The kernel's working directory comes from nbclient's resources; papermill's
        # own cwd= would chdir the whole process, and kernels started meanwhile by
        # other threads would inherit it.
        pm.execute_notebook(
            str(notebook), str(copy), parameters=notebook_parameters(plan, notebook),
            kernel_name="python3", progress_bar=progress, log_output=False,
            request_save_on_cell_execute=True, kernel_manager_class=SeriesKernelManager,
            config=series_config(kernels, nice),
            resources={"metadata": {"path": str(plan.edition_dir)}})
    except pm.PapermillExecutionError as exc:
        raise _describe_failure(exc, notebook, copy) from None
    return time.perf_counter() - started


def _schedule(plan: Plan, jobs: int, progress: bool, log, kernels) -> None:
    """Run the notebooks, ``jobs`` at a time, each once its dependencies are done;
    ``progress``: a bar for each, else a plain line when each ends.

    The critical path (training, then assessment) goes first; with ``jobs`` > 1
    the other notebooks run beside it in kernels of lower priority, so training
    keeps its core. After a failure nothing new starts; the first failure is raised
    once those running have ended.
    """
    critical = {TRAINING, ASSESSMENT}
    deps = dependencies(plan.notebooks)
    pending = sorted(plan.notebooks, key=lambda nb: (number(nb) not in critical, nb.name))
    done: set[Path] = set()
    slots = list(range(jobs))  # a progress bar's line
    running: dict[Future, tuple[Path, int]] = {}
    failure: NotebookFailed | None = None

    def start(nb: Path) -> None:
        pending.remove(nb)
        slot = slots.pop(0)
        bar = {"desc": nb.stem, "position": slot, "leave": jobs == 1} if progress else False
        nice = 10 if jobs > 1 and number(nb) not in critical else 0
        log(f"[{len(done) + len(running) + 1}/{len(plan.notebooks)}] {nb.stem}", flush=True)
        running[pool.submit(_run_one, plan, nb, bar, nice, kernels)] = nb, slot

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="fmtb-notebook")
    try:
        while pending or running:
            for nb in [nb for nb in pending if deps[nb] <= done]:
                if failure is None and slots:
                    start(nb)
            if not running:
                break
            # short waits: an exception raised in this thread from outside (Ray
            # cancelling a sweep's task raises KeyboardInterrupt so) lands between two
            finished, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                nb, slot = running.pop(future)
                slots = sorted([*slots, slot])
                exc = future.exception()
                if exc is None:
                    done.add(nb)
                    if not progress:
                        log(f"{nb.stem} done in {duration(future.result())}", flush=True)
                elif failure is None:
                    failure = exc if isinstance(exc, NotebookFailed) else NotebookFailed(
                        f"notebook {nb.stem} could not run: {exc}")
    except BaseException:
        # fmtb stops (Ctrl-C, a signal): the notebooks still running fail as their
        # kernels are ended next, and what papermill logs then is no news: fmtb's one
        # line is. (Their threads are joined as Python exits.)
        logging.getLogger("papermill").disabled = True
        raise
    finally:  # not waiting for notebooks still running: their kernels are ended next
        pool.shutdown(wait=False, cancel_futures=True)
    if failure is not None:
        raise failure


def _one_thread_each() -> None:
    # Batches of four run fastest on one thread, and a second thread of a notebook
    # running beside training would land on training's core: one each, unless the
    # user chose otherwise.
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")


@contextlib.contextmanager
def output_folder(plan: Plan, new: bool):
    """The folder of the executed notebooks, created; if it cannot be, a run folder
    this ``fmtb`` created goes again (if still empty) before the one-line error."""
    try:
        folders.make(plan.out_dir)
    except UsageError:
        if new:
            with contextlib.suppress(OSError):  # only if still empty
                plan.run_dir.rmdir()
        raise
    yield plan.out_dir


@contextlib.contextmanager
def shared_server(plan: Plan, serve: bool, log):
    """:func:`start_shared_server` for the ``with`` block; the server fmtb started is
    stopped after it, unless ``serve`` and the series finished (left for the reader)."""
    info, proc = start_shared_server(plan, serve, log)
    finished = False
    try:
        yield info
        finished = True
    finally:
        if proc is not None and not (serve and finished):
            servers.stop(proc)


def execute(plan: Plan, serve: bool = False, progress: bool = True, jobs: int = 2,
            log=print) -> Path:
    """Claim the run, then run the plan's notebooks (``jobs`` at a time, as their
    dependencies allow); returns the run folder."""
    from .kernels import Kernels

    with claimed(plan) as new, output_folder(plan, new):
        _one_thread_each()
        with shared_server(plan, serve, log) as server, Kernels() as kernels:
            _schedule(plan, max(1, jobs), progress and _on_a_terminal(), log, kernels)
    log(f"Run written to {plan.run_dir}; executed notebooks in {plan.out_dir}")
    if serve and server is not None:
        log(f"TensorBoard is serving it at http://localhost:{server.port}/ "
            f"(pid {server.pid}; stop it with: kill {server.pid})")
    else:
        log("View it with: " + shlex.join(
            [str(board_servers.tensorboard_binary()), *tensorboard_arguments(plan.runs_dir)]))
    return plan.run_dir
