"""``fmtb run``: the notebook series in batch, with papermill.

Everything a user can get wrong is checked before the first kernel starts, and
nothing is written while checking (:func:`plan`). :func:`execute` then claims
the run folder (atomically, and locked while it runs: two ``fmtb run`` never
share one, ``--replace`` included) and runs the chosen notebooks in order, each
in a kernel of this environment whose working directory is the notebooks folder
(set per kernel: fmtb's own never changes).
One TensorBoard server is started for the whole series with the very arguments
of the notebooks' ``%tensorboard`` cells, so each notebook reuses it.

Everything fmtb starts ends with it: kernels watch fmtb and end when it does,
the server is signalled by the kernel when fmtb dies (Linux), and on SIGINT,
SIGTERM or SIGHUP fmtb ends both itself (see :mod:`fmtb.cli`).
"""
from __future__ import annotations

import contextlib
import os
import shlex
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from fmtb_helpers import board, board_servers, data, paths
from fmtb_helpers.paths import CHECKPOINT_NAME

from . import fetch, folders, params, processes, servers
from .errors import NotebookFailed, UsageError

DEFAULT_RUN_NAME = "fashion_mnist_experiment_1"
RUN_STEM = "fashion_mnist_experiment"  # default runs are <stem>_1, <stem>_2, ...
TRAINING, ASSESSMENT = "05", "06"

# Which notebook waits for which, declared once: notebook -> {notebook it waits
# for, when both run: what it reads from that one in the run folder (None: only
# the order matters)}. 04 and 06 write their embeddings to runs of their own.
WAITS_FOR = {
    ASSESSMENT: {TRAINING: CHECKPOINT_NAME},
}
# What may run again on an existing run without --replace: assessment, once the
# model it reads has been saved.
ADDS_TO_A_RUN = {ASSESSMENT}


LANGS = ("en", "ko")


def edition_dir(lang: str = "en") -> Path:
    """The edition's folder, the kernels' working directory: notebooks/ or notebooks/ko/."""
    if lang not in LANGS:
        raise UsageError(f"--lang must be one of {', '.join(LANGS)}, not {lang!r}")
    return paths.notebooks_dir() if lang == "en" else paths.notebooks_dir() / lang


def all_notebooks(lang: str = "en") -> list[Path]:
    return sorted(edition_dir(lang).glob("[0-9][0-9]_*.ipynb"))


def select(spec: str | None, lang: str = "en") -> list[Path]:
    """Notebooks named by ``01,05`` (numbers, or file names without .ipynb)."""
    notebooks = all_notebooks(lang)
    if spec is None:
        return notebooks
    tokens = [t.strip() for t in spec.split(",") if t.strip()]
    if not tokens:
        raise UsageError(f"--notebooks {spec!r} names no notebook; give numbers such as "
                         f"01,05 (from {', '.join(number(nb) for nb in notebooks)})")
    chosen = []
    for token in tokens:
        key = f"{int(token):02d}" if token.isdigit() else token.removesuffix(".ipynb")
        match = [nb for nb in notebooks if key in (nb.stem, number(nb))]
        if not match:
            raise UsageError(f"no notebook {token!r}; choose from "
                             f"{', '.join(number(nb) for nb in notebooks)}")
        if match[0] not in chosen:
            chosen.append(match[0])
    return sorted(chosen)


def number(notebook: Path) -> str:
    return notebook.stem.split("_")[0]


@dataclass
class Plan:
    notebooks: list[Path]
    runs_dir: Path
    run_name: str | None  # None: the next free fashion_mnist_experiment_N, at execute
    out: Path | None      # None: build/executed/<run_name>
    values: dict[str, object]                      # checked -p values, by name
    per_notebook: dict[Path, dict[str, object]] = field(default_factory=dict)
    fresh: bool = False    # the series starts at 01: a run of its own
    replace: bool = False  # an existing run of this name is moved aside
    lang: str = "en"       # the edition: its folder is the kernels' working directory

    @property
    def edition_dir(self) -> Path:
        return edition_dir(self.lang)

    @property
    def run_dir(self) -> Path:
        return board.run_dir(self.runs_dir, self.run_name)

    @property
    def out_dir(self) -> Path:
        return self.out or paths.build_dir() / "executed" / self.run_name


def _latest_run_name(runs_dir: Path) -> str:
    found = folders.numbered(runs_dir, RUN_STEM)
    return f"{RUN_STEM}_{found[-1]}" if found else DEFAULT_RUN_NAME


def _may_add_to(chosen: list[Path], run: Path) -> bool:
    """Whether the chosen notebooks may run on the existing ``run`` without --replace."""
    return {number(nb) for nb in chosen} <= ADDS_TO_A_RUN and (run / CHECKPOINT_NAME).is_file()


def _refuse_existing(run: Path) -> UsageError:
    return UsageError(f"run {run.name!r} already exists in {run.parent}; choose another "
                      f"--run-name, or pass --replace to move the old one aside")


def plan(notebooks: str | None = None, runs_dir: str | None = None,
         run_name: str | None = None, out: str | None = None,
         pairs: list[tuple[str, str]] = (), replace: bool = False, lang: str = "en") -> Plan:
    """Check everything a user gave; raise UsageError (one line) on the first problem.
    Writes nothing."""
    from .kernels import check_installed

    processes.check_platform()
    check_installed()
    chosen = select(notebooks, lang)
    per_notebook = {nb: params.declared(nb) for nb in chosen}
    declarations = params.merge(per_notebook.values())
    pairs = list(pairs)
    for flag, name in (("--runs-dir", "runs_dir"), ("--run-name", "run_name")):
        if any(n == name for n, _ in pairs):
            raise UsageError(f"give {name} with {flag}, not -p {name}")
    try:
        values = params.parse(pairs, declarations)
        if run_name is not None:
            folders.check_name(run_name, "--run-name")
            params.parse_value("run_name", run_name, DEFAULT_RUN_NAME)
    except params.ParameterError as exc:
        raise UsageError(str(exc)) from None

    runs = paths.runs_dir(runs_dir)
    folders.check_writable(runs, "--runs-dir")
    out_dir = Path(out).resolve() if out else None
    if out_dir is not None:
        folders.check_writable(out_dir, "--out")
    starts_fresh = number(chosen[0]) == "01"
    if run_name is None and not starts_fresh:
        run_name = _latest_run_name(runs)
    if run_name is not None and (runs / run_name).exists() and not replace:
        if starts_fresh or not _may_add_to(chosen, runs / run_name):
            raise _refuse_existing(runs / run_name)

    try:
        fetch.ensure_data(data_root(values, declarations, lang),
                          check_only=True)  # input checking writes nothing
    except data.DataError as exc:
        raise UsageError(str(exc)) from None

    names = [number(nb) for nb in chosen]
    for nb in names:
        for needed, artifact in WAITS_FOR.get(nb, {}).items():
            if artifact is None or needed in names[:names.index(nb)]:
                continue
            if run_name is None or replace or not (runs / run_name / artifact).is_file():
                shown = run_name or DEFAULT_RUN_NAME
                raise UsageError(f"run {shown!r} has no {artifact} from notebook {needed} "
                                 f"(in {runs / shown}): run notebook {needed} first, e.g. "
                                 f"fmtb run --notebooks {needed},{nb} --run-name {shown}")

    return Plan(chosen, runs, run_name, out_dir, values, per_notebook,
                fresh=starts_fresh, replace=replace, lang=lang)


def data_root(values: dict[str, object], declarations: dict[str, object],
              lang: str = "en") -> Path:
    """Where the notebooks will read Fashion-MNIST: ``data_root`` (given or their
    default) resolved from the edition's folder, as the notebooks resolve it."""
    given = data.root(values.get("data_root", declarations.get("data_root")))
    return edition_dir(lang) / Path(given).expanduser()


def _refuse_busy(run: Path) -> UsageError:
    return UsageError(f"run {run.name!r} in {run.parent} is being written by another fmtb run "
                      f"right now; wait for it to end, or choose another --run-name")


def claim_run(plan: Plan) -> tuple[bool, int | None]:
    """Create the plan's run folder before anything is written to it, and lock it
    while this ``fmtb`` writes it; another ``fmtb`` that created or locked it first
    wins. Returns whether the folder is new, and the lock (see folders.release)."""
    with folders.claiming(plan.runs_dir):
        if plan.run_name is None:
            plan.run_name = folders.claim_next_free(plan.runs_dir, RUN_STEM).name
            return True, folders.hold(plan.run_dir)
        try:
            folders.claim(plan.run_dir)
            return True, folders.hold(plan.run_dir)
        except FileExistsError:
            adds = not plan.replace and not plan.fresh and _may_add_to(plan.notebooks,
                                                                        plan.run_dir)
            if not (plan.replace or adds):
                raise _refuse_existing(plan.run_dir) from None
        lock = folders.hold(plan.run_dir)
        if lock is None:  # its series is running: neither moved aside nor added to
            raise _refuse_busy(plan.run_dir)
        if adds:
            return False, lock
        folders.release(lock)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            board.start_run(plan.runs_dir, plan.run_name)  # moves the old one aside
        return True, folders.hold(plan.run_dir)


def notebook_parameters(plan: Plan, notebook: Path) -> dict[str, object]:
    """What papermill passes ``notebook``: only names it declares."""
    # The runner has opened the run (see execute), so 01 must not move aside
    # what notebooks running beside it have begun to write.
    given = dict(plan.values, runs_dir=str(plan.runs_dir), run_name=plan.run_name,
                 fresh_run=False)
    return {k: v for k, v in given.items() if k in plan.per_notebook[notebook]}


def tensorboard_arguments(runs_dir: Path) -> list[str]:
    """What the notebooks' ``%tensorboard --logdir {runs_dir} ...`` cell passes."""
    return ["--logdir", str(runs_dir), *board.SERVER_FLAGS]


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


def dependencies(notebooks: list[Path]) -> dict[Path, set[Path]]:
    """What each notebook must wait for (see WAITS_FOR). The runner opens the run
    itself, so nothing waits for 01."""
    by_number = {number(nb): nb for nb in notebooks}
    return {nb: {by_number[n] for n in WAITS_FOR.get(number(nb), {}) if n in by_number}
            for nb in notebooks}


def duration(seconds: float) -> str:
    """``seconds`` as a person reads it: 42 s, 7 min, 1.5 h."""
    return (f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400
            else f"{seconds / 3600:.1f} h")


def _on_a_terminal() -> bool:
    """Whether progress bars can be drawn: tqdm moves the cursor up and back (escape
    codes), unreadable in a pipe, a file or a CI log."""
    return sys.stdout.isatty() and sys.stderr.isatty()


def _run_one(plan: Plan, notebook: Path, progress, nice: int, manager_class) -> float:
    import papermill as pm

    if nice:
        manager_class = manager_class.lowered(nice)
    copy = plan.out_dir / notebook.name
    started = time.perf_counter()
    try:
        # The kernel's working directory comes from nbclient's resources; papermill's
        # own cwd= would chdir the whole process, and kernels started meanwhile by
        # other threads would inherit it.
        pm.execute_notebook(
            str(notebook), str(copy), parameters=notebook_parameters(plan, notebook),
            kernel_name="python3", progress_bar=progress, log_output=False,
            request_save_on_cell_execute=True, kernel_manager_class=manager_class,
            resources={"metadata": {"path": str(plan.edition_dir)}})
    except pm.PapermillExecutionError as exc:
        raise _describe_failure(exc, notebook, copy) from None
    return time.perf_counter() - started


def _schedule(plan: Plan, jobs: int, progress: bool, log, manager_class) -> None:
    """Run the notebooks, ``jobs`` at a time, each once its dependencies are done;
    ``progress``: a bar for each, else a plain line when each ends.

    The critical path (training, then assessment) goes first; with ``jobs`` > 1
    the other notebooks run beside it in kernels of lower priority, so training
    keeps its core. Each notebook gets a thread of its own (a lowered priority
    cannot be raised again without privileges).
    """
    import queue


    critical = {TRAINING, ASSESSMENT}
    deps = dependencies(plan.notebooks)
    pending = list(plan.notebooks)
    done: set[Path] = set()
    running: dict[Path, int] = {}
    free_slots = list(range(jobs))
    finished: queue.Queue = queue.Queue()
    failure: NotebookFailed | None = None

    def work(nb: Path, bar, nice: int) -> None:
        try:
            seconds = _run_one(plan, nb, bar, nice, manager_class)
            if not bar:
                log(f"{nb.stem} done in {duration(seconds)}", flush=True)
            finished.put((nb, None))
        except BaseException as exc:  # reported by the main thread
            finished.put((nb, exc))

    while pending or running:
        ready = [nb for nb in pending if deps[nb] <= done]
        ready.sort(key=lambda nb: (number(nb) not in critical, nb.name))
        while failure is None and ready and free_slots:
            nb = ready.pop(0)
            pending.remove(nb)
            slot = free_slots.pop(0)
            bar = {"desc": nb.stem, "position": slot, "leave": jobs == 1} if progress else False
            nice = 10 if jobs > 1 and number(nb) not in critical else 0
            log(f"[{len(done) + len(running) + 1}/{len(plan.notebooks)}] {nb.stem}", flush=True)
            running[nb] = slot
            threading.Thread(target=work, args=(nb, bar, nice), daemon=True).start()
        if not running:
            break
        nb, exc = _next(finished)
        free_slots.append(running.pop(nb))
        free_slots.sort()
        if exc is None:
            done.add(nb)
        elif isinstance(exc, NotebookFailed):
            failure = failure or exc
        else:
            failure = failure or NotebookFailed(f"notebook {nb.stem} could not run: {exc}")
    if failure is not None:
        raise failure


def _next(finished):
    """The next finished notebook. Waits in short steps: an exception raised in this
    thread from outside (Ray cancelling a sweep's task raises KeyboardInterrupt so) lands
    only between two steps of Python, never inside one blocking wait."""
    import queue

    while True:
        try:
            return finished.get(timeout=0.5)
        except queue.Empty:
            continue


def _one_thread_each() -> None:
    # Batches of four run fastest on one thread, and a second thread of a notebook
    # running beside training would land on training's core: one each, unless the
    # user chose otherwise.
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")


def execute(plan: Plan, serve: bool = False, progress: bool = True, jobs: int = 2,
            log=print) -> Path:
    """Claim the run, then run the plan's notebooks (``jobs`` at a time, as their
    dependencies allow); returns the run folder."""
    new, lock = claim_run(plan)
    try:
        folders.make(plan.out_dir)
    except UsageError:
        if new:
            with contextlib.suppress(OSError):  # only if still empty
                plan.run_dir.rmdir()
        folders.release(lock)
        raise
    _one_thread_each()
    server, proc, finished = None, None, False
    from .kernels import Kernels, kernel_manager_class

    kernels = Kernels()
    try:
        server, proc = start_shared_server(plan, serve, log)
        _schedule(plan, max(1, jobs), progress and _on_a_terminal(), log,
                  kernel_manager_class(kernels))
        finished = True
    finally:
        kernels.end()
        if proc is not None and not (serve and finished):  # --serve: left for the reader
            servers.stop(proc)
        folders.release(lock)
    log(f"Run written to {plan.run_dir}; executed notebooks in {plan.out_dir}")
    if serve and server is not None:
        log(f"TensorBoard is serving it at http://localhost:{server.port}/ "
            f"(pid {server.pid}; stop it with: kill {server.pid})")
    else:
        log("View it with: " + shlex.join(
            [str(board_servers.tensorboard_binary()), *tensorboard_arguments(plan.runs_dir)]))
    return plan.run_dir
