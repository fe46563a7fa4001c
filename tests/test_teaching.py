"""A class as docs/teaching.md sets it up: the teacher's commands, as written, on fresh
folders; a learner's copy of notebooks/ that runs 01 and 02 from the shared, read-only
data without the network; learners sharing one machine, each sent to their own
TensorBoard; and a kernel without the helpers, stopped in one line."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
import venv
from pathlib import Path

import nbformat
import pytest

from fmtb_helpers import board_servers, data

from support import REAL_MIRROR

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "teaching.md"
# the page's folders, which a test replaces with fresh ones
PLACES = ("/opt/fmtb", "/srv/fmtb-data", "/usr/local")
UNREACHABLE = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
               "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
               "no_proxy": "localhost,127.0.0.1", "NO_PROXY": "localhost,127.0.0.1"}


def page_commands(who: str) -> str:
    """The commands of the page's block marked ``<!-- who -->``, as written."""
    found = re.findall(rf"<!-- {who} -->\n\s*```sh\n(.*?)\n\s*```", PAGE.read_text(), re.S)
    assert len(found) == 1, f"docs/teaching.md has {len(found)} blocks marked {who}"
    return textwrap.dedent(found[0])


def snapshot(folder: Path) -> dict:
    """Every entry under ``folder``: its kind, size, mode and modification time."""
    out = {}
    for path in [folder, *folder.rglob("*")]:
        st = path.lstat()
        out[str(path.relative_to(folder))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def papermill(notebook: Path, out: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "papermill", str(notebook), str(out),
                           "--cwd", str(notebook.parent), "--no-progress-bar", *args],
                          capture_output=True, text=True, env=env, timeout=600)


def test_a_class_set_up_as_the_teaching_page_says(tmp_path, real_data_root):
    shared, prefix, home = tmp_path / "shared data", tmp_path / "prefix", tmp_path / "home"
    home.mkdir()
    places = dict(zip(PLACES, (str(ROOT), str(shared), str(prefix)), strict=True))
    env = {k: v for k, v in os.environ.items() if k != data.DATA_ENV}
    env.update(HOME=str(home), FMTB_DATA_MIRROR=str(REAL_MIRROR))
    for who in ("teacher", "learner"):
        script = page_commands(who)
        for place, here in places.items():
            script = script.replace(place, f"'{here}'" if " " in here else here)
        proc = subprocess.run(["bash", "-eu", "-c", script], env=env, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, f"{who}: {script}\n{proc.stdout}{proc.stderr}"
    raw = shared / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
    assert not any(p.stat().st_mode & 0o222 for p in raw.iterdir())  # chmod a-w
    spec = json.loads((prefix / "share/jupyter/kernels/fmtb/kernel.json").read_text())
    assert spec["display_name"] == "Python (fmtb)" and spec["env"] == {data.DATA_ENV: str(shared)}

    # a learner: the kernel "Python (fmtb)", no network, FMTB_DATA from the kernel's spec
    before = snapshot(shared)
    learner = {**env, **UNREACHABLE, "JUPYTER_PATH": str(prefix / "share" / "jupyter")}
    copy = home / "fmtb" / "notebooks"
    for name in ("01_setup_tensorboard", "02_write_to_tensorboard"):
        proc = papermill(copy / f"{name}.ipynb", tmp_path / f"{name}.ipynb", learner, "-k", "fmtb")
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert snapshot(shared) == before
    assert not (home / "fmtb" / "data").exists()  # nothing copied or downloaded
    run = home / "fmtb" / "runs" / "fashion_mnist_experiment_1"
    assert {p.name.rsplit(".", 1)[-1] for p in run.glob("events.out.tfevents.*")} >= {"02"}


def frame_port(nb) -> int:
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells
                   if c.cell_type == "code" for o in c.get("outputs", []))
    return int(re.search(r"const port = (\d+);", html).group(1))


# A learner runs 01 in a kernel of its own. The cell that starts TensorBoard runs one
# learner at a time: TensorBoard checks that a port is free and then binds it, and of
# two servers that bind in between, the second exits ("Port … is in use by another
# program"). That instant is TensorBoard's race, not what this test is for: which
# server each learner's frame and address name. A server another test starts at that
# instant takes no lock: then the learner runs the cell again, as docs/teaching.md says.
LEARNER = """
import json, sys, time
from pathlib import Path
import nbformat
from filelock import FileLock
from nbclient import NotebookClient

notebook, report, release = map(Path, sys.argv[1:4])
nb = nbformat.read(notebook, as_version=4)
client = NotebookClient(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": str(notebook.parent)}})
one_at_a_time = FileLock(release.with_suffix(".lock"))
with client.setup_kernel():
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "%tensorboard" in cell.source:
            with one_at_a_time:
                client.execute_cell(cell, index)
                if "Failed to launch TensorBoard" in json.dumps(cell.outputs):
                    print("ran the %tensorboard cell again:", cell.outputs, flush=True)
                    client.execute_cell(cell, index)
        else:
            client.execute_cell(cell, index)
    nbformat.write(nb, report.with_suffix(".ipynb"))
    report.with_suffix(".done").touch()
    while not Path(str(report) + ".go").exists():  # every learner's server is running
        time.sleep(0.2)
    ask = nbformat.v4.new_code_cell("print(board.address(runs_dir))")
    nb.cells.append(ask)
    client.execute_cell(ask, len(nb.cells) - 1)
    report.write_text(ask.outputs[0]["text"].strip())
    while not release.exists():
        time.sleep(0.2)
"""


def test_learners_sharing_a_machine_each_get_their_own_tensorboard(tmp_path, real_data_root):
    """Three learners run 01 at once, each in a copy of notebooks/ with runs of their
    own; by the frame's port and by board.address, each reaches a server that serves
    their run only (TensorBoard's /data/runs)."""
    release, learners, reports = tmp_path / "release", [], []
    # learners in papermill-like kernels: no browser, no proxy (another test in this
    # process may have left TensorBoard's proxy setting in os.environ)
    env = {k: v for k, v in os.environ.items() if k not in (
        "TENSORBOARD_PROXY_URL", "JPY_SESSION_NAME", "JUPYTERHUB_SERVICE_PREFIX")}
    env[data.DATA_ENV] = str(real_data_root)
    for i in range(3):
        copy = tmp_path / f"learner{i}" / "notebooks"
        copy.mkdir(parents=True)
        notebook = copy / "01_setup_tensorboard.ipynb"
        notebook.write_bytes((ROOT / "notebooks" / notebook.name).read_bytes())
        reports.append(tmp_path / f"report{i}")
        log = tmp_path / f"learner{i}.log"
        learners.append(subprocess.Popen(
            [sys.executable, "-c", LEARNER, str(notebook), str(reports[-1]), str(release)],
            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT))
    try:
        deadline = time.monotonic() + 300
        while not all(r.with_suffix(".done").exists() for r in reports):
            assert time.monotonic() < deadline, "the learners' notebooks did not finish"
            for i, proc in enumerate(learners):
                assert proc.poll() is None, (tmp_path / f"learner{i}.log").read_text()[-3000:]
            time.sleep(0.5)
        for report in reports:
            Path(str(report) + ".go").touch()
        while not all(r.is_file() and r.read_text() for r in reports):
            assert time.monotonic() < deadline, "the learners' kernels did not answer"
            for i, proc in enumerate(learners):
                assert proc.poll() is None, (tmp_path / f"learner{i}.log").read_text()[-3000:]
            time.sleep(0.2)
        ports = set()
        for i, report in enumerate(reports):
            nb = nbformat.read(report.with_suffix(".ipynb"), as_version=4)
            printed = next(o["text"] for c in nb.cells if c.cell_type == "code"
                           and "board.address" in c.source for o in c.outputs)
            address = report.read_text()
            assert printed.strip() == address, (printed, address)
            found = re.fullmatch(r"http://localhost:(\d+)/", address)
            frame = [o for c in nb.cells if c.cell_type == "code" and "%tensorboard" in c.source
                     for o in c.outputs]
            assert found, f"learner {i}: board.address gave {address!r}; the frame: {frame}"
            port = int(found.group(1))
            assert frame_port(nb) == port
            runs = board_servers.get_json(f"http://localhost:{port}/data/runs")
            assert runs == ["fashion_mnist_experiment_1"]
            info = next(s for s in board_servers.running_servers() if s.port == port)
            assert board_servers.started_in(info) == tmp_path / f"learner{i}" / "notebooks"
            ports.add(port)
        assert len(ports) == 3
    finally:
        release.touch()
        for proc in learners:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_a_kernel_without_the_helpers_stops_in_one_line(tmp_path, monkeypatch):
    """A hub's default kernel: Python with ipykernel, torch and all, but no fmtb. The
    first code cell stops with one line, in each edition's language, naming the kernel
    to pick and the %pip line for this environment; the next cells never run."""
    from jupyter_client.manager import start_new_kernel

    bare = tmp_path / "bare"
    venv.create(bare, with_pip=False)
    site = next(bare.glob("lib/python*/site-packages"))
    # the project's packages, but not its own .pth files (where the editable fmtb is)
    (site / "everything-but-fmtb.pth").write_text(
        next(p for p in sys.path if p.endswith("site-packages")) + "\n")
    spec_dir = tmp_path / "kernels" / "bare"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(bare / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"], "display_name": "Python 3", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    for name in ("FMTB_REPOSITORY", "FMTB_LANG"):
        monkeypatch.delenv(name, raising=False)
    env = dict(os.environ)
    for folder, words in ((ROOT / "notebooks", "pick the kernel"),
                          (ROOT / "notebooks" / "ko", "커널을 고르거나")):
        nb = nbformat.read(folder / "01_setup_tensorboard.ipynb", as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        km, kc = start_new_kernel(kernel_name="bare", cwd=str(folder), env=env)
        try:
            reply = kc.execute_interactive(first.source, timeout=60, output_hook=lambda msg: None)
            printed = []
            kc.execute_interactive("print(importlib.util.find_spec('fmtb_helpers'))",
                                   timeout=60, output_hook=printed.append)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        assert reply["content"]["status"] == "error", [m["content"] for m in printed
                                                        if m["msg_type"] == "stream"]
        assert [m["content"].get("text") for m in printed
                if m["msg_type"] == "stream"] == ["None\n"]  # no helpers in that kernel
        lines = reply["content"]["traceback"]
        assert len(lines) == 1 and "\n" not in lines[0], lines
        assert lines[0].startswith("NoHelpers: ") and words in lines[0]
        assert '"Python (fmtb)"' in lines[0] and f'%pip install -e "{ROOT}"' in lines[0]
