"""make test's slow layer runs on two workers (pytest-xdist, ``--dist loadgroup``) in the
groups the root conftest.py gives: a module whole on one worker, the notebooks nbval checks
on one worker in their order. A small session of its own shows that the groups hold, with
the installed pytest and xdist (pytest 9.2 broke them: pyproject.toml says how)."""
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

MODULE = '''
import os, pathlib, time
import pytest

@pytest.mark.parametrize("i", range(6))
def test_{name}(i):
    time.sleep(0.2)
    with open(pathlib.Path(__file__).with_suffix(".log"), "a") as f:
        f.write(f"{{os.environ['PYTEST_XDIST_WORKER']}} {{i}}\\n")
'''


def test_a_module_runs_whole_and_in_order_on_one_worker(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"test_{name}.py").write_text(MODULE.format(name=name))
    (tmp_path / "conftest.py").write_text(
        (__import__("pathlib").Path(__file__).parents[1] / "conftest.py").read_text())
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           "-n", "2", "--dist", "loadgroup", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("a", "b"):
        lines = (tmp_path / f"test_{name}.log").read_text().split()
        workers, order = set(lines[0::2]), [int(i) for i in lines[1::2]]
        assert len(workers) == 1, f"test_{name}.py ran on {sorted(workers)}"
        assert order == list(range(6)), order
