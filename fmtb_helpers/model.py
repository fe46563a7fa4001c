"""Safe checkpoints of the weights of the tutorial's network (``Net``, notebook 03), and a
short training for a notebook that needs 05's model but runs alone."""
from __future__ import annotations

import contextlib
import io
import pickle
from pathlib import Path

import torch
import torch.nn as nn

from .errors import FmtbError, say
from .paths import CHECKPOINT_NAME, atomic_write, cannot_write  # noqa: F401 (for notebooks)
from .tutorial import Net


class CheckpointError(FmtbError, ValueError):
    """A checkpoint that cannot be written or read back; the message names it."""


def save_checkpoint(net: nn.Module, path: str | Path, **meta) -> Path:
    """Write ``net``'s weights (and plain ``meta`` values) atomically."""
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    buffer = io.BytesIO()  # serialised first: write errors then come with their errno
    torch.save({"state_dict": state, "meta": meta}, buffer)
    try:
        with atomic_write(path) as f:
            f.write(buffer.getbuffer())
    except OSError as exc:
        raise CheckpointError(str(cannot_write(f"save {path}", exc, "05"))) from exc
    return path


class CheckpointMissing(FmtbError, FileNotFoundError):
    """No trained model where one was expected."""


def load_checkpoint(path: str | Path, device: torch.device | str = "cpu"):
    """A :class:`Net` with the weights saved at ``path``, and the saved meta."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointMissing(
            f"no trained model at {path}: run notebook 05 (training) for this run first.")
    net = Net().to(device)
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
        if not isinstance(saved, dict):
            raise TypeError(f"it holds a {type(saved).__name__}, not a dict")
        net.load_state_dict(saved["state_dict"])
        meta = saved.get("meta", {})
    except (OSError, EOFError, RuntimeError, LookupError, TypeError,
            pickle.UnpicklingError) as exc:
        cause = (str(exc).strip().split(". ")[0].splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{path} is truncated, corrupt or not this Net's checkpoint "
                              f"({cause}); run notebook 05 again to save it anew") from exc
    return net, meta


def train_short(runs_dir: str | Path, run_name: str, data_root: str | Path = "",
                images: int = 6000, lr: float = 0.001) -> Path:
    """05's model where no 05 ran (a notebook opened alone), trained and saved as 05 does."""
    from . import board, data
    from .tutorial import train

    print(say(f"Run {run_name} has no trained model (this notebook runs alone): training one "
              f"as notebook 05 does, lr={lr}, on the first {images:,} training images only",
              f"런 {run_name}에 모델이 없어 05처럼 학습합니다(lr={lr}, 처음 {images:,}장만)"))
    trainset, testset = data.load_datasets(data_root, in_memory=True)
    loader, _ = data.make_loaders(trainset, testset, 4, train_subset=images, in_memory=True)
    net = Net()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    writer, threads = board.notebook_writer(runs_dir, run_name, "05"), torch.get_num_threads()
    torch.set_num_threads(1)  # as 05 trains: one thread is fastest for batches of 4
    with contextlib.redirect_stdout(io.StringIO()):  # the loop's own "Finished Training"
        train(net, loader, nn.CrossEntropyLoss(), optimizer, writer, log_every=len(loader) // 10)
    writer.close()
    torch.set_num_threads(threads)
    return save_checkpoint(net, board.run_dir(runs_dir, run_name) / CHECKPOINT_NAME, lr=lr,
                           momentum=0.9, epochs=1, batch_size=4, train_subset=images)
