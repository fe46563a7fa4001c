"""The one base of every error a learner or a user can cause and fix. A notebook shows
it as one line, ``ParameterError: lr must be …``: IPython prints what
``_render_traceback_`` returns instead of the traceback (``tests/test_errors.py``
fails if it stops doing so). ``fmtb`` prints the same line and exits with
``exit_code``. Tracebacks are for bugs."""
from __future__ import annotations


class FmtbError(Exception):
    """An error the user can fix; its message says how, in one line."""

    exit_code = 1

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def language() -> str:
    """The language of the notebook this kernel runs, ``ko`` or ``en``: ``FMTB_LANG``
    where set (a notebook opened alone sets it), else ``ko`` in a folder named ``ko``."""
    import os
    from pathlib import Path

    chosen = os.environ.get("FMTB_LANG") or ("ko" if Path.cwd().name == "ko" else "en")
    return "ko" if chosen == "ko" else "en"


def say(en: str, ko: str) -> str:
    """``en`` or ``ko``, whichever is the notebook's language."""
    return ko if language() == "ko" else en
