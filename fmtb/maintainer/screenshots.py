"""Screenshots of TensorBoard's dashboards, as a learner sees them after each notebook.

Playwright drives Debian's ``/usr/bin/chromium`` (a browser download is not
possible everywhere this runs). ``make screenshots`` runs the six notebooks one
after another with their defaults, without their exercises (the pictures stand
beside the tutorial's text and must not show an answer), into a run named as the
learner's, against one TensorBoard started as ``%tensorboard`` starts it
(``--logdir ../runs`` from the notebooks' folder, so no machine path shows), and
photographs each notebook's dashboards right after it: ``docs/img/tb_NN_*.png``,
the pictures the notebooks and the README show. With a sweep folder, the HParams
of several runs too.

    python -m fmtb.maintainer.screenshots OUT_DIR [SWEEP_DIR]
"""
from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

from ..servers import TensorBoardServer
from .chromium import browser_page

# 06's text discusses these classes' curves
PR_CLASSES = "^(Trouser|Bag|Shirt)$"

# notebook -> its pictures: file name -> (dashboard, text the page must show, filter);
# each shows what the notebook's sentence beside it says (tests/test_pictures.py reads
# them back)
SHOTS = {
    "01": {"tb_01_empty.png": ("", "No dashboards are active", "")},
    "02": {"tb_02_images.png": ("images", "four_fashion_mnist_images", "")},
    "03": {"tb_03_graphs.png": ("graphs", "Net", "")},
    "04": {"tb_04_projector.png": ("projector", "default:00000", "")},
    "05": {"tb_05_scalars.png": ("scalars", "training loss", "training loss"),
           "tb_05_predictions.png": ("images", "predictions vs. actuals", "predictions"),
           "tb_05_histograms.png": ("histograms", "gradients/conv1.bias",
                                    r"^gradients/conv1\.bias$")},
    "06": {"tb_06_pr_curves.png": ("pr_curves", "Trouser", PR_CLASSES),
           "tb_06_projector_features.png": ("projector", "learned features:00000", ""),
           "tb_06_hparams.png": ("hparams", "hparam/test accuracy", "")},
}
# the run the notebooks write to: the only one ticked where the text discusses no other
MAIN_RUN = "fashion_mnist_experiment_1"
# the dashboards whose runs list gets a filter that keeps only MAIN_RUN
ONLY_MAIN_RUN = {"scalars", "images", "histograms", "pr_curves"}
SWEEP_SHOT = {"tb_sweep_hparams.png": ("hparams", "hparam/test accuracy", "")}


VIEWPORT = {"width": 1280, "height": 860}
# 05's text: "At step 2,999, after only 3000 iterations": the third of 15 log points
PREDICTIONS_STEP = "2,999"
PREDICTIONS_VIEWPORT = {"width": 1720, "height": 640}  # the card's four images side by side
GRAPHS_VIEWPORT = {"width": 1280, "height": 1100}  # Net expanded, both Conv2d nodes
# the graph alone, right of the controls and left of the node's card: its labels are
# what a reader (and OCR) must find, both Conv2d nodes among them
GRAPH_AREA = {"x": 320, "y": 150, "width": 630, "height": 950}
# the viewport a dashboard's picture is taken in, once it is set up
VIEWPORTS = {"hparams": {"width": 1760, "height": 480},  # every metric's column
             "pr_curves": {"width": 1980, "height": 640},  # the three classes in one row
             "scalars": {"width": 1280, "height": 610}}  # training loss enlarged, nothing below


def _visible(page, text: str):
    """The first visible element showing ``text`` (the whole text for short words)."""
    return page.get_by_text(text, exact=len(text) < 5).filter(visible=True).first


def _wait_for_frame_canvas(page, timeout_ms: int) -> None:
    """The Projector runs in an iframe: wait until one frame draws a canvas."""
    for _ in range(timeout_ms // 500):
        if any(f.locator("canvas").count() for f in page.frames):
            return
        page.wait_for_timeout(500)
    raise TimeoutError("the Projector drew no canvas")


def _menu(page, word: str):
    """The Projector's dropdown whose label holds ``word`` ("tensors found",
    "Color by"), and its frame; (None, None) if there is none yet."""
    for frame in page.frames:
        menus = frame.locator("paper-dropdown-menu")
        for i in range(menus.count()):
            if word in (menus.nth(i).evaluate("e => e.label") or ""):
                return frame, menus.nth(i)
    return None, None


def _choose(page, word: str, item: str, timeout_ms: int = 20000) -> bool:
    """Pick ``item`` in the Projector's menu labelled with ``word``; False if it can't."""
    import warnings

    for _ in range(timeout_ms // 500):  # menus fill once the run's config loads
        frame, menu = _menu(page, word)
        if menu is not None and menu.evaluate("e => e.value"):
            break
        page.wait_for_timeout(500)
    else:
        warnings.warn(f"the Projector's {word!r} menu did not appear", stacklevel=2)
        return False
    for _ in range(3):
        if menu.evaluate("e => e.value") == item:
            return True
        menu.click(timeout=timeout_ms)
        page.wait_for_timeout(500)
        frame.locator("paper-item", has_text=item).filter(visible=True).first.click(
            timeout=timeout_ms)
        page.wait_for_timeout(1500)
    warnings.warn(f"the Projector's {word!r} menu did not switch to {item!r}", stacklevel=2)
    return False


def _show(page, text: str) -> None:
    """Scroll the dashboard so the section titled ``text`` starts at the top."""
    _visible(page, text).evaluate("e => e.scrollIntoView({block: 'start'})")


def _filter(page, text: str) -> None:
    """Type ``text`` into the dashboard's tag filter, so its cards come first."""
    box = page.get_by_label("Filter tags (regular expressions supported)")
    box = box.filter(visible=True).first
    box.fill(text, timeout=60000)
    box.press("Enter")


def capture(url: str, out_dir: Path, shots: dict, timeout_ms: int = 60000) -> list[Path]:
    """Take ``shots`` (file name -> (dashboard, text, filter)) from the server at ``url``."""
    taken = []
    with browser_page(VIEWPORT) as main:
        for name, (dashboard, text, tag_filter) in shots.items():
            page = main
            if dashboard == "graphs":  # twice the pixels: the node labels are small
                page = main.context.browser.new_page(viewport=GRAPHS_VIEWPORT,
                                                     device_scale_factor=2)
            page.goto("about:blank")  # a fresh app: nothing kept from the last shot
            page.goto(f"{url}/#{dashboard}", wait_until="domcontentloaded")
            if dashboard == "graphs":  # open the model's node, as the tutorial says
                node = page.locator("text.nodelabel", has_text=text).first
                node.wait_for(timeout=timeout_ms)
                page.wait_for_timeout(3000)  # the layout animates in first
                node.dblclick(force=True)
                page.wait_for_timeout(3000)
                page.get_by_text("Fit to screen").first.click()  # the whole of Net
                page.get_by_text("None", exact=True).first.click()  # "Color by": dark on white
            elif dashboard == "projector":  # a WebGL canvas, then the points settle
                _wait_for_frame_canvas(page, timeout_ms)
                if "learned" in text:  # its own run (notebook 06), its only tensor
                    _choose(page, "run", next(r for r in _projector_runs(url)
                                              if "learned_features_" in r))
                    page.wait_for_timeout(4000)
                else:
                    for _ in range(2):  # a late load can reset the menu: check again
                        _choose(page, "tensor", text)
                        page.wait_for_timeout(4000)
                _choose(page, "Color by", "label")  # the tutorial's tip
            else:
                _visible(page, text).wait_for(timeout=timeout_ms)
            if dashboard in ONLY_MAIN_RUN and shots is not SWEEP_SHOT:
                _only_run(page, MAIN_RUN)
            if dashboard == "scalars":  # every logged value, as 05's text says
                _smoothing(page, "0")
                page.get_by_role("checkbox", name="Ignore outliers in chart scaling").filter(
                    visible=True).first.uncheck()
            if name == "tb_05_predictions.png":  # big enough to read the titles
                page.set_viewport_size(PREDICTIONS_VIEWPORT)
                page.get_by_text("Show actual image size").first.click()
            if tag_filter:
                _filter(page, tag_filter)
                page.wait_for_timeout(1500)
                _show(page, text)
            if dashboard in ("scalars", "histograms"):  # one chart, big enough to read
                page.locator('paper-icon-button[icon="fullscreen"]').filter(visible=True).first.click()
                page.wait_for_timeout(1500)
            if name == "tb_05_predictions.png":
                _slide_to_step(page, PREDICTIONS_STEP, timeout_ms)
            if dashboard in VIEWPORTS:
                page.set_viewport_size(VIEWPORTS[dashboard])
            if dashboard == "pr_curves":
                _show(page, "Tags matching")
            page.mouse.move(1, 1)  # no tooltip from where the pointer last was
            page.wait_for_timeout(3000)  # let charts and images finish drawing
            page.screenshot(path=str(out_dir / name),
                            clip=GRAPH_AREA if dashboard == "graphs" else None)
            if page is not main:
                page.close()
            main.set_viewport_size(VIEWPORT)
            taken.append(out_dir / name)
    return taken


def _only_run(page, run: str) -> None:
    """Filter the runs list to ``run`` alone: the charts draw only the runs listed."""
    box = page.get_by_label("Write a regex to filter runs").filter(visible=True).first
    box.fill(f"^{re.escape(run)}$")
    box.press("Enter")
    page.wait_for_timeout(1500)


def _smoothing(page, value: str) -> None:
    """Set the Scalars dashboard's *Smoothing* to ``value``."""
    box = page.locator('input[type="number"]').filter(visible=True).first
    box.fill(value)
    box.press("Enter")
    page.wait_for_timeout(1500)


def _slide_to_step(page, step: str, timeout_ms: int) -> None:
    """Move the first image card's step slider to ``step`` (as the card prints it,
    "2,999"): from the first step, one arrow key press at a time."""
    card = page.locator("tf-image-loader").filter(visible=True).first
    slider = card.locator("paper-slider").first
    slider.wait_for(timeout=timeout_ms)
    slider.focus()
    page.keyboard.press("Home")
    for _ in range(100):
        page.wait_for_timeout(300)
        text = card.evaluate("e => (e.shadowRoot || e).textContent")
        if re.search(rf"step\s*{re.escape(step)}(?![0-9,])", text):
            return
        page.keyboard.press("ArrowRight")
    raise TimeoutError(f"the Images dashboard's slider never showed step {step}")


def _projector_runs(url: str) -> list[str]:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{url}/data/plugin/projector/runs", timeout=30) as resp:
        return json.loads(resp.read())


def series_pictures(out_dir: Path) -> list[Path]:
    """Run the six notebooks with their defaults, without their exercises, in a
    scratch folder laid out as the project is (``notebooks/``, ``data``, ``runs/``);
    after each one, its pictures."""
    import shutil
    import subprocess

    import papermill as pm

    from fmtb_helpers import board_servers, paths

    from .. import folders
    from ..servers import SERVER_FLAGS, stop_servers
    from . import exercises

    taken, before = [], {i.pid for i in board_servers.running_servers()}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        shutil.copytree(paths.notebooks_dir(), root / "notebooks", symlinks=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        exercises.remove(root / "notebooks")  # the pictures must not show an answer
        (root / "data").symlink_to(paths.data_root())
        (root / "runs").mkdir()
        server = subprocess.Popen(  # what %tensorboard in notebook 01 starts
            [str(board_servers.tensorboard_binary()), "--logdir", "../runs", *SERVER_FLAGS],
            cwd=root / "notebooks", stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            for _ in range(300):
                info = next((i for i in board_servers.running_servers()
                             if i.pid == server.pid), None)
                if info:
                    break
                time.sleep(0.2)
            url = f"http://localhost:{info.port}"
            # 01's picture: TensorBoard before anything is logged
            taken += capture(url, out_dir, SHOTS["01"])
            for notebook in folders.notebooks(root / "notebooks"):
                print(f"running {notebook.stem} ...", flush=True)
                pm.execute_notebook(str(notebook), str(root / f"executed-{notebook.name}"),
                                    cwd=str(notebook.parent), progress_bar=False,
                                    kernel_name="python3")
                time.sleep(7)  # TensorBoard re-reads the logs every 5 s
                if notebook.name[:2] != "01":
                    taken += capture(url, out_dir, SHOTS[notebook.name[:2]])
        finally:
            stop_servers([i for i in board_servers.running_servers() if i.pid not in before])
    return taken


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    taken = series_pictures(out_dir)
    if len(argv) > 1:
        with TensorBoardServer(argv[1]) as tb:
            taken += capture(tb.url, out_dir, SWEEP_SHOT)
    for path in taken:
        print(f"{path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
