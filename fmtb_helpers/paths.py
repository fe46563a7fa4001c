"""Where fmtb keeps data, runs and build output by default.

With the editable install the project asks for, these sit at the project root
(the folder holding ``pyproject.toml``), whatever the working directory is.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKPOINT_NAME = "net.pt"  # notebook 05 saves the trained model as <run>/net.pt


def project_root() -> Path:
    """The checkout this package was installed from, else the working directory."""
    candidate = PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "notebooks").is_dir():
        return candidate
    return Path.cwd()


def resolve(path: str | Path | None, default: str) -> Path:
    """``path`` made absolute; empty or ``None`` means ``<project root>/<default>``.

    Relative paths are taken from the working directory, like any command-line
    path; the notebooks pass paths relative to ``notebooks/`` (their cwd).
    """
    if path is None or str(path) == "":
        return project_root() / default
    return Path(path).expanduser().resolve()


def data_root(path: str | Path | None = None) -> Path:
    return resolve(path, "data")


def runs_dir(path: str | Path | None = None) -> Path:
    return resolve(path, "runs")


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def build_dir() -> Path:
    return project_root() / "build"
