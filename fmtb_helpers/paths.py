"""Where the data and the notebooks are (with the editable install the project asks
for: at the project root, whatever the working directory), and writing a run's files:
whole or not at all, a write error in one line."""
from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from pathlib import Path

from .errors import FmtbError

CHECKPOINT_NAME = "net.pt"  # notebook 05 saves the trained model as <run>/net.pt


def project_root() -> Path:
    """The checkout this package was installed from, else the working directory."""
    candidate = Path(__file__).resolve().parent.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "notebooks").is_dir():
        return candidate
    return Path.cwd()


def resolve(path: str | Path | None, default: str) -> Path:
    """``path`` made absolute, a relative one from the working directory (``notebooks/``
    in the notebooks); empty or ``None`` means ``<project root>/<default>``."""
    if path is None or str(path) == "":
        return project_root() / default
    return Path(path).expanduser().resolve()


def data_root(path: str | Path | None = None) -> Path:
    return resolve(path, "data")


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


@contextlib.contextmanager
def atomic_write(path: str | Path):
    """Write ``path`` whole or not at all: the block writes to a temporary binary file
    beside it, renamed into place (readable by all) if the block ends without an error,
    removed otherwise. Write errors keep their errno."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


class WriteError(FmtbError, OSError):
    """A run's file could not be written; the message names it and says what to do."""


def cannot_write(what: str, exc: OSError, notebook: str | None = None) -> WriteError:
    again = f"notebook {notebook}" if notebook else "this notebook"
    return WriteError(f"could not {what}: {exc.strerror or exc}; free some disk space or "
                      f"choose a writable runs_dir, then run {again} again")


def summary_writer(log_dir: str | Path, notebook: str | None = None, **kwargs):
    """torch's ``SummaryWriter(log_dir, **kwargs)``, whose write errors (a full disk; its
    writer thread's surface at its next call) are a one-line :class:`WriteError`."""
    from torch.utils.tensorboard import SummaryWriter

    def reporting(method):
        @functools.wraps(method)
        def call(self, *args, **kw):
            try:
                return method(self, *args, **kw)
            except OSError as exc:
                if exc.errno is None or isinstance(exc, WriteError):  # "Writer is closed"
                    raise
                raise cannot_write(f"write TensorBoard's event file in {log_dir}", exc,
                                   notebook) from exc
        return call

    writes = {name: reporting(method) for name, method in vars(SummaryWriter).items()
              if name in ("__init__", "flush", "close") or name.startswith("add_")}
    return type("RunWriter", (SummaryWriter,), writes)(str(log_dir), **kwargs)
