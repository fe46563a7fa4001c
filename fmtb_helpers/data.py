"""The real Fashion-MNIST as the notebooks read it: the tutorial's transform,
torchvision's datasets or the same data in memory, and the loaders. Notebook 01
downloads it, as the tutorial does (``fmtb data`` fetches it too). Importing this
module does not import torch."""
from __future__ import annotations

import os
from pathlib import Path

from . import paths
from .errors import FmtbError, say

MEAN, STD = 0.5, 0.5  # the tutorial's Normalize((0.5,), (0.5,))
NUM_CLASSES = 10  # labels 0 to 9; their names are the tutorial's classes (notebook 01)


class DataError(FmtbError, RuntimeError):
    """Fashion-MNIST is missing, unobtainable or damaged; the message says what to do."""

    exit_code = 2


DATA_ENV = "FMTB_DATA"  # a class's shared copy: the folder that holds FashionMNIST/raw
DEFAULT_DATA_ROOT = "../data"  # the notebooks' own, from their folder


def root(data_root: str | Path | None = "", default: str | Path = DEFAULT_DATA_ROOT) -> str:
    """Where Fashion-MNIST is read from: ``data_root`` where given; else (``""``, the
    notebooks' default) ``$FMTB_DATA``, a class's shared copy, only read; else ``default``."""
    return str(data_root or os.environ.get(DATA_ENV) or default)


def raw_dir(data_root: str | Path | None = None) -> Path:
    return paths.data_root(data_root) / "FashionMNIST" / "raw"


def transform():
    """The tutorial's transform: ``ToTensor`` then ``Normalize((0.5,), (0.5,))``."""
    import torchvision.transforms as transforms

    return transforms.Compose([transforms.ToTensor(),
                               transforms.Normalize((MEAN,), (STD,))])


def read_idx(path: Path):
    """An IDX file (the MNIST format) as a uint8 tensor, read straight into its one array."""
    import numpy as np
    import torch

    with open(path, "rb") as f:
        head = f.read(4)
        if len(head) < 4 or head[:2] != b"\x00\x00" or head[2] != 0x08:
            raise DataError(f"{path} is not an IDX file of unsigned bytes")
        dims = f.read(4 * head[3])
        shape = tuple(int.from_bytes(dims[4 * i:4 * i + 4], "big") for i in range(head[3]))
        array = np.fromfile(f, dtype=np.uint8)
    if len(dims) != 4 * head[3] or array.size != int(np.prod(shape)):
        raise DataError(f"{path} is truncated: expected {shape}")
    return torch.from_numpy(array.reshape(shape))


class InMemoryFashionMNIST:
    """torchvision's ``FashionMNIST`` read straight from the IDX files, without
    importing torchvision (1.7 s): the same ``data``, ``targets`` and items."""

    def __init__(self, raw: Path, train: bool):
        from .tutorial import classes

        prefix = "train" if train else "t10k"
        self.data = read_idx(raw / f"{prefix}-images-idx3-ubyte")
        self.targets = read_idx(raw / f"{prefix}-labels-idx1-ubyte").long()
        self.classes = list(classes)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        return normalize(self.data[index:index + 1])[0], int(self.targets[index])


def check_data_root(data_root: str | Path | None) -> None:
    """Refuse a ``data_root`` relative to another folder than the notebooks' own, or a
    class's shared folder without the data; fetch the data into any other that lacks it."""
    data_root = None if data_root is None else root(data_root)
    raw, here = raw_dir(paths.data_root(data_root)), Path.cwd().resolve()
    if data_root is None or (raw / "train-images-idx3-ubyte").is_file():
        return
    if data_root == os.environ.get(DATA_ENV):  # a class's: read, never downloaded into
        raise DataError(f"Fashion-MNIST is not in {raw}, the shared folder $FMTB_DATA names, "
                        f"which the notebooks only read: fill it once with 'fmtb data "
                        f"--data-root {data_root}', or unset FMTB_DATA")
    notebooks = paths.notebooks_dir().glob("**/0*.ipynb")
    for edition in sorted({nb.parent.resolve() for nb in notebooks}):
        if edition != here and (raw_dir(edition / data_root) / "train-images-idx3-ubyte").is_file():
            raise DataError(f"Fashion-MNIST is not in {raw}: this kernel runs in {here}, and "
                            f"data_root {str(data_root)!r} is relative to the notebooks' folder; "
                            f"run them from there (papermill --cwd {os.path.relpath(edition)})")
    fetch(raw.parents[1])


def fetch(folder: Path) -> None:
    """Fashion-MNIST into ``folder`` (a notebook opened alone), as ``fmtb data`` fetches
    it, run as a command: the helpers import no fmtb."""
    import subprocess
    import sys

    print(say(f"Fashion-MNIST is not in {folder} yet: fetching it",
              f"{folder}에 Fashion-MNIST가 없어 가져옵니다"), flush=True)
    done = subprocess.run([sys.executable, "-m", "fmtb", "data", "--data-root", str(folder)],
                          capture_output=True, text=True)
    if done.returncode:
        said = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise DataError(said.removeprefix("fmtb data: error: "))


def load_datasets(data_root: str | Path | None = None, *, in_memory: bool = False):
    """The tutorial's ``trainset`` and ``testset``: torchvision's FashionMNIST with the
    tutorial's transform, or, ``in_memory``, the same data as tensors."""
    folder = paths.data_root(None if data_root is None else root(data_root))
    raw = raw_dir(folder)
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
    if any(not (raw / n).is_file() for n in names):
        check_data_root(data_root)  # refuses, or fetches the data
    if missing := [n for n in names if not (raw / n).is_file()]:
        raise DataError(f"Fashion-MNIST is not in {raw} (missing {', '.join(missing)}): "
                        f"run notebook 01, which downloads it, or 'fmtb data'")
    if in_memory:
        return InMemoryFashionMNIST(raw, True), InMemoryFashionMNIST(raw, False)
    from torchvision.datasets import FashionMNIST

    kwargs = dict(root=str(folder), download=False, transform=transform())
    return FashionMNIST(train=True, **kwargs), FashionMNIST(train=False, **kwargs)


def normalize(images):
    """uint8 ``(N, 28, 28)`` as the tutorial's transform gives it: ``(N, 1, 28, 28)`` in [-1, 1]."""
    return images.unsqueeze(1).float().div_(255).sub_(MEAN).div_(STD)


class TensorLoader:
    """Batches of in-memory uint8 images, shuffled like ``DataLoader(shuffle=True)``, each
    turned by ``transform`` into what the tutorial's loader yields (no PIL, no workers)."""

    def __init__(self, images, labels, batch_size: int = 4, shuffle: bool = False, transform=None):
        self.images, self.labels, self.transform = images, labels, transform
        self.batch_size, self.shuffle = batch_size, shuffle

    def __len__(self) -> int:
        return -(-len(self.images) // self.batch_size)

    def __iter__(self):
        import torch

        n = len(self.images)
        order = torch.randperm(n) if self.shuffle else torch.arange(n)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            images = self.images[idx]
            yield (self.transform(images) if self.transform else images), self.labels[idx]


def make_loaders(trainset, testset, batch_size: int = 4, *, in_memory: bool = False,
                 train_subset: int = 0, num_workers: int = 2):
    """The tutorial's ``trainloader`` and ``testloader``, on the first ``train_subset``
    training images (0: all); ``in_memory``: :class:`TensorLoader` batches."""
    if in_memory:
        return (batches(trainset, batch_size, train_subset, shuffle=True),
                batches(testset, batch_size))
    from torch.utils.data import DataLoader, Subset

    source = Subset(trainset, range(train_subset)) if train_subset else trainset
    return (DataLoader(source, batch_size=batch_size, shuffle=True, num_workers=num_workers),
            DataLoader(testset, batch_size=batch_size, shuffle=False, num_workers=num_workers))


def batches(dataset, batch_size: int = 1000, n: int = 0, shuffle: bool = False) -> TensorLoader:
    """The first ``n`` images of ``dataset`` (0: all), normalised, in order unless
    ``shuffle``; large batches by default: in evaluation they change only the speed."""
    end = n or len(dataset.data)
    return TensorLoader(dataset.data[:end], dataset.targets[:end], batch_size, shuffle, normalize)


def class_counts(labels) -> list[int]:
    import torch

    return torch.bincount(torch.as_tensor(labels), minlength=NUM_CLASSES).tolist()
