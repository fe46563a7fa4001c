import pytest

from fmtb import params
from fmtb.params import ParameterError

pytestmark = pytest.mark.unit

DECLARED = {"data_root": "../data", "batch_size": 4, "lr": 0.001, "in_memory": True,
            "train_subset": 0, "device": "auto", "run_name": "x"}


def test_values_take_their_defaults_type():
    got = params.parse([("batch_size", "8"), ("lr", "1e-2"), ("in_memory", "false"),
                        ("data_root", "/d")], DECLARED)
    assert got == {"batch_size": 8, "lr": 0.01, "in_memory": False, "data_root": "/d"}


@pytest.mark.parametrize("pair, message", [
    (("bach_size", "4"), "unknown parameter 'bach_size' (did you mean 'batch_size'?)"),
    (("zzz", "4"), "unknown parameter 'zzz'; known:"),
    (("batch_size", "0"), "batch_size must be at least 1"),
    (("batch_size", "four"), "batch_size must be a whole number"),
    (("lr", "nan"), "lr must be a finite number"),
    (("lr", "inf"), "lr must be a finite number"),
    (("lr", "0"), "lr must be a positive number"),
    (("train_subset", "60001"), "train_subset must be between 0 and 60000"),
    (("train_subset", "-1"), "train_subset must be between 0 and 60000"),
    (("device", "gpu"), "device must be one of auto, cpu, cuda, mps"),
    (("in_memory", "maybe"), "in_memory must be true or false"),
    (("run_name", "../x"), "run_name must be a plain folder name"),
])
def test_bad_values_are_named(pair, message):
    with pytest.raises(ParameterError) as err:
        params.parse([pair], DECLARED)
    assert message in str(err.value)


def test_merge_keeps_the_first_default():
    assert params.merge([{"a": 1, "b": 2}, {"b": 3, "c": 4}]) == {"a": 1, "b": 2, "c": 4}
