"""The notebooks' TensorBoard helpers, against real writers, event files and servers."""
import json
import os
import signal
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.tensorboard import SummaryWriter

from fmtb import servers
from fmtb_helpers import board, board_servers
from fmtb_helpers.tutorial import Net

from support import event_files

pytestmark = pytest.mark.integration  # real TensorBoard servers


def test_start_run_moves_an_earlier_run_out_of_the_logdir(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    run = board.start_run(runs, "exp")
    (run / "net.pt").write_text("weights")
    again = board.start_run(runs, "exp")
    assert again == run and list(again.iterdir()) == []
    assert [p.name for p in runs.iterdir()] == ["exp"]  # TensorBoard sees only the new one
    (kept,) = (tmp_path / "runs_previous").iterdir()
    assert kept.name.startswith("exp-") and (kept / "net.pt").read_text() == "weights"
    said = capsys.readouterr().out
    # where it went and how to get it back, as the learner types paths: no machine path
    assert f"runs_previous/{kept.name}" in said and "net.pt" in said and "move it back" in said
    assert str(tmp_path) not in said
    (run / "new.txt").write_text("stays")
    assert board.start_run(runs, "exp", fresh=False) == run
    assert (run / "new.txt").is_file() and capsys.readouterr().out == ""


def test_a_notebook_run_again_replaces_only_its_own_event_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    first = board.notebook_writer(runs, "exp", "02")
    first.add_scalar("grid", 1.0, 0)
    first.close()
    other = board.notebook_writer(runs, "exp", "03")
    other.add_scalar("graph", 1.0, 0)
    other.close()
    assert capsys.readouterr().out == ""
    again = board.notebook_writer(runs, "exp", "02")
    again.add_scalar("grid", 2.0, 0)
    again.close()
    files = event_files(runs / "exp")
    assert sorted(f.suffix for f in files) == [".02", ".03"]
    assert board.event_summary(runs / "exp")["scalars"] == {"grid": 1, "graph": 1}
    # the earlier grid is kept, outside TensorBoard's logdir, and the notebook says where
    (copy,) = (tmp_path / "runs_previous").iterdir()
    assert copy.name.startswith("exp-02-") and [f.suffix for f in event_files(copy)] == [".02"]
    said = capsys.readouterr().out
    assert f"its new logs replace the earlier ones, which are now in runs_previous/{copy.name}." \
        in said


def test_notebook_05_run_again_moves_its_model_aside_with_its_logs(tmp_path, capsys):
    runs = tmp_path / "runs"
    board.notebook_writer(runs, "exp", "05").close()
    (runs / "exp" / "net.pt").write_text("weights")
    assert board.trained_model(runs, "exp") == runs / "exp" / "net.pt"
    board.notebook_writer(runs, "exp", "05").close()  # a rerun: until it saves, no model
    assert not (runs / "exp" / "net.pt").exists()
    (copy,) = (tmp_path / "runs_previous").iterdir()
    assert (copy / "net.pt").read_text() == "weights"
    assert " with its trained model, net.pt." in capsys.readouterr().out
    with pytest.raises(board.ModelError, match="no finished training of its own"):
        board.trained_model(runs, "exp")


def test_a_model_without_the_runs_05_logs_is_refused(tmp_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "net.pt").write_text("weights")  # copied in by hand
    with pytest.raises(board.ModelError, match="logs of notebook 05 is not in"):
        board.trained_model(tmp_path, "exp")


def test_each_embedding_gets_a_new_run_and_the_old_one_moves_aside(tmp_path):
    made = []
    runs = tmp_path / "runs"
    for n in (5, 7):
        w = board.embedding_writer(runs, "exp", "pixels")
        w.add_embedding(torch.rand(n, 3), metadata=list("abcdefg")[:n])
        w.close()
        made.append(Path(w.get_logdir()))
    assert made[0] != made[1]  # a run the Projector has not cached
    (left,) = (runs / "exp").iterdir()
    assert left == made[1] and left.name.startswith("pixels_")
    assert [e["shape"] for e in board.projector_summary(left)] == [(7, 3)]
    (copy,) = (tmp_path / "runs_previous").iterdir()
    assert copy.name.startswith("exp-pixels-") and (copy / made[0].name).is_dir()


@pytest.mark.parametrize("name", [".", "..", "../x", "a/b", "/abs"])
def test_start_run_refuses_a_run_name_that_is_a_path(tmp_path, name):
    runs = tmp_path / "runs"
    (runs / "keep").mkdir(parents=True)
    with pytest.raises(board.params.ParameterError, match="run_name must be a folder name"):
        board.start_run(runs, name)
    assert [p.name for p in tmp_path.iterdir()] == ["runs"]
    assert [p.name for p in runs.iterdir()] == ["keep"]


def test_sprite_keeps_gray_levels_when_given_floats(tmp_path):
    from PIL import Image

    levels = torch.linspace(0, 1, 4 * 28 * 28).view(4, 1, 28, 28)
    w = SummaryWriter(tmp_path)
    w.add_embedding(levels.view(4, -1), label_img=levels, tag="gray")
    w.close()
    item = board.projector_summary(tmp_path)[0]
    assert item["thumbnail"] == (28, 28) and item["shape"] == (4, 784)
    sprite = Image.open(next(tmp_path.rglob("sprite.png"))).convert("L")
    assert len(np.unique(np.asarray(sprite))) > 100


def test_graph_without_the_deprecation_warning(tmp_path):
    w = SummaryWriter(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with board.quiet_graph_tracing():
            w.add_graph(Net(), torch.zeros(4, 1, 28, 28))
    assert not [c for c in caught if "jit" in str(c.message)]
    assert board.event_summary(board.event_file(w)) == {"graph": {"graph": 1}}
    w.close()


def test_event_summary_counts_each_tag(tmp_path, capsys):
    w = SummaryWriter(tmp_path)
    for step in range(3):
        w.add_scalar("training loss", 1.0 / (step + 1), step)
    w.add_image("grid", torch.rand(1, 8, 8))
    w.add_pr_curve("Bag", torch.tensor([True, False]), torch.tensor([0.9, 0.2]))
    assert board.print_logged(w) is None
    summary = board.event_summary(board.event_file(w))
    w.close()
    assert summary == {"scalars": {"training loss": 3}, "images": {"grid": 1},
                       "tensors": {"Bag": 1}}
    assert "scalars    'training loss': 3" in capsys.readouterr().out
    assert len(event_files(tmp_path)) == 1


def test_print_logged_puts_a_group_of_tags_on_one_line(tmp_path, capsys):
    """What a learner reads: 'weights/…' once, not one line per layer."""
    w = SummaryWriter(tmp_path)
    for step in (0, 9):
        for layer in ("conv1.bias", "fc1.bias", "fc3.weight"):
            w.add_histogram(f"weights/{layer}", torch.rand(5), step)
    w.add_histogram("bias", torch.rand(5), 0)
    board.print_logged(w)
    w.close()
    assert capsys.readouterr().out.splitlines() == [
        "histograms 'bias': 1", "histograms 'weights/…': 3 tags, 2 each"]


def test_setup_points_tensorboard_at_the_detached_launcher_in_jupyter(monkeypatch):
    monkeypatch.delenv("TENSORBOARD_BINARY", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", "01_setup_tensorboard.ipynb")  # a live session
    board.setup_tensorboard()
    binary = os.environ["TENSORBOARD_BINARY"]
    assert binary == os.path.join(os.path.dirname(sys.executable), "fmtb-tensorboard")
    assert os.access(binary, os.X_OK)


def test_in_batch_a_notebooks_server_stays_in_its_kernels_process_group(monkeypatch):
    """Under papermill or nbval (no Jupyter session) a server the notebook starts must
    end with its kernel: fmtb run and fmtb sweep end a kernel's whole process group."""
    monkeypatch.delenv("TENSORBOARD_BINARY", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    board.setup_tensorboard()
    assert os.environ["TENSORBOARD_BINARY"] == str(board_servers.tensorboard_binary())
    assert not os.environ["TENSORBOARD_BINARY"].endswith("fmtb-tensorboard")


def _launch(logdir, *launcher):
    """What %tensorboard does: the binary with its arguments, in our process group."""
    proc = subprocess.Popen([*launcher, "--logdir", str(logdir), "--port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        info = next((i for i in board_servers.server_records() if i.pid == proc.pid), None)
        if info:
            return proc, info
        time.sleep(0.2)
    proc.kill()
    raise TimeoutError("no server")


def test_the_launcher_outlives_an_interrupt_of_its_kernels_group(tmp_path):
    """Jupyter interrupts, restarts and shuts down a kernel by signalling its process
    group; a server started through fmtb-tensorboard is not in it."""
    launcher = os.path.join(os.path.dirname(sys.executable), "fmtb-tensorboard")
    code = (f"import subprocess, time; p = subprocess.Popen([{launcher!r}, '--logdir', "
            f"{str(tmp_path)!r}, '--port', '0'], stdout=subprocess.DEVNULL, "
            "stderr=subprocess.DEVNULL); print(p.pid, flush=True); time.sleep(600)")
    # the kernel: a process group of its own, as jupyter_client starts it
    kernel = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              text=True, start_new_session=True)
    pid = int(kernel.stdout.readline())
    try:
        for _ in range(300):
            if any(i.pid == pid for i in board_servers.server_records()):
                break
            time.sleep(0.2)
        os.killpg(kernel.pid, signal.SIGINT)  # interrupt
        time.sleep(1)
        os.killpg(kernel.pid, signal.SIGKILL)  # restart, shut down
        kernel.wait()
        time.sleep(1)
        assert board_servers.alive(pid) and os.getpgid(pid) == pid
        info = next(i for i in board_servers.running_servers() if i.pid == pid)
        with urllib_get(info.port, "/data/runs") as resp:
            assert resp.status == 200
    finally:
        servers.stop_servers([i for i in board_servers.running_servers() if i.pid == pid])
        kernel.kill()


def urllib_get(port, path):
    import urllib.request

    return urllib.request.urlopen(f"http://localhost:{port}{path}", timeout=30)


def test_a_dead_servers_record_is_never_reused(tmp_path):
    """A server killed outright leaves its record; %tensorboard would "reuse" it."""
    proc, info = _launch(tmp_path, str(board_servers.tensorboard_binary()))
    proc.kill()
    proc.wait()
    record = os.path.join(board_servers.info_dir(), f"pid-{info.pid}.info")
    assert os.path.exists(record)  # where TensorBoard keeps it: fails if upstream moves it
    assert info.pid not in [i.pid for i in board_servers.running_servers()]
    assert not os.path.exists(record)


def test_started_in_reads_tensorboards_record_of_the_working_directory():
    """The one reading of TensorBoard's opaque cache_key: fails if upstream changes it."""
    from tensorboard import manager

    key = manager.cache_key(working_directory="/home/learner 2/notebooks",
                            arguments=["--logdir", "../runs"], configure_kwargs={})
    info = types.SimpleNamespace(cache_key=key)
    assert board_servers.started_in(info) == Path("/home/learner 2/notebooks")
    assert board_servers.started_in(types.SimpleNamespace(cache_key="not base64")) is None


def test_server_for_finds_the_server_of_a_logdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    proc, info = _launch("runs", str(board_servers.tensorboard_binary()))
    try:
        assert board_servers.server_for(tmp_path / "runs").pid == proc.pid
        assert board_servers.server_for(tmp_path / "other") is None
        assert board.address("runs", "graphs") == f"http://localhost:{info.port}/#graphs"
    finally:
        servers.stop_servers([info])


@pytest.mark.parametrize("env, own, frame", [
    ({}, None, None),  # papermill, nbval: no browser, no proxy
    ({"JPY_SESSION_NAME": "n.ipynb", "JUPYTERHUB_SERVICE_PREFIX": "/user/learner/"}, None,
     "/user/learner/proxy/%PORT%/#graphs"),
    ({"JPY_SESSION_NAME": "n.ipynb"}, "https://hub.example/tb/%PORT%/",
     "https://hub.example/tb/%PORT%/#graphs"),  # the learner's own setting wins
])
def test_the_frame_goes_through_the_proxy_to_its_dashboard(monkeypatch, tmp_path, env, own,
                                                           frame):
    for name in ("JPY_SESSION_NAME", "JUPYTERHUB_SERVICE_PREFIX", "TENSORBOARD_PROXY_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(board_servers, "_OWN_PROXY_URL", own)
    board.open_on("graphs", tmp_path)  # no server there: nothing to wait for
    assert os.environ.get("TENSORBOARD_PROXY_URL") == frame


def test_the_proxy_base_comes_from_the_parent_jupyter_server(monkeypatch, tmp_path):
    """Under `jupyter lab --ServerApp.base_url=/b/`, the kernel's parent records its base URL."""
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    me = os.getpid()  # a live process stands in for the server
    (runtime / f"jpserver-{me}.json").write_text(json.dumps(
        {"base_url": "/b/", "pid": me, "port": 1, "url": "http://127.0.0.1:1/b/",
         "hostname": "127.0.0.1", "root_dir": str(tmp_path), "token": "", "secure": False,
         "password": False, "sock": "", "version": "2"}))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("JPY_SESSION_NAME", "n.ipynb")
    monkeypatch.setenv("JPY_PARENT_PID", str(me))
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    monkeypatch.setattr(board_servers, "_OWN_PROXY_URL", None)
    board.open_on("images", tmp_path)
    assert os.environ["TENSORBOARD_PROXY_URL"] == "/b/proxy/%PORT%/#images"


def test_reading_a_closed_writer_back_opens_no_new_file(tmp_path):
    w = SummaryWriter(tmp_path)
    w.add_scalar("x", 1.0, 0)
    w.close()
    with pytest.raises(ValueError, match="closed"):
        board.event_file(w)
    assert len(event_files(tmp_path)) == 1


def test_a_live_sessions_server_ends_with_its_jupyter_server(tmp_path, monkeypatch):
    """Notebook 01 in a real JupyterLab: its %tensorboard server (detached from the
    kernel) survives the kernel's restart, and ends, with its data server and its
    watcher, once JupyterLab stops."""
    import psutil
    from jupyter_client import BlockingKernelClient

    from lab import Lab, copy_project

    root = copy_project(tmp_path)
    monkeypatch.chdir(root / "notebooks")  # the kernel's: %tensorboard's --logdir is relative
    lab = Lab(root).start()
    try:
        notebook = "notebooks/01_setup_tensorboard.ipynb"
        kernel = lab.open_session(notebook)
        client = BlockingKernelClient(connection_file=str(lab.runtime / f"kernel-{kernel}.json"))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=120)
        shown = []  # what the cells print
        for cell in json.loads((root / notebook).read_text())["cells"]:
            if cell["cell_type"] == "code":
                reply = client.execute_interactive("".join(cell["source"]), timeout=300,
                                                   output_hook=lambda msg: shown.append(msg))
                assert reply["content"]["status"] == "ok", reply["content"]
        client.stop_channels()
        info = board_servers.server_for(root / "runs")
        assert info is not None, [m["content"] for m in shown if m["msg_type"] == "stream"]
        server = psutil.Process(info.pid)
        tree = [server, *server.children(recursive=True)]
        watchers = [p for p in psutil.process_iter(["ppid"]) if p.info["ppid"] == 1
                    and p.pid != server.pid and os.getpgid(p.pid) == server.pid]
        assert os.getpgid(server.pid) == server.pid and watchers
        lab.api("POST", f"api/kernels/{kernel}/restart")
        time.sleep(3)
        assert server.is_running() and board_servers.alive(server.pid)
    finally:
        lab.proc.terminate()  # the learner's Ctrl-C: JupyterLab shuts its kernels down
        lab.proc.wait(60)
        lab.log_file.close()
    _, left = psutil.wait_procs(tree + watchers, timeout=10)
    for process in left:
        process.kill()
    assert left == []
