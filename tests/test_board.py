import warnings

import numpy as np

import pytest
import torch
from torch.utils.tensorboard import SummaryWriter

from fmtb_helpers import board

from fmtb_helpers.model import Net

pytestmark = pytest.mark.unit


def test_start_run_moves_an_earlier_run_aside(tmp_path):
    run = board.start_run(tmp_path, "exp")
    (run / "old.txt").write_text("keep me")
    with pytest.warns(UserWarning, match="moved aside"):
        again = board.start_run(tmp_path, "exp")
    assert again == run and list(again.iterdir()) == []
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("exp.")]
    assert len(kept) == 1 and (kept[0] / "old.txt").read_text() == "keep me"
    (run / "new.txt").write_text("stays")
    assert board.start_run(tmp_path, "exp", fresh=False) == run
    assert (run / "new.txt").is_file()


def test_second_writer_keeps_the_first_writers_embedding(tmp_path):
    images = torch.rand(5, 1, 28, 28)
    first = SummaryWriter(tmp_path)
    first.add_embedding(images.view(5, -1), metadata=list("abcde"), label_img=images, tag="pixels")
    first.close()
    second = SummaryWriter(tmp_path)
    assert board.keep_projector_entries(second) == 1
    second.add_embedding(torch.rand(5, 3), metadata=list("abcde"), tag="features")
    second.close()
    names = [e["tensor_name"] for e in board.projector_summary(tmp_path)]
    assert names == ["pixels:00000", "features:00000"]


def test_plain_second_writer_would_erase_it(tmp_path):
    """The trap itself, so the test above means something."""
    for tag in ("pixels", "features"):
        w = SummaryWriter(tmp_path)
        w.add_embedding(torch.rand(5, 3), tag=tag)
        w.close()
    assert [e["tensor_name"] for e in board.projector_summary(tmp_path)] == ["features:00000"]


def test_sprite_keeps_gray_levels_when_given_floats(tmp_path):
    from PIL import Image

    levels = torch.linspace(0, 1, 4 * 28 * 28).view(4, 1, 28, 28)
    w = SummaryWriter(tmp_path)
    w.add_embedding(levels.view(4, -1), label_img=levels, tag="gray")
    w.close()
    item = board.projector_summary(tmp_path)[0]
    assert item["thumbnail"] == (28, 28) and item["shape"] == (4, 784)
    sprite = Image.open(next(tmp_path.rglob("sprite.png"))).convert("L")
    assert len(np.unique(np.asarray(sprite))) > 100


def test_graph_without_the_deprecation_warning(tmp_path):
    w = SummaryWriter(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with board.quiet_graph_tracing():
            w.add_graph(Net(), torch.zeros(4, 1, 28, 28))
    assert not [c for c in caught if "jit" in str(c.message)]
    assert board.event_summary(board.event_file(w)) == {"graph": {"graph": 1}}
    w.close()


def test_event_summary_counts_each_tag(tmp_path, capsys):
    w = SummaryWriter(tmp_path)
    for step in range(3):
        w.add_scalar("training loss", 1.0 / (step + 1), step)
    w.add_image("grid", torch.rand(1, 8, 8))
    w.add_pr_curve("Bag", torch.tensor([True, False]), torch.tensor([0.9, 0.2]))
    assert board.print_logged(w) is None
    summary = board.event_summary(board.event_file(w))
    w.close()
    assert summary == {"scalars": {"training loss": 3}, "images": {"grid": 1},
                       "tensors": {"Bag": 1}}
    assert "scalars    'training loss': 3" in capsys.readouterr().out
    assert len(board.event_files(tmp_path)) == 1


def test_use_venv_tensorboard_sets_the_binary(monkeypatch):
    monkeypatch.delenv("TENSORBOARD_BINARY", raising=False)
    binary = board.use_venv_tensorboard()
    import os
    assert os.environ["TENSORBOARD_BINARY"] == str(binary) and binary.is_file()


def test_reading_a_closed_writer_back_opens_no_new_file(tmp_path):
    w = SummaryWriter(tmp_path)
    w.add_scalar("x", 1.0, 0)
    w.close()
    with pytest.raises(ValueError, match="closed"):
        board.event_file(w)
    assert len(board.event_files(tmp_path)) == 1


def test_writing_a_tag_again_replaces_its_entry(tmp_path, capsys):
    for _ in range(2):
        w = SummaryWriter(tmp_path)
        board.keep_projector_entries(w, replace="features")
        w.add_embedding(torch.rand(5, 3), tag="features", global_step=1)
        w.close()
    assert [e["tensor_name"] for e in board.projector_summary(tmp_path)] == ["features:00001"]
    # its old files went first, so torch had nothing to warn about
    assert "Embedding dir exists" not in capsys.readouterr().out


def test_replacing_the_default_tag_keeps_the_others(tmp_path, capsys):
    w = SummaryWriter(tmp_path)
    w.add_embedding(torch.rand(5, 3), tag="features")
    w.close()
    for _ in range(2):  # notebook 04, run twice: add_embedding's tag is "default"
        w = SummaryWriter(tmp_path)
        board.keep_projector_entries(w, replace="default")
        w.add_embedding(torch.rand(5, 4))
        w.close()
    names = [e["tensor_name"] for e in board.projector_summary(tmp_path)]
    assert names == ["features:00000", "default:00000"]
    assert (tmp_path / "00000" / "features" / "tensors.tsv").is_file()
    assert "Embedding dir exists" not in capsys.readouterr().out
