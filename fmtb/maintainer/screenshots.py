"""Screenshots of TensorBoard's dashboards, taken in a real browser.

Playwright drives Debian's ``/usr/bin/chromium`` (a browser download is not
possible everywhere this runs). ``make screenshots`` runs a short series and
regenerates ``docs/img/*.png``, the pictures the README and the notebooks show.

    python -m fmtb.maintainer.screenshots RUNS_DIR OUT_DIR [SWEEP_DIR]

With ``SWEEP_DIR`` (an ``fmtb sweep`` folder), the HParams picture is taken
there, where several sessions sit side by side.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from ..servers import TensorBoardServer

CHROMIUM = os.environ.get("FMTB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
WEBGL_ARGS = ["--enable-unsafe-swiftshader", "--use-angle=swiftshader",
              "--enable-webgl", "--ignore-gpu-blocklist"]

# file name -> (dashboard hash, text the page must show before the picture is taken)
DASHBOARDS = {
    "tb_images_grid.png": ("images", "four_fashion_mnist_images"),
    "tb_images_predictions.png": ("images", "predictions vs. actuals"),
    "tb_graph.png": ("graphs", "Net"),
    "tb_projector.png": ("projector", "default:00000"),
    "tb_projector_features.png": ("projector", "learned features:00000"),
    "tb_scalars.png": ("scalars", "training loss"),
    "tb_histograms.png": ("histograms", "gradients"),
    "tb_pr_curves.png": ("pr_curves", "Ankle Boot"),
    "tb_hparams.png": ("hparams", "hparam/test accuracy"),
}


VIEWPORT = {"width": 1280, "height": 860}
HPARAMS_VIEWPORT = {"width": 1760, "height": 480}
EMPTY_VIEWPORT = {"width": 1280, "height": 600}


@contextlib.contextmanager
def browser_page(viewport=None):
    """A page of a headless chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            yield browser.new_page(viewport=viewport or VIEWPORT)
        finally:
            browser.close()


def launch(playwright, webgl: bool = True):
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=CHROMIUM_ARGS + (WEBGL_ARGS if webgl else []))


def webgl_works(page) -> bool:
    return bool(page.evaluate(
        "() => { const c = document.createElement('canvas');"
        " return !!(c.getContext('webgl2') || c.getContext('webgl')); }"))


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
        warnings.warn(f"the Projector's {word!r} menu did not appear")
        return False
    for _ in range(3):
        if menu.evaluate("e => e.value") == item:
            return True
        menu.click(timeout=timeout_ms)
        page.wait_for_timeout(500)
        frame.locator("paper-item", has_text=item).filter(visible=True).first.click(
            timeout=timeout_ms)
        page.wait_for_timeout(1500)
    warnings.warn(f"the Projector's {word!r} menu did not switch to {item!r}")
    return False


def _show(page, text: str) -> None:
    """Scroll the dashboard so the section titled ``text`` starts at the top."""
    _visible(page, text).evaluate("e => e.scrollIntoView({block: 'start'})")


def capture(url: str, out_dir: str | Path, names=None, timeout_ms: int = 60000) -> dict:
    """Take each screenshot in ``names`` (default: all) from the server at ``url``.

    Returns ``{file name: path}``; raises when a dashboard never shows its text.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    taken = {}
    with browser_page() as page:
        for name in names or DASHBOARDS:
            dashboard, text = DASHBOARDS[name]
            page.goto("about:blank")  # a fresh app: nothing kept from the last shot
            page.goto(f"{url}/#{dashboard}", wait_until="domcontentloaded")
            if dashboard == "graphs":  # open the model's node, as the tutorial says
                node = page.locator("text.nodelabel", has_text=text).first
                node.wait_for(timeout=timeout_ms)
                page.wait_for_timeout(3000)  # the layout animates in first
                node.dblclick(force=True)
            elif dashboard == "projector":  # a WebGL canvas, then the points settle
                _wait_for_frame_canvas(page, timeout_ms)
                for _ in range(2):  # a late load can reset the menu: check again
                    _choose(page, "tensor", text)
                    page.wait_for_timeout(4000)
                _choose(page, "Color by", "label")  # the tutorial's tip
            else:
                _visible(page, text).wait_for(timeout=timeout_ms)
            if name == "tb_images_predictions.png":
                _show(page, text)
            if dashboard == "hparams":  # wide enough for the metrics' columns
                page.set_viewport_size(HPARAMS_VIEWPORT)
            page.mouse.move(1, 1)  # no tooltip from where the pointer last was
            page.wait_for_timeout(2500)  # let charts and images finish drawing
            page.screenshot(path=str(out_dir / name))
            page.set_viewport_size(VIEWPORT)
            taken[name] = out_dir / name
    return taken


def capture_empty(out_dir: str | Path) -> Path:
    """TensorBoard on an empty run, as notebook 01 leaves it."""
    with tempfile.TemporaryDirectory() as logdir:
        (Path(logdir) / "fashion_mnist_experiment_1").mkdir()
        with TensorBoardServer(logdir) as tb, browser_page(EMPTY_VIEWPORT) as page:
            page.goto(tb.url + "/", wait_until="networkidle")
            page.get_by_text("No dashboards are active").first.wait_for(timeout=60000)
            path = Path(out_dir) / "tb_01_empty.png"
            page.screenshot(path=str(path))
    return path


def main(argv: list[str]) -> int:
    runs_dir, out_dir = argv[0], argv[1]
    sweep_dir = argv[2] if len(argv) > 2 else None
    capture_empty(out_dir)
    hparams = ["tb_hparams.png"] if sweep_dir else []
    taken = {}
    with TensorBoardServer(runs_dir) as tb:
        taken.update(capture(tb.url, out_dir, [n for n in DASHBOARDS if n not in hparams]))
    if sweep_dir:
        with TensorBoardServer(sweep_dir) as tb:
            taken.update(capture(tb.url, out_dir, hparams))
    for path in taken.values():
        print(f"{path} ({path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
