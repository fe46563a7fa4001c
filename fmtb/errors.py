"""What ``fmtb`` reports in one line instead of a traceback."""
from __future__ import annotations


class UsageError(Exception):
    """Bad input a user can fix: one line, exit code 2."""


class NotebookFailed(Exception):
    """A notebook raised: one line naming notebook, cell and error; exit code 1.

    ``summary`` says what failed; ``copy`` is the executed notebook that shows it
    (None when the notebook could not start). A sweep on Ray moves the copy from
    the node to the driver and names it there."""

    def __init__(self, summary: str, copy=None):
        super().__init__(summary)
        self.summary, self.copy = summary, copy

    def __str__(self) -> str:
        return self.summary + (f" (executed copy: {self.copy})" if self.copy else "")


class Stopped(BaseException):
    """fmtb was asked to stop by a signal (SIGTERM, SIGHUP): exit 128 + the signal's number.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` keeps
    fmtb running; ``finally`` blocks still end what fmtb started."""

    def __init__(self, signum: int):
        import signal

        super().__init__(signal.Signals(signum).name)
        self.signum = signum
