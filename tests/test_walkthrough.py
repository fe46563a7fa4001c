"""The learner's path, in a real JupyterLab and Chromium: the six notebooks of a fresh
copy opened one after another from the file browser, Run All in each, each closed
when done with its kernel left running. Each frame's
own server must show that section's data; the server outlives an interrupt and a
restart of the kernel that started it; running 05 again leaves one copy of its data.

Notebook 05 trains on a small subset here (the full run is covered by ``fmtb run``
and the stored notebooks). A screenshot per notebook goes to ``build/screenshots/``.
"""
import json
import re
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from fmtb import folders
from fmtb.maintainer import chromium
from fmtb_helpers import board, board_servers

from lab import Lab, copy_project, set_parameters

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(chromium.CHROMIUM).exists(),
                       reason=f"{chromium.CHROMIUM} is missing: apt-get install chromium"),
]
SHOTS = folders.build_dir() / "screenshots"
RUN = "fashion_mnist_experiment_1"
SUBSET, LOG_EVERY, N_FEATURES = 2000, 100, 300
LOG_POINTS = SUBSET // 4 // LOG_EVERY


def text(output) -> str:
    """A stream output's text (saved notebooks may split it into lines)."""
    value = output.get("text", "")
    return "".join(value) if isinstance(value, list) else value


def get_json(port: int, path: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as resp:
        return json.loads(resp.read())


def q(**params) -> str:
    return "?" + urllib.parse.urlencode(params)


def pr_curve_tags(port):
    return set(get_json(port, "/data/plugin/pr_curves/tags").get(RUN, {}))


def embedding_runs(port):
    return get_json(port, "/data/plugin/projector/runs")


def shows_section(port: int, number: str) -> list[str]:
    """What is missing of notebook ``number``'s data in the server at ``port``."""
    missing = []
    if number >= "02" and "four_fashion_mnist_images" not in get_json(
            port, "/data/plugin/images/tags").get(RUN, {}):
        missing.append("Images: four_fashion_mnist_images")
    if number >= "03" and not get_json(port, "/data/plugin/graphs/info").get(
            RUN, {}).get("run_graph"):
        missing.append("Graphs: the model")
    if number >= "04":
        pixels = [r for r in embedding_runs(port) if r.startswith(f"{RUN}/pixels_")]
        shapes = [[int(n) for n in e["tensorShape"]] for r in pixels
                  for e in get_json(port, "/data/plugin/projector/info" + q(run=r))["embeddings"]]
        if shapes != [[100, 784]]:
            missing.append(f"Projector: 100 images (found {shapes})")
    if number >= "05":
        loss = get_json(port, "/data/plugin/scalars/scalars" + q(run=RUN, tag="training loss"))
        if len(loss) != LOG_POINTS:
            missing.append(f"Scalars: {LOG_POINTS} training loss points (found {len(loss)})")
        if "predictions vs. actuals" not in get_json(port, "/data/plugin/images/tags")[RUN]:
            missing.append("Images: predictions vs. actuals")
        if "gradients/fc1.weight" not in get_json(port, "/data/plugin/histograms/tags")[RUN]:
            missing.append("Histograms")
    if number >= "06":
        if "Bag" not in pr_curve_tags(port):
            missing.append("PR Curves: one per class")
        learned = [r for r in embedding_runs(port) if r.startswith(f"{RUN}/learned_features_")]
        shapes = [[int(n) for n in e["tensorShape"]] for r in learned
                  for e in get_json(port, "/data/plugin/projector/info" + q(run=r))["embeddings"]]
        if shapes != [[N_FEATURES, 84]]:
            missing.append(f"Projector: learned features (found {shapes})")
        body = {"experimentName": "", "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS"],
                "colParams": [], "startIndex": 0, "sliceSize": 100}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/data/plugin/hparams/session_groups",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            groups = json.loads(resp.read())["sessionGroups"]
        if RUN not in [g["name"] for g in groups]:
            missing.append(f"HParams: the run's session (found {[g['name'] for g in groups]})")
    return missing


def wait_until_shown(port: int, number: str, timeout: float = 30.0) -> list[str]:
    """TensorBoard re-reads the logs every 5 s: give it a few rounds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        missing = shows_section(port, number)
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(1)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, real_data_root):
    root = copy_project(tmp_path_factory.mktemp("walkthrough"))
    set_parameters(root / "notebooks" / "05_track_training.ipynb", train_subset=SUBSET,
                   log_every=LOG_EVERY, eval_images=1000)
    set_parameters(root / "notebooks" / "06_assess_the_model.ipynb", n_features=N_FEATURES)
    server = Lab(root).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = chromium.launch(p)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


NOTEBOOKS = ["01_setup_tensorboard", "02_write_to_tensorboard", "03_inspect_the_model",
             "04_projector", "05_track_training", "06_assess_the_model"]
DASHBOARD = {"02": "images", "03": "graphs", "04": "projector", "05": "scalars",
             "06": "pr_curves"}
seen = {}  # what the walk found, for the tests after it


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_walk_through_the_series(lab, page, name):
    number = name[:2]
    lab.open(page, f"{name}.ipynb")
    nb = lab.run_all(page, f"{name}.ipynb")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] for c in code), "a cell did not run"
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, errors[0]["ename"] + ": " + errors[0]["evalue"]
    stderr = [text(o) for c in code for o in c["outputs"] if o.get("name") == "stderr"]
    stderr = "".join(t for t in stderr if "it/s]" not in t)  # tqdm's bar is fine
    assert "Warning" not in stderr and "/tmp/" not in stderr, stderr
    src = lab.frame_src(page)
    # the frame goes through the Jupyter server (jupyter-server-proxy), to its dashboard
    match = re.fullmatch(rf"{re.escape(lab.url)}proxy/(\d+)/#?(\w*)", src)
    assert match, src
    port, dashboard = int(match.group(1)), match.group(2)
    assert dashboard == DASHBOARD.get(number, "")
    seen.setdefault("port", port)
    assert port == seen["port"], "every notebook reuses the server of notebook 01"
    assert not wait_until_shown(port, number), wait_until_shown(port, number, 0)
    # the proxied address answers too, as the browser asks it
    with urllib.request.urlopen(f"{lab.url}proxy/{port}/data/runs?token={lab.token}",
                                timeout=30) as resp:
        assert RUN in json.loads(resp.read())
    page.wait_for_timeout(2000)  # the frame draws its dashboard (for the screenshot)
    lab.frame(page).scroll_into_view_if_needed()  # where the notebook has moved it since
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"walkthrough_{name}.png"))
    lab.close(page, f"{name}.ipynb")  # done with it; its kernel and server run on


def test_server_outlives_an_interrupt_and_a_restart_of_01s_kernel(lab):
    port = seen["port"]
    kernel = lab.kernel_of("01_setup_tensorboard.ipynb")
    pid = next(i.pid for i in board_servers.running_servers() if i.port == port)
    lab.api("POST", f"api/kernels/{kernel}/interrupt")
    lab.api("POST", f"api/kernels/{kernel}/restart")
    import time

    time.sleep(3)
    assert board_servers.alive(pid)
    assert not shows_section(port, "06")
    lab.api("DELETE", f"api/kernels/{kernel}")  # shut down, too
    time.sleep(2)
    assert not shows_section(port, "06")
    # and it answers on loopback only
    import socket

    outside = [a for a in socket.gethostbyname_ex(socket.gethostname())[2]
               if not a.startswith("127.")]
    for address in outside:
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=5):
            pass


def test_running_05_again_leaves_one_copy(lab, page):
    name = "05_track_training"
    lab.open(page, f"{name}.ipynb")
    lab.run_all(page, f"{name}.ipynb")
    run = lab.root / "runs" / RUN
    assert len(list(run.glob("events.out.tfevents.*.05"))) == 1
    assert board.event_summary(next(run.glob("events.out.tfevents.*.05")))["scalars"][
        "training loss"] == LOG_POINTS
    assert not wait_until_shown(seen["port"], "06")
