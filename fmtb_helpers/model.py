"""The tutorial's network, as notebook 03 defines it (a test checks that the code
is the same), and safe checkpoints of its weights."""
from __future__ import annotations

import io
import pickle
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import FmtbError
from .paths import CHECKPOINT_NAME, atomic_write, cannot_write  # noqa: F401 (for notebooks)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 4 * 4)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


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
