"""The ``fmtb-tensorboard`` command, which :func:`fmtb_helpers.board.setup_tensorboard`
has ``%tensorboard`` start in a live Jupyter session (``TENSORBOARD_BINARY``)."""
from __future__ import annotations

import contextlib
import os
import sys
import time

import psutil

from fmtb_helpers.board_servers import alive, tensorboard_binary


def serve_detached() -> None:
    """The ``fmtb-tensorboard`` command: ``tensorboard ARGS`` in a session of its own.

    ``%tensorboard`` starts its server in the kernel's process group, where the kernel's
    interrupt, restart or shut-down would stop it and every frame that reuses it. Same
    process (exec), so ``%tensorboard`` still finds it; a watcher ends it with the
    Jupyter server that started the kernel (``JPY_PARENT_PID``)."""
    if os.name == "posix" and os.getpgid(0) != os.getpid():  # no sessions on Windows
        os.setsid()
    jupyter = os.environ.get("JPY_PARENT_PID", "")
    if hasattr(os, "fork") and jupyter.isdigit() and int(jupyter) > 1:
        _start_watcher(int(jupyter))
    binary = str(tensorboard_binary())
    os.execv(binary, [binary, *sys.argv[1:]])


def _start_watcher(jupyter_pid: int) -> None:
    """Fork a watcher (twice: not the server's child) that ends this process, about
    to become the server, once the Jupyter server ``jupyter_pid`` has ended."""
    with contextlib.suppress(psutil.NoSuchProcess):
        jupyter, server = psutil.Process(jupyter_pid), psutil.Process()
        if child := os.fork():
            os.waitpid(child, 0)
            return
        try:
            if os.fork() == 0:
                while _runs(server):
                    if not _runs(jupyter):
                        server.terminate()
                    time.sleep(1.0)
        finally:
            os._exit(0)


def _runs(process: psutil.Process) -> bool:
    return process.is_running() and alive(process.pid)
