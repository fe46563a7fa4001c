"""The plumbing under :mod:`fmtb_helpers.board`: TensorBoard's records of running
servers, the proxy the notebook's browser reaches them through, waiting for a
dashboard. (The ``fmtb-tensorboard`` launcher is :mod:`fmtb.launcher`.)"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
import time
import urllib.request
from pathlib import Path

import psutil


def tensorboard_binary() -> Path:
    """The ``tensorboard`` beside the running Python (on Windows, ``tensorboard.exe``)."""
    beside = [Path(sys.executable).with_name(n) for n in ("tensorboard", "tensorboard.exe")]
    if found := next((p for p in beside if p.is_file()), None) or shutil.which("tensorboard"):
        return Path(found)
    raise FileNotFoundError("no 'tensorboard' executable found beside "
                            f"{sys.executable} or on PATH: pip install tensorboard")


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, ended but not reaped, does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's: it exists
        return True


def running_servers():
    """This user's TensorBoard servers (``%tensorboard``'s or any other), from TensorBoard's
    records; dead servers' records are removed, so ``%tensorboard`` cannot "reuse" one."""
    infos = server_records()
    dead = {info.pid for info in infos if not alive(info.pid)}
    for pid in dead:
        forget_server(pid)
    return [info for info in infos if info.pid not in dead]


def server_records():
    """TensorBoard's ``manager.get_all()``, read again when a server ended between its
    listing of the records and its reading of them (get_all then raises FileNotFoundError)."""
    from tensorboard import manager
    for _ in range(9):
        with contextlib.suppress(FileNotFoundError):
            return manager.get_all()
    return manager.get_all()


def info_dir() -> str:
    """Where TensorBoard keeps its records: the only use of a private TensorBoard
    name (``manager._get_info_dir``); a test fails if upstream moves it."""
    from tensorboard import manager

    return manager._get_info_dir()


def forget_server(pid: int) -> None:
    """Remove a server's record, so ``%tensorboard`` won't try to reuse it."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(info_dir(), f"pid-{pid}.info"))


def started_in(info) -> Path | None:
    """The working directory server ``info`` was started in: its ``cache_key``, opaque
    upstream, is base64 of JSON with a ``working_directory`` (``manager.cache_key``).
    The one place that reads it; a test fails if upstream changes the format."""
    import base64

    try:
        return Path(json.loads(base64.b64decode(info.cache_key))["working_directory"])
    except (ValueError, TypeError, KeyError):
        return None


def server_for(runs_dir: str | Path):
    """The running server whose ``--logdir`` is ``runs_dir`` (a relative ``runs_dir``
    from this working directory; a server's relative ``--logdir`` from the folder it
    was started in: learners sharing a machine each find their own), or None."""
    want = Path(runs_dir).expanduser().resolve()
    for info in running_servers():
        logdir = Path(info.logdir or "").expanduser()
        base = Path("/") if logdir.is_absolute() else started_in(info)
        if info.logdir and base is not None and (base / logdir).resolve() == want:
            return info
    return None


_OWN_PROXY_URL = os.environ.get("TENSORBOARD_PROXY_URL")  # before open_on sets it


def live_jupyter() -> bool:
    """Whether this is a Jupyter server's kernel (a browser shows it), not papermill's."""
    return "JPY_SESSION_NAME" in os.environ


def proxy_base() -> str | None:
    """Where the frame loads TensorBoard from: the learner's ``TENSORBOARD_PROXY_URL``;
    else, in a Jupyter server with jupyter-server-proxy, ``<base_url>proxy/%PORT%/``."""
    if _OWN_PROXY_URL:
        return _OWN_PROXY_URL
    if not live_jupyter() or importlib.util.find_spec("jupyter_server_proxy") is None:
        return None  # papermill, nbval: no browser; or no proxy
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix is None:
        from jupyter_server.serverapp import list_running_servers

        parent = int(os.environ.get("JPY_PARENT_PID", "0"))
        prefix = next((s["base_url"] for s in list_running_servers() if s["pid"] == parent),
                      None)
    return None if prefix is None else prefix.rstrip("/") + "/proxy/%PORT%/"


def frame_opens_on(dashboard: str) -> None:
    """Point ``%tensorboard``'s frame at the proxy, if any, and at ``dashboard``."""
    os.environ.pop("TENSORBOARD_PROXY_URL", None)
    if (base := proxy_base()) is not None:
        os.environ["TENSORBOARD_PROXY_URL"] = base + (f"#{dashboard}" if dashboard else "")


def get_json(url: str, timeout: float = 10.0):
    """GET ``url`` and parse its JSON answer."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def wait_until_dropped(path: Path, timeout: float = 20.0) -> None:
    """Until a running TensorBoard no longer lists the run ``path`` (it looks every 5 s):
    a run re-created sooner would show the old data beside the new."""
    info = server_for(path.parent)
    deadline = time.monotonic() + timeout
    while info is not None and time.monotonic() < deadline:
        if path.name not in get_json(f"http://localhost:{info.port}/data/runs"):
            return
        time.sleep(0.5)


def wait_for(port: int, dashboard: str, runs_dir: Path, timeout: float = 30.0) -> None:
    """Until the server has re-read the logs (every 5 s), lists ``dashboard`` as active
    (the Projector decides in a thread on the first question: ask before the frame
    does) and, for the Projector, shows every embedding run."""
    newest = max((p.stat().st_mtime for p in runs_dir.rglob("events.out.tfevents.*")),
                 default=0.0)
    time.sleep(max(0.0, min(6.0, newest + 6.0 - time.time())))
    embeddings = {p.parent.relative_to(runs_dir).as_posix()
                  for p in runs_dir.rglob("projector_config.pbtxt")}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        url = f"http://localhost:{port}/data/plugin"
        if get_json(url + "s_listing").get(dashboard, {}).get("enabled") and (
                dashboard != "projector" or embeddings <= set(get_json(url + "/projector/runs"))):
            return
        time.sleep(0.5)
