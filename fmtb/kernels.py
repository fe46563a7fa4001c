"""The kernels ``fmtb run`` starts, through jupyter_client's public extension points.

A kernel provisioner (:class:`SeriesProvisioner`, registered under the entry point
``fmtb-series`` and named in the kernel spec) starts each kernel ``nice`` lower
where asked, ends with the kernel whatever it started in its process group (a
``%tensorboard`` server that did not reuse the series' one), and drops the
interrupt jupyter_client sends a kernel it is about to shut down. The kernel
manager (:class:`SeriesKernelManager`) encrypts the sockets and keeps a register
(:class:`Kernels`) so that a stopping fmtb ends every kernel it started. Both are
configured by traitlets (:func:`series_config`), which nbclient hands on to the
kernel manager it creates and jupyter_client to the provisioner.

A kernel also ends on its own within a second if fmtb dies: jupyter_client gives
it fmtb's pid (``JPY_PARENT_PID``) and ipykernel watches it.
"""
from __future__ import annotations

import shutil
import signal
import threading

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Bool, Instance, Integer, default
from traitlets.config import Config

from . import processes
from .errors import UsageError

PROVISIONER = "fmtb-series"  # its entry point, in pyproject.toml


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
        if signum == signal.SIGINT and getattr(self.parent, "ending", False):
            return
        await super().send_signal(signum)

    async def cleanup(self, restart: bool = False) -> None:
        group = self.pgid
        await super().cleanup(restart=restart)
        if group:  # what the kernel started in its process group ends with it
            processes.terminate(group, grace=5.0, group=True)


class SeriesSpecs(KernelSpecManager):
    """The installed kernel specs, each naming :class:`SeriesProvisioner` (the kernel
    spec's documented ``kernel_provisioner`` metadata)."""

    def get_kernel_spec(self, kernel_name: str):
        spec = super().get_kernel_spec(kernel_name)
        spec.metadata["kernel_provisioner"] = {"provisioner_name": PROVISIONER, "config": {}}
        return spec


class Kernels:
    """The kernels of one ``execute``, for its ``with`` block: at the end, those
    running are ended and new ones refused (a thread may be starting one as fmtb
    is told to stop)."""

    def __init__(self):
        self.changed = threading.Condition()
        self.live: set = set()
        self.starting = 0
        self.stopping = False

    def __deepcopy__(self, memo) -> Kernels:
        return self  # one register: traitlets deep-copies what it configures

    def __enter__(self) -> Kernels:
        return self

    def __exit__(self, *exc) -> None:
        self.end()

    def starts(self) -> None:
        with self.changed:
            if self.stopping:
                raise RuntimeError("fmtb is stopping: no new kernel")
            self.starting += 1

    def started(self, km) -> None:
        with self.changed:
            self.starting -= 1
            self.live.add(km)
            self.changed.notify_all()

    def ended(self, km) -> None:
        with self.changed:
            self.live.discard(km)

    def end(self, wait: float = 30.0) -> None:
        """End every kernel running now, with what each started, and remove their
        connection files (they hold the kernels' keys); a kernel being started is
        waited for, up to ``wait`` seconds."""
        with self.changed:
            self.stopping = True
            self.changed.wait_for(lambda: not self.starting, timeout=wait)
            kernels, self.live = list(self.live), set()
        for km in kernels:
            group = getattr(km.provisioner, "pgid", None)
            if group:
                processes.terminate(group, grace=5.0, group=True)
            km.cleanup_connection_file()


class SeriesKernelManager(AsyncKernelManager):
    """jupyter_client's AsyncKernelManager, which (1) encrypts the kernel's sockets
    where the kernelspec allows (its ``transport_encryption`` option; otherwise
    ipykernel warns about plain TCP once per notebook), (2) starts its kernel through
    :class:`SeriesProvisioner`, and (3) puts it in the ``register``."""

    register = Instance(Kernels, allow_none=True, config=True,
                        help="The register of the series' kernels (Kernels).")
    ending = Bool(False, help="Set as shutdown_kernel begins: the provisioner then drops "
                              "the interrupt jupyter_client sends first.")

    @default("transport_encryption")
    def _encrypt_if_possible(self) -> str:
        import zmq

        return "auto" if zmq.has("curve") else "disabled"

    @default("kernel_spec_manager")
    def _series_specs(self) -> KernelSpecManager:
        return SeriesSpecs(parent=self)

    async def start_kernel(self, **kw):
        if self.register is None:
            return await super().start_kernel(**kw)
        self.register.starts()
        try:
            await super().start_kernel(**kw)
        finally:
            self.register.started(self)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False):
        self.ending = True
        try:
            await super().shutdown_kernel(now=now, restart=restart)
        finally:
            self.ending = False
            if self.register is not None and not restart:
                self.register.ended(self)


def series_config(kernels: Kernels | None = None, nice: int = 0) -> Config:
    """The traitlets configuration of a series' kernels: registered in ``kernels``,
    run ``nice`` lower. Pass it to papermill as ``config=`` with
    ``kernel_manager_class=SeriesKernelManager``."""
    check_installed()
    return Config({"SeriesKernelManager": {"register": kernels},
                   "SeriesProvisioner": {"nice": nice}})
