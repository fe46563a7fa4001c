"""A real JupyterLab on loopback, driven through its REST API: what ``make
bench-memory`` walks the notebooks in, and what the browser tests (``tests/lab.py``)
build on. It serves one folder with a token, and keeps its own Jupyter config,
runtime and workspace folders there (nothing of the user's is read or written)."""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .. import processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """``jupyter lab`` serving ``root``; ``base_url`` as JupyterHub would give it."""

    def __init__(self, root: Path, base_url: str = "/", env: dict | None = None):
        self.root, self.base_url = root, base_url
        self.port, self.token = free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}{base_url}"
        home = root / ".jupyter-home"
        self.runtime = home / "runtime"  # the kernels' connection files
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("TENSORBOARD_BINARY", "TENSORBOARD_PROXY_URL")}
        self.env.update({
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_RUNTIME_DIR": str(self.runtime),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "IPYTHONDIR": str(home / "ipython"),
            # the kernel must find TensorBoard without the venv on PATH
            "PATH": "/usr/bin:/bin",
        })
        self.env.update(env or {})
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> Lab:
        self.log_file = open(self.root / "lab.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
             f"--port={self.port}", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={self.root}", f"--ServerApp.base_url={self.base_url}",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class="
             "jupyterlab.NeverCheckForUpdate",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            stdout=self.log_file, stderr=subprocess.STDOUT, env=self.env, cwd=self.root)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.api("GET", "api/status")
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError((self.root / "lab.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        raise TimeoutError("JupyterLab did not start")

    def stop(self) -> None:
        if self.proc is None:
            return
        for session in self.api("GET", "api/sessions"):
            self.api("DELETE", f"api/sessions/{session['id']}")
        processes.terminate(self.proc, grace=30)
        self.log_file.close()

    def api(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(
            f"{self.url}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def open_session(self, notebook: str) -> str:
        """A session for ``notebook`` (relative to ``root``) with a new kernel, as
        opening it in JupyterLab does; returns the kernel's id."""
        session = self.api("POST", "api/sessions", {
            "path": notebook, "name": notebook, "type": "notebook",
            "kernel": {"name": "python3"}})
        return session["kernel"]["id"]

    def shut_down(self, kernel_id: str) -> None:
        """Kernel → Shut Down Kernel."""
        self.api("DELETE", f"api/kernels/{kernel_id}")
