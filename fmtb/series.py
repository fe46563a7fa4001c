"""The series ``fmtb run`` runs: which notebooks (the one place that finds them), in
which order, with which parameters, into which run. :func:`plan` checks everything a
user gave before the first kernel starts, and writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fmtb_helpers import board, data, paths
from fmtb_helpers.paths import CHECKPOINT_NAME

from . import fetch, folders, params, processes
from .errors import UsageError

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
    """The edition's notebooks, in order: ``01_*.ipynb`` to ``06_*.ipynb``."""
    return folders.notebooks(edition_dir(lang))


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
        return self.out or folders.build_dir() / "executed" / self.run_name


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
    declared = params.merge(per_notebook.values())
    pairs = list(pairs)
    for flag, name in (("--runs-dir", "runs_dir"), ("--run-name", "run_name")):
        if any(n == name for n, _ in pairs):
            raise UsageError(f"give {name} with {flag}, not -p {name}")
    try:
        values = params.parse(pairs, declared)
        if run_name is not None:
            folders.check_name(run_name, "--run-name")
            params.parse_value("run_name", run_name, DEFAULT_RUN_NAME)
    except params.ParameterError as exc:
        raise UsageError(str(exc)) from None

    runs = folders.runs_dir(runs_dir)
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
        fetch.ensure_data(data_root(values, declared, lang),
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


def data_root(values: dict[str, object], declared: dict[str, object],
              lang: str = "en") -> Path:
    """Where the notebooks will read Fashion-MNIST: ``data_root`` (given or their
    default) resolved from the edition's folder, as the notebooks resolve it."""
    given = data.root(values.get("data_root", declared.get("data_root")))
    return edition_dir(lang) / Path(given).expanduser()


def dependencies(notebooks: list[Path]) -> dict[Path, set[Path]]:
    """What each notebook must wait for (see WAITS_FOR). The runner opens the run
    itself, so nothing waits for 01."""
    by_number = {number(nb): nb for nb in notebooks}
    return {nb: {by_number[n] for n in WAITS_FOR.get(number(nb), {}) if n in by_number}
            for nb in notebooks}




def declarations(notebooks: list[Path]) -> dict[str, object]:
    """``{name: default}`` over the ``parameters`` cells of ``notebooks``, merged: the
    one place a set of notebooks' declarations are put together (``fmtb run``, the
    sweeps). Not ``papermill.inspect_notebook``: it gives each default as source text
    (``'0.001'``) with a guessed type name, where the checks need the value itself, and
    it would import papermill (seconds: more than nbformat, which this reads with) in
    every ``fmtb`` that only checks its input."""
    return params.merge(params.declared(nb) for nb in notebooks)
