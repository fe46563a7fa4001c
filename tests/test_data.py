import functools
import http.server
import threading

import pytest
import torch

from fmtb import fetch
from fmtb_helpers import data, tutorial

from support import REAL_MIRROR, assert_refused, fmtb, full_disk

pytestmark = pytest.mark.unit


def test_mirror_is_decompressed_and_verified(tmp_path, small_idx):
    mirror, arrays = small_idx
    raw = fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    assert sorted(p.name for p in raw.iterdir()) == sorted(arrays)
    trainset, testset = data.load_datasets(tmp_path / "root")
    assert len(trainset) == 12 and len(testset) == 6
    assert trainset.targets.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert torch.equal(trainset.data, torch.as_tensor(arrays["train-images-idx3-ubyte"],
                                                      dtype=torch.uint8))


def test_files_already_present_need_no_mirror(tmp_path, small_idx):
    mirror, _ = small_idx
    raw = fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    again = fetch.ensure_data(tmp_path / "root", mirror=tmp_path / "nowhere", download=False)
    assert again == raw


def test_env_variable_names_the_mirror(tmp_path, small_idx, monkeypatch):
    mirror, _ = small_idx
    monkeypatch.setenv(fetch.MIRROR_ENV, str(mirror))
    fetch.ensure_data(tmp_path / "root", download=False)
    assert len(list(data.raw_dir(tmp_path / "root").iterdir())) == 4


def test_no_data_anywhere_says_the_three_ways(tmp_path):
    with pytest.raises(data.DataError) as err:
        fetch.ensure_data(tmp_path / "root", mirror=tmp_path / "none", download=False)
    message = str(err.value)
    assert "\n" not in message
    for hint in ("(1)", "(2)", "(3)", fetch.MIRROR_ENV, "dataset-fashion-mnist", "fmtb data"):
        assert hint in message


def test_corrupt_raw_file_is_named(tmp_path, small_idx):
    mirror, _ = small_idx
    raw = fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    victim = raw / "t10k-labels-idx1-ubyte"
    victim.write_bytes(victim.read_bytes()[:-3])
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte is truncated or corrupt"
                                             ".*fmtb data --data-root .*root' to fetch it"):
        fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)


def test_truncated_mirror_leaves_nothing_half_written(tmp_path, small_idx):
    mirror, _ = small_idx
    gz = mirror / "train-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:200])
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte.gz"):
        fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    leftovers = list(data.raw_dir(tmp_path / "root").iterdir())
    assert not [p for p in leftovers if p.name.startswith(".")]
    assert "train-images-idx3-ubyte" not in [p.name for p in leftovers]


def test_torchvision_download_path(tmp_path, small_idx, monkeypatch):
    """Source (3): torchvision's own download, served by a real HTTP server on loopback."""
    import hashlib

    from torchvision.datasets import FashionMNIST

    mirror, _ = small_idx
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mirror))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(FashionMNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
        monkeypatch.setattr(FashionMNIST, "resources", [
            (gz.name, hashlib.md5(gz.read_bytes()).hexdigest()) for gz in sorted(mirror.iterdir())])
        raw = fetch.ensure_data(tmp_path / "root", mirror=tmp_path / "none", download=True)
    finally:
        server.shutdown()
    assert all((raw / name).is_file() for name in fetch.SHA256)


def test_tensor_loader_matches_the_transform(tmp_path, small_idx):
    mirror, _ = small_idx
    fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    trainset, testset = data.load_datasets(tmp_path / "root")
    x, y = data.normalize(trainset.data), trainset.targets
    for i in (0, 5, 11):
        image, label = trainset[i]
        assert torch.allclose(x[i], image, atol=1e-6) and y[i] == label
    torch.manual_seed(0)
    loader = data.TensorLoader(x, y, batch_size=5, shuffle=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 3 and [len(b[1]) for b in batches] == [5, 5, 2]
    assert sorted(torch.cat([b[1] for b in batches]).tolist()) == sorted(y.tolist())
    # batches normalised on the fly are the tutorial's values
    raw = data.TensorLoader(trainset.data, trainset.targets, batch_size=12,
                            transform=data.normalize)
    images, labels = next(iter(raw))
    assert torch.allclose(images, x, atol=1e-6) and torch.equal(labels, y)


def test_make_loaders_subset(tmp_path, small_idx):
    mirror, _ = small_idx
    fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    trainset, testset = data.load_datasets(tmp_path / "root")
    for in_memory in (False, True):
        train, test = data.make_loaders(trainset, testset, 4, in_memory=in_memory,
                                        train_subset=8, num_workers=0)
        assert len(train) == 2 and len(test) == 2
        images, labels = next(iter(test))
        assert images.shape == (4, 1, 28, 28) and labels.tolist() == [0, 1, 2, 3]


# --- the real data -----------------------------------------------------------

def test_real_data_sizes_and_classes(real_data_root):
    trainset, testset = data.load_datasets(real_data_root)
    assert (len(trainset), len(testset)) == (60000, 10000)
    assert data.class_counts(trainset.targets) == [6000] * 10
    assert data.class_counts(testset.targets) == [1000] * 10
    assert trainset.classes[-1] == "Ankle boot" and len(tutorial.classes) == data.NUM_CLASSES
    image, label = trainset[0]
    assert image.shape == (1, 28, 28) and image.min() >= -1 and image.max() <= 1


@pytest.mark.skipif(not REAL_MIRROR.is_dir(), reason="Debian's dataset-fashion-mnist is absent")
def test_real_mirror_matches_the_published_hashes(tmp_path):
    raw = fetch.ensure_data(tmp_path / "root", mirror=REAL_MIRROR, download=False)
    for name, digest in fetch.SHA256.items():
        assert fetch.sha256(raw / name) == digest


def test_in_memory_datasets_equal_torchvisions(tmp_path, small_idx):
    mirror, _ = small_idx
    fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    tv_train, tv_test = data.load_datasets(tmp_path / "root")
    mem_train, mem_test = data.load_datasets(tmp_path / "root", in_memory=True)
    for tv, mem in ((tv_train, mem_train), (tv_test, mem_test)):
        assert torch.equal(tv.data, mem.data) and torch.equal(tv.targets, mem.targets)
        assert len(tv) == len(mem)
        for i in (0, len(tv) - 1):
            assert torch.allclose(tv[i][0], mem[i][0], atol=1e-6) and tv[i][1] == mem[i][1]


def test_truncated_idx_is_named(tmp_path):
    import numpy as np

    from support import write_idx

    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, np.zeros((3, 28, 28)))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.DataError, match="x-idx3-ubyte is truncated"):
        data.read_idx(path)


def test_real_in_memory_data_matches_torchvision(real_data_root):
    tv_train, tv_test = data.load_datasets(real_data_root)
    mem_train, mem_test = data.load_datasets(real_data_root, in_memory=True)
    assert torch.equal(tv_train.data, mem_train.data)
    assert torch.equal(tv_test.targets, mem_test.targets)


# --- errors that name the file and say what to do ------------------------------

def test_a_full_disk_is_not_blamed_on_the_mirror(tmp_path, small_idx, monkeypatch):
    mirror, _ = small_idx
    full_disk(monkeypatch)
    with pytest.raises(data.DataError) as err:
        fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    message = str(err.value)
    raw = data.raw_dir(tmp_path / "root")
    assert f"could not write {raw / 'train-images-idx3-ubyte'}" in message
    assert "No space left on device" in message and "free some disk space" in message
    assert "gzip" not in message and "reinstall" not in message and "\n" not in message
    assert list(raw.iterdir()) == []  # no temporary file left


def test_a_folder_where_a_data_file_should_be_is_named(tmp_path, small_idx):
    mirror, _ = small_idx
    raw = data.raw_dir(tmp_path / "root")
    (raw / "train-labels-idx1-ubyte").mkdir(parents=True)
    with pytest.raises(data.DataError) as err:
        fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    message = str(err.value)
    assert f"{raw / 'train-labels-idx1-ubyte'} is not a file" in message
    assert "remove it" in message and "gzip" not in message and "reinstall" not in message


def test_a_folder_where_a_mirror_file_should_be_is_named(tmp_path, small_idx):
    mirror, _ = small_idx
    gz = mirror / "t10k-images-idx3-ubyte.gz"
    gz.unlink()
    gz.mkdir()
    with pytest.raises(data.DataError) as err:
        fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    message = str(err.value)
    assert f"{mirror} lacks t10k-images-idx3-ubyte.gz" in message and "gzip" not in message


@pytest.mark.parametrize("check_only", [False, True])
def test_a_file_given_as_the_mirror_is_named_as_not_a_folder(tmp_path, small_idx, check_only):
    mirror, _ = small_idx
    archive = mirror / "t10k-images-idx3-ubyte.gz"  # one of the files, not their folder
    with pytest.raises(data.DataError) as err:
        fetch.ensure_data(tmp_path / "root", mirror=archive, download=False,
                          check_only=check_only)
    assert str(err.value).startswith(f"the mirror {archive} is a file, not a folder: point "
                                     f"$FMTB_DATA_MIRROR")


def test_a_file_as_the_mirror_is_named_by_fmtb_data(tmp_path, small_idx):
    mirror, _ = small_idx
    archive = mirror / "train-images-idx3-ubyte.gz"
    proc = fmtb("data", "--data-root", str(tmp_path / "root"), "--offline",
                env={fetch.MIRROR_ENV: str(archive)})
    assert_refused(proc, f"{archive} is a file, not a folder", command="data")


def test_the_missing_file_is_named(tmp_path, small_idx):
    mirror, _ = small_idx
    raw = fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    (raw / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(data.DataError) as err:
        fetch.ensure_data(tmp_path / "root", mirror=tmp_path / "none", download=False)
    message = str(err.value)
    assert "(t10k-labels-idx1-ubyte missing" in message
    assert "train-images-idx3-ubyte" not in message  # only what is missing


def test_the_downloads_error_is_kept(tmp_path, small_idx, monkeypatch):
    """torchvision's download from a loopback server that answers 404 to everything."""
    from torchvision.datasets import FashionMNIST

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(FashionMNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
        with pytest.raises(data.DataError) as err:
            fetch.ensure_data(tmp_path / "root", mirror=tmp_path / "none", download=True)
    finally:
        server.shutdown()
    message = str(err.value)
    assert "the download failed: RuntimeError: Error downloading train-images-idx3-ubyte" in message
    assert "HTTP Error 501" in message  # the cause torchvision gives, on one line
    assert "\n" not in message


def test_check_only_writes_nothing(tmp_path, small_idx):
    mirror, _ = small_idx
    for root in (tmp_path / "missing", tmp_path / "empty"):
        if root.name == "empty":
            root.mkdir()
        with pytest.raises(data.DataError) as err:
            fetch.ensure_data(root, mirror=mirror, check_only=True)
        assert f"run 'fmtb data --data-root {root}'" in str(err.value)
        assert not root.exists() or list(root.iterdir()) == []
    assert f"{tmp_path / 'missing'} does not exist" in str(err.value) or "empty" in str(root)
    raw = fetch.ensure_data(tmp_path / "full", mirror=mirror)
    assert fetch.ensure_data(tmp_path / "full", mirror=tmp_path / "none", check_only=True) == raw
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"damaged")
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte is truncated or corrupt"):
        fetch.ensure_data(tmp_path / "full", mirror=mirror, check_only=True)
    assert (raw / "t10k-labels-idx1-ubyte").read_bytes() == b"damaged"


@pytest.mark.skipif(not REAL_MIRROR.is_dir(), reason="Debian's dataset-fashion-mnist is absent")
@pytest.mark.parametrize("where", ["absolute", "relative"])
def test_a_missing_data_root_is_refused_before_anything_is_written(tmp_path, where):
    from fmtb_helpers import paths

    from support import assert_refused, fmtb

    name = f"fmtb-test-missing-{tmp_path.name}"
    root = tmp_path / name if where == "absolute" else paths.notebooks_dir() / name
    given = str(root) if where == "absolute" else name
    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
                "-p", "data_root", given, env={fetch.MIRROR_ENV: str(REAL_MIRROR)})
    try:
        assert_refused(proc, f"{root} does not exist", f"fmtb data --data-root {root}")
        assert not root.exists() and list(tmp_path.iterdir()) == []
    finally:
        if where == "relative" and root.exists():
            import shutil

            shutil.rmtree(root)


def test_loading_without_the_data_fetches_it_as_fmtb_data_does(tmp_path, monkeypatch, capsys):
    """A notebook opened alone finds no data: it fetches it from the mirror (a real
    ``fmtb data`` in a process of its own), or says in one line how to get it."""
    monkeypatch.setenv("FMTB_DATA_MIRROR", str(REAL_MIRROR))
    trainset, testset = data.load_datasets(tmp_path / "nowhere", in_memory=True)
    assert (len(trainset), len(testset)) == (60000, 10000)
    assert "fetching it" in capsys.readouterr().out
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    monkeypatch.setenv("FMTB_DATA_MIRROR", str(empty))
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")  # no network
    with pytest.raises(data.DataError, match=r"not under .*Provide it in one of three ways") \
            as refused:
        data.load_datasets(tmp_path / "offline", in_memory=True)
    assert "\n" not in str(refused.value) and "fmtb data: error" not in str(refused.value)
