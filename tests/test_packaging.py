"""The project's set-up files agree with each other."""
import importlib.util
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].strip().lower()


def test_environment_yml_lists_every_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"][0] == "conda-forge" and "pytorch" not in env["channels"]
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    for requirement in project["dependencies"]:
        name = _name(requirement)
        assert CONDA_NAMES.get(name, name) in conda, f"{name} missing from environment.yml"
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e ." in pip


def test_torch_ranges_accept_the_local_releases():
    from packaging.requirements import Requirement

    deps = {Requirement(r).name: Requirement(r)
            for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    assert deps["torch"].specifier.contains("2.14.1") and deps["torch"].specifier.contains("2.15.0")
    assert deps["torchvision"].specifier.contains("0.29.1")
    assert not deps["torch"].specifier.contains("2.13.0")


def test_ci_calls_make_test_and_readme_names_both_commands():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme


def test_console_script_is_installed():
    import shutil
    import sys

    fmtb = Path(sys.executable).with_name("fmtb")
    assert fmtb.is_file() or shutil.which("fmtb")


def test_every_module_the_makefile_runs_exists():
    modules = re.findall(r"python -m ([\w.]+)", (ROOT / "Makefile").read_text())
    assert "fmtb.maintainer.store" in modules
    assert [m for m in modules if importlib.util.find_spec(m) is None] == []
