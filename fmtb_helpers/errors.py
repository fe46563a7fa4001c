"""The one base of every error a learner or a user can cause and fix.

A notebook shows such an error as one line, ``ParameterError: lr must be …``, not as a
traceback: IPython prints what ``_render_traceback_`` returns instead of the
traceback (``IPython.core.interactiveshell``; ``tests/test_errors.py`` fails if
IPython stops doing so). The ``fmtb`` command prints the same line and exits with
``exit_code``. Tracebacks are for bugs.
"""
from __future__ import annotations


class FmtbError(Exception):
    """An error the user can fix; its message says how, in one line."""

    exit_code = 1

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]
