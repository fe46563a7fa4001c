"""Shared fixtures: small IDX files written by the tests, the real data, one small
series. Shared values and helpers are in ``support.py`` (import them from there).
(The root conftest.py stops every TensorBoard server the tests start.)

Every test module says what it is with ``pytestmark``: ``unit`` (no kernels,
servers or browser: ``pytest -m unit`` takes seconds), ``integration`` or
``browser``. A test module without one of them is taken for ``unit``."""
from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from fmtb import fetch
from fmtb_helpers import data, paths

from support import (  # noqa: F401  (SERIES_RUN: test_browser imports it from here)
    EVAL_IMAGES,
    LOG_EVERY,
    MARK,
    N_FEATURES,
    REAL_MIRROR,
    SERIES_MARK,
    SERIES_RUN,
    SUBSET,
    fmtb,
    write_idx,
)

KINDS = ("unit", "integration", "browser")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:  # this folder's tests (not the notebooks nbval checks beside them)
        if here in item.path.parents and not any(
                item.get_closest_marker(kind) for kind in KINDS):
            item.add_marker(pytest.mark.unit)


@pytest.fixture
def small_idx(tmp_path, monkeypatch):
    """A mirror folder with four small gzipped IDX files (12 train, 6 test images);
    ``fetch.SHA256`` is pointed at their decompressed hashes."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(12) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(6) % 10,
    }
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    hashes = {}
    for name, array in arrays.items():
        plain = tmp_path / name
        write_idx(plain, array)
        hashes[name] = hashlib.sha256(plain.read_bytes()).hexdigest()
        (mirror / f"{name}.gz").write_bytes(gzip.compress(plain.read_bytes()))
        plain.unlink()
    monkeypatch.setattr(fetch, "SHA256", hashes)
    return mirror, arrays


@pytest.fixture(scope="session")
def real_data_root():
    """The project's data folder, filled from the Debian mirror if need be."""
    if not (REAL_MIRROR.is_dir() or (data.raw_dir() / "train-images-idx3-ubyte").is_file()):
        pytest.fail("the real Fashion-MNIST is needed: apt-get install dataset-fashion-mnist")
    root = paths.data_root()
    fetch.ensure_data(root, download=False)
    return root


@pytest.fixture(scope="session")
def series(tmp_path_factory, real_data_root):
    """The whole series on a small training subset, its images read through the
    tutorial's torchvision dataset and DataLoader (``in_memory`` False; the stored
    notebooks, nbval and the walk-through take the default, in memory):
    ``(base folder, CompletedProcess)``; the run is ``base/runs/fashion_mnist_experiment_1``;
    what it started carries ``SERIES_MARK`` (see ``support.processes_marked``)."""
    base = tmp_path_factory.mktemp("series")
    proc = fmtb("run", "--runs-dir", str(base / "runs"), "--out", str(base / "out"),
                "-p", "in_memory", "False",
                "-p", "train_subset", str(SUBSET), "-p", "log_every", str(LOG_EVERY),
                "-p", "n_features", str(N_FEATURES),
                "-p", "eval_images", str(EVAL_IMAGES), "-q", env={MARK: SERIES_MARK})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return base, proc
