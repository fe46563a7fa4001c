"""What a learner sees, in a real browser: JupyterLab runs notebook 01, its
``%tensorboard`` iframe shows TensorBoard with the series' run, and each
dashboard is photographed into ``build/screenshots/``.

Debian's chromium, driven by Playwright (a downloaded browser is not available
everywhere this runs).
"""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fmtb_helpers import board, paths

from fmtb import servers
from fmtb.maintainer import screenshots
from conftest import SERIES_RUN

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(screenshots.CHROMIUM).exists(),
                       reason=f"{screenshots.CHROMIUM} is missing: apt-get install chromium"),
]
SHOTS = paths.build_dir() / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(series, tmp_path_factory):
    """JupyterLab on loopback with a token, over a copy of the notebooks whose
    ``../runs`` already holds the series and whose ``../data`` is the real data."""
    base, _ = series
    root = tmp_path_factory.mktemp("lab")
    shutil.copytree(paths.notebooks_dir(), root / "notebooks",
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (root / "data").symlink_to(paths.data_root())
    shutil.copytree(base / "runs" / SERIES_RUN, root / "runs" / "series")
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "TENSORBOARD_BINARY"}
    env["PATH"] = "/usr/bin:/bin"  # the kernel must find tensorboard without the venv on PATH
    log = open(root / "lab.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--ServerApp.open_browser=False", "--LabApp.news_url=",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            assert proc.poll() is None, (root / "lab.log").read_text()[-2000:]
            time.sleep(0.5)
    else:
        pytest.fail("JupyterLab did not start")
    try:
        yield url, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        servers.stop_servers()


def test_notebook_01_in_jupyterlab_shows_tensorboard(lab):
    from playwright.sync_api import sync_playwright

    url, token, root = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    with sync_playwright() as p:
        browser = screenshots.launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/lab/tree/notebooks/01_setup_tensorboard.ipynb?token={token}")
            page.locator(".jp-Notebook").first.wait_for(timeout=90000)
            page.wait_for_timeout(3000)  # the kernel connects
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()
            # the %tensorboard iframe appears once the server answers
            frame_el = page.locator("iframe[id^=tensorboard-frame]").first
            frame_el.wait_for(timeout=180000)
            frame = frame_el.content_frame
            frame.get_by_text("series", exact=True).first.wait_for(timeout=120000)
            frame_el.scroll_into_view_if_needed()
            page.wait_for_timeout(2000)
            page.screenshot(path=str(SHOTS / "jupyterlab_01_tensorboard.png"))
            tb_url = frame_el.evaluate("e => e.src").rstrip("/")
        finally:
            browser.close()
    # the server %tensorboard started serves the same run the series wrote
    with urllib.request.urlopen(tb_url + "/data/runs", timeout=30) as resp:
        runs = resp.read().decode()
    assert "series" in runs and "fashion_mnist_experiment_1" in runs
    # ... and every dashboard the tutorial fills, photographed in TensorBoard itself
    taken = screenshots.capture(tb_url, SHOTS)
    assert set(taken) == set(screenshots.DASHBOARDS)
    for path in SHOTS.glob("*.png"):
        assert path.stat().st_size > 20_000, path


def test_tensorboard_before_any_data(tmp_path):
    from PIL import Image

    before = {s.pid for s in board.running_servers()}
    path = screenshots.capture_empty(tmp_path)
    with Image.open(path) as picture:
        assert picture.size == (1280, 600)
        # the orange header bar and a white page: more than one colour
        assert len(picture.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 10
    assert {s.pid for s in board.running_servers()} == before  # its server is gone
