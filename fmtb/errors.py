"""What ``fmtb`` reports in one line instead of a traceback.

Every error a user can cause derives from :class:`fmtb_helpers.errors.FmtbError`
(the notebooks' errors too: a ``DataError``, a ``ParameterError``): ``fmtb`` prints
it in one line and exits with its ``exit_code``. Tracebacks are for bugs.
"""
from __future__ import annotations

from fmtb_helpers.errors import FmtbError


class UsageError(FmtbError):
    """Bad input a user can fix: one line, exit code 2."""

    exit_code = 2


class NotebookFailed(FmtbError):
    """A notebook raised: one line naming notebook, cell and error; exit code 1.

    ``summary`` says what failed; ``copy`` is the executed notebook that shows it
    (None when the notebook could not start). A sweep on Ray moves the copy from
    the node to the driver and names it there."""

    exit_code = 1

    def __init__(self, summary: str, copy=None):
        super().__init__(summary)
        self.summary, self.copy = summary, copy

    def __str__(self) -> str:
        return self.summary + (f" (executed copy: {self.copy})" if self.copy else "")


class Stopped(BaseException):
    """fmtb was asked to stop by a signal (SIGTERM, SIGHUP): exit 128 + the signal's number.

    Not a :class:`FmtbError`: no user mistake to fix, and it must pass every
    ``except Exception`` (and every ``except FmtbError``) on its way out. A
    BaseException, like KeyboardInterrupt, so that nothing keeps fmtb running;
    ``finally`` blocks still end what fmtb started."""

    def __init__(self, signum: int):
        import signal

        super().__init__(signal.Signals(signum).name)
        self.signum = signum
