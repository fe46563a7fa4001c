"""A sweep's grid: ``--grid NAME=V1,V2`` parsed, checked like ``fmtb run``'s ``-p``,
and spelled out as combinations, each with the folder its run gets.

Shared by both engines of ``fmtb sweep`` (:mod:`fmtb.local_sweep`,
:mod:`fmtb.ray_sweep`); it knows nothing of either.
"""
from __future__ import annotations

import itertools
import re

from . import params, series
from .errors import UsageError
from .trials import TRIAL_NOTEBOOKS


def parse(items: list[str]) -> dict[str, list[str]]:
    """``["lr=0.001,0.01"]`` as ``{"lr": ["0.001", "0.01"]}``."""
    grid: dict[str, list[str]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        choices = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not name or not choices:
            raise UsageError(f"--grid takes NAME=V1,V2,...; not {item!r}")
        if name in grid:
            raise UsageError(f"--grid names {name!r} twice")
        grid[name] = choices
    if not grid:
        raise UsageError("give at least one --grid NAME=V1,V2,...")
    return grid


def combinations(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def folder_name(combo: dict[str, str]) -> str:
    """The run folder of one combination: ``lr_0.01-momentum_0.9``."""
    text = "-".join(f"{name}_{value}" for name, value in combo.items())
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text)


def declarations() -> dict[str, object]:
    """``{name: default}`` of what a sweep may set: the trial's notebooks' parameters,
    but the run's folder, which the sweep chooses."""
    found = series.declarations(series.select(TRIAL_NOTEBOOKS))
    for name in ("runs_dir", "run_name"):
        found.pop(name)
    return found


def check(grid: dict[str, list[str]], pairs: list[tuple[str, str]],
          runs_here: bool = True) -> list[dict[str, object]]:
    """Refuse, before anything runs, what ``fmtb run`` would refuse; ``runs_here=False``:
    the notebooks run on other machines, which check their devices and cores. Returns
    each combination's checked values (the sweep's ``-p`` and its own)."""
    declared = declarations()
    parsed_values: dict[str, dict[str, object]] = {}
    try:
        params.check_names(list(grid), list(declared))
        for name, values in grid.items():
            if any(n == name for n, _ in pairs):
                raise params.ParameterError(f"{name} is in --grid and in -p; give it once")
            parsed = [params.parse_value(name, value, declared[name], runs_here)
                      for value in values]
            for i, value in enumerate(parsed):  # 0.001 and 1e-3 would be one run twice
                if value in parsed[:i]:
                    raise params.ParameterError(
                        f"--grid {name} gives {value!r} twice ({values[parsed.index(value)]!r} "
                        f"and {values[i]!r}); give each value once")
            parsed_values[name] = dict(zip(values, parsed, strict=True))
        common = params.parse(pairs, declared, runs_here)
    except params.ParameterError as exc:
        raise UsageError(str(exc)) from None
    seen: dict[str, dict[str, str]] = {}
    checked = []
    for combo in combinations(grid):
        other = seen.setdefault(folder_name(combo), combo)
        if other is not combo:
            diff = [n for n in combo if combo[n] != other[n]]
            raise UsageError(
                f"--grid {diff[0]} values {other[diff[0]]!r} and {combo[diff[0]]!r} would share "
                f"the folder {folder_name(combo)}; give values that differ in letters or digits")
        own = {name: parsed_values[name][value] for name, value in combo.items()}
        checked.append({**declared, **common, **own})
    return checked
