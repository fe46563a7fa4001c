"""A Colab-like environment, made here without the network: a virtual environment that
holds only what Colab preinstalls and the series uses (torch, torchvision, tensorboard,
matplotlib, numpy, tqdm, ipykernel, and what they need), and no fmtb, no papermill, no
JupyterLab; with a Jupyter kernel of its own.

The packages are not installed again (torch alone is 5 GB): each distribution of that
closure, as this environment has it, is linked into a folder that the new environment's
only ``.pth`` file names, and its console scripts (``tensorboard``, ``jupyter``, ...) are
written into the new environment's ``bin``, as pip writes them, so that ``%tensorboard``
finds its ``tensorboard`` as in Colab. A notebook run in that kernel sees exactly those
packages, plus what it installs itself with ``%pip``, which goes into the new environment.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

PREINSTALLED = ("torch", "torchvision", "tensorboard", "matplotlib", "numpy", "tqdm",
                "ipykernel")
NOT_COLAB = {"fmtb", "papermill", "jupyterlab", "nbclient", "nbformat", "jupyter-server",
             "ray"}


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def closure(names=PREINSTALLED) -> dict[str, metadata.Distribution]:
    """The distributions ``names`` need, as this environment has them."""
    todo, found = [*names], {}
    while todo:
        name = _name(todo.pop())
        if name in found:
            continue
        dist = metadata.distribution(name)
        found[name] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            todo.append(requirement.name)
    return found


def write_script(path: Path, python: Path, entry: metadata.EntryPoint) -> None:
    """A console script as pip writes one: ``python`` runs ``entry``'s function."""
    function = entry.attr or ""
    path.write_text(f"#!{python}\nimport sys\nfrom {entry.module} import "
                    f"{function.split('.')[0]}\nsys.exit({function}())\n")
    path.chmod(0o755)


def build(folder: Path) -> tuple[Path, Path]:
    """The environment in ``folder``: its python, and a folder of kernel specs holding
    its kernel, ``colab`` (for ``JUPYTER_PATH``)."""
    dists = closure()
    assert not NOT_COLAB & set(dists), NOT_COLAB & set(dists)
    site = folder / "preinstalled"
    site.mkdir(parents=True)
    for dist in dists.values():
        base = Path(dist.locate_file(""))
        for top in {Path(str(f)).parts[0] for f in dist.files or []}:
            source, target = base / top, site / top
            if top not in ("..", "__pycache__") and source.exists() and not target.exists():
                target.symlink_to(source)
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                          "['purelib'])"], capture_output=True, text=True, check=True)
    Path(own.stdout.strip(), "colab-preinstalled.pth").write_text(f"{site}\n")
    for dist in dists.values():
        for entry in dist.entry_points.select(group="console_scripts"):
            write_script(venv / "bin" / entry.name, python, entry)
    kernels = folder / "jupyter" / "kernels" / "colab"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python"}))
    return python, folder / "jupyter"
