"""Device choice, seeding and thread count: the set-up every notebook repeats."""
from __future__ import annotations

import numpy as np
import torch

from .errors import FmtbError, say

DEVICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(FmtbError, ValueError):
    """A device that is unknown or not present on this machine."""

    exit_code = 2


def available_devices() -> list[str]:
    mps = getattr(torch.backends, "mps", None)
    present = {"cpu": True, "cuda": torch.cuda.is_available(),
               "mps": bool(mps and mps.is_available())}
    return [name for name, here in present.items() if here]


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` takes CUDA, then MPS, then the CPU; a named device must exist here."""
    if name not in DEVICES:
        raise DeviceError(say(f"device must be one of {', '.join(DEVICES)}, not {name!r}",
                              f"device 값은 {', '.join(DEVICES)} 중 하나여야 합니다. "
                              f"지금 값: {name!r}"))
    here = available_devices()
    if name == "auto":
        return torch.device(here[1] if len(here) > 1 else "cpu")
    if name not in here:
        raise DeviceError(say(f"device {name!r} is not available on this machine "
                              f"(available: {', '.join(here)}); use device='auto' or 'cpu'",
                              f"device {name!r}는 이 컴퓨터에 없습니다(있는 것: "
                              f"{', '.join(here)}). device='auto'나 'cpu'를 쓰십시오"))
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed NumPy and torch (CPU and CUDA), which draw every random number here. Not
    Python's ``random``: ``%tensorboard`` names its frame with it, and six notebooks
    seeded alike would give six frames one name (the first then shows every dashboard)."""
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_threads(n: int) -> int:
    """Use ``n`` intra-op threads (0 leaves torch's default); returns the count in use."""
    if n > 0:
        torch.set_num_threads(n)
    return torch.get_num_threads()
