"""fmtb sweep --engine ray: each configuration a Ray task, laid out as the local engine
does; failures reported, killed workers retried, Ctrl-C leaves no Ray process.

The integration tests use real Ray: one test lets fmtb start its own local instance,
the others join an instance this module starts (2 CPUs, no dashboard). Every process
either starts carries a mark in its environment, so the tests can tell that none is
left (see ``support.processes_marked``)."""
import io
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from fmtb import params, ray_cluster, ray_node, ray_sweep, trials
from fmtb.errors import NotebookFailed, UsageError

from support import (
    FMTB,
    assert_hparams_sessions,
    assert_refused,
    fmtb,
    marked_env,
    processes_marked,
    wait_for,
)

SMALL = ["-p", "train_subset", "400", "-p", "log_every", "50",
         "-p", "n_features", "50", "-q"]

# The Ray engine unpacks the trials' archives with tarfile's data filter; a Python
# without it (Debian 12's 3.11.2) refuses the engine in one line (tests/test_portable.py)
pytestmark = pytest.mark.skipif(not ray_sweep.has_tarfile_filter(),
                                reason="this Python has no tarfile data filter, which "
                                       "fmtb sweep --engine ray needs")


# --- unit: no Ray started ----------------------------------------------------------

@pytest.mark.unit
def test_without_ray_installed_the_error_says_how_to_install_it(tmp_path):
    # Ray made unimportable in this one process (sys.modules["ray"] = None)
    code = ("import sys; sys.modules['ray'] = None; from fmtb.cli import main; "
            f"sys.exit(main(['sweep', '--engine', 'ray', '--grid', 'lr=0.01', "
            f"'--runs-dir', {str(tmp_path)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert_refused(proc, "--engine ray needs Ray", "pip install -e '.[ray]'", "make ray",
                   command="sweep")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.unit
@pytest.mark.parametrize("args, words", [
    (["--address", "127.0.0.1:6379"], ["--address, --cpus-per-trial and --gpus-per-trial "
                                       "are for --engine ray"]),
    (["--engine", "ray", "--cpus-per-trial", "0"], ["--cpus-per-trial must be 1 or more"]),
    (["--engine", "ray", "--gpus-per-trial", "-1"], ["--gpus-per-trial must be 0 or more"]),
    (["--engine", "ray", "-p", "device", "tpu"], ["device must be one of auto, cpu, cuda, mps"]),
    (["--engine", "ray", "-p", "device", "cuda"], ["device cuda needs a GPU for each trial"]),
])
def test_ray_options_are_checked_before_anything_starts(args, words, tmp_path):
    proc = fmtb("sweep", "--runs-dir", str(tmp_path), "--grid", "lr=0.01", *args)
    assert_refused(proc, *words, command="sweep")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.unit
def test_on_ray_the_nodes_check_devices_and_cores():
    """A driver without a GPU may sweep on GPU nodes: only the node can tell."""
    declarations = {"device": "auto", "num_threads": 1}
    pairs = [("device", "cuda"), ("num_threads", "512")]
    values = params.parse(pairs, declarations, on_this_machine=False)
    assert values == {"device": "cuda", "num_threads": 512}
    with pytest.raises(params.ParameterError, match="num_threads must be at most"):
        params.parse([("num_threads", "512")], declarations)


@pytest.mark.unit
def test_trial_pairs_give_threads_and_device_unless_given():
    combo = {"lr": "0.01"}
    assert ray_sweep.trial_pairs([("seed", "1")], combo, 2, 0) == [
        ("seed", "1"), ("lr", "0.01"), ("num_threads", "2"), ("device", "cpu")]
    assert ray_sweep.trial_pairs([], combo, 1, 0.5)[-1] == ("device", "cuda")
    given = [("num_threads", "3"), ("device", "auto")]
    assert ray_sweep.trial_pairs(given, combo, 1, 1) == [*given, ("lr", "0.01")]


@pytest.mark.unit
def test_an_archive_is_laid_out_as_the_local_engine_writes(tmp_path):
    node = tmp_path / "node"
    (node / "sweep_3" / "lr_0.01" / "sub").mkdir(parents=True)
    (node / "sweep_3" / "lr_0.01" / "sub" / "events.out").write_bytes(b"\0events")
    (node / "executed").mkdir()
    (node / "executed" / "05_track_training.ipynb").write_text("{}")
    archive = ray_node.pack({ray_node.RUN: node / "sweep_3" / "lr_0.01",
                              ray_node.EXECUTED: node / "executed",
                              "missing": node / "nothing"})
    sweep_dir, out = tmp_path / "runs" / "sweep_3", tmp_path / "out"
    sweep_dir.mkdir(parents=True)
    ray_sweep.unpack(ray_node.Outcome("lr_0.01", "n", 1.0, archive), sweep_dir, out)
    assert (sweep_dir / "lr_0.01" / "sub" / "events.out").read_bytes() == b"\0events"
    assert (out / "lr_0.01" / "05_track_training.ipynb").read_text() == "{}"
    assert sorted(p.name for p in sweep_dir.iterdir()) == ["lr_0.01"]  # nothing left over

    # without --out: the executed notebooks beside the run, which still appears whole
    ray_sweep.unpack(ray_node.Outcome("lr_0.1", "n", 1.0, archive), sweep_dir, sweep_dir)
    assert sorted(p.name for p in (sweep_dir / "lr_0.1").iterdir()) == [
        "05_track_training.ipynb", "sub"]
    assert sorted(p.name for p in sweep_dir.iterdir()) == ["lr_0.01", "lr_0.1"]


@pytest.mark.unit
@pytest.mark.parametrize("name, kind, words", [
    ("run/../../escaped", tarfile.REGTYPE, "'run/../../escaped' would be extracted to"),
    ("/tmp/escaped", tarfile.REGTYPE, "'tmp/escaped', which is not a file or folder of a run"),
    ("elsewhere/file", tarfile.REGTYPE, "'elsewhere/file', which is not a file or folder of"),
    ("run/link", tarfile.SYMTYPE, "'run/link' is a link to an absolute path"),
    ("run/inside", tarfile.LNKTYPE, "'run/inside', which is not a file or folder of a run"),
])
def test_an_archive_cannot_write_outside_its_folders(name, kind, words, tmp_path):
    """tarfile's data filter refuses what would land outside, ours all but the runs'
    files and folders; nothing is written in either case."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        if kind == tarfile.LNKTYPE:  # a hard link to a file of the run: inside, but a link
            target = tarfile.TarInfo("run/file")
            target.size = 1
            tar.addfile(target, io.BytesIO(b"x"))
        info = tarfile.TarInfo(name)
        info.type, info.size = kind, 0 if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else 1
        info.linkname = "run/file" if kind == tarfile.LNKTYPE else "/etc"
        tar.addfile(info, None if info.size == 0 else io.BytesIO(b"x"))
    sweep_dir = tmp_path / "runs" / "sweep_1"
    sweep_dir.mkdir(parents=True)
    with pytest.raises(tarfile.FilterError, match=re.escape(words)):
        ray_sweep.unpack(ray_node.Outcome("a", "n", 1.0, buffer.getvalue()), sweep_dir,
                         tmp_path / "out")
    assert not (tmp_path / "runs" / "escaped").exists()
    assert list(sweep_dir.iterdir()) == [] and not (tmp_path / "out").exists()


@pytest.mark.unit
def test_progress_lines_say_metrics_time_and_what_is_left():
    said = []
    lines = trials.Tally(3, said.append)
    metrics = {"hparam/test accuracy": 0.6962, "hparam/test loss": 0.8571}
    first = lines.outcome("a", 41.2, metrics)
    assert first.startswith("done in 41 s: test accuracy 69.6%, test loss 0.857 (2 left, about ")
    assert lines.outcome("b", 3.0, error="boom").startswith("FAILED after 3 s (1 left, about ")
    assert lines.outcome("c", 100.0, metrics) == ("done in 2 min: test accuracy 69.6%, "
                                                  "test loss 0.857")
    assert lines.failures == [("b", "boom")] and lines.done == 3


@pytest.mark.unit
def test_a_failed_notebook_names_its_executed_copy():
    exc = NotebookFailed("notebook 05_track_training failed in cell [15]: X: y",
                         Path("/out/lr_1/05_track_training.ipynb"))
    assert str(exc) == ("notebook 05_track_training failed in cell [15]: X: y "
                        "(executed copy: /out/lr_1/05_track_training.ipynb)")
    assert exc.summary.endswith("X: y") and str(NotebookFailed("could not run")) == "could not run"


@pytest.mark.unit
@pytest.mark.parametrize("address, env, joined", [
    (None, None, None),                              # a local instance
    ("10.0.0.1:6379", None, "10.0.0.1:6379"),
    (None, "10.0.0.2:6379", "10.0.0.2:6379"),        # as in a Ray job
    (None, "http://127.0.0.1:8265", None),           # a job server, for `ray job submit`
    ("local", "10.0.0.2:6379", None),                # --address local: whatever the env says
])
def test_which_cluster_a_sweep_joins(address, env, joined, monkeypatch):
    if env is None:
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("RAY_ADDRESS", env)
    assert ray_cluster.cluster_address(address) == joined


@pytest.mark.unit
@pytest.mark.parametrize("cpus, gpus, pairs, grid, words", [
    (1, 0, [("device", "cuda")], {}, "device cuda needs a GPU for each trial"),
    (1, 0, [], {"device": ["cpu", "cuda"]}, "add --gpus-per-trial 1"),
    (1, 1, [("device", "cpu")], {}, "reserves GPUs that device cpu would not use"),
    (1, 0.3, [], {}, "must divide a GPU evenly"),
])
def test_devices_that_contradict_the_resources_are_refused(cpus, gpus, pairs, grid, words):
    with pytest.raises(UsageError, match=words):
        ray_sweep.check_options(cpus, gpus, pairs, grid)
    ray_sweep.check_options(1, 0.25, [("device", "auto")], {})  # these are fine
    ray_sweep.check_options(2, 0, [("device", "cpu")], {})


@pytest.mark.unit
def test_an_unreachable_address_is_refused_in_one_line(tmp_path):
    """Ray itself would wait for minutes, printing warnings that name another address."""
    proc = subprocess.run(
        [FMTB, "sweep", "--engine", "ray", "--address", "127.0.0.1:1", "--grid", "lr=0.01",
         "-p", "train_subset", "1000", "--runs-dir", str(tmp_path / "runs")],
        capture_output=True, text=True, timeout=90, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert_refused(proc, "could not join the Ray cluster at 127.0.0.1:1: nothing answered "
                         "within 10 s (Connection refused)", "ray start --head", command="sweep")
    assert (proc.stdout + proc.stderr).strip().count("\n") == 0  # one line in all
    assert list(tmp_path.iterdir()) == []  # no runs, and the sweep's $TMPDIR is gone


@pytest.mark.unit
def test_the_local_instance_token_is_readable_by_its_owner_only(tmp_path, monkeypatch):
    monkeypatch.delenv("RAY_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    token = tmp_path / ".ray" / "auth_token"
    assert ray_cluster.private_token() == token  # none yet: made, private from the start
    assert token.stat().st_mode & 0o777 == 0o600 and len(token.read_text()) == 64
    token.chmod(0o644)  # as Ray writes it
    made = token.read_text()
    ray_cluster.private_token()
    assert token.stat().st_mode & 0o777 == 0o600 and token.read_text() == made
    elsewhere = tmp_path / "token"
    elsewhere.write_text("abc")
    elsewhere.chmod(0o640)
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(elsewhere))  # Ray reads this one instead
    assert ray_cluster.private_token() == elsewhere
    assert elsewhere.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("RAY_AUTH_TOKEN", "in-the-environment")  # nothing on disk to guard
    assert ray_cluster.private_token() is None


# --- integration: real Ray ---------------------------------------------------------

def _short_tmpdir() -> Path:
    # Ray's sockets live under $TMPDIR/ray/session_.../sockets: a path of at most 107
    # bytes, which pytest's own tmp_path can exceed
    return Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))


def _ray_left(mark: str) -> list[tuple[int, str]]:
    return [p for p in processes_marked(mark)
            if any(word in p[1] for word in ("ray", "raylet", "gcs_server", "ipykernel",
                                             "tensorboard"))]


@pytest.mark.integration
def test_ctrl_c_keeps_finished_trials_and_stops_the_local_instance(tmp_path, real_data_root):
    """Without --address fmtb starts a local Ray instance, and stops it: also on Ctrl-C
    (SIGINT to the foreground process group, as a terminal sends it)."""
    mark = f"ray-ctrl-c-{os.getpid()}"
    tmp = _short_tmpdir()
    runs = tmp_path / "runs"
    # one trial at a time (2 CPUs each), so that one finishes before the interrupt
    proc = subprocess.Popen(
        [FMTB, "sweep", "--engine", "ray", "--cpus-per-trial", "2", "--grid", "lr=0.001,0.01",
         *SMALL, "--runs-dir", str(runs), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**marked_env(mark), "TMPDIR": str(tmp)})
    try:
        out = []
        for line in proc.stdout:  # read until the first trial has finished
            out.append(line)
            if line.startswith("[1/2] "):
                break
        assert out and out[-1].startswith("[1/2] "), "".join(out) + proc.stderr.read()
        assert out[0] == "Starting a local Ray instance for this sweep ...\n"
        assert "on Ray, a local instance (" in out[1] and "up to 1 at once, 2 CPUs each" in out[1]
        os.killpg(proc.pid, signal.SIGINT)
        rest, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, "".join(out) + rest + err
    assert "fmtb sweep: interrupted (SIGINT)" in err.splitlines() and "Traceback" not in err
    assert "Sweep stopped: 1 of 2 configurations finished, kept in " in rest
    finished = out[-1].split()[1]
    assert [p.name for p in (runs / "sweep_1").iterdir()] == [finished]
    assert (tmp_path / "out" / finished / "06_assess_the_model.ipynb").is_file()
    left = wait_for(lambda: not _ray_left(mark), 30)
    assert left, _ray_left(mark)
    assert list(tmp.iterdir()) == []  # the sweep's $TMPDIR (Ray's session folder in it)
    tmp.rmdir()


def _running(procs) -> list:
    import psutil

    def running(proc) -> bool:
        try:
            return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    return [p for p in procs if running(p)]


@pytest.mark.integration
def test_sigkill_leaves_no_ray_process_and_no_temporary_folder(tmp_path, real_data_root):
    """fmtb killed outright mid-trial: its reaper ends the local instance (Ray's agents,
    workers, the trial's kernel) and removes the sweep's $TMPDIR within 30 s. The token
    the instance relies on, readable by all before, is its owner's only."""
    import psutil

    mark = f"ray-sigkill-{os.getpid()}"
    tmp = _short_tmpdir()
    token = tmp_path / "auth_token"
    token.write_text("0123456789abcdef" * 4)
    token.chmod(0o644)
    env = {**marked_env(mark), "TMPDIR": str(tmp), "RAY_AUTH_TOKEN_PATH": str(token)}
    env.pop("RAY_ADDRESS", None)
    env.pop("RAY_AUTH_TOKEN", None)
    proc = subprocess.Popen(
        [FMTB, "sweep", "--engine", "ray", "--grid", "lr=0.01", *SMALL,
         "--runs-dir", str(tmp_path / "runs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert wait_for(lambda: _trials_running(mark), 300), "no trial started in 300 s"
        assert token.stat().st_mode & 0o777 == 0o600
        # Ray's agents write their names over their environment, mark included: they
        # are found as fmtb's descendants, looked up before it dies
        started = psutil.Process(proc.pid).children(recursive=True)
        assert any(p.name().startswith("ray::") or "raylet" in p.name() for p in started)
        proc.kill()  # SIGKILL, to fmtb alone
        proc.wait(timeout=10)
        assert wait_for(lambda: not _ray_left(mark), 30), _ray_left(mark)
        assert wait_for(lambda: not _running(started), 30), [
            (p.pid, p.name()) for p in _running(started)]
        assert wait_for(lambda: list(tmp.iterdir()) == [], 10), list(tmp.iterdir())
    finally:
        if proc.poll() is None:
            proc.kill()
    tmp.rmdir()


@pytest.fixture(scope="module")
def ray_instance():
    """A local Ray instance started by this module (2 CPUs, dashboard off), held by a
    small driver process; yields ``(address, mark, tmp)``, ``tmp`` its nodes' $TMPDIR.
    Stopped, with every process it started, at the end of the module."""
    mark = f"ray-instance-{os.getpid()}"
    tmp = _short_tmpdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, ray\n"
         "ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, "
         "configure_logging=False)\n"
         "print(ray.get_runtime_context().gcs_address, flush=True)\n"
         "sys.stdin.read()\n"
         "ray.shutdown()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**marked_env(mark), "TMPDIR": str(tmp), "RAY_AUTH_MODE": "token"})
    try:
        address = holder.stdout.readline().strip()
        assert address, "the test's Ray instance did not start"
        yield address, mark, tmp
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
        gone = wait_for(lambda: not _ray_left(mark), 30)
        assert gone, f"Ray processes left: {_ray_left(mark)}"
        subprocess.run(["rm", "-rf", str(tmp)], check=True)


def _sweep_on(address: str, mark: str, *args: str, timeout: float = 600):
    return fmtb("sweep", "--engine", "ray", "--address", address, *args,
                env={**marked_env(mark), "RAY_AUTH_MODE": "token"}, timeout=timeout)


@pytest.mark.integration
def test_a_sweep_on_ray_fills_hparams_and_reports_a_diverging_configuration(
        ray_instance, tmp_path, real_data_root):
    address, mark, node_tmp = ray_instance
    runs, out_dir = tmp_path / "runs", tmp_path / "out"
    proc = _sweep_on(address, mark, "--grid", "lr=0.001,0.01,1e30", *SMALL,
                     "--runs-dir", str(runs), "--out", str(out_dir))
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    lines = out.splitlines()
    assert lines[0] == f"Joining the Ray cluster at {address} ..."
    assert lines[1].startswith("Sweep of 3 configurations (lr: 3 values) into ")
    assert f"on Ray, the cluster at {address} (2 CPUs, 0 GPUs): up to 2 at once" in lines[1]
    done = [line for line in lines if line.startswith("[")]
    assert [line.split()[0] for line in done] == ["[1/3]", "[2/3]", "[3/3]"]  # as they finish
    by_name = {line.split()[1]: line for line in done}
    for name in ("lr_0.001", "lr_0.01"):
        assert f"{name} on " in by_name[name] and " done in " in by_name[name]
        assert "test accuracy " in by_name[name] and "test loss " in by_name[name]
    assert " FAILED after " in by_name["lr_1e30"]
    assert "left, about" in done[0] and "left" not in done[-1]
    failed = [line for line in lines if line.startswith("failed: lr_1e30:")]
    copy = out_dir / "lr_1e30" / "05_track_training.ipynb"
    assert failed and "notebook 05_track_training failed in cell" in failed[0]
    assert "TrainingDiverged" in failed[0] and failed[0].endswith(f"(executed copy: {copy})")
    assert copy.is_file() and "TrainingDiverged" in copy.read_text()

    # laid out as the local engine does: runs/sweep_N/<name>/, executed copies in --out
    sweep_dir = runs / "sweep_1"
    assert sorted(p.name for p in sweep_dir.iterdir()) == ["lr_0.001", "lr_0.01", "lr_1e30"]
    for name in ("lr_0.001", "lr_0.01"):
        assert sorted(p.name for p in (out_dir / name).iterdir()) == [
            "05_track_training.ipynb", "06_assess_the_model.ipynb"]
        assert (sweep_dir / name / "net.pt").is_file()
    # a real TensorBoard reads them back
    assert_hparams_sessions(sweep_dir, {"lr_0.001": 0.001, "lr_0.01": 0.01})
    # the nodes' kernels and TensorBoard servers ended with their trials, and their
    # folders there are gone
    assert wait_for(lambda: not _trial_processes(mark), 30), _trial_processes(mark)
    assert list(node_tmp.glob("fmtb-trial-*")) == []


def _trial_processes(mark: str) -> list[tuple[int, str]]:
    return [p for p in _ray_left(mark) if "ipykernel" in p[1] or "tensorboard" in p[1]]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0


def _trials_running(mark: str) -> dict[int, str]:
    """``{worker pid: configuration}`` for the Ray workers running a trial whose
    notebook's kernel has started (mid-trial)."""
    found = processes_marked(mark)
    kernel_parents = {_parent(pid) for pid, cmd in found if "ipykernel_launcher" in cmd}
    return {pid: cmd.split()[0].removeprefix("ray::fmtb-trial-") for pid, cmd in found
            if cmd.startswith("ray::fmtb-trial-") and pid in kernel_parents}


@pytest.mark.integration
def test_a_killed_worker_is_retried_once_then_reported(ray_instance, tmp_path, real_data_root):
    """lr_0.01's worker is killed once: Ray runs it again and it finishes. lr_0.001's
    is killed twice: it is reported, and the sweep does not hang."""
    address, mark, node_tmp = ray_instance
    runs, kills = tmp_path / "runs", {"lr_0.01": 1, "lr_0.001": 2}
    proc = subprocess.Popen(
        [FMTB, "sweep", "--engine", "ray", "--address", address, "--grid", "lr=0.001,0.01",
         *SMALL, "--runs-dir", str(runs), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**marked_env(mark), "RAY_AUTH_MODE": "token"})
    killed: set[int] = set()
    try:
        deadline = time.monotonic() + 400
        while any(kills.values()) and proc.poll() is None:
            assert time.monotonic() < deadline, f"still to kill: {kills}"
            for pid, name in _trials_running(mark).items():
                if pid not in killed and kills.get(name):
                    os.kill(pid, signal.SIGKILL)
                    killed.add(pid)
                    kills[name] -= 1
            time.sleep(0.2)
        out, err = proc.communicate(timeout=600)  # never a hang
    finally:
        if proc.poll() is None:
            proc.kill()
    assert kills == {"lr_0.01": 0, "lr_0.001": 0} and len(killed) == 3
    assert proc.returncode == 1, out + err
    done = {line.split()[1]: line for line in out.splitlines() if line.startswith("[")}
    assert " done in " in done["lr_0.01"] and " FAILED after " in done["lr_0.001"], out
    failed = [line for line in out.splitlines() if line.startswith("failed: lr_0.001: ")]
    assert failed and "Ray lost the process running it, after running a lost one again 1 " \
        "time(s): " in failed[0]
    assert (runs / "sweep_1" / "lr_0.01" / "net.pt").is_file()
    assert not (runs / "sweep_1" / "lr_0.001").exists()
    # the killed workers' kernels and TensorBoard servers did not outlive them
    assert wait_for(lambda: not _trial_processes(mark), 30), _trial_processes(mark)


@pytest.mark.integration
def test_ctrl_c_on_a_cluster_ends_the_trials_and_leaves_the_cluster(ray_instance, tmp_path,
                                                                      real_data_root):
    address, mark, node_tmp = ray_instance
    before = set(node_tmp.glob("fmtb-trial-*"))  # what workers killed earlier left
    proc = subprocess.Popen(
        [FMTB, "sweep", "--engine", "ray", "--address", address, "--grid", "lr=0.01", *SMALL,
         "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**marked_env(mark), "RAY_AUTH_MODE": "token"})
    try:
        assert wait_for(lambda: _trials_running(mark), 300), "no trial started in 300 s"
        os.killpg(proc.pid, signal.SIGINT)  # fmtb's terminal, not the cluster's
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, out + err
    assert "Sweep stopped: 0 of 1 configurations finished, kept in " in out
    assert "fmtb sweep: interrupted (SIGINT)" in err.splitlines() and "Traceback" not in err
    # the trial ended: its kernel, its TensorBoard and its folder on the node are gone ...
    assert wait_for(lambda: not _trial_processes(mark), 30), _trial_processes(mark)
    assert wait_for(lambda: not set(node_tmp.glob("fmtb-trial-*")) - before, 30)
    # ... and the cluster it joined goes on
    assert any("raylet" in cmd for _, cmd in processes_marked(mark))


@pytest.mark.integration
def test_more_gpus_per_trial_than_a_local_instance_has_is_refused(tmp_path):
    tmp = _short_tmpdir()
    proc = fmtb("sweep", "--engine", "ray", "--gpus-per-trial", "1", "--grid", "lr=0.01",
                "--runs-dir", str(tmp_path / "runs"), env={"TMPDIR": str(tmp)})
    assert list(tmp.iterdir()) == []  # Ray's session folder went with the sweep's $TMPDIR
    tmp.rmdir()
    if "0 GPUs" not in proc.stderr:
        pytest.skip("this machine has a GPU")
    assert_refused(proc, "--gpus-per-trial 1 but this machine has 0 GPUs", command="sweep")
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
