"""One base for every error a user can cause (fmtb_helpers.errors.FmtbError): one line in
a notebook (a real kernel), one line and the class's exit code from fmtb."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import fmtb
import fmtb_helpers
from fmtb import cli
from fmtb.errors import NotebookFailed, Stopped, UsageError
from fmtb_helpers.errors import FmtbError

from support import assert_refused
from support import fmtb as run_fmtb

# Exceptions of these packages that are not a user's to fix, and why.
NOT_A_USERS = {
    "Stopped": "a signal asked fmtb to stop: a BaseException that no except catches",
    "NotARunError": "tarfile's filter error inside the archive check, reported by the sweep",
}


def _exception_classes() -> list[type]:
    found = {}
    for package in (fmtb, fmtb_helpers):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.startswith("fmtb.maintainer.") and info.name.endswith(
                    ("screenshots", "bench", "memory", "lab")):
                continue  # maintainer tools: Playwright and the lab, not a user's errors
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == info.name:
                    found[cls.__qualname__] = cls
    return list(found.values())


@pytest.mark.unit
def test_every_error_a_user_can_cause_derives_from_the_one_base():
    classes = _exception_classes()
    names = {cls.__name__ for cls in classes}
    assert {"UsageError", "NotebookFailed", "DataError", "ParameterError"} <= names
    assert names >= set(NOT_A_USERS), "NOT_A_USERS names a class that is gone"
    others = [cls.__name__ for cls in classes
              if not issubclass(cls, FmtbError) and cls.__name__ not in NOT_A_USERS]
    assert others == []
    assert not issubclass(Stopped, Exception)


@pytest.mark.unit
@pytest.mark.parametrize("cls", [c for c in _exception_classes() if issubclass(c, FmtbError)],
                         ids=lambda c: c.__name__)
def test_fmtb_prints_one_line_and_exits_with_the_class_code(cls, monkeypatch, capsys):
    error = cls("the problem; what to do") if cls is not NotebookFailed else cls(
        "notebook 05 failed in cell [3]: ValueError: x", "build/executed/x/05.ipynb")

    def fails(args):
        raise error

    monkeypatch.setattr(cli, "cmd_data", fails)
    code = cli.main(["data", "--offline"])
    assert code == cls.exit_code and code in (1, 2)
    assert capsys.readouterr().err.splitlines() == [f"fmtb data: error: {error}"]


@pytest.mark.unit
def test_bad_input_exits_2_and_a_failed_notebook_1():
    assert UsageError.exit_code == 2 and NotebookFailed.exit_code == 1
    proc = run_fmtb("run", "--notebooks", "99")
    assert_refused(proc, "no notebook '99'")


@pytest.mark.integration
def test_a_kernel_shows_the_error_in_one_line_and_a_bug_with_its_traceback():
    """Fails if IPython stops printing what ``_render_traceback_`` returns."""
    from jupyter_client.manager import start_new_kernel

    km, client = start_new_kernel(kernel_name="python3")
    try:
        def error_of(code: str) -> dict:
            client.execute(code, stop_on_error=False)  # the next request runs too
            while True:
                msg = client.get_iopub_msg(timeout=60)
                if msg["msg_type"] == "error":
                    return msg["content"]

        shown = error_of("from fmtb_helpers.data import DataError\n"
                         "raise DataError('no Fashion-MNIST in ../data: run fmtb data')")
        assert shown["traceback"] == [
            "DataError: no Fashion-MNIST in ../data: run fmtb data"]
        bug = error_of("raise ValueError('a bug')")  # the same kernel, a plain exception
        assert len(bug["traceback"]) > 1
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)
