"""Run-wide guard for both test suites (``tests/`` and ``pytest --nbval notebooks``).

Every TensorBoard server a test starts, directly or through a notebook kernel's
``%tensorboard``, records itself under ``$TMPDIR/.tensorboard-info``. The tests
get a private TMPDIR (the one ``fmtb sweep`` gives its kernels,
``fmtb.scratch.own_tmpdir``), so at the end exactly their servers are found and
stopped; a learner's own servers are left alone.
"""
import contextlib

_scope = contextlib.ExitStack()


def pytest_configure(config):
    if hasattr(config, "workerinput"):
        return
    from fmtb import scratch

    _scope.enter_context(scratch.own_tmpdir("fmtb-tests-"))


def pytest_unconfigure(config):
    from fmtb import servers

    if hasattr(config, "workerinput"):
        return
    servers.stop_servers()  # while $TMPDIR still names the tests' folder
    _scope.close()
