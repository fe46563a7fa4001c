"""Folders fmtb writes: checked without writing, claimed atomically."""
import threading

import pytest

from fmtb import folders
from fmtb.errors import UsageError

pytestmark = pytest.mark.unit


def test_claim_next_free_never_hands_out_one_folder_twice(tmp_path):
    (tmp_path / "run_1").mkdir()
    claimed, start = [], threading.Barrier(8)

    def claim():
        start.wait()
        claimed.append(folders.claim_next_free(tmp_path, "run").name)

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed, key=lambda n: int(n.split("_")[1])) == [
        f"run_{n}" for n in range(2, 10)]
    assert folders.numbered(tmp_path, "run") == list(range(1, 10))


def test_claim_refuses_an_existing_folder(tmp_path):
    folders.claim(tmp_path / "a" / "b")
    with pytest.raises(FileExistsError):
        folders.claim(tmp_path / "a" / "b")


def test_claim_under_a_file_is_one_line(tmp_path):
    (tmp_path / "f").write_text("")
    with pytest.raises(UsageError, match="cannot create .*a file is in the way"):
        folders.claim(tmp_path / "f" / "run")


def test_check_writable_creates_nothing(tmp_path):
    folders.check_writable(tmp_path / "x" / "y", "--out")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "f").write_text("")
    with pytest.raises(UsageError, match=r"--out .*f is a file, not a folder"):
        folders.check_writable(tmp_path / "f" / "y", "--out")


def test_long_names_are_refused():
    folders.check_name("x" * folders.MAX_NAME, "--run-name")
    with pytest.raises(UsageError, match="300 characters long"):
        folders.check_name("x" * 300, "--run-name")


def test_long_names_are_measured_in_bytes_too():
    # 100 Hangul syllables are 300 bytes: more than a file system takes in one name
    folders.check_name("실" * (folders.MAX_BYTES // 3), "--run-name")
    with pytest.raises(UsageError, match="300 bytes long in UTF-8"):
        folders.check_name("실" * 100, "--run-name")


def test_a_held_folder_is_refused_to_another_holder_until_released(tmp_path):
    import subprocess
    import sys

    probe = ("import sys; from pathlib import Path; from fmtb import folders; "
             "sys.exit(folders.hold(Path(sys.argv[1])) is None)")

    def other():
        return subprocess.run([sys.executable, "-c", probe, str(tmp_path)]).returncode

    lock = folders.hold(tmp_path)
    assert lock is not None and other() == 1  # another process: refused
    folders.release(lock)
    assert other() == 0 and list(tmp_path.iterdir()) == []  # nothing written in it
