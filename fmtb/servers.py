"""TensorBoard servers for the ``fmtb`` command and the tests: find, start, stop.

Every server started by ``%tensorboard`` or by :class:`TensorBoardServer`
records itself in TensorBoard's info directory; these functions read it.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from fmtb_helpers import board
from fmtb_helpers.board import SERVER_FLAGS, tensorboard_binary

from . import processes


def _terminate(pid: int, timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        if not board.server_alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def stop_servers(servers=None) -> list[int]:
    """Stop the given servers (default: every running one); returns their pids."""
    servers = board.running_servers() if servers is None else servers
    for info in servers:
        _terminate(info.pid)
        board.forget_server(info.pid)
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

    def start(self) -> "TensorBoardServer":
        from tensorboard import manager

        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([str(tensorboard_binary()), *self.args],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._log.seek(0)
                raise RuntimeError("tensorboard exited early:\n"
                                   + self._log.read().decode(errors="replace")[-2000:])
            info = next((i for i in manager.get_all() if i.pid == self.proc.pid), None)
            if info:
                self.port = info.port
                return self
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"tensorboard did not start within {self.timeout:.0f} s")

    def stop(self) -> None:
        if self.proc:
            processes.terminate(self.proc)
            board.forget_server(self.proc.pid)

    def get(self, path: str, timeout: float = 30.0) -> bytes:
        import urllib.request

        with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
            return resp.read()

    def get_json(self, path: str, timeout: float = 30.0):
        import json

        return json.loads(self.get(path, timeout))

    def post_json(self, path: str, body: dict, timeout: float = 30.0):
        """POST ``body`` as JSON (TensorBoard asks for its XSRF header) and parse the answer."""
        import json
        import urllib.request

        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return json.loads(resp.read())

    def hparams_sessions(self) -> dict[str, dict]:
        """The HParams dashboard's session groups, by run name."""
        body = {"experimentName": "", "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS"],
                "colParams": [], "startIndex": 0, "sliceSize": 1000}
        groups = self.post_json("/data/plugin/hparams/session_groups", body)["sessionGroups"]
        return {group["name"]: group for group in groups}

    def __enter__(self) -> "TensorBoardServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
