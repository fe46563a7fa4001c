import pytest

from fmtb import params
from fmtb.params import ParameterError

pytestmark = pytest.mark.unit

DECLARED = {"data_root": "../data", "batch_size": 4, "lr": 0.001, "in_memory": True,
            "train_subset": 0, "device": "auto", "run_name": "x", "seed": 0,
            "num_threads": 1, "fresh_run": True}


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
    (("seed", str(2**32)), f"seed must be between 0 and {2**32 - 1}, not {2**32}"),
    (("seed", str(2**64)), "seed must be between 0 and"),
    (("seed", "-1"), "seed must be between 0 and"),
    (("batch_size", "60001"), "batch_size must be at most 60000 (the training set's size), "
                              "not 60001"),
    (("batch_size", str(10**9)), "batch_size must be at most 60000"),
    (("num_threads", str(10**6)), "num_threads must be at most"),
    (("num_threads", "-1"), "num_threads must be at least 0, not -1"),
    (("fresh_run", "false"), "fresh_run is set by fmtb itself"),
])
def test_bad_values_are_named(pair, message):
    with pytest.raises(ParameterError) as err:
        params.parse([pair], DECLARED)
    assert message in str(err.value)


@pytest.mark.parametrize("name", ["실험1", "1차_실험", "run-2.b+c", "Ölçüm", "e\u0301tude"])
def test_run_names_in_any_script_are_accepted(name):
    assert params.parse([("run_name", name)], DECLARED) == {"run_name": name}


@pytest.mark.parametrize("name", ["../x", "..", ".hidden", "a/b", "a\\b", "실험\n1", "a\tb",
                                  "", "_x", "-x", "a b", "a\x00b", "\u0301x"])
def test_run_names_that_are_not_plain_folder_names_are_refused(name):
    with pytest.raises(ParameterError, match="must be a plain folder name"):
        params.parse([("run_name", name)], DECLARED)


def test_merge_keeps_the_first_default():
    assert params.merge([{"a": 1, "b": 2}, {"b": 3, "c": 4}]) == {"a": 1, "b": 2, "c": 4}


def test_bounds_let_the_extremes_through():
    got = params.parse([("seed", str(2**32 - 1)), ("batch_size", "60000"),
                        ("num_threads", "0")], DECLARED)
    assert got == {"seed": 2**32 - 1, "batch_size": 60000, "num_threads": 0}


def test_every_seed_allowed_is_accepted_by_every_seeder():
    import random

    import numpy as np

    from fmtb_helpers import runtime

    for seed in (0, 2**32 - 1):
        params.parse([("seed", str(seed))], DECLARED)
        runtime.seed_everything(seed)
        np.random.default_rng(seed), np.random.RandomState(seed), random.Random(seed)
    with pytest.raises(ParameterError):  # and what numpy's legacy seeding refuses is refused
        params.parse([("seed", str(2**32))], DECLARED)
    with pytest.raises(ValueError):
        np.random.RandomState(2**32)


def test_num_threads_bound_follows_the_machine():
    import os

    limit = params.MAX_THREADS_PER_CPU * (os.cpu_count() or 1)
    assert params.parse([("num_threads", str(limit))], DECLARED) == {"num_threads": limit}
    with pytest.raises(ParameterError, match=f"num_threads must be at most {limit} "
                                             f"[(]4 per core of this machine"):
        params.parse([("num_threads", str(limit + 1))], DECLARED)


def test_fresh_run_is_refused_on_the_command_line(tmp_path):
    from support import assert_refused, fmtb

    proc = fmtb("run", "--runs-dir", str(tmp_path / "runs"), "-p", "fresh_run", "false")
    assert_refused(proc, "fresh_run", "--replace")
    assert not (tmp_path / "runs").exists()
