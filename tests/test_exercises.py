"""The exercises' checks (fmtb_helpers.exercises) on runs these tests write with a real
SummaryWriter: done, and each way a learner's run can fall short, in one line."""
from __future__ import annotations

import pytest
import torch
import torchvision
from torch.utils.tensorboard import SummaryWriter

from fmtb_helpers import exercises
from fmtb_helpers.tutorial import Net, classes

pytestmark = pytest.mark.unit
RUN = "learner"


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("FMTB_LANG", "en")


def not_done(check, runs_dir, run_name=RUN) -> str:
    """The one line a check answers with when the exercise is not done."""
    with pytest.raises(exercises.NotDone) as caught:
        check(runs_dir, run_name)
    rendered = caught.value._render_traceback_()
    assert len(rendered) == 1 and "\n" not in rendered[0]
    return str(caught.value)


def snapshot(folder):
    return sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*"))


def log(runs_dir, run=RUN, **kw) -> SummaryWriter:
    return SummaryWriter(str(runs_dir / run), **kw)


def test_done_answers_in_one_sentence_and_writes_nothing(tmp_path, capsys):
    with log(tmp_path) as w:
        for n in range(10):
            w.add_scalar("exercise/squares", n * n, n)
    before = snapshot(tmp_path)
    exercises.check_squares(tmp_path, RUN)
    assert capsys.readouterr().out.strip().splitlines() == [
        "Done: run learner shows n * n at steps 0 to 9 under 'exercise/squares'."]
    assert snapshot(tmp_path) == before


def test_missing_run(tmp_path):
    line = not_done(exercises.check_squares, tmp_path)
    assert f"no run 'learner' in {tmp_path}" in line


def test_empty_run(tmp_path):
    (tmp_path / RUN).mkdir()
    assert "holds no event file yet" in not_done(exercises.check_squares, tmp_path)


def test_wrong_tag_names_the_tag_and_what_was_found(tmp_path):
    with log(tmp_path) as w:
        w.add_scalar("exercise/square", 1.0, 1)
    line = not_done(exercises.check_squares, tmp_path)
    assert "no scalars tag 'exercise/squares'" in line and "'exercise/square'" in line


def test_half_written_event_file_gives_the_steps_found(tmp_path):
    with log(tmp_path) as w:
        for n in range(10):
            w.add_scalar("exercise/squares", n * n, n)
    (event,) = (tmp_path / RUN).glob("*tfevents*")
    data = event.read_bytes()
    event.write_bytes(data[:len(data) - 30])  # the last record cut off mid-way
    line = not_done(exercises.check_squares, tmp_path)
    assert "has steps [0, 1, 2, 3, 4, 5, 6, 7, 8]" in line


def test_foreign_bytes_in_an_event_file(tmp_path):
    (tmp_path / RUN).mkdir()
    (tmp_path / RUN / "events.out.tfevents.1.host.1.0").write_bytes(b"\xff" * 100)
    line = not_done(exercises.check_squares, tmp_path)
    assert "'exercise/squares'" in line or "cannot read" in line


def test_wrong_shape_of_a_grid(tmp_path):
    images = torch.rand(16, 1, 28, 28)
    with log(tmp_path) as w:
        w.add_image("sixteen_test_images", torchvision.utils.make_grid(images))  # 8 a row
    line = not_done(exercises.check_sixteen_test_images, tmp_path)
    assert "is 242 x 62 pixels" in line and "nrow=4" in line
    with log(tmp_path) as w:
        w.add_image("sixteen_test_images", torchvision.utils.make_grid(images, nrow=4))
    exercises.check_sixteen_test_images(tmp_path, RUN)


def test_korean(tmp_path, monkeypatch):
    monkeypatch.setenv("FMTB_LANG", "ko")
    assert "런(run) 'learner'이(가) 없습니다" in not_done(exercises.check_squares, tmp_path)


def test_answers_are_read_from_text(tmp_path, capsys):
    with log(tmp_path) as w:
        w.add_text("answer/dataset", "60,000 training images")
    assert "'answer/dataset' says '60,000 training images'" in not_done(
        exercises.check_dataset_note, tmp_path)
    with log(tmp_path) as w:
        w.add_text("answer/dataset", "60000 training images in 10 classes")
    exercises.check_dataset_note(tmp_path, RUN)
    assert capsys.readouterr().out.startswith("Done:")


def test_labels_must_be_sixteen_classes(tmp_path):
    with log(tmp_path) as w:
        w.add_text("answer/labels", ", ".join(classes[:4]) + ", Hat")
    line = not_done(exercises.check_sixteen_labels, tmp_path)
    assert "holds 5 names, not classes: Hat" in line


def test_graphs(tmp_path):
    class DropoutNet(Net):
        def __init__(self):
            super().__init__()
            self.dropout = torch.nn.Dropout(0.25)

        def forward(self, x):
            x = self.pool(torch.relu(self.conv1(x)))
            x = self.pool(torch.relu(self.conv2(x)))
            x = self.dropout(torch.relu(self.fc1(x.view(-1, 256))))
            return self.fc3(torch.relu(self.fc2(x)))

    images = torch.zeros(4, 1, 28, 28)
    with log(tmp_path, RUN + "_dropout") as w:
        w.add_graph(Net(), images)
    assert "the graph has no Dropout module" in not_done(exercises.check_dropout_graph, tmp_path)
    # TensorBoard shows the graph of the event file whose name sorts last, and a name
    # ends in a count of the process's writers: the 10th sorts before the 9th
    for old in (tmp_path / (RUN + "_dropout")).glob("events.out.tfevents.*"):
        old.unlink()
    with log(tmp_path, RUN + "_dropout") as w:
        w.add_graph(DropoutNet(), images)
    exercises.check_dropout_graph(tmp_path, RUN)
    with log(tmp_path) as w:
        w.add_graph(Net(), images)
        w.add_text("answer/fc1 input", "4x120")  # what leaves fc1, not what enters it
    assert "says '4x120'" in not_done(exercises.check_fc1_input, tmp_path)
    with log(tmp_path) as w:
        w.add_text("answer/fc1 input", "4 × 256")
    exercises.check_fc1_input(tmp_path, RUN)


def test_projector(tmp_path):
    labels = [classes[i % 10] for i in range(300)]
    labels[:5] = ["Bag"] * 5
    w = SummaryWriter(str(tmp_path / RUN / "test_images_120000"))
    w.add_embedding(torch.rand(299, 784), metadata=labels[:299])
    w.close()
    assert "is 299 x 784 with 299 labels" in not_done(exercises.check_test_embedding, tmp_path)
    w = SummaryWriter(str(tmp_path / RUN / "test_images_120001"))
    w.add_embedding(torch.rand(300, 784), metadata=labels,
                    label_img=torch.rand(300, 1, 28, 28))
    w.close()
    exercises.check_test_embedding(tmp_path, RUN)
    with log(tmp_path) as w:
        w.add_text("answer/most common", "Trouser")
    assert "says 'Trouser'" in not_done(exercises.check_most_common_class, tmp_path)
    with log(tmp_path) as w:
        w.add_text("answer/most common", "Bag")
    exercises.check_most_common_class(tmp_path, RUN)


def test_second_run_and_the_faster_one(tmp_path, capsys):
    with log(tmp_path) as w:
        for step, loss in ((999, 2.0), (1999, 1.5), (2999, 1.2)):
            w.add_scalar("training loss", loss, step)
    assert "no run 'learner_lr0.01'" in not_done(exercises.check_second_run, tmp_path)
    with log(tmp_path, RUN + "_lr0.01") as w:
        w.add_scalar("training loss", 2.3, 99)
    assert "'training loss' has 1 step(s)" in not_done(exercises.check_second_run, tmp_path)
    with log(tmp_path, RUN + "_lr0.01") as w:
        for step, loss in ((199, 2.0), (299, 1.6)):
            w.add_scalar("training loss", loss, step)
    assert "has no net.pt" in not_done(exercises.check_second_run, tmp_path)
    torch.save({}, tmp_path / (RUN + "_lr0.01") / "net.pt")
    exercises.check_second_run(tmp_path, RUN)
    with log(tmp_path) as w:
        w.add_text("answer/faster run", RUN + "_lr0.001")
    assert "no run 'learner_lr0.001'" in not_done(exercises.check_faster_run, tmp_path)
    with log(tmp_path, RUN + "_lr0.001") as w:
        for step, loss in ((99, 2.3), (199, 2.2), (299, 2.1)):
            w.add_scalar("training loss", loss, step)  # 0.001 a step against 0.0035
    assert "says 'learner_lr0.001'" in not_done(exercises.check_faster_run, tmp_path)
    with log(tmp_path) as w:
        w.add_text("answer/faster run", RUN + "_lr0.01")
    exercises.check_faster_run(tmp_path, RUN)
    assert "the loss of learner_lr0.01 falls faster" in capsys.readouterr().out


def pr_data(seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(1000) % 10
    probs = torch.softmax(torch.randn(1000, 10, generator=g) + 3 * torch.nn.functional.one_hot(
        labels, 10) * torch.linspace(0.2, 1, 10), dim=1)  # class 0 hardest, 9 easiest
    return probs, labels


def test_pr_curves_and_the_second_hardest_class(tmp_path):
    probs, labels = pr_data()
    preds = probs.argmax(1)
    with log(tmp_path) as w:
        for i, name in enumerate(classes):
            w.add_pr_curve(name, labels == i, probs[:, i])
        w.add_pr_curve("exercise/Shirt", preds == 6, probs[:, 6])  # the tutorial's mistake
        w.add_text("answer/second hardest class", "T-shirt/top")
    assert "differs from the tutorial's 'Shirt' curve" in not_done(
        exercises.check_shirt_curve, tmp_path)
    assert "says 'T-shirt/top'" in not_done(exercises.check_second_hardest_class, tmp_path)
    with log(tmp_path) as w:
        w.add_pr_curve("exercise/Shirt", labels == 6, probs[:, 6])
        w.add_text("answer/second hardest class", "Trouser")
    exercises.check_shirt_curve(tmp_path, RUN)
    exercises.check_second_hardest_class(tmp_path, RUN)


def test_hparams_of_two_runs(tmp_path):
    with log(tmp_path) as w:
        w.add_hparams({"lr": 0.001}, {"hparam/test accuracy": 0.8}, run_name=".")
    assert "no run 'learner_lr0.01'" in not_done(exercises.check_hparams_two_runs, tmp_path)
    with log(tmp_path, RUN + "_lr0.01") as w:
        w.add_scalar("training loss", 1.0, 1)
    assert "run learner_lr0.01 has no HParams" in not_done(
        exercises.check_hparams_two_runs, tmp_path)
    with log(tmp_path, RUN + "_lr0.01") as w:
        w.add_hparams({"lr": 0.001}, {"hparam/test accuracy": 0.7}, run_name=".")
    assert "records lr 0.001; expected 0.01" in not_done(
        exercises.check_hparams_two_runs, tmp_path)
    for f in (tmp_path / (RUN + "_lr0.01")).glob("*tfevents*"):
        f.unlink()
    with log(tmp_path, RUN + "_lr0.01") as w:
        w.add_hparams({"lr": 0.01}, {"hparam/test accuracy": 0.7}, run_name=".")
    exercises.check_hparams_two_runs(tmp_path, RUN)


def test_every_exercise_has_a_check_and_every_check_one_line_on_nothing(tmp_path):
    assert len(exercises.CHECKS) >= 12 and exercises.CLASSES == classes
    for check in exercises.CHECKS.values():
        assert "no run 'learner" in not_done(check, tmp_path)


def test_the_exercises_go_into_both_editions(tmp_path):
    """fmtb.maintainer.exercises on a copy of the notebooks: before each Summary, once
    however often it runs, each exercise followed by its graded check, in Korean too."""
    import shutil

    import nbformat

    from fmtb.maintainer import exercises as insert
    from fmtb.maintainer import translate
    from fmtb_helpers import paths

    src, dst = paths.notebooks_dir(), tmp_path / "notebooks"
    (dst / "ko").mkdir(parents=True)
    for nb_path in src.glob("0[1-6]_*.ipynb"):
        shutil.copy(nb_path, dst)
    shutil.copy(src / "ko" / "translations.json", dst / "ko")
    shutil.copytree(src / "exercises", dst / "exercises")
    assert insert.main([str(dst)]) == 0
    first = {p.name: p.read_bytes() for p in dst.rglob("*.*")}
    assert insert.main([str(dst)]) == 0
    assert {p.name: p.read_bytes() for p in dst.rglob("*.*")} == first

    korean = translate.generate(dst)
    checks, grade_ids = 0, []
    for nb_path in sorted(dst.glob("0[1-6]_*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        assert nb.cells[-1].source.startswith("## Summary")
        ids = [c.id for c in nb.cells]
        assert len(ids) == len(set(ids)) and "md-exercises" in ids
        graded = [c for c in nb.cells if "nbgrader" in c.metadata]
        grade_ids += [c.metadata.nbgrader.grade_id for c in graded]
        assert graded[0].metadata.nbgrader.solution and graded[-1].metadata.nbgrader.grade
        for before, cell in zip(graded, graded[1:], strict=False):  # each check after its exercise
            if cell.metadata.nbgrader.grade:
                assert before.metadata.nbgrader.solution and cell.metadata.nbgrader.points == 1
                assert "exercises.check_" in cell.source
            else:
                assert "### BEGIN SOLUTION" in cell.source
        checks += sum(c.metadata.nbgrader.grade for c in graded)
        ko = nbformat.reads(korean[dst / "ko" / nb_path.name], as_version=4)
        assert [c.metadata.get("nbgrader") for c in ko.cells] == [
            c.metadata.get("nbgrader") for c in nb.cells]
        assert "## 연습문제" in "\n".join(c.source for c in ko.cells)
    assert checks >= 12 and checks == len(exercises.CHECKS)
    assert len(grade_ids) == len(set(grade_ids))

    # and out again (make screenshots): the tutorial's cells alone, as they were
    before = {p.name: nbformat.read(p, as_version=4) for p in dst.glob("0[1-6]_*.ipynb")}
    theirs = {entry["id"] for spec in insert.load_specs(dst) for entry in spec["cells"]}
    insert.remove(dst)
    for name, nb in before.items():
        left = nbformat.read(dst / name, as_version=4).cells
        assert [c.source for c in left] == [c.source for c in nb.cells if c.id not in theirs]
        assert not any("nbgrader" in c.metadata or c.id == "md-exercises" for c in left)
        assert left[-1].source.startswith("## Summary") and len(left) > 10
    with pytest.raises(insert.ExerciseError, match="none of the cells of 01.yml"):
        insert.remove(dst)
