"""`%tensorboard` where the learner's browser reaches Jupyter's port and nothing else
(JupyterHub, a remote `jupyter lab`, Docker): JupyterLab under the base URL JupyterHub
gives (`/user/learner/`), Chromium forbidden every other port, notebook 02 run to the
end; its frame must show the run's image grid, through jupyter-server-proxy."""
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fmtb import folders
from fmtb.maintainer import chromium

from lab import Lab, copy_project
from support import fenced_context

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(chromium.CHROMIUM).exists(),
                       reason=f"{chromium.CHROMIUM} is missing: apt-get install chromium"),
]
BASE = "/user/learner/"


@pytest.fixture(scope="module")
def hub(tmp_path_factory, real_data_root):
    root = copy_project(tmp_path_factory.mktemp("hub"))
    server = Lab(root, base_url=BASE, env={"JUPYTERHUB_SERVICE_PREFIX": BASE}).start()
    try:
        yield server
    finally:
        server.stop()


def test_the_frame_reaches_tensorboard_through_jupyter_only(hub):
    from playwright.sync_api import sync_playwright

    blocked = []

    def only_jupyter(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme not in ("http", "https") or parts.port == hub.port

    with sync_playwright() as p:
        browser = chromium.launch(p, webgl=False)
        try:
            context = fenced_context(browser, {"width": 1400, "height": 1000}, only_jupyter,
                                     blocked)
            page = context.new_page()
            hub.open(page, "02_write_to_tensorboard.ipynb")
            nb = hub.run_all(page, "02_write_to_tensorboard.ipynb")
            assert not [o for c in nb["cells"] for o in c.get("outputs", [])
                        if o["output_type"] == "error"]
            src = hub.frame_src(page)
            assert src.startswith(f"http://127.0.0.1:{hub.port}{BASE}proxy/"), src
            assert src.endswith("/#images"), src
            frame = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) "
                                 "iframe[id^=tensorboard-frame]").last.content_frame
            frame.get_by_text("four_fashion_mnist_images").first.wait_for(timeout=120000)
            picture = frame.locator("img").first
            picture.wait_for(timeout=60000)
            page.wait_for_function("e => e.complete && e.naturalWidth > 100",
                                   arg=picture.element_handle(), timeout=60000)
            page.wait_for_timeout(2000)
            shots = folders.build_dir() / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "hub_02_through_the_proxy.png"))
        finally:
            browser.close()
    # nothing on this machine was asked for on another port (a direct frame would be)
    assert not [u for u in blocked if urlsplit(u).hostname in ("127.0.0.1", "localhost")], \
        blocked
