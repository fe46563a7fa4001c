"""TensorBoard servers for the ``fmtb`` command, the maintainer's tools and the
tests: start, stop.

Every server started by ``%tensorboard`` or by :class:`TensorBoardServer`
records itself in TensorBoard's info directory (:mod:`fmtb_helpers.board_servers`
reads it).
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from fmtb_helpers import board_servers
from fmtb_helpers.board_servers import tensorboard_binary

from . import processes

# What the notebooks' %tensorboard passes too: TensorBoard keeps 10 images a tag
# unless told otherwise, and notebook 05 logs 15 figures
SERVER_FLAGS = ("--samples_per_plugin", "images=100")


def start(args: list[str], cwd: str | Path | None = None, timeout: float = 90.0,
          outlive_fmtb: bool = False, nice: int = 0, output=subprocess.DEVNULL):
    """Start ``tensorboard ARGS`` and wait until it has registered itself (so
    ``%tensorboard`` with the same arguments and working directory reuses it);
    returns ``(Popen, TensorBoardInfo)``. Unless ``outlive_fmtb``, the server ends
    when fmtb does, however fmtb ends. Raises RuntimeError if it exits or does not
    register within ``timeout`` seconds."""
    if outlive_fmtb:
        preexec = (lambda: os.nice(nice)) if nice else None
    else:
        preexec = processes.die_with_parent(nice=nice)
    # its own session: a Ctrl-C meant for fmtb reaches fmtb alone, which stops it
    proc = subprocess.Popen([str(tensorboard_binary()), *args], cwd=cwd, stdout=output,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=preexec)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        info = next((i for i in board_servers.server_records() if i.pid == proc.pid), None)
        if info:
            return proc, info
        time.sleep(0.1)
    ended = proc.poll() is not None
    processes.terminate(proc)
    board_servers.forget_server(proc.pid)
    raise RuntimeError("tensorboard exited early" if ended else
                       f"tensorboard did not start within {timeout:.0f} s")


def stop(proc: subprocess.Popen | int) -> None:
    """Stop a server fmtb started (a Popen, or its pid) and forget its info file."""
    processes.terminate(proc)
    board_servers.forget_server(proc if isinstance(proc, int) else proc.pid)


def stop_servers(servers=None) -> list[int]:
    """Stop the given servers (default: every running one of this user whose info
    is in this TMPDIR; the tests use their own); returns their pids."""
    servers = board_servers.running_servers() if servers is None else servers
    for info in servers:
        stop(info.pid)
    return [info.pid for info in servers]


class TensorBoardServer:
    """A real ``tensorboard`` on loopback, on a free port, stopped on exit.

    >>> with TensorBoardServer("runs") as tb:   # doctest: +SKIP
    ...     print(tb.url)
    """

    def __init__(self, logdir: str | Path, *extra: str, host: str = "127.0.0.1",
                 timeout: float = 90.0):
        self.logdir = Path(logdir)
        self.args = ["--logdir", str(self.logdir), "--host", host, "--port", "0",
                     *SERVER_FLAGS, *extra]
        self.host, self.timeout = host, timeout
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> TensorBoardServer:
        self._output = tempfile.TemporaryFile()
        try:
            self.proc, info = start(self.args, timeout=self.timeout, output=self._output)
        except RuntimeError as exc:
            self._output.seek(0)
            raise RuntimeError(f"{exc}:\n"
                               + self._output.read().decode(errors="replace")[-2000:]) from None
        self.port = info.port
        return self

    def stop(self) -> None:
        if self.proc:
            stop(self.proc)

    def __enter__(self) -> TensorBoardServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
