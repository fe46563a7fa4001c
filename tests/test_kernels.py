"""The kernels of ``fmtb run``, started through jupyter_client's public extension points
(a kernel provisioner named in the kernel spec): real ipykernel kernels."""
import asyncio
import os
import signal

import psutil
import pytest

from fmtb import kernels

pytestmark = pytest.mark.integration


async def _started(nice: int = 0):
    km = kernels.SeriesKernelManager(kernel_name="python3",
                                     config=kernels.series_config(kernels.Kernels(), nice))
    await km.start_kernel()
    client = km.client()
    client.start_channels()
    await client.wait_for_ready(timeout=60)
    return km, client


async def _run(client, code: str) -> str:
    out = []
    reply = await client.execute_interactive(
        code, timeout=60, output_hook=lambda m: out.append(m["content"].get("text", "")))
    assert reply["content"]["status"] == "ok", reply["content"]
    return "".join(out)


def test_the_provisioner_is_found_by_its_entry_point():
    from jupyter_client.provisioning import KernelProvisionerFactory

    assert kernels.PROVISIONER in KernelProvisionerFactory.instance().get_provisioner_entries()


def test_a_kernel_runs_nice_lower_and_ends_with_what_it_started():
    async def scenario():
        km, client = await _started(nice=5)
        try:
            assert isinstance(km.provisioner, kernels.SeriesProvisioner)
            kernel = psutil.Process(km.provisioner.pid)
            assert kernel.nice() == os.nice(0) + 5
            child = int(await _run(client, "import subprocess; p = subprocess.Popen("
                                           "['sleep', '60']); print(p.pid)"))
            assert os.getpgid(child) == kernel.pid  # in the kernel's process group
        finally:
            client.stop_channels()
            await km.shutdown_kernel()
        return child

    child = asyncio.run(scenario())
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE


def test_shutting_down_drops_jupyter_clients_interrupt(monkeypatch):
    """jupyter_client interrupts a kernel before it shuts it down (ipykernel then logs
    "KeyboardInterrupt caught in kernel"): the provisioner drops that SIGINT, told by
    SeriesKernelManager.ending. Fails when upstream stops interrupting; then drop it."""
    from jupyter_client.provisioning import LocalProvisioner

    asked, sent = [], []
    ours, theirs = kernels.SeriesProvisioner.send_signal, LocalProvisioner.send_signal

    async def ask(self, signum):
        asked.append((signum, self.parent.ending))
        await ours(self, signum)

    async def send(self, signum):
        sent.append(signum)
        await theirs(self, signum)

    monkeypatch.setattr(kernels.SeriesProvisioner, "send_signal", ask)
    monkeypatch.setattr(LocalProvisioner, "send_signal", send)

    async def scenario():
        km, client = await _started()
        client.stop_channels()
        await km.shutdown_kernel()

    asyncio.run(scenario())
    assert (signal.SIGINT, True) in asked and signal.SIGINT not in sent


def test_an_install_without_the_provisioner_is_told_in_one_line(tmp_path):
    """An environment whose fmtb predates the entry point (pip install -e . not rerun)."""
    import subprocess
    import sys

    code = ("import importlib.metadata as m, sys; from fmtb import cli; "
            "real = m.entry_points; "
            "m.entry_points = lambda **kw: [] if kw.get('name') == 'fmtb-series' else real(**kw); "
            f"sys.exit(cli.main(['run', '--runs-dir', {str(tmp_path)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "fmtb run: error: fmtb's kernel provisioner (fmtb-series) is not installed: run pip "
        "install -e . (or make setup) in the fmtb checkout again"]
    assert list(tmp_path.iterdir()) == []
