"""Shared fixtures: small IDX files written by the tests, the real data, and a
private TensorBoard info folder so no server of a test outlives it."""
from __future__ import annotations

import gzip
import hashlib
import struct
import tempfile
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


@pytest.fixture(scope="session", autouse=True)
def private_tensorboard_info(tmp_path_factory):
    """Servers that tests start (directly or through a kernel's ``%tensorboard``) are
    recorded in a private TMPDIR; every one still alive at the end is stopped."""
    import os

    from fmtb_helpers import board

    old = os.environ.get("TMPDIR")
    tmp = tmp_path_factory.mktemp("tmpdir")
    os.environ["TMPDIR"] = str(tmp)
    tempfile.tempdir = None
    try:
        yield tmp
    finally:
        board.stop_servers()
        if old is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old
        tempfile.tempdir = None
