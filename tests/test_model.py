import os

import pytest
import torch

from fmtb_helpers import model
from fmtb_helpers.tutorial import Net

from support import full_disk

pytestmark = pytest.mark.unit


def test_net_is_the_tutorials():
    net = Net()
    assert sum(p.numel() for p in net.parameters()) == 44426
    assert [type(m).__name__ for m in net.children()] == [
        "Conv2d", "MaxPool2d", "Conv2d", "Linear", "Linear", "Linear"]
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert net(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(1)
    net = Net()
    path = model.save_checkpoint(net, tmp_path / "run" / "net.pt", accuracy=0.5)
    assert [p.name for p in path.parent.iterdir()] == ["net.pt"]  # no temp file left
    loaded, meta = model.load_checkpoint(path)
    assert meta == {"accuracy": 0.5}
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(loaded(x), net(x))


def test_checkpoint_is_loaded_weights_only(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "meta": {"x": os.system}}, path)
    with pytest.raises(Exception, match="[Ww]eights only"):
        model.load_checkpoint(path)


def test_missing_checkpoint_says_run_05(tmp_path):
    with pytest.raises(model.CheckpointMissing, match="run notebook 05"):
        model.load_checkpoint(tmp_path / "net.pt")


def _saved(tmp_path) -> bytes:
    torch.manual_seed(0)
    return model.save_checkpoint(Net(), tmp_path / "good" / "net.pt").read_bytes()


@pytest.mark.parametrize("damage", [
    lambda b: b[:100],              # truncated in its header
    lambda b: b[:len(b) // 2],      # truncated half-way
    lambda b: b"",                  # empty
    lambda b: b"\0" * 4096,         # zeros
    lambda b: b"not a checkpoint\n" * 100,
    lambda b: b[:-200] + bytes(200),  # its zip directory overwritten
])
def test_a_damaged_checkpoint_names_the_file_and_says_run_05(tmp_path, damage):
    path = tmp_path / "run" / "net.pt"
    path.parent.mkdir()
    path.write_bytes(damage(_saved(tmp_path)))
    with pytest.raises(model.CheckpointError) as err:
        model.load_checkpoint(path)
    message = str(err.value)
    assert str(path) in message and "run notebook 05 again" in message
    assert "\n" not in message


@pytest.mark.parametrize("saved", [
    {"state_dict": {"fc1.weight": torch.zeros(3, 3)}, "meta": {}},  # another network
    {"weights": {}},                                                 # no state_dict
    torch.zeros(3),                                                  # not a dict at all
    [1, 2],
])
def test_a_checkpoint_of_something_else_names_the_file(tmp_path, saved):
    path = tmp_path / "net.pt"
    torch.save(saved, path)
    with pytest.raises(model.CheckpointError, match="net.pt is truncated, corrupt or not "
                                                    ".*run notebook 05 again"):
        model.load_checkpoint(path)


def test_a_full_disk_while_saving_says_so_and_leaves_nothing(tmp_path, monkeypatch):
    full_disk(monkeypatch)
    path = tmp_path / "run" / "net.pt"
    with pytest.raises(model.CheckpointError) as err:
        model.save_checkpoint(Net(), path, accuracy=0.5)
    message = str(err.value)
    assert str(path) in message and "No space left on device" in message
    assert "\n" not in message and "enforce fail" not in message
    assert list(path.parent.iterdir()) == []


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = model.save_checkpoint(Net(), tmp_path / "net.pt", accuracy=0.5)
    before = path.read_bytes()
    full_disk(monkeypatch)
    with pytest.raises(model.CheckpointError):
        model.save_checkpoint(Net(), path, accuracy=0.9)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["net.pt"]


def test_an_unwritable_folder_is_named(tmp_path):
    (tmp_path / "run").write_text("a file where the run folder should be")
    with pytest.raises(model.CheckpointError, match=str(tmp_path / "run")):
        model.save_checkpoint(Net(), tmp_path / "run" / "net.pt")


def test_a_notebook_opened_alone_trains_a_short_model_as_05_does(tmp_path, real_data_root,
                                                                  monkeypatch, capsys):
    """06 opened alone (no 05 before it): a short model, in one thread as 05 trains (the
    fastest for batches of 4, by far on a busy machine), logged and saved as 05 does."""
    from fmtb_helpers import board, tutorial

    seen, loop = [], tutorial.train
    monkeypatch.setattr(tutorial, "train", lambda *a, **k: (
        seen.append(torch.get_num_threads()), loop(*a, **k)))
    torch.set_num_threads(2)
    path = model.train_short(tmp_path / "runs", "exp_lr0.01", real_data_root, images=40, lr=0.01)
    assert seen == [1] and torch.get_num_threads() == 2  # one thread for the loop only
    _, meta = model.load_checkpoint(path)
    assert meta == {"lr": 0.01, "momentum": 0.9, "epochs": 1, "batch_size": 4,
                    "train_subset": 40}
    assert board.trained_model(tmp_path / "runs", "exp_lr0.01") == path  # with 05's logs
    said = capsys.readouterr().out
    assert said.count("\n") == 1 and "(this notebook runs alone)" in said and "40 " in said
