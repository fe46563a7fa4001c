"""The kernels ``fmtb run`` starts, through jupyter_client's public extension points.

A kernel provisioner (:class:`SeriesProvisioner`, registered under the entry point
``fmtb-series`` and named in the kernel spec) starts each kernel ``nice`` lower
where asked, ends with the kernel whatever it started in its process group (a
``%tensorboard`` server that did not reuse the series' one), and drops the
interrupt jupyter_client sends a kernel it is about to shut down. The kernel
manager (:func:`kernel_manager_class`) encrypts the sockets and keeps a register
(:class:`Kernels`) so that a stopping fmtb ends every kernel it started.

A kernel also ends on its own within a second if fmtb dies: jupyter_client gives
it fmtb's pid (``JPY_PARENT_PID``) and ipykernel watches it.
"""
from __future__ import annotations

import shutil
import signal
import threading
import time

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Integer

from . import processes
from .errors import UsageError

PROVISIONER = "fmtb-series"  # its entry point, in pyproject.toml


def shutting_down(manager) -> bool:
    """Whether ``manager`` (jupyter_client's KernelManager) is shutting its kernel down.
    The one undocumented name used here (``shutting_down``, which it sets before it
    interrupts the kernel); tests/test_kernels.py fails if that changes."""
    return bool(getattr(manager, "shutting_down", False))


def check_installed() -> None:
    """One line if the provisioner's entry point is missing (an install older than it)."""
    from importlib.metadata import entry_points

    if not entry_points(group="jupyter_client.kernel_provisioners", name=PROVISIONER):
        raise UsageError(f"fmtb's kernel provisioner ({PROVISIONER}) is not installed: "
                         f"run pip install -e . (or make setup) in the fmtb checkout again")


class SeriesProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, for the kernels of a series."""

    nice = Integer(0, config=True, help="How much lower the kernel runs (nice).")

    async def pre_launch(self, **kwargs):
        kwargs = await super().pre_launch(**kwargs)
        if self.nice:  # POSIX's nice(1) execs the kernel: same process, lower priority
            kwargs["cmd"] = [shutil.which("nice") or "nice", "-n", str(self.nice),
                             *kwargs["cmd"]]
        return kwargs

    async def send_signal(self, signum: int) -> None:
        # jupyter_client interrupts a kernel before it asks it to shut down: the
        # notebook has finished, and ipykernel logs an interrupt that lands in a
        # message handler as "ERROR | KeyboardInterrupt caught in kernel"
        if signum == signal.SIGINT and shutting_down(self.parent):
            return
        await super().send_signal(signum)

    async def cleanup(self, restart: bool = False) -> None:
        group = self.pgid
        await super().cleanup(restart=restart)
        if group:  # what the kernel started in its process group ends with it
            processes.terminate(group, grace=5.0, group=True)


class SeriesSpecs(KernelSpecManager):
    """The installed kernel specs, each naming :class:`SeriesProvisioner` (the kernel
    spec's documented ``kernel_provisioner`` metadata) with its ``nice``."""

    nice = Integer(0)

    def get_kernel_spec(self, kernel_name: str):
        spec = super().get_kernel_spec(kernel_name)
        spec.metadata["kernel_provisioner"] = {"provisioner_name": PROVISIONER,
                                               "config": {"nice": self.nice}}
        return spec


class Kernels:
    """The kernels of one ``execute``: :meth:`end` ends those running and refuses
    new ones (a thread may be starting one as fmtb is told to stop)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.live: set = set()
        self.starting = 0
        self.stopping = False

    def end(self, wait: float = 30.0) -> None:
        """End every kernel running now, with what each started, and remove their
        connection files (they hold the kernels' keys)."""
        with self.lock:
            self.stopping = True
        deadline = time.monotonic() + wait
        while self.starting and time.monotonic() < deadline:
            time.sleep(0.05)
        with self.lock:
            kernels, self.live = list(self.live), set()
        for km in kernels:
            _end_kernel(km)


def _end_kernel(km) -> None:
    group = getattr(km.provisioner, "pgid", None)
    if group:
        processes.terminate(group, grace=5.0, group=True)
    km.cleanup_connection_file()


def kernel_manager_class(kernels: Kernels | None = None, nice: int = 0):
    """jupyter_client's AsyncKernelManager, made to (1) encrypt the kernel's sockets
    where the kernelspec allows (its ``transport_encryption`` option; otherwise
    ipykernel warns about plain TCP once per notebook), (2) start its kernel through
    :class:`SeriesProvisioner`, ``nice`` lower, and (3) let ``kernels.end()`` reach it.
    ``lowered(n)`` is the same class for kernels ``n`` lower."""
    import zmq
    from jupyter_client.manager import AsyncKernelManager

    check_installed()
    encryption = "auto" if zmq.has("curve") else "disabled"
    kernels = kernels or Kernels()

    class SeriesKernelManager(AsyncKernelManager):
        def __init__(self, **kw):
            kw.setdefault("transport_encryption", encryption)
            kw.setdefault("kernel_spec_manager", SeriesSpecs(nice=nice))
            super().__init__(**kw)

        @staticmethod
        def lowered(by: int):
            return kernel_manager_class(kernels, by)

        async def start_kernel(self, **kw):
            with kernels.lock:
                if kernels.stopping:
                    raise RuntimeError("fmtb is stopping: no new kernel")
                kernels.starting += 1
            try:
                await super().start_kernel(**kw)
            finally:
                with kernels.lock:
                    kernels.starting -= 1
                    kernels.live.add(self)

        async def shutdown_kernel(self, now: bool = False, restart: bool = False):
            try:
                await super().shutdown_kernel(now=now, restart=restart)
            finally:
                with kernels.lock:
                    kernels.live.discard(self)

    return SeriesKernelManager
