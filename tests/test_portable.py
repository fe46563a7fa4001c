"""A learner starts anywhere: what a learner runs (``fmtb_helpers`` and the notebooks)
uses nothing POSIX-only, glibc's tuning happens only where glibc is, and ``fmtb`` on a
system it does not support says so in one line. Windows and macOS are simulated here:
``fcntl`` and ``os.confstr_names`` removed and the platform reported as ``win32``, in
a fresh interpreter."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import fmtb_helpers
from fmtb_helpers import data

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
HELPERS = sorted(Path(fmtb_helpers.__file__).parent.glob("*.py"))
NOTEBOOKS = sorted(ROOT.glob("notebooks/0*.ipynb")) + sorted(ROOT.glob("notebooks/ko/0*.ipynb"))
# modules of the standard library that Windows lacks (the POSIX-only ones a
# program might import; Python's docs, "Unix Specific Services")
POSIX_ONLY = {"fcntl", "termios", "tty", "pty", "pwd", "grp", "resource", "posix", "crypt",
              "spwd", "syslog", "nis"}

# What a Windows machine lacks, in a fresh interpreter: from here on the platform is
# win32, and fcntl and os.confstr_names are gone. The libraries a notebook uses
# (IPython, torch, matplotlib, TensorBoard, psutil) support Windows themselves, and ask
# the platform as they import: the test imports them before (WARM), fmtb_helpers after.
WINDOWS = """
import os, sys
sys.platform = "win32"
del os.confstr_names, os.confstr
for name in {posix_only!r}:
    sys.modules[name] = None  # importing it now raises ImportError
"""


def top_level_imports(tree: ast.Module) -> set[str]:
    """Modules a module imports when it is imported (not those inside functions)."""
    found, todo = set(), list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.add((node.module or "").split(".")[0])
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))
    return found


def cell_python(source: str) -> str:
    from fmtb.maintainer.translate import as_python

    return as_python(source)


@pytest.mark.parametrize("path", HELPERS + NOTEBOOKS, ids=lambda p: p.name)
def test_nothing_posix_only_on_a_learners_path(path):
    if path.suffix == ".py":
        trees = [ast.parse(path.read_text())]
    else:
        trees = [ast.parse(cell_python(c.source)) for c in nbformat.read(path, as_version=4).cells
                 if c.cell_type == "code"]
    for tree in trees:
        assert not top_level_imports(tree) & POSIX_ONLY, path.name


def test_the_check_finds_a_posix_import():
    """The test above can fail."""
    assert top_level_imports(ast.parse("import os\nif True:\n    import fcntl")) == {"os", "fcntl"}
    assert top_level_imports(ast.parse("def f():\n    import termios")) == set()


def first_cells(path: Path) -> list[str]:
    """A notebook's cells up to its imports cell: the helpers' check, the
    parameters, the imports (the first cell that imports fmtb_helpers)."""
    cells = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    last = next(i for i, s in enumerate(cells) if "from fmtb_helpers import" in s)
    return cells[:last + 1]


def test_helpers_and_the_notebooks_first_cells_import_without_posix():
    """``import fmtb_helpers``, each of its modules, and each notebook's first cells
    (both editions) in an interpreter without fcntl or os.confstr_names, on "win32"."""
    modules = [p.stem for p in HELPERS if p.stem != "__init__"]
    script = """
import importlib, json, os, sys
from ipykernel.inprocess.manager import InProcessKernelManager
manager = InProcessKernelManager()
manager.start_kernel()  # a kernel (its shell, %matplotlib inline, display) in this process
shell, runs, failed = manager.kernel.shell, json.loads(sys.argv[1]), []

def first_cells():
    for folder, cells in runs:
        os.chdir(folder)
        for source in cells:
            result = shell.run_cell(source, silent=True)
            if not result.success:
                failed.append((folder, source[:60], repr(result.error_in_exec)))
                break

first_cells()  # WARM: the libraries import as they do on Linux
for name in [m for m in sys.modules if m.split(".")[0] == "fmtb_helpers"]:
    del sys.modules[name]
""" + WINDOWS.format(posix_only=sorted(POSIX_ONLY)) + f"""
assert not hasattr(os, "confstr_names") and sys.platform == "win32"
import fmtb_helpers
for name in {modules!r}:
    importlib.import_module("fmtb_helpers." + name)
first_cells()
print(json.dumps(failed))
"""
    runs = [(str(p.parent), first_cells(p)) for p in NOTEBOOKS]
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(runs)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_the_simulation_is_honest():
    """Code that needs fcntl or os.confstr_names fails in it (the glibc check that
    broke ``import fmtb_helpers`` on Windows among them)."""
    for code, error in (("import fcntl", "ModuleNotFoundError"),
                        ('"CS_GNU_LIBC_VERSION" in os.confstr_names', "AttributeError")):
        script = WINDOWS.format(posix_only=sorted(POSIX_ONLY)) + code
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 1 and error in proc.stderr, proc.stderr


def test_fmtb_on_windows_says_so_in_one_line_and_exits_2():
    """Before importing anything POSIX-only: fcntl cannot be imported here."""
    script = ("import sys; sys.platform = 'win32'; sys.modules['fcntl'] = None; "
              "sys.modules['termios'] = None; sys.argv = ['fmtb', 'run']; "
              "from fmtb.cli import main; sys.exit(main())")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "win32" in proc.stderr and "Linux and macOS" in proc.stderr and "WSL" in proc.stderr


# A Python older than tarfile's data filter (3.10.12, 3.11.4): Debian 12's python3, 3.11.2
OLD_TARFILE = ("import tarfile\nfor name in ('data_filter', 'FilterError'):\n"
               "    vars(tarfile).pop(name, None)\n")


@pytest.mark.parametrize("args, code, words", [
    (["run", "--notebooks", "07"], 2, "no notebook '07'"),
    (["sweep", "--engine", "ray", "--grid", "lr=0.1,0.01", "-q"], 2,
     "needs a Python with tarfile's data filter"),
])
def test_fmtb_on_a_python_without_tarfiles_data_filter(args, code, words):
    """fmtb imports and checks its input there; the Ray engine, which unpacks the trials'
    archives with that filter, says in one line what it needs."""
    script = (OLD_TARFILE + f"import sys; sys.argv = ['fmtb', *{args!r}]; "
              "from fmtb.cli import main; sys.exit(main())")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert words in proc.stderr, proc.stderr


def test_tensorboard_is_found_beside_python_on_windows(monkeypatch, tmp_path):
    """A Windows environment's Scripts folder: python.exe beside tensorboard.exe, and
    not on PATH (a kernel started without activating the environment)."""
    from fmtb_helpers import board_servers

    (tmp_path / "python.exe").touch()
    (tmp_path / "tensorboard.exe").touch()
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python.exe"))
    monkeypatch.setenv("PATH", "")
    assert board_servers.tensorboard_binary() == tmp_path / "tensorboard.exe"


# --- where Fashion-MNIST comes from ----------------------------------------------

def test_data_root_given_wins_then_fmtb_data_then_the_default(monkeypatch, tmp_path):
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    assert data.root("") == "../data" and data.root(None) == "../data"
    assert data.root("", default=tmp_path) == str(tmp_path)
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "shared"))
    assert data.root("") == str(tmp_path / "shared")
    assert data.root("mine") == "mine"  # a data_root given explicitly


def test_the_notebooks_default_data_root_is_fmtb_data_else_theirs():
    """Every notebook's data_root defaults to "", which data.root resolves."""
    from fmtb import params

    for path in NOTEBOOKS[:6]:
        assert params.declared(path)["data_root"] == ""
    first = nbformat.read(NOTEBOOKS[0], as_version=4)
    assert any("data_root = data.root(data_root)" in c.source for c in first.cells)


def test_load_datasets_reads_fmtb_data(monkeypatch, tmp_path, small_idx):
    """A notebook's load_datasets("") reads $FMTB_DATA, without writing there."""
    mirror, arrays = small_idx
    from fmtb import fetch

    shared = tmp_path / "shared"
    fetch.ensure_data(shared, mirror=mirror, download=False)
    stamp = sorted((p, p.stat().st_mtime_ns) for p in shared.rglob("*"))
    monkeypatch.setenv(data.DATA_ENV, str(shared))
    monkeypatch.chdir(tmp_path)
    trainset, testset = data.load_datasets("", in_memory=True)
    assert len(trainset) == len(arrays["train-images-idx3-ubyte"])
    assert sorted((p, p.stat().st_mtime_ns) for p in shared.rglob("*")) == stamp
    # a data_root given wins over $FMTB_DATA: the data is fetched there, as fmtb data does
    monkeypatch.delenv("FMTB_DATA_MIRROR", raising=False)  # Debian's copy
    trainset, _ = data.load_datasets(str(tmp_path / "elsewhere"), in_memory=True)
    assert len(trainset) == 60000 and (tmp_path / "elsewhere" / "FashionMNIST").is_dir()
    assert sorted((p, p.stat().st_mtime_ns) for p in shared.rglob("*")) == stamp


def test_an_empty_shared_folder_is_never_downloaded_into(monkeypatch, tmp_path):
    """Notebook 01 checks data_root before torchvision's download: a shared folder
    without the data stops it in one line, and nothing is written there."""
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv(data.DATA_ENV, str(shared))
    monkeypatch.chdir(tmp_path)
    for call in (lambda: data.check_data_root(data.root("")),
                 lambda: data.load_datasets("", in_memory=True)):
        with pytest.raises(data.DataError, match=r"\$FMTB_DATA names, which the notebooks "
                                                 r"only read: fill it once") as refused:
            call()
        assert "\n" not in str(refused.value)
    assert list(shared.iterdir()) == []
    data.check_data_root(str(tmp_path / "mine"))  # a data_root of one's own: 01 downloads


# --- each notebook's first code cell: the helpers, or one line saying how -----------

def test_the_first_code_cell_checks_the_kernel_in_both_editions():
    from fmtb.maintainer import repository

    address = repository.address()
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        first = code[0]
        assert first.id == "code-helpers" and "parameters" in code[1].metadata.get("tags", [])
        assert "translate-strings" in first.metadata.get("tags", [])
        lead = nb.cells[nb.cells.index(first) - 1]
        assert lead.cell_type == "markdown" and lead.id == "md-helpers"
        assert f"REPOSITORY = {json.dumps(address)}" in first.source  # pyproject's, one place
        language = "ko" if path.parent.name == "ko" else "en"
        assert f'os.environ["FMTB_LANG"] = "{language}"' in first.source
        assert '"Python (fmtb)"' in first.source and "%pip install" in first.source


def test_the_repository_address_is_filled_in_from_one_place(tmp_path):
    """fmtb.maintainer.repository writes pyproject's address into both editions' cell,
    and the Korean edition still generates."""
    import shutil

    from fmtb.maintainer import repository, translate

    (tmp_path / "ko").mkdir()
    for path in NOTEBOOKS[:6]:
        shutil.copy(path, tmp_path)
    shutil.copy(ROOT / "notebooks/ko/translations.json", tmp_path / "ko")
    url = "https://example.org/fmtb"  # written as every address is built from it: no .git
    assert len(repository.fill(tmp_path, url + ".git")) == 6
    assert repository.fill(tmp_path, url) == []  # already there
    written = translate.generate(tmp_path)
    for path, text in written.items():
        for nb in (nbformat.reads(text, as_version=4),
                   nbformat.read(tmp_path / path.name, as_version=4)):
            first = next(c for c in nb.cells if c.cell_type == "code")
            assert f'REPOSITORY = "{url}"' in first.source, path.name
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n[project.urls]\nRepository = "https://a.b/c"\n')
    assert repository.address(pyproject) == "https://a.b/c"
