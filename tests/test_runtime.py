import pytest
import torch

from fmtb_helpers import runtime

pytestmark = pytest.mark.unit


def test_auto_and_cpu():
    assert runtime.pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and runtime._mps_available():
        expected = "mps"
    assert runtime.pick_device("auto").type == expected


def test_unknown_device_is_a_clear_error():
    with pytest.raises(runtime.DeviceError, match="one of auto, cpu, cuda, mps"):
        runtime.pick_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present here")
def test_absent_device_is_a_clear_error():
    with pytest.raises(runtime.DeviceError, match="'cuda' is not available on this machine"):
        runtime.pick_device("cuda")


def test_seeding_repeats():
    runtime.seed_everything(3)
    a = torch.rand(4), torch.randperm(10)
    runtime.seed_everything(3)
    b = torch.rand(4), torch.randperm(10)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_seeding_leaves_pythons_random_alone():
    """%tensorboard names its frame with Python's random: seeded notebooks must not
    all give their frames the same name."""
    import random

    random.seed(1)
    runtime.seed_everything(3)
    first = random.getrandbits(64)
    random.seed(1)
    runtime.seed_everything(4)
    assert random.getrandbits(64) == first  # unchanged by seeding: no random.seed(3)
    runtime.seed_everything(3)
    assert random.getrandbits(64) != first


def test_set_threads():
    before = torch.get_num_threads()
    try:
        assert runtime.set_threads(1) == 1
        assert runtime.set_threads(0) == 1
    finally:
        torch.set_num_threads(before)
