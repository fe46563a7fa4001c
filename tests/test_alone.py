"""A notebook opened alone, as Colab, Kaggle or a downloaded copy opens it: in an empty
folder, in a Colab-like kernel without fmtb (tests/colab.py), with no network. Its first
cell installs the helpers from the repository given as ``FMTB_REPOSITORY`` (a local
clone, as a pip requirement), it fetches Fashion-MNIST from ``FMTB_DATA_MIRROR``, makes
what an earlier notebook would have (06: a short model, and the run its exercise 3
reads), and runs to its end.

``make test`` runs 06, the notebook that needs the most from the others, alone in
English: 38 s on this project's two shared cores (7 s for the Colab-like environment and
the clone, 30 s for the notebook; 32 s of CPU). ``make alone`` runs all twelve, both
editions: 12 minutes measured, 20 to 55 s each but 06 in English, 318 s before its short
model trained in one thread as 05's does. Notebook 05 alone gets ``train_subset=2000``;
the others their defaults."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import colab
from support import REAL_MIRROR

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not REAL_MIRROR.is_dir(),
                                 reason="apt-get install dataset-fashion-mnist")]

NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix()
                   for p in [*ROOT.glob("notebooks/0*.ipynb"), *ROOT.glob("notebooks/ko/0*.ipynb")])
IN_MAKE_TEST = "notebooks/06_assess_the_model.ipynb"  # the rest: marker alone (make alone)
CHOSEN = [pytest.param(nb, marks=() if nb == IN_MAKE_TEST else pytest.mark.alone)
          for nb in NOTEBOOKS]
SHORT = {"05": {"train_subset": 2000}}  # a quick epoch; the defaults otherwise


def snapshot(clone: Path) -> Path:
    """A repository holding this one's last commit, in one commit of its own, as pip's
    ``git clone --filter=blob:none`` finds GitHub's: not shallow. (From a shallow clone,
    which cannot filter, git fetches each file in a process of its own: 10 minutes.)"""
    clone.mkdir()
    files = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], check=True,
                           capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(clone)], input=files, check=True)
    for command in (["init", "-q"], ["add", "-A"],
                    ["-c", "user.name=fmtb", "-c", "user.email=fmtb@localhost", "commit",
                     "-q", "-m", "snapshot"]):
        subprocess.run(["git", "-C", str(clone), *command], check=True)
    return clone


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """The Colab-like environment, a clone of this repository (its last commit) and the
    environment a notebook opened alone runs with: no network but loopback."""
    folder = tmp_path_factory.mktemp("colab")
    python, jupyter = colab.build(folder / "env")
    clone = snapshot(folder / "clone")
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "VIRTUAL_ENV", "FMTB_DATA", "FMTB_LANG")}
    env.update({
        "JUPYTER_PATH": str(jupyter), "PYTHONNOUSERSITE": "1",
        "FMTB_REPOSITORY": f"git+file://{clone}", "FMTB_DATA_MIRROR": str(REAL_MIRROR),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_RETRIES": "0",  # PyPI: refused once
        # no network: every address but loopback goes to a port where nothing listens (pip
        # builds the clone with setuptools from this machine's package folder, as Colab
        # builds it with its own)
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "NO_PROXY": "localhost,127.0.0.1", "no_proxy": "localhost,127.0.0.1",
    })
    return python, env, folder


@pytest.mark.parametrize("notebook", CHOSEN)
def test_a_notebook_opened_alone_installs_its_helpers_and_runs(alone, notebook, tmp_path):
    python, env, folder = alone
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "fmtb"], env=env,
                   capture_output=True)  # each notebook starts without the helpers
    here = tmp_path / "learner"
    here.mkdir()
    copy = here / Path(notebook).name
    copy.write_bytes((ROOT / notebook).read_bytes())
    out = tmp_path / "executed.ipynb"
    parameters = [arg for name, value in SHORT.get(copy.name[:2], {}).items()
                  for arg in ("-p", name, str(value))]
    done = subprocess.run(
        [sys.executable, "-m", "papermill", str(copy), str(out), "-k", "colab",
         "--cwd", str(here), *parameters], env=env, capture_output=True, text=True,
        timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    cells = json.loads(out.read_text())["cells"]
    said = "".join(o.get("text", "") if isinstance(o.get("text", ""), str)
                   else "".join(o["text"]) for c in cells if c["cell_type"] == "code"
                   for o in c.get("outputs", []))
    found = subprocess.run([str(python), "-c", "import fmtb_helpers; "
                            "print(fmtb_helpers.__file__)"], env=env, cwd=tmp_path,
                           capture_output=True, text=True)
    assert found.returncode == 0, found.stderr  # installed by the notebook, from the clone
    assert Path(found.stdout.strip()).is_relative_to(folder), found.stdout
    raw = tmp_path / "data" / "FashionMNIST" / "raw"  # the default data_root, ../data
    assert len(list(raw.glob("*-ubyte"))) == 4, said  # fetched from the mirror
    if copy.name.startswith("06"):  # it trained what 05 would have, and said so, one line each
        korean = Path(notebook).parent.name == "ko"
        line = "모델이 없어 05처럼 학습합니다" if korean else "(this notebook runs alone)"
        runs = [r.name for r in (tmp_path / "runs").iterdir() if (r / "net.pt").is_file()]
        assert said.count(line) == 2 and sorted(runs) == [
            "fashion_mnist_experiment_1", "fashion_mnist_experiment_1_lr0.01"], (said, runs)
