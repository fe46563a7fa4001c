"""The one set of checks for the notebooks' parameters, run by each notebook
(``params.check(locals())`` right after its parameters cell) and by ``fmtb`` (on
``-p`` values, before any kernel starts): a wrong value stops, before anything is
written, in one line that names it and says what to do. Imports nothing heavy.
"""
from __future__ import annotations

import math
import os

from . import paths
from .errors import FmtbError, say

TRAIN_SIZE, TEST_SIZE = 60000, 10000
# NumPy's seeding (np.random.seed, RandomState) takes 0 .. 2**32 - 1; Python's and
# torch's take more, so that is the range every seeder accepts.
MAX_SEED = 2**32 - 1
# More torch threads than cores only makes them wait for each other; a few per core
# leaves room to try oversubscription, and refuses a typo such as 100000.
MAX_THREADS_PER_CPU = 4
# File systems allow 255 bytes a name; a run moved aside takes ~25 more (-05-<time>-<n>)
MAX_RUN_NAME_BYTES = 200


class ParameterError(FmtbError, ValueError):
    """A parameter's name or value is wrong; the message says how (exit code 2)."""

    exit_code = 2


def _wrong(en: str, ko: str) -> ParameterError:
    return ParameterError(say(en, ko))


class Whole:
    """A whole number in ``lo`` .. ``hi`` (a callable ``hi`` is asked each time);
    ``why`` (English, Korean) explains an upper bound that is a safety limit."""

    def __init__(self, lo=None, hi=None, why=("", "")):
        self.lo, self.hi, self.why = lo, hi, why

    def check(self, name, value):
        lo, hi, why = self.lo, self.hi() if callable(self.hi) else self.hi, self.why
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(f"{name} must be a whole number, not {value!r}",
                         f"{name} 값은 정수여야 합니다. 지금 값: {value!r}")
        if hi is not None and value > hi and why[0]:
            raise _wrong(f"{name} must be at most {hi} ({why[0]}), not {value}",
                         f"{name} 값은 {hi} 이하여야 합니다({why[1]}). 지금 값: {value}")
        if lo is not None and value < lo and (hi is None or why[0]):
            raise _wrong(f"{name} must be at least {lo}, not {value}",
                         f"{name} 값은 {lo} 이상이어야 합니다. 지금 값: {value}")
        if lo is not None and value < lo or hi is not None and value > hi:
            raise _wrong(f"{name} must be between {lo} and {hi}, not {value}",
                         f"{name} 값은 {lo}에서 {hi} 사이여야 합니다. 지금 값: {value}")
        return value


class Number:
    """A finite number; ``positive``: above 0, else not negative; below ``below``."""

    def __init__(self, positive=False, below=None):
        self.positive, self.below = positive, below

    def check(self, name, value, shown=None):
        """``shown``: the value as typed, where it was text (``fmtb``'s ``-p``)."""
        shown = shown if shown is not None else str(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong(f"{name} must be a number, not {value!r}",
                         f"{name} 값은 숫자여야 합니다. 지금 값: {value!r}")
        if not math.isfinite(value):
            raise _wrong(f"{name} must be a finite number, not {shown!r}",
                         f"{name} 값은 유한한 숫자여야 합니다. 지금 값: {shown!r}")
        if self.positive and value <= 0:
            raise _wrong(f"{name} must be a positive number, not {shown!r}",
                         f"{name} 값은 0보다 커야 합니다. 지금 값: {shown!r}")
        if not self.positive and value < 0:
            raise _wrong(f"{name} must not be negative, not {shown!r}",
                         f"{name} 값은 음수일 수 없습니다. 지금 값: {shown!r}")
        if self.below is not None and value >= self.below:
            raise _wrong(f"{name} must be below {self.below}, not {shown!r}",
                         f"{name} 값은 {self.below}보다 작아야 합니다. 지금 값: {shown!r}")
        return value


class Flag:
    def check(self, name, value):
        if not isinstance(value, bool):
            raise _wrong(f"{name} must be true or false, not {value!r}",
                         f"{name} 값은 true 또는 false여야 합니다. 지금 값: {value!r}")
        return value


class Text:
    """Text, checked by ``rule(name, text)`` if given (papermill's ``-p`` turns
    ``1`` into a number: ``-r`` passes it as text)."""

    def __init__(self, rule=None):
        self.rule = rule

    def check(self, name, value):
        if not isinstance(value, str):
            raise _wrong(f"{name} must be text, not {value!r}; with papermill pass it with -r "
                         f"(raw), as in -r {name} {value}",
                         f"{name} 값은 문자열이어야 합니다. 지금 값: {value!r}. papermill에서는 "
                         f"-r {name} {value}처럼 -r로 넘기십시오")
        return self.rule(name, value) if self.rule else value


def check_run_name(text: str, name: str = "run_name") -> str:
    """A run's name is a folder name, not a path (so not absolute either), short enough
    for any file system once moved aside."""
    seps = {"/", "\\", os.sep, os.altsep} - {None}
    if text in ("", ".", "..") or any(s in text for s in seps) or any(
            ord(c) < 32 or ord(c) == 127 for c in text):
        raise _wrong(
            f"{name} must be a folder name, not a path: {text!r} is empty, '.' or '..', "
            f"or holds a '/', '\\' or a control character; give a name such as 'experiment_2'",
            f"{name} 값은 경로가 아닌 폴더 이름이어야 합니다(빈 값, '.', '..'은 안 되고 "
            f"'/', '\\', 제어 문자도 쓸 수 없습니다). 지금 값: {text!r}. "
            f"'experiment_2'처럼 이름을 주십시오")
    size = len(text.encode("utf-8", "surrogateescape"))
    if size > MAX_RUN_NAME_BYTES:
        raise _wrong(f"{name} is {size} bytes long in UTF-8 (a Hangul syllable takes 3); "
                     f"give at most {MAX_RUN_NAME_BYTES}",
                     f"{name} 값이 UTF-8로 {size}바이트입니다(한글 한 글자는 3바이트). "
                     f"{MAX_RUN_NAME_BYTES}바이트 이하로 주십시오")
    return text


def _device(name: str, text: str) -> str:
    if text in ("auto", "cpu"):  # there on every machine: no need to import torch
        return text
    from .runtime import DeviceError, pick_device

    try:
        pick_device(text)
    except DeviceError as exc:
        raise ParameterError(str(exc)) from None
    return text


def _max_threads() -> int:
    return MAX_THREADS_PER_CPU * (os.cpu_count() or 1)


# Parameters with a range; others are parsed by their default's type. A batch
# cannot hold more images than the training set has.
CHECKS = {
    "batch_size": Whole(1, TRAIN_SIZE, ("the training set's size", "학습 데이터의 크기")),
    "seed": Whole(0, MAX_SEED),
    "epochs": Whole(1),
    "log_every": Whole(1),
    "train_subset": Whole(0, TRAIN_SIZE),
    "n_points": Whole(1, TRAIN_SIZE),
    "n_features": Whole(1, TEST_SIZE),
    "eval_images": Whole(0, TEST_SIZE),
    "num_threads": Whole(0, _max_threads,
                         (f"{MAX_THREADS_PER_CPU} per core of this machine; "
                          f"0 keeps torch's default",
                          f"이 컴퓨터의 코어당 {MAX_THREADS_PER_CPU}개, 0은 torch의 기본값")),
    "lr": Number(positive=True),
    "momentum": Number(below=1.0),
    "device": Text(_device),
    "run_name": Text(lambda name, text: check_run_name(text, name)),
    "data_root": Text(),
    "runs_dir": Text(),
    "in_memory": Flag(),
    "fresh_run": Flag(),
}


def _folder(name: str, value: str, why: tuple[str, str] | None = None) -> None:
    """``value`` as a folder this kernel may use: no file in its way and, where ``why``
    (English, Korean) it will be written to, writable."""
    existing = paths.resolve(value, "")
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise _wrong(f"{name} {value!r} is not a folder: {existing} is a file; give a folder",
                     f"{name} 값 {value!r}: 폴더가 아니라 파일입니다({existing}). 폴더를 주십시오")
    if why and not os.access(existing, os.W_OK | os.X_OK):
        raise _wrong(f"{name} {value!r}: {existing} is read-only, and {why[0]}; "
                     f"give a writable folder",
                     f"{name} 값 {value!r}: {why[1]} {existing}에 쓸 수 없습니다. "
                     f"쓸 수 있는 폴더를 주십시오")


def check_data_root(value: str) -> None:
    """A folder that holds Fashion-MNIST, or that notebook 01 can download it into."""
    from . import data

    held = (data.raw_dir(paths.resolve(value, "")) / "train-images-idx3-ubyte").is_file()
    _folder("data_root", value, None if held else (
        "Fashion-MNIST is not there yet to be downloaded",
        "Fashion-MNIST가 아직 없어 내려받아야 하는데"))


def check_runs_dir(value: str) -> None:
    _folder("runs_dir", value, ("the notebooks write their runs there",
                                "노트북이 런을 기록할 폴더인데"))


FOLDERS = {"data_root": check_data_root, "runs_dir": check_runs_dir}


def check(values: dict) -> None:
    """Check each parameter in ``values`` (a notebook passes ``locals()``) by its rule in
    :data:`CHECKS`, and the folders given (``""``: the default, checked where used)."""
    for name, rule in CHECKS.items():
        if name in values:
            rule.check(name, values[name])
            if name in FOLDERS and values[name]:
                FOLDERS[name](values[name])


def within_epoch(name: str, every: int, batches: int, times: int) -> int:
    """``every`` (mini-batches between two log points), or, where an epoch of
    ``batches`` is shorter, ``times`` points an epoch, said in one line."""
    if every <= batches:
        return every
    fitted = max(1, batches // times)
    print(say(f"{name} {every} is more than the {batches} mini-batches of an epoch: "
              f"every {fitted} instead",
              f"한 에폭의 미니배치가 {batches}개뿐이라 {name} {every} 대신 "
              f"{fitted}개마다 기록합니다"))
    return fitted
