"""TensorBoard plumbing: run folders, writers' pitfalls, servers, reading logs back.

The notebooks keep the ``SummaryWriter.add_*`` calls in view; this module holds
what would distract from them:

- :func:`start_run` opens ``<runs_dir>/<run_name>``, moving an earlier run with
  that name aside (never deleting it, never mixing into it);
- :func:`keep_projector_entries` stops a second writer from rewriting
  ``projector_config.pbtxt`` with only its own embeddings;
- :func:`quiet_graph_tracing` hides ``torch.jit.trace``'s deprecation warning
  that ``add_graph`` triggers, and keeps the graph;
- :func:`use_venv_tensorboard` lets ``%tensorboard`` find the ``tensorboard``
  beside the kernel's Python even when its ``bin`` is not on ``PATH``;
- :func:`event_summary` / :func:`print_logged` read event files back;
- :class:`TensorBoardServer`, :func:`running_servers`, :func:`stop_servers`
  start and stop real servers.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path

# TensorBoard keeps 10 images per tag unless told otherwise: the training
# notebook logs 15 prediction figures, so ask for up to 100.
SERVER_FLAGS = ("--samples_per_plugin", "images=100")
PROJECTOR_CONFIG = "projector_config.pbtxt"


# --- runs --------------------------------------------------------------------

def run_dir(runs_dir: str | Path, run_name: str) -> Path:
    return Path(runs_dir).expanduser().resolve() / run_name


def start_run(runs_dir: str | Path, run_name: str, fresh: bool = True) -> Path:
    """``<runs_dir>/<run_name>``, created if need be.

    With ``fresh`` (the default), an earlier run of that name is first renamed
    ``<run_name>.<timestamp>`` beside it, so nothing is lost and nothing is
    mixed into it. ``fmtb run`` opens the run itself and passes ``fresh=False``.
    """
    path = run_dir(runs_dir, run_name)
    if fresh and path.exists() and any(path.iterdir()):
        stamp = datetime.fromtimestamp(path.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
        target = path.with_name(f"{run_name}.{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = path.with_name(f"{run_name}.{stamp}.{n}")
        path.rename(target)
        warnings.warn(f"an earlier run was moved aside to {target}", stacklevel=2)
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- writer pitfalls ---------------------------------------------------------

def load_projector_config(log_dir: str | Path):
    """The ``ProjectorConfig`` already written in ``log_dir`` (empty if none)."""
    from google.protobuf import text_format
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

    config = ProjectorConfig()
    path = Path(log_dir) / PROJECTOR_CONFIG
    if path.is_file():
        text_format.Parse(path.read_text(), config)
    return config


def keep_projector_entries(writer, replace: str | None = None) -> int:
    """Make ``writer.add_embedding`` add to the run's projector config, not replace it.

    ``SummaryWriter`` rewrites ``projector_config.pbtxt`` from the embeddings it
    wrote itself, so a second writer on the same run erases the first one's.
    ``replace``: a tag about to be written again (a notebook run twice), whose
    earlier entry is dropped rather than listed twice, and its files removed
    (torch would print "Embedding dir exists" and write over them). Returns how
    many earlier embeddings are kept.
    """
    config = load_projector_config(writer.get_logdir())
    if replace is not None:
        gone = [e for e in config.embeddings if e.tensor_name.startswith(f"{replace}:")]
        for entry in gone:
            folder = Path(writer.get_logdir()) / Path(entry.tensor_path).parent
            if folder != Path(writer.get_logdir()):
                shutil.rmtree(folder, ignore_errors=True)
        kept = [e for e in config.embeddings if e not in gone]
        del config.embeddings[:]
        config.embeddings.extend(kept)
    writer._projector_config = config  # the attribute add_embedding appends to
    return len(config.embeddings)


@contextlib.contextmanager
def quiet_graph_tracing():
    """``add_graph`` traces with ``torch.jit.trace``, deprecated in torch 2.14: the
    graph is still right, so hide only that warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.trace", category=FutureWarning)
        yield


# --- reading logs back ---------------------------------------------------------

def event_files(log_dir: str | Path) -> list[Path]:
    return sorted(Path(log_dir).glob("events.out.tfevents.*"))


def event_file(writer) -> Path:
    """The event file ``writer`` writes to (flushed first).

    Only for an open writer: ``flush`` on a closed ``SummaryWriter`` would open
    a new event file, the very multiplication this module avoids.
    """
    if writer.file_writer is None:
        raise ValueError("the writer is closed: read it back before writer.close()")
    writer.flush()
    return Path(writer._get_file_writer().event_writer._file_name)


def event_summary(path: str | Path) -> dict[str, dict[str, int]]:
    """What an event file (or a whole run folder) holds: ``{kind: {tag: count}}``.

    Kinds are ``scalars``, ``images``, ``histograms``, ``tensors`` (PR curves)
    and ``graph`` (``{"graph": 1}`` when a model graph is there). Read with
    ``size_guidance`` 0, so nothing is sampled away.
    """
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(str(path), size_guidance={k: 0 for k in ea.DEFAULT_SIZE_GUIDANCE})
    acc.Reload()
    tags = acc.Tags()
    out: dict[str, dict[str, int]] = {}
    for kind, reader in (("scalars", acc.Scalars), ("images", acc.Images),
                         ("histograms", acc.Histograms), ("tensors", acc.Tensors)):
        if tags.get(kind):
            out[kind] = {tag: len(reader(tag)) for tag in sorted(tags[kind])}
    if tags.get("graph"):
        out["graph"] = {"graph": 1}
    return out


def print_logged(writer) -> None:
    """Print what ``writer`` has written so far, read back from its event file.

    Returns nothing, so a notebook cell ending with it shows only the print-out
    (a trailing ``;`` is not enough under nbval, which runs without history).
    """
    summary = event_summary(event_file(writer))
    if not summary:
        print("nothing logged yet")
    for kind, tags in summary.items():
        for tag, count in tags.items():
            print(f"{kind:<10} {tag!r}: {count}")


def projector_summary(log_dir: str | Path) -> list[dict]:
    """Each embedding in the run's projector config, with its tensor's shape,
    its metadata's labels and its sprite's size."""
    from PIL import Image

    log_dir = Path(log_dir)
    out = []
    for emb in load_projector_config(log_dir).embeddings:
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


# --- servers -----------------------------------------------------------------

def tensorboard_binary() -> Path:
    """The ``tensorboard`` executable of the running Python's environment."""
    beside = Path(sys.executable).with_name("tensorboard")
    if beside.is_file():
        return beside
    found = shutil.which("tensorboard")
    if found:
        return Path(found)
    raise FileNotFoundError("no 'tensorboard' executable found beside "
                            f"{sys.executable} or on PATH: pip install tensorboard")


def use_venv_tensorboard() -> Path:
    """Point ``%tensorboard`` at this environment's ``tensorboard`` (via
    ``TENSORBOARD_BINARY``), so it works when the kernel's PATH lacks the venv."""
    binary = tensorboard_binary()
    os.environ["TENSORBOARD_BINARY"] = str(binary)
    return binary


def running_servers():
    """TensorBoard servers started by this user's ``%tensorboard`` or
    :class:`TensorBoardServer` (read from TensorBoard's info files, pruned of
    dead ones)."""
    from tensorboard import manager

    return [info for info in manager.get_all() if server_alive(info.pid)]


def server_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_server(pid: int) -> None:
    """Remove a stopped server's info file, so ``%tensorboard`` won't try to reuse it."""
    from tensorboard import manager

    with contextlib.suppress(OSError):
        os.unlink(os.path.join(manager._get_info_dir(), f"pid-{pid}.info"))
