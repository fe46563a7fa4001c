"""Real TensorBoard servers on loopback: started, found, stopped."""
import subprocess
import sys
import time

import pytest
from torch.utils.tensorboard import SummaryWriter

from fmtb import processes, servers
from fmtb_helpers import board_servers

from support import TensorBoard

pytestmark = pytest.mark.integration


def test_real_server_serves_the_run_and_stops(tmp_path):
    w = SummaryWriter(tmp_path / "exp")
    w.add_scalar("training loss", 0.5, 999)
    w.close()
    with TensorBoard(tmp_path) as tb:
        pid = tb.proc.pid
        assert pid in [s.pid for s in board_servers.running_servers()]
        runs = tb.get_json("/data/runs")
        assert runs == ["exp"]
        tags = tb.get_json("/data/plugin/scalars/tags")
        assert "training loss" in tags["exp"]
    assert tb.proc.poll() is not None
    assert pid not in [s.pid for s in board_servers.running_servers()]


def test_a_server_ends_when_the_process_that_started_it_is_killed(tmp_path):
    code = ("import sys; from fmtb import servers; "
            f"proc, info = servers.start(['--logdir', {str(tmp_path)!r}, '--port', '0']); "
            "print(proc.pid, flush=True); sys.stdin.read()")
    parent = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    server = int(parent.stdout.readline())
    assert server in [s.pid for s in board_servers.running_servers()]
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while processes.alive(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not processes.alive(server)
    # it stopped politely (SIGTERM), so it removed its own info file
    assert server not in [s.pid for s in board_servers.running_servers()]


def test_stop_servers_stops_only_those_given(tmp_path):
    with TensorBoard(tmp_path / "a") as a, \
            TensorBoard(tmp_path / "b") as b:
        info = next(s for s in board_servers.running_servers() if s.pid == a.proc.pid)
        assert servers.stop_servers([info]) == [a.proc.pid]
        assert a.proc.poll() is not None and b.proc.poll() is None


@pytest.mark.unit
def test_a_record_removed_while_listed_is_read_again(tmp_path, monkeypatch):
    """A server that ends between TensorBoard's listing of its records and its reading
    of them: ``manager.get_all`` raises, ``server_records`` lists again."""
    import os

    from tensorboard import manager

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(manager.tempfile, "tempdir", None)  # TMPDIR read afresh
    os.makedirs(board_servers.info_dir(), exist_ok=True)
    listed = iter([["pid-1.info"]])  # the first listing names a record already gone
    real = os.listdir
    monkeypatch.setattr(manager.os, "listdir", lambda d: next(listed, None) or real(d))
    with pytest.raises(FileNotFoundError):
        manager.get_all()  # upstream's race, as it stands
    listed = iter([["pid-1.info"]])
    assert board_servers.server_records() == []
