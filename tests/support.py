"""Values and helpers the tests share (import them from here, not from conftest)."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from fmtb import fetch, servers
from fmtb_helpers import board_servers, exercises

REAL_MIRROR = Path(fetch.DEFAULT_MIRROR)


class TensorBoard(servers.TensorBoardServer):
    """A real ``tensorboard`` on loopback, with what the tests ask it over HTTP."""

    def get(self, path: str, timeout: float = 30.0) -> bytes:
        with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
            return resp.read()

    def get_json(self, path: str, timeout: float = 30.0):
        return board_servers.get_json(self.url + path, timeout)

    def post_json(self, path: str, body: dict, timeout: float = 30.0):
        """POST ``body`` as JSON (TensorBoard asks for its XSRF header) and parse the answer."""
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return json.loads(resp.read())

    def hparams_sessions(self) -> dict[str, dict]:
        """The HParams dashboard's session groups, by run name."""
        body = {"experimentName": "", "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS"],
                "colParams": [], "startIndex": 0, "sliceSize": 1000}
        groups = self.post_json("/data/plugin/hparams/session_groups", body)["sessionGroups"]
        return {group["name"]: group for group in groups}


def event_files(log_dir: str | Path) -> list[Path]:
    """The event files the notebooks of a run folder wrote (not its sub-runs', nor those
    of the notebooks' exercises, ``*-exercises``)."""
    return sorted(p for p in Path(log_dir).glob("events.out.tfevents.*")
                  if not p.name.endswith("-exercises"))


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) in the IDX format MNIST and Fashion-MNIST use."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


# --- one small series, shared by the runner, server and browser tests -------------
FMTB = str(Path(sys.executable).with_name("fmtb"))
SUBSET, LOG_EVERY = 2000, 40          # 500 mini-batches: 12 log points, more than
LOG_POINTS = SUBSET // 4 // LOG_EVERY  # TensorBoard's default of 10 images per tag
EVAL_POINTS = 2                        # the test set before and after training
EVAL_IMAGES = 1500                     # test images scored at each of them
N_FEATURES = 300                       # learned-feature embedding of notebook 06
SERIES_RUN = "fashion_mnist_experiment_1"
SERIES_MARK = f"series-{os.getpid()}"  # this test session's series


def fmtb(*args, timeout=900, env=None):
    """``fmtb ARGS`` as a user runs it; the result has ``seconds``."""
    started = time.monotonic()
    proc = subprocess.run([FMTB, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    proc.seconds = time.monotonic() - started
    return proc


def assert_refused(proc, *words, code=2, command="run"):
    """``fmtb COMMAND`` exited ``code`` with a last line naming the problem, no traceback."""
    out = proc.stdout + proc.stderr
    assert proc.returncode == code, out
    assert "Traceback" not in out
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"fmtb {command}: error: ")
    for word in words:
        assert word in last, last


# --- processes: the tests look only at their own ------------------------------
MARK = "FMTB_TEST_MARK"


def marked_env(mark: str) -> dict:
    """An environment whose every descendant can be found by ``mark``."""
    return {**os.environ, MARK: mark}


def processes_marked(mark: str) -> list[tuple[int, str]]:
    """``(pid, command line)`` of every live process whose environment has
    ``FMTB_TEST_MARK=mark`` (Linux: read from /proc); zombies are left out."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().rsplit(") ", 1)[1].startswith("Z"):
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # ended while we looked, or not ours
        found.append((int(entry.name), cmdline.strip()))
    return found


def wait_for(condition, timeout: float, interval: float = 0.2):
    """``condition()`` once it is true, or its last value after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)



# --- shared checks ------------------------------------------------------------
def full_disk(monkeypatch):
    """Temporary files that live on /dev/full: every write fails with ENOSPC, as on
    a full disk (a real one, from the kernel)."""
    import tempfile

    import pytest

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")

    def mkstemp(suffix="", prefix="tmp", dir=None, text=False):
        name = os.path.join(dir, f"{prefix}full{suffix}")
        os.symlink("/dev/full", name)
        return os.open(name, os.O_WRONLY), name

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


# the runs notebooks 03 and 05's exercises add beside a run: <run>_dropout, _lr0.01, _lr0.001
EXERCISE_RUNS = (exercises.LR_RUN, exercises.SLOW_RUN, exercises.DROPOUT_RUN)


def assert_hparams_sessions(sweep_dir: Path, learning_rates: dict[str, float]) -> None:
    """A real TensorBoard on ``sweep_dir`` lists exactly these runs in its HParams
    dashboard, each with its ``lr`` and both metrics of notebook 06."""

    with TensorBoard(sweep_dir) as tb:
        groups = tb.hparams_sessions()
    groups = {name: group for name, group in groups.items()  # not the exercises' side runs
              if not name.rstrip("/.").endswith(EXERCISE_RUNS)}
    assert set(groups) == set(learning_rates)
    for name, lr in learning_rates.items():
        assert float(groups[name]["hparams"]["lr"]) == lr
        metrics = {m["name"]["tag"]: m["value"] for m in groups[name]["metricValues"]}
        assert 0 < metrics["hparam/test accuracy"] <= 1 and metrics["hparam/test loss"] > 0


def fenced_context(browser, viewport: dict, allowed, refused: list):
    """A Playwright browser context whose requests go out only where ``allowed(url)``;
    the others are aborted and listed in ``refused``."""
    def fence(route):
        if allowed(route.request.url):
            return route.continue_()
        refused.append(route.request.url)
        return route.abort()

    context = browser.new_context(viewport=viewport)
    context.route("**/*", fence)
    return context
