"""``fmtb run``: the notebook series in batch, with papermill.

Everything a user can get wrong is checked before the first kernel starts
(:func:`plan`); :func:`execute` then runs the chosen notebooks in order, in
this environment's ``python3`` kernel, with the notebooks folder as working
directory, all logging to one run folder. One TensorBoard server is started
for the whole series with the very arguments of the notebooks' ``%tensorboard``
cells, so each notebook reuses it instead of launching its own.
"""
from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from fmtb_helpers import board, data, paths
from fmtb_helpers.paths import CHECKPOINT_NAME

from . import kernels as _kernels
from . import params, servers

DEFAULT_RUN_NAME = "fashion_mnist_experiment_1"
TRAINING, ASSESSMENT = "05", "06"


class UsageError(Exception):
    """Bad input: one line, exit code 2."""


class NotebookFailed(Exception):
    """A notebook raised: one line naming notebook, cell and error; exit code 1."""


LANGS = ("en", "ko")


def notebooks_dir(lang: str = "en") -> Path:
    """The edition's folder, the kernels' working directory: notebooks/ or notebooks/ko/."""
    if lang not in LANGS:
        raise UsageError(f"--lang must be one of {', '.join(LANGS)}, not {lang!r}")
    return paths.notebooks_dir() if lang == "en" else paths.notebooks_dir() / lang


def all_notebooks(lang: str = "en") -> list[Path]:
    return sorted(notebooks_dir(lang).glob("[0-9][0-9]_*.ipynb"))


def select(spec: str | None, lang: str = "en") -> list[Path]:
    """Notebooks named by ``01,05`` (numbers, or file names without .ipynb)."""
    notebooks = all_notebooks(lang)
    if not spec:
        return notebooks
    chosen = []
    for token in (t.strip() for t in spec.split(",") if t.strip()):
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
    run_name: str
    out_dir: Path
    values: dict[str, object]                      # checked -p values, by name
    per_notebook: dict[Path, dict[str, object]] = field(default_factory=dict)
    fresh: bool = False  # the series starts at 01: open the run anew
    lang: str = "en"     # the edition: its folder is the kernels' working directory

    @property
    def notebooks_dir(self) -> Path:
        return notebooks_dir(self.lang)

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.run_name


def _next_free_run_name(runs_dir: Path, base: str = DEFAULT_RUN_NAME) -> str:
    stem = base.rsplit("_", 1)[0]
    n = 1
    while (runs_dir / f"{stem}_{n}").exists():
        n += 1
    return f"{stem}_{n}"


def _latest_run_name(runs_dir: Path, base: str = DEFAULT_RUN_NAME) -> str:
    stem = base.rsplit("_", 1)[0]
    found = [int(m.group(1)) for p in runs_dir.glob(f"{stem}_*")
             if (m := re.fullmatch(re.escape(stem) + r"_(\d+)", p.name))]
    return f"{stem}_{max(found)}" if found else base


def plan(notebooks: str | None = None, runs_dir: str | None = None,
         run_name: str | None = None, out: str | None = None,
         pairs: list[tuple[str, str]] = (), replace: bool = False, lang: str = "en") -> Plan:
    """Check everything a user gave; raise UsageError (one line) on the first problem."""
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
            params.parse_value("run_name", run_name, DEFAULT_RUN_NAME)
    except params.ParameterError as exc:
        raise UsageError(str(exc)) from None

    runs = paths.runs_dir(runs_dir)
    starts_fresh = number(chosen[0]) == "01"
    if run_name is None:
        run_name = _next_free_run_name(runs) if starts_fresh else _latest_run_name(runs)
    elif starts_fresh and (runs / run_name).exists() and not replace:
        raise UsageError(f"run {run_name!r} already exists in {runs}; choose another "
                         f"--run-name, or pass --replace to move the old one aside")

    data_root = values.get("data_root", declarations.get("data_root"))
    try:
        # Notebooks resolve data_root from their own folder: do the same here.
        with _cwd(notebooks_dir(lang)):
            data.ensure_data(data_root, check_only=True)  # input checking writes nothing
    except data.DataError as exc:
        raise UsageError(str(exc)) from None

    names = [number(nb) for nb in chosen]
    if ASSESSMENT in names and TRAINING not in names[:names.index(ASSESSMENT)]:
        if not (runs / run_name / CHECKPOINT_NAME).is_file():
            raise UsageError(f"run {run_name!r} has no trained model "
                             f"({runs / run_name / CHECKPOINT_NAME} is missing): run notebook "
                             f"05 first, e.g. fmtb run --notebooks 05,06 --run-name {run_name}")

    out_dir = Path(out).resolve() if out else paths.build_dir() / "executed" / run_name
    return Plan(chosen, runs, run_name, out_dir, values, per_notebook,
                fresh=starts_fresh, lang=lang)


@contextlib.contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


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


def start_shared_server(plan: Plan, timeout: float = 60.0):
    """Start TensorBoard exactly as ``%tensorboard`` would from the notebooks folder,
    so every notebook's cell reuses it; returns its TensorBoardInfo (or None)."""
    from tensorboard import manager

    args = tensorboard_arguments(plan.runs_dir)
    key = manager.cache_key(working_directory=str(plan.notebooks_dir),
                            arguments=args, configure_kwargs={})
    running = [i for i in board.running_servers() if i.cache_key == key]
    if running:
        return running[0], False
    plan.runs_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([str(board.tensorboard_binary()), *args],
                            cwd=plan.notebooks_dir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=lambda: os.nice(10))  # training comes first
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        info = next((i for i in manager.get_all() if i.pid == proc.pid), None)
        if info:
            return info, True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    return None, False


def _describe_failure(exc, notebook: Path, copy: Path) -> str:
    cell = getattr(exc, "exec_count", None) or getattr(exc, "cell_index", "?")
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = str(getattr(exc, "evalue", exc)).strip().splitlines()
    evalue = evalue[-1] if evalue else ""
    return (f"notebook {notebook.stem} failed in cell [{cell}]: {ename}: {evalue} "
            f"(executed copy: {copy})")


# notebook -> the notebooks it must wait for, when they are in the same plan
WAITS_FOR = {
    ASSESSMENT: (TRAINING,  # the trained model
                 "04"),     # both rewrite projector_config.pbtxt: read, add, write
}


def dependencies(notebooks: list[Path]) -> dict[Path, set[Path]]:
    """What each notebook must wait for (see WAITS_FOR). The runner opens the run
    itself, so nothing waits for 01."""
    by_number = {number(nb): nb for nb in notebooks}
    return {nb: {by_number[n] for n in WAITS_FOR.get(number(nb), ()) if n in by_number}
            for nb in notebooks}


def _run_one(plan: Plan, notebook: Path, progress, nice: int, manager_class) -> float:
    import papermill as pm

    if nice and hasattr(os, "setpriority"):
        # this thread's niceness passes to the kernel it starts
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    copy = plan.out_dir / notebook.name
    started = time.perf_counter()
    try:
        pm.execute_notebook(
            str(notebook), str(copy), parameters=notebook_parameters(plan, notebook),
            kernel_name="python3", cwd=str(plan.notebooks_dir),
            progress_bar=progress, log_output=False, request_save_on_cell_execute=True,
            kernel_manager_class=manager_class)
    except pm.PapermillExecutionError as exc:
        raise NotebookFailed(_describe_failure(exc, notebook, copy)) from None
    return time.perf_counter() - started


def _schedule(plan: Plan, jobs: int, progress: bool, log, manager_class) -> None:
    """Run the notebooks, ``jobs`` at a time, each once its dependencies are done.

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
            _run_one(plan, nb, bar, nice, manager_class)
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
        nb, exc = finished.get()
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


KERNELS = ("fork", "spawn")


def _one_thread_each() -> None:
    # Batches of four run fastest on one thread, and a second thread of a notebook
    # running beside training would land on training's core: one each, unless the
    # user chose otherwise.
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")


@contextlib.contextmanager
def warm_kernels(kernels: str = "fork"):
    """The process the series' kernels are forked from (see :mod:`fmtb.kernels`),
    or None for ``"spawn"`` (a fresh Python per kernel, as in JupyterLab) and where
    fork is not supported. Start it first: it imports torch while the rest is prepared."""
    if kernels not in KERNELS:
        raise UsageError(f"--kernels must be one of {', '.join(KERNELS)}, not {kernels!r}")
    if kernels == "spawn" or not _kernels.supported():
        yield None
        return
    _one_thread_each()
    zygote = _kernels.Zygote.start(cwd=paths.notebooks_dir())
    try:
        yield zygote
    finally:
        zygote.stop()


def execute(plan: Plan, serve: bool = False, progress: bool = True, jobs: int = 2,
            log=print, zygote=None) -> Path:
    """Open the run, then run the plan's notebooks (``jobs`` at a time, as their
    dependencies allow); returns the run folder.

    Kernels are forked from ``zygote`` (see :func:`warm_kernels`), or spawned
    without one.
    """
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    _one_thread_each()
    if plan.fresh:  # moves an earlier run of this name aside (only with --replace)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            board.start_run(plan.runs_dir, plan.run_name)
    before = {s.pid for s in board.running_servers()}
    server = None
    try:
        server, _ = start_shared_server(plan)
        if zygote is not None:
            try:
                # Kernels start once it has imported (papermill's clock starts
                # at the launch, so each notebook's duration is its own).
                zygote.wait_ready()
            except _kernels.ZygoteError as exc:
                log(f"warning: {exc}; starting each kernel the usual way")
                zygote = None
        _schedule(plan, max(1, jobs), progress, log, _kernels.kernel_manager_class(zygote))
    finally:
        strays = [s for s in board.running_servers()
                  if s.pid not in before and (not serve or server is None or s.pid != server.pid)]
        servers.stop_servers(strays)
    log(f"Run written to {plan.run_dir}; executed notebooks in {plan.out_dir}")
    if serve and server is not None:
        log(f"TensorBoard is serving it at http://localhost:{server.port}/ "
            f"(pid {server.pid}; stop it with: kill {server.pid})")
    else:
        log("View it with: " + shlex.join(
            [str(board.tensorboard_binary()), *tensorboard_arguments(plan.runs_dir)]))
    return plan.run_dir


# --- reading executed notebooks back ------------------------------------------

def executed(out_dir: Path, number: str):
    """The executed copy of notebook ``number`` ("05") in ``out_dir``."""
    import nbformat

    found = sorted(Path(out_dir).glob(f"{number}_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no executed notebook {number} in {out_dir}")
    return nbformat.read(found[0], as_version=4)


def reported_accuracy(out_dir: Path) -> float:
    """The test accuracy the executed notebook 06 printed (a fraction)."""
    nb = executed(out_dir, ASSESSMENT)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    match = re.search(r"test accuracy: ([\d.]+)%", text)
    if not match:
        raise ValueError(f"notebook {ASSESSMENT} in {out_dir} printed no test accuracy")
    return float(match.group(1)) / 100
