"""Folders fmtb writes: checked before anything runs, claimed atomically when used.

Two ``fmtb`` commands started at once must never share a run: a folder is
claimed by creating it (``mkdir`` fails if it exists), never by looking first,
and a run being written is locked (:func:`hold`, a :mod:`fmtb.locks` file lock) for
as long as it is, so that another command cannot move it aside (``--replace``) or add
to it meanwhile.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import time
from pathlib import Path

from fmtb_helpers import paths

from . import locks
from .errors import UsageError

MAX_NAME = 100  # characters in a run or sweep name; file systems allow 255 bytes,
MAX_BYTES = 200  # and a run moved aside takes 20 more (-<time>-<n>); 한 takes 3 in UTF-8


def runs_dir(path: str | Path | None = None) -> Path:
    return paths.resolve(path, "runs")


def build_dir() -> Path:
    return paths.project_root() / "build"


def notebooks(folder: str | Path | None = None) -> list[Path]:
    """The series' notebooks in ``folder`` (default: ``notebooks/``, the English edition;
    ``notebooks/ko`` holds the Korean one), in order: the one place that finds them."""
    return sorted(Path(folder or paths.notebooks_dir()).glob("[0-9][0-9]_*.ipynb"))


def check_writable(path: Path, flag: str) -> None:
    """Refuse (one line) a ``path`` that fmtb could not create or write into;
    creates nothing."""
    existing = path
    while not existing.exists():
        if existing.is_symlink():  # a dangling link
            raise UsageError(f"{flag} {path}: {existing} is a broken link; choose another folder")
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{flag} {path}: {existing} is a file, not a folder; "
                         f"choose another {flag}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: {existing} is not writable; choose another {flag}")


def check_name(name: str, flag: str) -> None:
    if len(name) > MAX_NAME:
        raise UsageError(f"{flag} is {len(name)} characters long; give at most {MAX_NAME}")
    size = len(name.encode("utf-8", "surrogateescape"))
    if size > MAX_BYTES:
        raise UsageError(f"{flag} is {size} bytes long in UTF-8 (a Hangul syllable takes 3); "
                         f"give at most {MAX_BYTES}")


def _os_error(path: Path, exc: OSError) -> UsageError:
    reason = {errno.EACCES: "permission denied", errno.EROFS: "read-only file system",
              errno.ENOTDIR: "a file is in the way", errno.ENOSPC: "the disk is full",
              errno.ENAMETOOLONG: "name too long"}.get(exc.errno, exc.strerror)
    return UsageError(f"cannot create {path}: {reason}")


def claim(path: Path) -> Path:
    """Create ``path`` (its parents as needed); FileExistsError if it exists.
    Other failures (permissions, a file in the way, a full disk) are one line."""
    make(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        if not path.is_dir():
            raise UsageError(f"cannot create {path}: a file is in the way") from None
        raise
    except OSError as exc:
        raise _os_error(path, exc) from None
    return path


def make(path: Path) -> Path:
    """``mkdir -p path``, failures in one line."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # pathlib's word for a file where a folder should be
        raise UsageError(f"cannot create {path}: a file is in the way") from None
    except OSError as exc:
        raise _os_error(path, exc) from None
    return path


def numbered(parent: Path, stem: str) -> list[int]:
    """The N of every ``<stem>_N`` in ``parent``."""
    if not parent.is_dir():
        return []
    pattern = re.escape(stem) + r"_(\d+)"
    return sorted(int(m.group(1)) for p in parent.iterdir()
                  if (m := re.fullmatch(pattern, p.name)))


def claim_next_free(parent: Path, stem: str) -> Path:
    """Create and return ``<parent>/<stem>_N`` for the lowest free N from 1 up."""
    n = 1
    while True:
        try:
            return claim(parent / f"{stem}_{n}")
        except FileExistsError:
            n += 1


def remove_tree(path: Path, tries: int = 3) -> None:
    """``rm -r path``; what its owner removed meanwhile (a kernel's connection file,
    a server's pid file) is not an error, anything else is. A process that is ending
    may still write one last file in it: a folder found not empty is tried again."""
    def gone_already(function, name, exc_info):
        if not issubclass(exc_info[0], FileNotFoundError):
            raise exc_info[1]

    for attempt in range(tries):
        try:
            shutil.rmtree(path, onerror=gone_already)
            return
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY or attempt == tries - 1:
                raise
            time.sleep(0.5)


def hold(folder: Path, wait: bool = False):
    """Lock ``folder`` (:func:`fmtb.locks.for_folder`: nothing is written in it) until
    :func:`release`, or the process ends however it ends. None: another process holds
    it (``wait``: wait for it instead)."""
    return locks.take(locks.for_folder(folder), wait=wait)


release = locks.release


@contextlib.contextmanager
def claiming(parent: Path):
    """One claim at a time among the folders of ``parent`` (created if need be):
    looking, moving an old run aside and creating its successor happen as one step."""
    with locks.held(locks.for_folder(make(parent))):
        yield
