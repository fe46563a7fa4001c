"""Fashion-MNIST for ``fmtb data`` and ``fmtb run``'s checks, offline or online.

Where the four IDX files come from, in order:

1. already under ``<data_root>/FashionMNIST/raw/``;
2. a mirror folder holding the four ``.gz`` files: ``$FMTB_DATA_MIRROR``, by
   default ``/usr/share/datasets/fashion-mnist`` (Debian's
   ``dataset-fashion-mnist``), decompressed into ``raw/``;
3. torchvision's own download, for users online.

Every decompressed file is checked by SHA-256. Importing this module does not
import torch (``fmtb`` checks data without paying for it). Whatever is written goes to a
temporary name first and is renamed into place, so nothing half-written is
left behind.
"""
from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import zlib
from pathlib import Path

from fmtb_helpers import paths
from fmtb_helpers.data import DataError, raw_dir

from . import locks

MIRROR_ENV = "FMTB_DATA_MIRROR"
DEFAULT_MIRROR = "/usr/share/datasets/fashion-mnist"

# SHA-256 of the decompressed IDX files (the same bytes torchvision extracts).
SHA256 = {
    "train-images-idx3-ubyte":
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte":
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte":
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte":
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mirror_dir(mirror: str | Path | None) -> Path:
    return Path(mirror if mirror is not None
                else os.environ.get(MIRROR_ENV) or DEFAULT_MIRROR)


def _how_to_get_it(root: Path, mirror: Path, missing: list[str], cause: str = "") -> str:
    raw, lacks = raw_dir(root), [f"{n}.gz" for n in missing if not (mirror / f"{n}.gz").is_file()]
    what = f"{root} does not exist" if not root.exists() else f"{', '.join(missing)} missing"
    if not lacks:  # only when checking: the mirror would serve
        return (f"Fashion-MNIST is not under {raw} ({what}); the mirror {mirror} has it: run "
                f"'fmtb data --data-root {root}' to decompress it there first")
    what += (f"; {mirror} lacks {', '.join(lacks)}" if mirror.is_dir() else "") + cause
    return (f"Fashion-MNIST is not under {raw} ({what}). Provide it in one of three ways: "
            f"(1) put the four IDX files in {raw}; (2) point ${MIRROR_ENV} at a folder with the "
            f"four .gz files (on Debian: apt-get install dataset-fashion-mnist, which fills "
            f"{DEFAULT_MIRROR}); (3) go online. For (2) and (3), run 'fmtb data --data-root "
            f"{root}'.")


def check_file(path: Path) -> None:
    """Raise DataError naming ``path`` unless it holds the expected bytes."""
    expected = SHA256[path.name]
    if sha256(path) != expected:
        raise DataError(
            f"{path} is truncated or corrupt (its SHA-256 is not Fashion-MNIST's); "
            f"delete it and run 'fmtb data --data-root {path.parents[2]}' to fetch it again.")


def _gunzip(source: Path):
    """The decompressed blocks of ``source``; a DataError blaming it if it cannot be read."""
    try:
        with gzip.open(source, "rb") as src:
            while block := src.read(1 << 20):
                yield block
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{source} could not be read as gzip ({exc}); it is truncated or "
                        f"corrupt: reinstall the mirror or unset ${MIRROR_ENV}.") from exc


def _from_mirror(raw: Path, mirror: Path, names: list[str]) -> None:
    for name in names:
        source = mirror / f"{name}.gz"
        try:  # errors reading the source are _gunzip's; the rest are about writing
            digest = hashlib.sha256()
            with paths.atomic_write(raw / name) as out:
                for block in _gunzip(source):
                    digest.update(block)
                    out.write(block)
                if digest.hexdigest() != SHA256[name]:
                    raise DataError(
                        f"{source} does not hold Fashion-MNIST's {name} (SHA-256 mismatch); "
                        f"reinstall the mirror (apt-get install --reinstall "
                        f"dataset-fashion-mnist) or unset ${MIRROR_ENV}.")
        except OSError as exc:
            full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
            raise DataError(f"could not write {raw / name}: {exc.strerror or exc}; "
                            f"{'free some disk space' if full else 'make it writable'} or "
                            f"choose another data_root") from exc


def _download(root: Path) -> None:
    from torchvision.datasets import FashionMNIST

    for train in (True, False):
        FashionMNIST(str(root), train=train, download=True)


@contextlib.contextmanager
def _fetching(root: Path):
    """Hold ``<root>/.fmtb-fetch.lock`` while fetching: torchvision's download writes
    in place, and trials of a sweep on one node fetch at once (:mod:`fmtb.locks`,
    released when the process ends, however it ends)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        lock = locks.take(root / ".fmtb-fetch.lock", wait=True)
    except OSError as exc:
        raise DataError(f"could not write in {root}: {exc.strerror or exc}; make it "
                        f"writable or choose another data_root") from exc
    try:
        yield
    finally:
        locks.release(lock)


def ensure_data(data_root: str | Path | None = None, *, mirror: str | Path | None = None,
                download: bool = True, verify: bool = True, check_only: bool = False) -> Path:
    """Make sure the four IDX files are under ``<data_root>/FashionMNIST/raw``.

    Returns the raw folder. Raises :class:`DataError` with a one-line message
    when the data is damaged or cannot be had. ``check_only`` writes nothing (no
    folder, no decompression, no download): the files must be there already.
    """
    root = paths.data_root(data_root)
    raw = raw_dir(root)
    mirror_dir = _mirror_dir(mirror)
    for path in (raw / name for name in SHA256):
        if path.exists() and not path.is_file():
            raise DataError(f"{path} is not a file (a folder?), where Fashion-MNIST's data "
                            f"should be; remove it and run 'fmtb data --data-root {root}'")
    missing, cause = [name for name in SHA256 if not (raw / name).is_file()], ""
    if missing and mirror_dir.exists() and not mirror_dir.is_dir():
        raise DataError(f"the mirror {mirror_dir} is a file, not a folder: point ${MIRROR_ENV} "
                        f"(or 'fmtb data --mirror') at the folder holding the four .gz files")
    if missing and not check_only:
        with _fetching(root):  # another fmtb (a trial beside this one) may be fetching it
            missing = [name for name in SHA256 if not (raw / name).is_file()]
            if missing and all((mirror_dir / f"{name}.gz").is_file() for name in missing):
                _from_mirror(raw, mirror_dir, missing)
            elif missing and download:
                try:
                    _download(root)
                except Exception as exc:  # no network, DNS failure, HTTP error, bad MD5 ...
                    cause = " ".join(f"; the download failed: {type(exc).__name__}: {exc}"
                                     .split())
        missing = [name for name in SHA256 if not (raw / name).is_file()]
    if missing:
        raise DataError(_how_to_get_it(root, mirror_dir, missing, cause))
    if verify:
        for name in SHA256:
            check_file(raw / name)
    return raw
