"""``make bench-memory``: what a learner's walk through the six notebooks holds.

A real JupyterLab server (loopback, a token) in a temporary copy of the notebooks
(``data`` linked to this project's), and the six notebooks walked in order as a
learner does it, each in a kernel started through the server's REST API (so the
kernel is a live Jupyter session's, as in JupyterLab: ``%tensorboard``'s server is
detached from it), every code cell executed in that kernel with jupyter_client.
Twice: once leaving each kernel running (JupyterLab's default), once shutting each
kernel down after its notebook (Kernel → Shut Down Kernel). Meanwhile the PSS of
the server, the kernels and TensorBoard is sampled every half second; the peak
total of each walk, its parts at that moment and each notebook's minutes are
printed side by side.

PSS (``psutil``'s ``memory_full_info().pss``) counts a page shared by several
processes once, split among them, so the parts add up to what the machine holds.
It also splits pages with processes outside the walk that map the same files (other
users' kernels, with the same torch): the walk's PSS is then lower than on an idle
machine. The sum of RSS, printed beside it, does not depend on them (it counts a page
shared by the walk's own processes once per process).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from fmtb_helpers import paths

from .. import folders, processes
from .lab import Lab

GB = 1e9


def execute(lab: Lab, kernel_id: str, notebook: Path, inject: str = "") -> None:
    """Every code cell of ``notebook``, in order, in the kernel; ``inject`` runs after
    the cell tagged ``parameters`` (as papermill would inject parameters)."""
    from jupyter_client import BlockingKernelClient

    client = BlockingKernelClient()
    client.load_connection_file(str(lab.runtime / f"kernel-{kernel_id}.json"))
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        cells = json.loads(notebook.read_text())["cells"]
        for number, cell in enumerate(cells, 1):
            if cell["cell_type"] != "code":
                continue
            sources = ["".join(cell["source"])]
            if inject and "parameters" in cell.get("metadata", {}).get("tags", []):
                sources.append(inject)
            for source in sources:
                reply = client.execute_interactive(source, timeout=3600,
                                                   output_hook=lambda msg: None)
                if reply["content"]["status"] != "ok":
                    raise RuntimeError(f"{notebook.name}, cell {number}: "
                                       f"{reply['content'].get('ename')}: "
                                       f"{reply['content'].get('evalue')}")
    finally:
        client.stop_channels()


class Sampler(threading.Thread):
    """PSS of the server, its kernels and the TensorBoard serving ``workdir``, every
    ``interval`` seconds; keeps the sample with the largest total."""

    def __init__(self, server_pid: int, workdir: Path, interval: float = 0.5):
        super().__init__(daemon=True)
        self.server_pid, self.workdir, self.interval = server_pid, str(workdir), interval
        self.peak = {"total": 0.0}
        self.done = threading.Event()

    def sample(self) -> dict:
        import psutil

        parts = {"server": 0, "kernels": 0, "tensorboard": 0}
        kernels, rss = 0, 0
        seen = set()
        try:
            server = psutil.Process(self.server_pid)
            tree = [server, *server.children(recursive=True)]
        except psutil.Error:
            tree = []
        for p in psutil.process_iter():  # the detached TensorBoard outlives its kernel
            try:
                if p.cwd() == self.workdir and any("tensorboard" in a for a in p.cmdline()):
                    tree.append(p)
            except psutil.Error:
                continue
        for p in tree:
            if p.pid in seen:
                continue
            seen.add(p.pid)
            try:
                cmd = " ".join(p.cmdline())
                full = p.memory_full_info()
            except psutil.Error:
                continue  # ended while sampled
            pss, rss = full.pss, rss + full.rss
            if p.pid == self.server_pid:
                parts["server"] += pss
            elif "tensorboard" in cmd:
                parts["tensorboard"] += pss
            else:
                parts["kernels"] += pss
                kernels += "ipykernel" in cmd
        result = {k: v / GB for k, v in parts.items()}
        result["total"] = sum(result.values())
        result["n_kernels"] = kernels
        result["rss"] = rss / GB
        return result

    def run(self) -> None:
        while not self.done.is_set():
            s = self.sample()
            if s["total"] > self.peak["total"]:
                self.peak = s
            self.done.wait(self.interval)


def stop_tensorboard(workdir: Path) -> None:
    """The TensorBoard the notebooks started in ``workdir`` (it outlives the kernels)."""
    import psutil

    found = []
    for p in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if p.cwd() == str(workdir) and any("tensorboard" in a for a in p.cmdline()):
                found.append(p)
    processes.end(found)


def walk(shut_down: bool, notebooks_dir: Path, data_root: Path, inject: str = "") -> dict:
    """One walk through the six notebooks in a fresh JupyterLab and a fresh folder."""
    with tempfile.TemporaryDirectory(prefix="fmtb-memory-") as tmp:
        tmp = Path(tmp)
        work = tmp / "notebooks"
        work.mkdir()
        names = [nb.stem for nb in folders.notebooks(notebooks_dir)]
        for name in names:
            shutil.copy(notebooks_dir / f"{name}.ipynb", work)
        (tmp / "data").symlink_to(data_root.resolve())
        lab = Lab(work).start()
        sampler = Sampler(lab.proc.pid, work)
        sampler.start()
        minutes = {}
        try:
            for name in names:
                start = time.monotonic()
                kernel = lab.open_session(f"{name}.ipynb")
                execute(lab, kernel, work / f"{name}.ipynb", inject)
                minutes[name] = (time.monotonic() - start) / 60
                print(f"  {name}: {minutes[name]:.1f} min, peak so far "
                      f"{sampler.peak['total']:.2f} GB", flush=True)
                if shut_down:
                    lab.shut_down(kernel)
        finally:
            sampler.done.set()
            sampler.join()
            lab.stop()
            stop_tensorboard(work)
        return {"peak": sampler.peak, "minutes": minutes}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fmtb.maintainer.memory",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--lang", choices=("en", "ko"), default="en")
    ap.add_argument("--only", choices=("keep", "shut-down"),
                    help="one walk instead of both")
    ap.add_argument("--train-subset", type=int, default=0,
                    help="train on the first N images in 05 (default 0: all, as a learner)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    root = paths.project_root()
    notebooks_dir = root / "notebooks" / ("ko" if args.lang == "ko" else "")
    inject = f"train_subset = {args.train_subset}" if args.train_subset else ""
    walks = {}
    for mode in ("keep", "shut-down"):
        if args.only and args.only != mode:
            continue
        how = ("each kernel shut down after its notebook" if mode == "shut-down"
               else "kernels left running")
        print(f"walk: {how}", flush=True)
        walks[mode] = walk(mode == "shut-down", notebooks_dir, root / "data", inject)
    print(f"\npeak PSS, GB ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}"
          + (f", train_subset {args.train_subset}" if args.train_subset else "") + ")")
    print(f"{'walk':<12}{'total':>8}{'server':>8}{'kernels':>9}{'(n)':>5}{'tensorboard':>13}"
          f"{'RSS sum':>9}")
    for mode, w in walks.items():
        p = w["peak"]
        print(f"{mode:<12}{p['total']:>8.2f}{p['server']:>8.2f}{p['kernels']:>9.2f}"
              f"{p['n_kernels']:>5}{p['tensorboard']:>13.2f}{p['rss']:>9.2f}")
    print("\nminutes per notebook: " + "; ".join(
        f"{mode}: " + ", ".join(f"{n[:2]} {m:.1f}" for n, m in w["minutes"].items())
        for mode, w in walks.items()))
    if args.json:
        args.json.write_text(json.dumps(walks, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
