"""The one kind of lock fmtb takes: a file lock, portable (the ``filelock`` package:
``flock`` on POSIX, ``LockFileEx`` on Windows), released when its holder releases
it or ends, however it ends.

:func:`take` locks a lock file; :func:`for_folder` names the lock file that stands
for a folder (a run being written, a runs folder being claimed in), kept in the
user's cache so that nothing is written in or beside the folder itself (TensorBoard
reads it, and people list it). One lock file per folder path, never removed: a lock
file removed while another process waits on it would let two holders in.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from filelock import FileLock, Timeout


def locks_dir() -> Path:
    """Where the folders' lock files live: ``$XDG_CACHE_HOME/fmtb/locks`` (``~/.cache``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "fmtb" / "locks"


def for_folder(folder: Path) -> Path:
    """The lock file that stands for ``folder``: one per absolute path, whether the
    folder exists or not (a run's name is locked, not the folder that has it now)."""
    key = str(Path(folder).resolve()).encode("utf-8", "surrogateescape")
    return locks_dir() / f"{hashlib.sha256(key).hexdigest()[:32]}.lock"


class Unlocked:
    """Where a file system cannot lock (some network file systems), fmtb runs
    unlocked, as it did before it locked: this stands for the lock it could not take."""

    def release(self) -> None:
        return None


def take(path: Path, wait: bool = True) -> FileLock | Unlocked | None:
    """Hold the lock file ``path`` (created, with its folder, if need be) until
    :func:`release`. None: another process holds it (``wait``: wait for it instead)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: unlocked
        return Unlocked()
    lock = FileLock(path, thread_local=False)
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        return None
    except NotImplementedError:  # this file system has no flock
        return Unlocked()
    return lock


def release(lock: FileLock | Unlocked | None) -> None:
    if lock is not None:
        lock.release()


@contextlib.contextmanager
def held(path: Path):
    """Hold the lock file ``path`` for the ``with`` block, waiting for it if need be."""
    lock = take(path, wait=True)
    try:
        yield
    finally:
        release(lock)
