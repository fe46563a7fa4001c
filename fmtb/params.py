"""The notebooks' parameters: what each declares, and checks for values from the command line.

Each notebook has one cell tagged ``parameters`` holding literals; its
defaults give their type. Values from ``-p NAME VALUE`` are parsed to that
type and range-checked here, before any kernel starts, because papermill only
warns about names a notebook does not declare.
"""
from __future__ import annotations

import ast
import difflib
import math
import os
import unicodedata
from pathlib import Path


class ParameterError(ValueError):
    """A parameter name or value a user gave is wrong; the message says how."""


def declared(notebook: str | Path) -> dict[str, object]:
    """``{name: default}`` from the notebook's ``parameters`` cell, in order."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(f"{Path(notebook).name} has {len(cells)} cells tagged "
                             f"'parameters'; it needs exactly one")
    out: dict[str, object] = {}
    for node in ast.parse(cells[0].source).body:
        target = (node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1
                  else node.target if isinstance(node, ast.AnnAssign) and node.value else None)
        if not isinstance(target, ast.Name):
            raise ParameterError(f"{Path(notebook).name}: the parameters cell may only "
                                 f"assign literals to names")
        out[target.id] = ast.literal_eval(node.value)
    return out


def merge(declarations) -> dict[str, object]:
    """The parameters several notebooks declare, as one ``{name: default}`` (the first
    notebook to declare a name gives its default)."""
    merged: dict[str, object] = {}
    for declaration in declarations:
        for name, default in declaration.items():
            merged.setdefault(name, default)
    return merged


def _int(name: str, text: str, lo: int | None = None, hi: int | None = None,
         why: str = "") -> int:
    """``text`` as a whole number in ``lo`` .. ``hi``; ``why`` explains an upper
    bound that is a safety limit rather than the parameter's natural range."""
    try:
        value = int(text)
    except ValueError:
        raise ParameterError(f"{name} must be a whole number, not {text!r}") from None
    if hi is not None and value > hi and why:
        raise ParameterError(f"{name} must be at most {hi} ({why}), not {value}")
    if lo is not None and value < lo or hi is not None and value > hi:
        bounds = (f"at least {lo}" if hi is None or why else f"between {lo} and {hi}")
        raise ParameterError(f"{name} must be {bounds}, not {value}")
    return value


def _float(name: str, text: str, positive: bool = False, below: float | None = None) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ParameterError(f"{name} must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise ParameterError(f"{name} must be a finite number, not {text!r}")
    if positive and value <= 0:
        raise ParameterError(f"{name} must be a positive number, not {text!r}")
    if not positive and value < 0:
        raise ParameterError(f"{name} must not be negative, not {text!r}")
    if below is not None and value >= below:
        raise ParameterError(f"{name} must be below {below}, not {text!r}")
    return value


def _bool(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ParameterError(f"{name} must be true or false, not {text!r}")


def _device(name: str, text: str) -> str:
    if text in ("auto", "cpu"):  # there on every machine: no need to import torch
        return text
    from fmtb_helpers.runtime import DeviceError, pick_device

    try:
        pick_device(text)
    except DeviceError as exc:
        raise ParameterError(str(exc)) from None
    return text


def _run_name(name: str, text: str) -> str:
    """A folder name in any script (실험1, run-2): letters and digits, and . _ + - after
    the first; no separator, no leading dot (so no ``..``), no control character.
    Combining marks (an accent typed as a second character) count with their letter."""
    if not (text and text[0].isalnum() and all(
            c.isalnum() or c in "._+-" or unicodedata.category(c) in ("Mn", "Mc")
            for c in text)):
        raise ParameterError(f"{name} must be a plain folder name (letters of any script, "
                             f"digits, and . _ + - after the first), not {text!r}")
    return text


TRAIN_SIZE, TEST_SIZE = 60000, 10000
# NumPy's seeding (np.random.seed, RandomState) takes 0 .. 2**32 - 1; Python's and
# torch's take more, so that is the range every seeder accepts.
MAX_SEED = 2**32 - 1
# More torch threads than cores only makes them wait for each other; a few per core
# leaves room to try oversubscription, and refuses a typo such as 100000 (each
# thread is a real OS thread with its own stack).
MAX_THREADS_PER_CPU = 4

# Parameters with a range; others are parsed by their default's type. A batch
# cannot hold more images than the training set has.
CHECKS = {
    "batch_size": lambda n, v: _int(n, v, 1, TRAIN_SIZE, "the training set's size"),
    "seed": lambda n, v: _int(n, v, 0, MAX_SEED),
    "epochs": lambda n, v: _int(n, v, 1),
    "log_every": lambda n, v: _int(n, v, 1),
    "train_subset": lambda n, v: _int(n, v, 0, TRAIN_SIZE),
    "n_points": lambda n, v: _int(n, v, 1, TRAIN_SIZE),
    "n_features": lambda n, v: _int(n, v, 1, TEST_SIZE),
    "eval_images": lambda n, v: _int(n, v, 0, TEST_SIZE),
    "num_threads": lambda n, v: _int(n, v, 0, MAX_THREADS_PER_CPU * (os.cpu_count() or 1),
                                     f"{MAX_THREADS_PER_CPU} per core of this machine; "
                                     f"0 keeps torch's default"),
    "lr": lambda n, v: _float(n, v, positive=True),
    "momentum": lambda n, v: _float(n, v, below=1.0),
    "device": _device,
    "run_name": _run_name,
}


def _device_name(name: str, text: str) -> str:
    from fmtb_helpers.runtime import DEVICES

    if text not in DEVICES:
        raise ParameterError(f"{name} must be one of {', '.join(DEVICES)}, not {text!r}")
    return text


# What only the machine that runs a notebook can check (its devices, its cores): for
# a sweep on Ray, fmtb checks just the form here; the node checks the rest.
ON_THE_NODE = {
    "device": _device_name,
    "num_threads": lambda n, v: _int(n, v, 0),
}


def parse_value(name: str, text: str, default: object, on_this_machine: bool = True) -> object:
    """``text`` as a value of parameter ``name``, whose default is ``default``;
    ``on_this_machine=False``: the notebooks will run on another machine (see ON_THE_NODE)."""
    if not on_this_machine and name in ON_THE_NODE:
        return ON_THE_NODE[name](name, text)
    if name in CHECKS:
        return CHECKS[name](name, text)
    if isinstance(default, bool):
        return _bool(name, text)
    if isinstance(default, int):
        return _int(name, text)
    if isinstance(default, float):
        return _float(name, text)
    return text


# Parameters the runner sets itself: a user's value would be silently overridden.
RUNNER_OWNED = {
    "fresh_run": "fresh_run is set by fmtb itself (it opens the run before the notebooks "
                 "start); to reuse an existing run name, pass --replace instead",
}


def check_names(given: list[str], known: list[str]) -> None:
    """Refuse names no chosen notebook declares, suggesting the closest known one,
    and names the runner sets itself."""
    for name in given:
        if name in RUNNER_OWNED:
            raise ParameterError(RUNNER_OWNED[name])
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else (
                f"; known: {', '.join(sorted(known))}")
            raise ParameterError(f"unknown parameter {name!r}{hint}")


def parse(pairs: list[tuple[str, str]], declarations: dict[str, object],
          on_this_machine: bool = True) -> dict[str, object]:
    """Checked values for ``-p NAME VALUE`` pairs against ``{name: default}``."""
    check_names([name for name, _ in pairs], list(declarations))
    return {name: parse_value(name, text, declarations[name], on_this_machine)
            for name, text in pairs}
