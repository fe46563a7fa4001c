"""Run-wide guard for both test suites (``tests/`` and ``pytest --nbval notebooks``).

Every TensorBoard server a test starts, directly or through a notebook kernel's
``%tensorboard``, records itself under ``$TMPDIR/.tensorboard-info``. The tests
get a private TMPDIR (the one ``fmtb sweep`` gives its kernels,
``fmtb.scratch.own_tmpdir``), so at the end exactly their servers are found and
stopped; a learner's own servers are left alone.

``make test`` runs the slow layer on two workers (pytest-xdist, ``--dist loadgroup``):
each test module is one group, run on one worker in its order; the notebooks checked
by nbval are one group (both editions write the same run, in order); the modules that
share the session's ``series`` are one group, so it runs once.
"""
import contextlib

import pytest

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


# The groups, longest first (their minutes on two busy workers, a fresh clone's make
# test, 2026-12-06: nbval 4, the series' users 4, the walk-through 4, Ray 3, the site 2.5,
# the local sweeps 2), then the shorter ones: each worker takes the next group when it
# is free, so the short ones even out the end (xdist would otherwise order the groups by
# their number of tests: make test passes --no-loadscope-reorder). The walk-through and
# Ray wait on servers more than they compute: started early, they run beside the others.
LONGEST_FIRST = ("notebooks", "series", "test_walkthrough", "test_ray_sweep", "test_site",
                 "test_sweep", "test_class", "test_notebooks_refuse", "test_teaching",
                 "test_alone", "test_remote", "test_pictures", "test_board", "test_signals")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    modules = {}
    for item in items:
        modules.setdefault(item.path, []).append(item)
    for path, module in modules.items():
        if path.suffix == ".ipynb":
            group = "notebooks"
        elif any("series" in item.fixturenames for item in module):
            group = "series"
        else:
            group = path.stem
        for item in module:
            if not item.get_closest_marker("xdist_group"):  # a group the test names wins
                item.add_marker(pytest.mark.xdist_group(group))
    rank = {group: i for i, group in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(group_of(item), len(rank)))  # stable: in order


def group_of(item) -> str:
    mark = item.get_closest_marker("xdist_group")
    return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
