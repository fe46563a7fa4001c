"""TensorBoard for the notebooks: the run, its writers, the inline frame, reading back.
The notebooks keep the ``SummaryWriter.add_*`` calls in view; this module holds what
would distract from them (the servers' plumbing: :mod:`fmtb_helpers.board_servers`)."""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path

from . import board_servers as servers
from . import params, paths
from .errors import FmtbError, say

# --- the run and its writers ---------------------------------------------------

def run_dir(runs_dir: str | Path, run_name: str) -> Path:
    """``<runs_dir>/<run_name>``; a ``run_name`` that is a path, not a name, is refused."""
    return Path(runs_dir).expanduser().resolve() / params.check_run_name(run_name)


def _shown(path: Path) -> str:
    """``path`` as a learner types it: relative to the notebook's folder, unless far."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith(f"..{os.sep}..{os.sep}") else relative


def _move_aside(runs_dir: str | Path, name: str, items: list[Path], whole=False) -> Path:
    """Move ``items`` into a new ``<runs_dir>_previous/<name>-<time of the newest>[-n]``
    (``whole``: the one folder in ``items`` becomes it). Beside ``runs_dir``, not in it:
    TensorBoard lists every folder under its logdir, dot-folders too."""
    newest = max(p.stat().st_mtime for p in items)
    stamp = datetime.fromtimestamp(newest).strftime("%Y%m%d-%H%M%S")
    runs = Path(runs_dir).expanduser().resolve()
    archive = runs.with_name(runs.name + "_previous")
    archive.mkdir(exist_ok=True)
    n = 1
    while (target := archive / f"{name}-{stamp}{f'-{n}' if n > 1 else ''}").exists():
        n += 1
    if whole:
        shutil.move(items[0], target)
    else:
        target.mkdir()
        for item in items:
            shutil.move(item, target / item.name)
    return target


def start_run(runs_dir: str | Path, run_name: str, fresh: bool = True) -> Path:
    """``<runs_dir>/<run_name>``, created if need be; with ``fresh``, an earlier run of
    that name, and only it, moves aside first, and a running TensorBoard is given time
    to drop it before the new run begins."""
    path = run_dir(runs_dir, run_name)
    if fresh and path.is_dir() and any(path.iterdir()):
        had_model = (path / paths.CHECKPOINT_NAME).is_file()
        target = _move_aside(runs_dir, run_name, [path], whole=True)
        servers.wait_until_dropped(path)
        there, back = _shown(target), _shown(path.parent)
        print(say(f"An earlier run named {run_name}"
                  f"{f' (with its trained model, {paths.CHECKPOINT_NAME})' if had_model else ''}"
                  f" is now in {there}; move it back into {back} to see it in TensorBoard again.",
                  f"이름이 {run_name}인 이전 런"
                  f"{f'(학습된 모델 {paths.CHECKPOINT_NAME} 포함)' if had_model else ''}"
                  f"을 {there}로 옮겼습니다. TensorBoard에서 다시 보려면 {back}로 되돌리십시오."))
    path.mkdir(parents=True, exist_ok=True)
    return path


# What a notebook leaves in the run beside its event files (05: the trained model)
LEAVES = {"05": (paths.CHECKPOINT_NAME,)}


def notebook_writer(runs_dir: str | Path, run_name: str, notebook: str):
    """A ``SummaryWriter`` on the run, its event file marked as ``notebook``'s. What that
    notebook logged (and :data:`LEAVES`) before moves aside first: a rerun replaces it
    instead of adding a second copy, and a failed rerun leaves no older model behind."""
    path = start_run(runs_dir, run_name, fresh=False)
    earlier = sorted(path.glob(f"events.out.tfevents.*.{notebook}")) + [
        path / name for name in LEAVES.get(notebook, ()) if (path / name).is_file()]
    if earlier:
        model = any(p.name == paths.CHECKPOINT_NAME for p in earlier)
        there = _shown(_move_aside(runs_dir, f"{run_name}-{notebook}", earlier))
        print(say(f"Notebook {notebook} ran on run {run_name} before: its new logs replace the "
                  f"earlier ones, which are now in {there}"
                  f"{f' with its trained model, {paths.CHECKPOINT_NAME}' if model else ''}.",
                  f"런 {run_name}에 노트북 {notebook}의 이전 기록이 있어 새 기록으로 "
                  f"대신합니다. 이전 기록"
                  f"{f'(학습된 모델 {paths.CHECKPOINT_NAME} 포함)' if model else ''}"
                  f"은 {there}로 옮겼습니다."))
    return paths.summary_writer(path, notebook, filename_suffix=f".{notebook}")


class ModelError(FmtbError):
    """No model of this run's own finished training; the message says what to run."""


def trained_model(runs_dir: str | Path, run_name: str, data_root: str | Path = "", **short):
    """The model notebook 05 trained on this run, if it finished there (a failed 05 moves it
    aside); on no run at all (this notebook runs alone), a short one trained here (``short``)."""
    path = run_dir(runs_dir, run_name)
    if not path.exists():
        from . import model
        return model.train_short(runs_dir, run_name, data_root, **short)
    model = path / paths.CHECKPOINT_NAME
    if not model.is_file() or not any(path.glob("events.out.tfevents.*.05")):
        missing = paths.CHECKPOINT_NAME if not model.is_file() else "logs of notebook 05"
        raise ModelError(say(
            f"run {run_name} has no finished training of its own ({missing} is not in {path}): "
            f"run notebook 05 on this run first",
            f"런 {run_name}에는 끝까지 마친 학습이 없습니다({path}에 "
            f"{'노트북 05의 기록' if model.is_file() else missing + ' 파일'}이 없습니다). "
            f"이 런에서 노트북 05를 먼저 실행하십시오"))
    return model


def embedding_writer(runs_dir: str | Path, run_name: str, name: str):
    """A ``SummaryWriter`` on a new sub-run ``<run>/<name>_<time>`` for one embedding:
    the Projector reads embeddings when the set of runs changes and caches them by run
    and tensor name, so a new one needs a new run. Earlier ``<name>_*`` move aside."""
    path = start_run(runs_dir, run_name, fresh=False)
    earlier = sorted(path.glob(f"{name}_*"))
    while (target := path / f"{name}_{datetime.now():%H%M%S}") in earlier:
        time.sleep(1)  # twice in one second: a name TensorBoard may have cached
    if earlier:
        there = _shown(_move_aside(runs_dir, f"{run_name}-{name}", earlier))
        print(say(f"This replaces the earlier {name} embedding of run {run_name}; "
                  f"it is now in {there}.",
                  f"런 {run_name}의 이전 {name} 임베딩을 대신합니다. "
                  f"이전 것은 {there}로 옮겼습니다."))
    return paths.summary_writer(target)


@contextlib.contextmanager
def quiet_graph_tracing():
    """Hide ``torch.jit.trace``'s deprecation (torch 2.14), which ``add_graph`` uses: the
    graph is still right."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.trace", category=FutureWarning)
        yield


# --- reading logs back ---------------------------------------------------------

def event_file(writer) -> Path:
    """The event file an open ``writer`` writes to, flushed (on a closed one, ``flush``
    would open a new file)."""
    if writer.file_writer is None:
        raise ValueError("the writer is closed: read it back before writer.close()")
    writer.flush()
    return Path(writer._get_file_writer().event_writer._file_name)


def read_events(path: str | Path, *kinds: str):
    """An event file (or a run folder) loaded by TensorBoard's ``EventAccumulator``,
    nothing of ``kinds`` (default: all) sampled away."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    keep = {k: 0 for k in kinds or ea.DEFAULT_SIZE_GUIDANCE}
    return ea.EventAccumulator(str(path), size_guidance=keep).Reload()


def event_summary(path: str | Path) -> dict[str, dict[str, int]]:
    """What an event file (or a run folder) holds: ``{kind: {tag: count}}``, kinds
    ``scalars``, ``images``, ``histograms``, ``tensors`` (PR curves), ``graph``."""
    tags = (acc := read_events(path)).Tags()
    out: dict[str, dict[str, int]] = {}
    for kind, reader in (("scalars", acc.Scalars), ("images", acc.Images),
                         ("histograms", acc.Histograms), ("tensors", acc.Tensors)):
        if tags.get(kind):
            out[kind] = {tag: len(reader(tag)) for tag in sorted(tags[kind])}
    return out | ({"graph": {"graph": 1}} if tags.get("graph") else {})


def print_logged(writer) -> None:
    """Print what ``writer`` has written so far, read back from its event file: a
    line per tag, one for a group of tags (``weights/…``); returns nothing."""
    summary = event_summary(event_file(writer))
    if not summary:
        print("nothing logged yet")
    for kind, tags in summary.items():
        groups: dict[str, list[int]] = {}  # "weights/" or a lone tag: the counts
        for tag, count in tags.items():
            groups.setdefault(tag.partition("/")[0] + "/" if "/" in tag else tag, []).append(count)
        for tag, count in tags.items():
            counts = groups.pop(group := tag.partition("/")[0] + "/" if "/" in tag else tag, [])
            if len(counts) > 1:
                steps = "/".join(str(c) for c in sorted(set(counts)))
                print(f"{kind:<10} '{group}…': {len(counts)} tags, {steps} each")
            elif counts:
                print(f"{kind:<10} {tag!r}: {count}")


def projector_summary(log_dir: str | Path) -> list[dict]:
    """Each embedding in the run's projector config: its tensor's shape, labels, sprite."""
    from google.protobuf import text_format
    from PIL import Image
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

    log_dir, config = Path(log_dir), ProjectorConfig()
    text_format.Parse((log_dir / "projector_config.pbtxt").read_text(), config)
    out = []
    for emb in config.embeddings:
        rows = (log_dir / emb.tensor_path).read_text().splitlines()
        item = {"tensor_name": emb.tensor_name, "shape": (len(rows), len(rows[0].split("\t")))}
        if emb.metadata_path:
            item["labels"] = (log_dir / emb.metadata_path).read_text().splitlines()
        if emb.sprite.image_path:
            with Image.open(log_dir / emb.sprite.image_path) as sprite:
                item["sprite_size"] = sprite.size
            item["thumbnail"] = tuple(emb.sprite.single_image_dim)
        out.append(item)
    return out


# --- TensorBoard inside the notebook ---------------------------------------------

def setup_tensorboard() -> None:
    """Have ``%tensorboard`` start this environment's TensorBoard (``TENSORBOARD_BINARY``)
    and never reuse a dead server. In a live Jupyter session that is ``fmtb-tensorboard``,
    which outlives the kernel's restarts and ends with the Jupyter server; in batch
    (papermill, nbval) the server ends with the kernel's process group."""
    launcher = Path(sys.executable).with_name("fmtb-tensorboard")
    live = servers.live_jupyter()
    os.environ["TENSORBOARD_BINARY"] = str(launcher if live and launcher.is_file()
                                           else servers.tensorboard_binary())
    servers.running_servers()
    servers.frame_opens_on("")


def open_on(dashboard: str, runs_dir: str | Path) -> None:
    """Make the next ``%tensorboard`` frame open on ``dashboard`` (``images``,
    ``graphs``, ``projector``, ``scalars``, ``pr_curves``, ...), through the Jupyter
    server's proxy where there is one; print a running server's address (no pid to kill)."""
    servers.frame_opens_on(dashboard)
    if (info := servers.server_for(runs_dir)) is None:
        return
    if servers.live_jupyter():  # a browser will load the frame
        servers.wait_for(info.port, dashboard, Path(runs_dir).expanduser().resolve())
    print(f"In a browser tab of its own: {address(runs_dir, dashboard)}")


def address(runs_dir: str | Path, dashboard: str = "") -> str | None:
    """The address of the TensorBoard serving ``runs_dir``, as the notebook's browser
    reaches it (through the Jupyter server's proxy where there is one)."""
    if (info := servers.server_for(runs_dir)) is None:
        return None
    base = servers.proxy_base() or "http://localhost:%PORT%/"
    return base.replace("%PORT%", str(info.port)) + (f"#{dashboard}" if dashboard else "")
