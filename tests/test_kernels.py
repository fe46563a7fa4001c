"""Kernels forked from the zygote: real kernels, real signals, real fallbacks."""
import os
import subprocess
import sys
import threading
import time

import pytest
from jupyter_client import KernelManager

from fmtb import kernels

pytestmark = pytest.mark.skipif(not kernels.supported(), reason="needs fork and pidfds")
PRELOADED = "fmtb.params"  # light, and imported by nothing the kernel starts with


@pytest.fixture(scope="module")
def zygote():
    with kernels.Zygote.start(preload=(PRELOADED,)) as z:
        yield z


def gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ")[1][0] == "Z":  # exited, not yet reaped
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.1)
    return False


class Kernel:
    """A started kernel and its client; ``run(code)`` returns (status, stdout)."""

    def __init__(self, manager_class, **start):
        self.km = manager_class(kernel_name="python3")
        self.km.start_kernel(**start)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(self, code: str, timeout: float = 60):
        out = []
        reply = self.kc.execute_interactive(
            code, timeout=timeout,
            output_hook=lambda msg: out.append(msg["content"].get("text", "")))
        return reply["content"]["status"], "".join(out)

    def close(self):
        self.kc.stop_channels()
        if self.km.has_kernel:
            self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(zygote, tmp_path):
    k = Kernel(kernels.kernel_manager_class(zygote, KernelManager), cwd=str(tmp_path),
               env={**os.environ, "FMTB_MARK": "passed on"})
    yield k
    k.close()


def test_a_kernel_is_a_fresh_fork_of_the_zygote(kernel, zygote, tmp_path):
    status, out = kernel.run(
        "import os, sys\n"
        f"print(os.getppid(), {PRELOADED!r} in sys.modules, os.getcwd(), "
        "os.environ.get('FMTB_MARK'), os.getpgid(0) == os.getpid(), sep='|')")
    assert status == "ok"
    ppid, preloaded, cwd, mark, leader = out.strip().split("|")
    assert int(ppid) == zygote.process.pid and preloaded == "True"
    assert cwd == str(tmp_path) and mark == "passed on"
    assert leader == "True"  # its own process group: an interrupt reaches only it
    assert kernel.km.provisioner.pid != zygote.process.pid
    # nothing of the zygote's own namespace leaks into the notebook's
    status, out = kernel.run("print(sorted(k for k in dir() if not k.startswith('_')))")
    assert "request" not in out and "server" not in out


def test_interrupt_then_shutdown(kernel):
    threading.Timer(1.5, kernel.km.interrupt_kernel).start()
    status, _ = kernel.run("import time; time.sleep(30)")
    assert status == "error"
    assert kernel.run("print(6 * 7)") == ("ok", "42\n")  # it still answers
    pid = kernel.km.provisioner.pid
    kernel.km.shutdown_kernel()
    assert gone(pid, within=10)
    assert not kernel.km.is_alive()


def test_a_lowered_priority_passes_to_the_kernel(zygote):
    box = {}

    def start():
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + 7)
        box["k"] = Kernel(kernels.kernel_manager_class(zygote, KernelManager))

    t = threading.Thread(target=start)
    t.start()
    t.join()
    k = box["k"]
    try:
        own = os.getpriority(os.PRIO_PROCESS, zygote.process.pid)
        assert k.run("import os; print(os.getpriority(os.PRIO_PROCESS, 0))")[1].strip() \
            == str(own + 7)
    finally:
        k.close()


def test_what_is_not_a_kernel_is_refused(zygote, tmp_path):
    with pytest.raises(kernels.ZygoteError, match="not an ipykernel command"):
        zygote.fork(["-c", "print(1)"], dict(os.environ), str(tmp_path))


def test_without_a_zygote_kernels_start_the_usual_way(tmp_path):
    with kernels.Zygote.start(preload=("no_such_module_for_fmtb",)) as broken:
        with pytest.warns(RuntimeWarning, match="kernel not forked.*exited"):
            k = Kernel(kernels.kernel_manager_class(broken, KernelManager))
        try:
            status, out = k.run("import os; print(os.getppid())")
            assert status == "ok" and int(out) == os.getpid()
        finally:
            k.close()


def test_kernels_end_with_the_zygote(tmp_path):
    with kernels.Zygote.start(preload=()) as z:
        k = Kernel(kernels.kernel_manager_class(z, KernelManager))
        pid = k.km.provisioner.pid
        z.process.kill()
        z.process.wait()
        assert gone(pid, within=10)
        k.kc.stop_channels()


def test_the_zygote_ends_with_its_parent(tmp_path):
    code = ("import os, sys\nfrom fmtb import kernels\n"
            "z = kernels.Zygote.start(preload=())\nz.wait_ready()\n"
            "print(z.process.pid, flush=True)\nos._exit(0)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60).stdout
    assert gone(int(out), within=10)
