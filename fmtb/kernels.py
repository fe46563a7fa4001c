"""Notebook kernels forked from one warm process: how ``fmtb run`` starts six of them fast.

A papermill kernel is normally a fresh ``python -m ipykernel_launcher`` that
imports torch, torchvision, matplotlib and TensorBoard's writer all over again:
about 4 s of one core per notebook on a small CPU machine, and ~0.3 GB of pages
of its own. ``fmtb run`` instead starts one *zygote*: a process that imports
those modules once (:data:`PRELOAD`) and then, for each notebook, forks a child
that becomes exactly that kernel: ``ipykernel_launcher`` runs in it with the
connection file, environment, working directory and priority papermill asked
for. The children share the imported pages with the zygote (copy-on-write).

Nothing else changes for the notebooks: the child starts with no user
variables and runs every cell itself, ``import torch`` included (it is then
found in ``sys.modules``). :class:`ForkingProvisioner` is a jupyter_client
provisioner that asks the zygote instead of spawning; it falls back to the
ordinary launch (with a warning) when the zygote cannot serve.
``fmtb run --kernels spawn`` never uses it.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from . import processes

# What the notebooks import, heaviest first; torch._dynamo is what torch.optim
# and torchvision import on first use (~1.5 s on its own).
PRELOAD = (
    "torch", "torch._dynamo", "torchvision", "torch.utils.tensorboard",
    "matplotlib.pyplot", "matplotlib_inline.backend_inline", "tensorboard.notebook",
    "ipykernel.kernelapp", "tqdm", "PIL.Image",
    "fmtb_helpers.board", "fmtb_helpers.data", "fmtb_helpers.evaluation",
    "fmtb_helpers.model", "fmtb_helpers.plotting", "fmtb_helpers.runtime",
    "fmtb_helpers.training",
)
LAUNCHER = "ipykernel_launcher"


def supported() -> bool:
    """Forking needs fork() and pidfds (Linux 5.3+, and not refused by a sandbox)."""
    if not (sys.platform == "linux" and hasattr(os, "fork") and hasattr(os, "pidfd_open")):
        return False
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return False
    return True


class ZygoteError(RuntimeError):
    """The zygote could not fork a kernel."""


# ---------------------------------------------------------------- the zygote


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def serve(socket_path: str, preload=PRELOAD) -> None:
    """The zygote's main loop: import ``preload``, then fork a kernel per request.

    A request is one JSON line ``{"argv", "env", "cwd", "nice"}`` on the Unix
    socket; the answer is ``{"pid": ...}`` once the child leads its own session
    (so signals to its process group reach it), or ``{"error": ...}``.
    Exits when its parent does.
    """
    cwd_entry = sys.path.pop(0) if sys.path and sys.path[0] in ("", os.getcwd()) else None
    import importlib

    for name in preload:
        importlib.import_module(name)
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():  # children could not use it
        raise RuntimeError("CUDA was initialised while importing; kernels cannot be forked")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path + ".tmp")
    server.listen(8)
    os.rename(socket_path + ".tmp", socket_path)  # appears when it accepts
    server.settimeout(0.5)
    parent = os.getppid()
    while os.getppid() == parent:
        _reap()
        try:
            conn, _ = server.accept()
        except (socket.timeout, InterruptedError):
            continue
        with conn:
            conn.settimeout(10)
            try:
                request = json.loads(conn.makefile("r").readline())
                pid = _fork_kernel(request, server, conn, cwd_entry)
                answer = {"pid": pid}
            except Exception as exc:  # told to the client, which falls back
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            conn.sendall((json.dumps(answer) + "\n").encode())
    server.close()


def _fork_kernel(request: dict, server: socket.socket, conn: socket.socket,
                 cwd_entry: str | None) -> int:
    argv = list(request["argv"])
    if argv[:2] != ["-m", LAUNCHER]:
        raise ValueError(f"not an ipykernel command: {argv}")
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the kernel: never returns to the loop above
        code = 1
        try:
            os.close(ready_r)
            server.close()
            conn.close()
            os.setsid()
            os.write(ready_w, b"1")
            os.close(ready_w)
            code = _become_kernel(request, argv, cwd_entry)
        except BaseException:  # noqa: BLE001 - report, then leave with code 1
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(ready_w)
    try:
        if os.read(ready_r, 1) != b"1":
            raise ZygoteError("the forked kernel died at once")
    finally:
        os.close(ready_r)
    return pid


def _become_kernel(request: dict, argv: list[str], cwd_entry: str | None) -> int:
    import atexit
    import runpy

    for signum in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if request.get("nice"):
        os.setpriority(os.PRIO_PROCESS, 0, int(request["nice"]))
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    if cwd_entry is not None:  # as `python -m` would have it; the launcher removes it
        sys.path.insert(0, os.getcwd())
    # The kernel ends if its parent, the zygote, does (ipykernel read JPY_PARENT_PID
    # when the zygote imported it, so say it on the command line).
    sys.argv = [LAUNCHER, *argv[2:], f"--IPKernelApp.parent_handle={os.getppid()}"]
    code = 0
    try:
        runpy.run_module(LAUNCHER, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()
    return code


# ---------------------------------------------------------- the parent side


class Zygote:
    """A running zygote (a child of this process) and its socket."""

    def __init__(self, process: subprocess.Popen, socket_path: Path, tmpdir: str):
        self.process = process
        self.socket_path = socket_path
        self.python = sys.executable
        self._tmpdir = tmpdir

    @classmethod
    def start(cls, cwd: str | Path | None = None, preload=PRELOAD) -> "Zygote":
        """Start importing now; :meth:`fork` waits until it is ready."""
        tmpdir = tempfile.mkdtemp(prefix="fmtb-zygote-")
        path = Path(tmpdir) / "zygote.sock"
        process = subprocess.Popen(
            [sys.executable, "-m", "fmtb.kernels", str(path), *preload],
            cwd=cwd, stdin=subprocess.DEVNULL)
        return cls(process, path, tmpdir)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.socket_path.exists():
            if self.process.poll() is not None:
                raise ZygoteError(f"the kernel zygote exited ({self.process.returncode}) "
                                  f"before it was ready")
            if time.monotonic() > deadline:
                raise ZygoteError(f"the kernel zygote was not ready after {timeout:.0f} s")
            time.sleep(0.05)

    def fork(self, argv: list[str], env: dict, cwd: str, nice: int = 0,
             timeout: float = 120.0) -> int:
        """Fork a kernel running ``python argv...``; its pid."""
        self.wait_ready(timeout)
        request = {"argv": argv, "env": env, "cwd": cwd, "nice": nice}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(str(self.socket_path))
                sock.sendall((json.dumps(request) + "\n").encode())
                line = sock.makefile("r").readline()
            except OSError as exc:
                raise ZygoteError(f"the kernel zygote did not answer: {exc}") from None
        if not line:
            raise ZygoteError("the kernel zygote closed the connection")
        answer = json.loads(line)
        if "error" in answer:
            raise ZygoteError(answer["error"])
        return int(answer["pid"])

    def stop(self) -> None:
        processes.terminate(self.process)
        with contextlib.suppress(OSError):
            self.socket_path.unlink()
        with contextlib.suppress(OSError):
            os.rmdir(self._tmpdir)

    def __enter__(self) -> "Zygote":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class ForkedKernel:
    """What jupyter_client expects of a ``Popen``, for a process that is not our
    child: watched and signalled through a pidfd (no pid-reuse races)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        try:
            self._fd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:  # already gone
            self._fd, self.returncode = None, 0

    def poll(self) -> int | None:
        if self.returncode is None and self._fd is not None:
            if select.select([self._fd], [], [], 0)[0]:
                self.returncode = 0  # the zygote reaps it and keeps the status
                self._close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            select.select([self._fd], [], [], 0.1)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            signal.pidfd_send_signal(self._fd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@functools.cache
def _provisioner_class():
    from jupyter_client.provisioning import LocalProvisioner

    class ForkingProvisioner(LocalProvisioner):
        """Launch the kernel by asking :attr:`zygote` (set after construction) to
        fork; a command that is not this Python's kernel is launched as usual."""

        zygote: Zygote

        async def launch_kernel(self, cmd, **kwargs):
            zygote = self.zygote
            if not cmd or cmd[0] != zygote.python:
                return await super().launch_kernel(cmd, **kwargs)
            env = dict(kwargs.get("env") or os.environ)
            cwd = str(kwargs.get("cwd") or os.getcwd())
            # A lowered priority of the launching thread is what a spawned kernel
            # would inherit; pass it on.
            nice = os.getpriority(os.PRIO_PROCESS, 0) - os.getpriority(
                os.PRIO_PROCESS, zygote.process.pid)
            try:
                pid = zygote.fork(list(cmd[1:]), env, cwd, max(0, nice))
            except ZygoteError as exc:
                warnings.warn(f"kernel not forked ({exc}); starting it the usual way",
                              RuntimeWarning, stacklevel=2)
                return await super().launch_kernel(cmd, **kwargs)
            self.process = ForkedKernel(pid)
            self.pid = self.pgid = pid
            self.cwd = cwd
            return self.connection_info

    return ForkingProvisioner


def kernel_manager_class(zygote: Zygote | None, base=None):
    """A jupyter_client kernel manager (``base``, by default ``AsyncKernelManager``)
    whose kernels ``zygote`` forks (None: spawned as usual): pass it to papermill as
    ``kernel_manager_class``. Either way the kernel's sockets are encrypted where
    the kernel says it can be (CurveZMQ), so ipykernel has no plain-TCP warning to print."""
    import uuid

    import zmq
    from jupyter_client.manager import AsyncKernelManager

    encryption = "auto" if zmq.has("curve") else "disabled"

    class SeriesKernelManager(base or AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            kw.setdefault("transport_encryption", encryption)
            if self.provisioner is None and zygote is not None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = _provisioner_class()(
                    kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
                self.provisioner.zygote = zygote
            return await super()._async_pre_start_kernel(**kw)

    return SeriesKernelManager


if __name__ == "__main__":  # python -m fmtb.kernels SOCKET [MODULE ...]
    # Nothing to clean up (the parent removes the socket): skip the interpreter's
    # teardown of torch, a second of work.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for fmtb, which stops us
    serve(sys.argv[1], tuple(sys.argv[2:]))
