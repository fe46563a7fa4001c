"""A private ``$TMPDIR``, and a reaper that cleans up after fmtb even when it is killed.

:func:`own_tmpdir` points ``$TMPDIR`` (for this process and all it starts) at a
new folder and removes it at the end; the tests' root ``conftest.py`` uses it too.

:func:`reaped_tmpdir` adds a guard for ``fmtb sweep``: a small reaper process, in
a session of its own so that Ctrl-C and a closed terminal leave it be, watches
fmtb's descendants (Ray's own processes, their workers, the kernels, TensorBoard)
every :data:`POLL_S` seconds and waits for fmtb's end: it holds the read end of a
pipe whose write end only fmtb holds, so it learns of any end, SIGKILL included.
It then ends every descendant it saw that still runs, with what they started, and
every process that carries the sweep's mark in its environment (SIGTERM, then
SIGKILL), and removes the folder: the kernels' connection files (with their keys),
a local Ray instance's session, the trials' folders. (The mark alone would not
do: Ray's agents rename themselves, ``ray::DashboardAgent``, over their
environment, and orphans lose their place in the tree.)
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from .folders import remove_tree
from .processes import end

MARK = "FMTB_SCRATCH"  # in the environment of every process a sweep starts
GRACE_S = 5.0          # between the reaper's SIGTERM and its SIGKILL
POLL_S = 1.0           # between two looks at fmtb's descendants


@contextlib.contextmanager
def own_tmpdir(prefix: str):
    """Point ``$TMPDIR`` (for this process and all it starts) at a new folder,
    removed at the end: normally, on an error or on Ctrl-C (a SIGTERM or SIGHUP
    reaches this only where fmtb turns it into an exception)."""
    saved = os.environ.get("TMPDIR")
    own = tempfile.mkdtemp(prefix=prefix)
    os.environ["TMPDIR"], tempfile.tempdir = own, None
    try:
        yield own
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved
        tempfile.tempdir = None
        remove_tree(Path(own))


@contextlib.contextmanager
def reaped_tmpdir(prefix: str):
    """:func:`own_tmpdir`, with the reaper: what fmtb starts inside ends with it, and
    the folder goes, however fmtb ends."""
    with own_tmpdir(prefix) as own:
        mark = uuid.uuid4().hex
        env = {k: v for k, v in os.environ.items() if k != MARK}
        reaper = subprocess.Popen(
            [sys.executable, "-m", __name__, str(os.getpid()), mark, own],
            stdin=subprocess.PIPE, env=env, start_new_session=True)
        saved = os.environ.get(MARK)
        os.environ[MARK] = mark
        try:
            yield own
        finally:
            if saved is None:
                os.environ.pop(MARK, None)
            else:
                os.environ[MARK] = saved
            reaper.stdin.close()  # the reaper's signal: fmtb is done
            try:  # it ends what is left (nothing, normally) and returns
                reaper.wait(timeout=60)
            except subprocess.TimeoutExpired:  # still ending something: it goes on alone
                pass


def marked(mark: str, but: set[int] = frozenset()) -> list:
    """The live processes whose environment holds ``MARK=mark``."""
    import psutil

    needle = {MARK: mark}
    found = []
    for proc in psutil.process_iter(["environ", "status"]):
        if proc.pid in but or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        environ = proc.info["environ"] or {}  # None: not ours to read
        if environ.get(MARK) == needle[MARK]:
            found.append(proc)
    return found


def reap(parent: int, mark: str, folder: str, seen=()) -> None:
    """End the processes ``seen`` that still run, what they started, and every process
    carrying ``mark`` (but ``parent`` and this one), then remove ``folder``. Ended
    processes may have started others meanwhile: look again."""
    import psutil

    spare = {parent, os.getpid()}
    for _ in range(5):
        procs = {p.pid: p for p in marked(mark, spare)}
        for proc in seen:
            try:
                if proc.is_running() and proc.pid not in spare:
                    procs[proc.pid] = proc
                    procs.update((c.pid, c) for c in proc.children(recursive=True))
            except psutil.Error:
                pass  # ended meanwhile
        procs = [p for pid, p in procs.items() if pid not in spare]
        if not procs:
            break
        end(procs, GRACE_S)
    if os.path.isdir(folder):
        remove_tree(Path(folder))


def watch(parent: int) -> list:
    """fmtb's descendants, looked at every POLL_S seconds until fmtb closes this
    process's stdin or dies: each that was seen."""
    import select

    import psutil

    seen: dict[int, psutil.Process] = {}
    try:
        root = psutil.Process(parent)
    except psutil.NoSuchProcess:
        return []
    while True:
        try:
            for proc in root.children(recursive=True):
                if proc.pid not in seen or not seen[proc.pid].is_running():
                    seen[proc.pid] = proc
        except psutil.NoSuchProcess:  # fmtb is gone: its pipe says so next
            pass
        if select.select([sys.stdin], [], [], POLL_S)[0] and not os.read(sys.stdin.fileno(), 64):
            return list(seen.values())


def main(argv: list[str]) -> int:
    parent, mark, folder = int(argv[0]), argv[1], argv[2]
    reap(parent, mark, folder, watch(parent))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
