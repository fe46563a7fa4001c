"""The notebooks' parameters: what each declares, and values from the command line.

Each notebook has one cell tagged ``parameters`` holding literals; its
defaults give their type. Values from ``-p NAME VALUE`` are parsed to that
type here and checked, before any kernel starts, by the notebooks' own checks
(:mod:`fmtb_helpers.params`, which each notebook runs too), because papermill
only warns about names a notebook does not declare.
"""
from __future__ import annotations

import ast
import difflib
import unicodedata
from pathlib import Path

from fmtb_helpers.params import (  # noqa: F401 (the checks, and their limits, for fmtb)
    CHECKS,
    MAX_SEED,
    MAX_THREADS_PER_CPU,
    TEST_SIZE,
    TRAIN_SIZE,
    Flag,
    Number,
    ParameterError,
    Whole,
    check_run_name,
)

FLAG_WORDS = {"true": True, "1": True, "yes": True, "on": True,
              "false": False, "0": False, "no": False, "off": False}


def _number(kind: type, text: str):
    try:
        return kind(text)
    except ValueError:
        return text  # not a number: the check names the text


def parse_by(rule, name: str, text: str) -> object:
    """``text`` from the command line as the type of ``rule`` (one of the notebooks'
    checks), checked by it."""
    if isinstance(rule, Whole):
        return rule.check(name, _number(int, text))
    if isinstance(rule, Number):
        return rule.check(name, _number(float, text), text)
    if isinstance(rule, Flag):
        return rule.check(name, FLAG_WORDS.get(text.strip().lower(), text))
    return rule.check(name, text)  # Text


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


def _run_name(name: str, text: str) -> str:
    """fmtb's run names are plain folder names in any script (실험1, run-2), typed in
    commands and sweeps: letters and digits, and . _ + - after the first. Combining
    marks (an accent typed as a second character) count with their letter; then the
    notebooks' own check (length)."""
    if not (text and text[0].isalnum() and all(
            c.isalnum() or c in "._+-" or unicodedata.category(c) in ("Mn", "Mc")
            for c in text)):
        raise ParameterError(f"{name} must be a plain folder name (letters of any script, "
                             f"digits, and . _ + - after the first), not {text!r}")
    return check_run_name(text, name)


# fmtb's rules where they are stricter than the notebooks'; the rest is CHECKS, the
# notebooks' own (fmtb_helpers.params). Folders are checked by fmtb (runner, fetch)
# from the notebooks' folder, not here.
STRICTER = {"run_name": _run_name}


def _device_name(name: str, text: str) -> str:
    from fmtb_helpers.runtime import DEVICES

    if text not in DEVICES:
        raise ParameterError(f"{name} must be one of {', '.join(DEVICES)}, not {text!r}")
    return text


# What only the machine that runs a notebook can check (its devices, its cores): for
# a sweep on Ray, fmtb checks just the form here; the node checks the rest.
ON_THE_NODE = {
    "device": _device_name,
    "num_threads": lambda n, v: parse_by(Whole(0), n, v),
}


def parse_value(name: str, text: str, default: object, on_this_machine: bool = True) -> object:
    """``text`` as a value of parameter ``name``, whose default is ``default``;
    ``on_this_machine=False``: the notebooks will run on another machine (see ON_THE_NODE)."""
    if not on_this_machine and name in ON_THE_NODE:
        return ON_THE_NODE[name](name, text)
    if name in STRICTER:
        return STRICTER[name](name, text)
    if name in CHECKS:
        return parse_by(CHECKS[name], name, text)
    if isinstance(default, bool):
        return parse_by(Flag(), name, text)
    if isinstance(default, int):
        return parse_by(Whole(), name, text)
    if isinstance(default, float):
        return parse_by(Number(), name, text)
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
