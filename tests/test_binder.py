"""Binder builds the repository by repo2docker's conventions (binder/): the learner's
packages, then fmtb and the data. Binder itself cannot be reached from here; these
check that what it would read stays in step with pyproject.toml."""
import os
import re
from pathlib import Path

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.unit

CONDA_NAMES = {"torch": "pytorch"}  # conda-forge's name where it differs from PyPI's


def names(requirements) -> dict[str, str]:
    out = {}
    for requirement in requirements:
        found = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(.*)", requirement)
        out[CONDA_NAMES.get(found[1], found[1]).lower()] = found[2].replace(" ", "")
    return out


def test_binder_installs_the_learners_packages_as_pyproject_names_them():
    core = names(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
                 ["dependencies"])
    binder = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    listed = names(d.split("#")[0].replace("=", "==", 1) if re.match(r"[^<>=]+=[^=]", d)
                   else d for d in binder["dependencies"] if isinstance(d, str))
    assert set(core) <= set(listed), f"missing on Binder: {set(core) - set(listed)}"
    assert set(listed) - set(core) <= {"python", "pip"}, set(listed) - set(core)
    for name, bound in core.items():
        assert listed[name] == bound, (name, listed[name], bound)
    assert "jupyter-server-proxy" in listed  # %tensorboard's frame through the hub


def test_binder_post_build_installs_fmtb_and_fetches_the_data():
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK)
    lines = [line for line in post.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "set -euo pipefail"
    assert any("pip install --no-deps" in line and line.endswith(" -e .") for line in lines)
    assert lines[-1] == "fmtb data"
