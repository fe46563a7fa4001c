"""Run-wide guard for both test suites (``tests/`` and ``pytest --nbval notebooks``).

Every TensorBoard server a test starts, directly or through a notebook kernel's
``%tensorboard``, records itself under ``$TMPDIR/.tensorboard-info``. The tests
get a private TMPDIR, so at the end exactly their servers are found and stopped;
a learner's own servers are left alone.
"""
import os
import shutil
import tempfile

_saved = {}


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        return
    _saved["TMPDIR"] = os.environ.get("TMPDIR")
    _saved["dir"] = tempfile.mkdtemp(prefix="fmtb-tests-")
    os.environ["TMPDIR"] = _saved["dir"]
    tempfile.tempdir = None


def pytest_unconfigure(config):
    if "dir" not in _saved:
        return
    from fmtb import servers

    servers.stop_servers()
    if _saved["TMPDIR"] is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = _saved["TMPDIR"]
    tempfile.tempdir = None
    shutil.rmtree(_saved.pop("dir"), ignore_errors=True)
