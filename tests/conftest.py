"""Shared fixtures: small IDX files written by the tests, and the real data.
(The root conftest.py stops every TensorBoard server the tests start.)"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fmtb_helpers import data, paths

REAL_MIRROR = Path(data.DEFAULT_MIRROR)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) in the IDX format MNIST and Fashion-MNIST use."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def small_idx(tmp_path, monkeypatch):
    """A mirror folder with four small gzipped IDX files (12 train, 6 test images);
    ``data.SHA256`` is pointed at their decompressed hashes."""
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
    monkeypatch.setattr(data, "SHA256", hashes)
    return mirror, arrays


@pytest.fixture(scope="session")
def real_data_root():
    """The project's data folder, filled from the Debian mirror if need be."""
    if not (REAL_MIRROR.is_dir() or (data.raw_dir() / "train-images-idx3-ubyte").is_file()):
        pytest.fail("the real Fashion-MNIST is needed: apt-get install dataset-fashion-mnist")
    root = paths.data_root()
    data.ensure_data(root, download=False)
    return root


# --- one small series, shared by the runner, server and browser tests -------------

FMTB = str(Path(sys.executable).with_name("fmtb"))
SUBSET, LOG_EVERY = 2000, 40          # 500 mini-batches: 12 log points, more than
LOG_POINTS = SUBSET // 4 // LOG_EVERY  # TensorBoard's default of 10 images per tag
EVAL_EVERY = 250                       # 2 test-set evaluations
EVAL_POINTS = SUBSET // 4 // EVAL_EVERY
EVAL_IMAGES = 1500                     # test images scored at each of them
N_FEATURES = 300                       # learned-feature embedding of notebook 06
CLASSES = set(data.CLASSES)
SERIES_RUN = "fashion_mnist_experiment_1"


def fmtb(*args, timeout=900, env=None):
    """``fmtb ARGS`` as a user runs it; the result has ``seconds``."""
    started = time.monotonic()
    proc = subprocess.run([FMTB, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    proc.seconds = time.monotonic() - started
    return proc


def assert_refused(proc, *words, code=2, command="run"):
    """``fmtb COMMAND`` exited ``code`` with a last line naming the problem, no traceback."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == code, out
    assert "Traceback" not in out
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"fmtb {command}: error: ")
    for word in words:
        assert word in last, last


@pytest.fixture(scope="session")
def series(tmp_path_factory, real_data_root):
    """The whole series on a small training subset: ``(base folder, CompletedProcess)``;
    the run is ``base/runs/fashion_mnist_experiment_1``."""
    base = tmp_path_factory.mktemp("series")
    proc = fmtb("run", "--runs-dir", str(base / "runs"), "--out", str(base / "out"),
                "-p", "train_subset", str(SUBSET), "-p", "log_every", str(LOG_EVERY),
                "-p", "eval_every", str(EVAL_EVERY), "-p", "n_features", str(N_FEATURES),
                "-p", "eval_images", str(EVAL_IMAGES), "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return base, proc
