"""fmtb sweep: grids checked like fmtb run, one run per combination, HParams filled;
engines behind one interface, with no import cycle among fmtb's modules."""
import ast
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import fmtb
from fmtb import folders, grid
from fmtb.errors import UsageError

from support import EXERCISE_RUNS, FMTB, assert_hparams_sessions, assert_refused
from support import fmtb as run_fmtb

SMALL = ["-p", "train_subset", "400", "-p", "log_every", "50",
         "-p", "n_features", "50", "-q"]


def _imports(path: Path, package_dir: Path) -> set[str]:
    """The fmtb modules ``path`` imports, anywhere in it (lazy imports too)."""
    module = ".".join(("fmtb", *path.relative_to(package_dir).with_suffix("").parts))
    module = module.removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def fmtb_import_graph() -> dict[str, set[str]]:
    """``{module: the fmtb modules it imports}`` for every module of fmtb."""
    package_dir = Path(fmtb.__file__).parent
    files = {".".join(("fmtb", *p.relative_to(package_dir).with_suffix("").parts))
             .removesuffix(".__init__"): p for p in package_dir.rglob("*.py")}
    return {name: {m for m in _imports(path, package_dir) if m in files and m != name}
            for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` as ``[a, b, ..., a]``, or []."""
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return []


@pytest.mark.unit
def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"b"}}) == []


@pytest.mark.unit
def test_no_import_cycle_among_fmtb_modules():
    graph = fmtb_import_graph()
    assert {"fmtb.sweep", "fmtb.ray_sweep", "fmtb.local_sweep", "fmtb.engine"} <= set(graph)
    assert "fmtb.ray_sweep" in graph["fmtb.sweep"]  # lazy imports are seen too
    assert find_cycle(graph) == []
    # the engines know the interface and the shared parts, never the sweep
    for engine in ("fmtb.local_sweep", "fmtb.ray_sweep"):
        assert "fmtb.sweep" not in graph[engine] and "fmtb.engine" in graph[engine]
    assert not {"fmtb.sweep", "fmtb.local_sweep", "fmtb.ray_sweep"} & (
        graph["fmtb.grid"] | graph["fmtb.trials"] | graph["fmtb.engine"])


@pytest.mark.unit
def test_parse_grid_and_combinations():
    cells = grid.parse(["lr=0.001,0.01", "momentum=0.9, 0.5"])
    assert cells == {"lr": ["0.001", "0.01"], "momentum": ["0.9", "0.5"]}
    combos = grid.combinations(cells)
    assert len(combos) == 4 and combos[1] == {"lr": "0.001", "momentum": "0.5"}
    assert grid.folder_name(combos[1]) == "lr_0.001-momentum_0.5"


@pytest.mark.unit
@pytest.mark.parametrize("items, message", [
    (["lr"], "--grid takes NAME=V1,V2"),
    (["lr="], "--grid takes NAME=V1,V2"),
    (["lr=1", "lr=2"], "names 'lr' twice"),
])
def test_malformed_grids(items, message):
    with pytest.raises(UsageError, match=message):
        grid.parse(items)


@pytest.mark.unit
@pytest.mark.parametrize("args, words", [
    (["--grid", "bach_size=4,8"], ["unknown parameter 'bach_size'", "did you mean 'batch_size'"]),
    (["--grid", "lr=0.001,nan"], ["lr must be a finite number"]),
    (["--grid", "lr=0.01", "-p", "lr", "0.1"], ["lr is in --grid and in -p"]),
    (["--grid", "lr=0.01", "-p", "n_features", "0"], ["n_features must be between 1 and 10000"]),
    (["--grid", "lr=0.001,0.001"], ["--grid lr gives 0.001 twice ('0.001' and '0.001')",
                                    "give each value once"]),
    (["--grid", "lr=0.001,0.01,1e-3"], ["--grid lr gives 0.001 twice ('0.001' and '1e-3')"]),
    (["--grid", "in_memory=true,yes"], ["--grid in_memory gives True twice"]),
    (["--grid", "data_root=/a b,/a_b"], ["'/a b' and '/a_b' would share the folder "
                                         "data_root__a_b"]),
])
def test_bad_grids_are_refused_in_one_line(args, words, tmp_path):
    proc = run_fmtb("sweep", "--runs-dir", str(tmp_path), *args)
    assert_refused(proc, *words, command="sweep")
    assert list(tmp_path.iterdir()) == []


def _tree(folder: Path) -> set[Path]:
    """What is under ``folder``, but what other tests write in build/ while a sweep runs
    beside them on make test's other worker (screenshots, the web edition)."""
    def others(name: str) -> bool:  # site/build.py: build/site*, and MyST-NB's outputs
        return name.startswith("site") or name in ("jupyter_execute", "screenshots",
                                                   "frame-missing.png")

    return {p for p in folder.rglob("*") if not others(p.relative_to(folder).parts[0])
            } if folder.is_dir() else set()


@pytest.mark.integration
def test_a_sweep_fills_hparams_and_survives_a_failing_configuration(tmp_path, real_data_root):
    """Without --out, the executed notebooks land beside each run, in the sweep's own
    folder of the runs dir given: nothing under the project's build/."""
    build = _tree(folders.build_dir())
    proc = run_fmtb("sweep", "--grid", "lr=0.001,0.01,1e30", *SMALL,
                    "--runs-dir", str(tmp_path / "runs"))
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    lines = out.splitlines()
    assert lines[0].startswith("Sweep of 3 configurations (lr: 3 values) into ")
    assert "[1/3] lr_0.001 ... done" in out and "[2/3] lr_0.01 ... done" in out
    # measured, then extrapolated: the time left after each but the last
    assert "(2 left, about " in lines[1] and "(1 left, about " in lines[2]
    assert "left" not in lines[3]
    assert "test accuracy " in lines[1] and "test loss " in lines[1]
    assert "[3/3] lr_1e30 ... FAILED after " in out
    failed = [line for line in out.splitlines() if line.startswith("failed: lr_1e30:")]
    sweep_dir = tmp_path / "runs" / "sweep_1"
    copy = sweep_dir / "lr_1e30" / "05_track_training.ipynb"
    assert failed and "notebook 05_track_training failed in cell" in failed[0]
    assert failed[0].endswith(f"(executed copy: {copy})") and copy.is_file()
    assert sorted(p.name for p in sweep_dir.iterdir() if not p.name.endswith(EXERCISE_RUNS)) \
        == ["lr_0.001", "lr_0.01", "lr_1e30"]  # and the exercises' side runs
    for name in ("lr_0.001", "lr_0.01"):
        assert {"05_track_training.ipynb", "06_assess_the_model.ipynb", "net.pt"} <= {
            p.name for p in (sweep_dir / name).iterdir()}
    assert_hparams_sessions(sweep_dir, {"lr_0.001": 0.001, "lr_0.01": 0.01})
    assert _tree(folders.build_dir()) <= build  # nothing new under build/

    # a second sweep into another runs dir is sweep_1 there too: its notebooks are its own
    other = run_fmtb("sweep", "--grid", "lr=0.001", *SMALL, "--runs-dir", str(tmp_path / "b"))
    assert other.returncode == 0, other.stdout + other.stderr
    for runs in ("runs", "b"):
        copy = tmp_path / runs / "sweep_1" / "lr_0.001" / "06_assess_the_model.ipynb"
        injected = [cell for cell in json.loads(copy.read_text())["cells"]
                    if "injected-parameters" in cell["metadata"].get("tags", [])]
        assert f'runs_dir = "{tmp_path / runs / "sweep_1"}"' in "".join(injected[0]["source"])
    assert _tree(folders.build_dir()) <= build
    # the sweep's TensorBoard servers (and this test's) are gone; found by their logdir,
    # not by what else runs on the machine
    assert _processes_naming(sweep_dir) == []


def _processes_naming(path) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if str(path) in line]


@pytest.mark.integration
def test_ctrl_c_leaves_no_connection_files(tmp_path, real_data_root):
    """Kernel connection files hold the kernel's keys: an interrupted sweep leaves none
    in $TMPDIR (Ctrl-C: SIGINT to the foreground process group)."""
    tmp = Path(tempfile.mkdtemp(prefix="s"))
    proc = subprocess.Popen(
        [FMTB, "sweep", "--grid", "lr=0.001,0.01", "-p", "train_subset", "4000", "-q",
         "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "TMPDIR": str(tmp)})
    try:
        deadline = time.monotonic() + 300
        while not list(tmp.rglob("*.json")) and proc.poll() is None:
            assert time.monotonic() < deadline, "no kernel started in 300 s"
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
        time.sleep(1)  # the kernel is starting or running
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        left = list(tmp.rglob("*"))
        shutil.rmtree(tmp)
    assert proc.returncode == 130, out + err
    assert "fmtb sweep: interrupted (SIGINT)" in err.splitlines() and "Traceback" not in err
    assert [p for p in left if p.suffix == ".json"] == []
    assert out.startswith("Sweep of 2 configurations (lr: 2 values) into ")
    # its kernel (named by its connection file) and TensorBoard (by its logdir) end too
    deadline = time.monotonic() + 20
    while _processes_naming(tmp) + _processes_naming(tmp_path / "runs"):
        assert time.monotonic() < deadline, _processes_naming(tmp) + _processes_naming(
            tmp_path / "runs")
        time.sleep(0.5)


BIG = ["--grid", "lr=0.001,0.002,0.003,0.004,0.005,0.006,0.007", "--grid", "seed=1,2,3"]


@pytest.mark.unit
def test_a_large_grid_off_a_terminal_needs_yes(tmp_path):
    """21 configurations (more than sweep.LARGE): counted, estimated, not started."""
    proc = subprocess.run([FMTB, "sweep", *BIG, "-p", "train_subset", "1000",
                           "--runs-dir", str(tmp_path)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)
    assert_refused(proc, "the grid has 21 configurations, about ", " one after another",
                   "pass --yes to start it", command="sweep")
    assert list(tmp_path.iterdir()) == []


def _read_until(fd: int, text: bytes, timeout: float) -> bytes:
    """What a terminal shows until ``text`` appears, or until it closes."""
    import select

    said = b""
    deadline = time.monotonic() + timeout
    while text not in said:
        assert time.monotonic() < deadline, said
        if select.select([fd], [], [], 1)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the other end closed (Linux says EIO)
                break
            if not chunk:
                break
            said += chunk
    return said


@pytest.mark.unit
@pytest.mark.parametrize("answer, started", [("n", False), ("y", True)])
def test_a_large_grid_on_a_terminal_asks(answer, started, tmp_path):
    """On a terminal fmtb asks; 'n' starts nothing, 'y' starts the sweep (whose
    configurations all fail here at once on data that is not there: no kernel)."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([FMTB, "sweep", *BIG, "--runs-dir", str(tmp_path / "runs"),
                             "-p", "data_root", str(tmp_path / "no-data")],
                            stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    try:
        said = _read_until(leader, b"Start it? [y/N] ", 120)
        os.write(leader, f"{answer}\n".encode())
        said += _read_until(leader, b"\0", 300)  # to the end
        proc.wait(timeout=60)
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
    out = said.decode().replace("\r\n", "\n")
    assert out.startswith("The grid has 21 configurations, about "), out
    if not started:
        assert proc.returncode == 2, out
        assert out.rstrip().endswith("fmtb sweep: error: sweep not started"), out
        assert not (tmp_path / "runs").exists()
    else:
        assert "Sweep of 21 configurations (lr: 7 values, seed: 3 values)" in out
        assert proc.returncode == 1 and out.count(" FAILED after ") == 21, out


@pytest.mark.integration
def test_sigkill_leaves_no_kernel_and_no_temporary_folder(tmp_path, real_data_root):
    """fmtb killed outright mid-trial: the sweep's reaper ends the kernel and removes
    the sweep's $TMPDIR, with the kernel's connection file (its keys)."""
    tmp = Path(tempfile.mkdtemp(prefix="k"))
    proc = subprocess.Popen(
        [FMTB, "sweep", "--grid", "lr=0.001", *SMALL, "--runs-dir", str(tmp_path / "runs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(tmp)})
    try:
        deadline = time.monotonic() + 300
        while not list(tmp.rglob("*.json")):
            assert time.monotonic() < deadline and proc.poll() is None, "no kernel in 300 s"
            time.sleep(0.2)
        time.sleep(1)
        proc.kill()  # SIGKILL, to fmtb alone
        proc.wait(timeout=10)
        deadline = time.monotonic() + 30
        while list(tmp.iterdir()) or _processes_naming(tmp):
            assert time.monotonic() < deadline, (list(tmp.rglob("*")), _processes_naming(tmp))
            time.sleep(0.5)
    finally:
        if proc.poll() is None:
            proc.kill()
    tmp.rmdir()
