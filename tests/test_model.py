import os

import pytest
import torch

from fmtb_helpers import model

pytestmark = pytest.mark.unit


def test_net_is_the_tutorials():
    net = model.Net()
    assert model.count_parameters(net) == 44426
    assert [type(m).__name__ for m in net.children()] == [
        "Conv2d", "MaxPool2d", "Conv2d", "Linear", "Linear", "Linear"]
    assert net(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert net(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_defaults_are_the_tutorials():
    net = model.Net()
    opt = model.make_optimizer(net)
    assert isinstance(opt, torch.optim.SGD)
    assert opt.defaults["lr"] == 0.001 and opt.defaults["momentum"] == 0.9
    assert isinstance(model.make_criterion(), torch.nn.CrossEntropyLoss)


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(1)
    net = model.Net()
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
