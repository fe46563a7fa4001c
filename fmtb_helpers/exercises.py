"""The checks of the notebooks' exercises: each reads what the learner logged.

A check reads the run's event files with TensorBoard's own ``EventAccumulator``
(nothing sampled away: PR curves, text and HParams are tensors or plugin data) and
the Projector's files, never writes into a run, and answers in one sentence: it
prints what it found when the exercise is done, else it raises :class:`NotDone`,
one line (the run it read, the tag it looked for, the steps it found, a hint), in
the notebook's language. Raising is what makes an autograded nbgrader cell score
zero. ``CHECKS`` lists them by exercise (``"05.1"``); ``fmtb report`` runs them too.

Answers to questions about a dashboard are logged as text under ``answer/...``
(``writer.add_text``), so the check, the Text dashboard and the teacher read them
from the run like everything else.
"""
from __future__ import annotations

import re
from pathlib import Path

from .errors import FmtbError, say

# fmtb_helpers.tutorial.classes, without importing torch and Matplotlib for fmtb report
# (tests/test_exercises.py keeps the two equal)
CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
           'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle Boot')
LR_RUN = "_lr0.01"  # notebook 05's second run: <run_name>_lr0.01
SLOW_RUN = "_lr0.001"  # its third: the tutorial's lr on the same images
DROPOUT_RUN = "_dropout"  # notebook 03's variant of Net: <run_name>_dropout


class NotDone(FmtbError):
    """An exercise the run does not show as done yet: one line, with a hint."""


# --- reading a run ---------------------------------------------------------------

def run_folder(runs_dir, run_name: str, exercise: str = "") -> Path:
    """The run's folder; one line if it is missing (``exercise``: the one that makes it)."""
    path = Path(runs_dir).expanduser() / run_name
    notebook, _, number = exercise.partition(".")
    if not path.is_dir():
        raise NotDone(say(f"there is no run {run_name!r} in {runs_dir}: "
                          + (f"do exercise {number} of notebook {notebook} first" if exercise else
                             "run the notebook (and the ones before it) first"),
                          f"{runs_dir}에 런(run) {run_name!r}이(가) 없습니다: "
                          + (f"노트북 {notebook}의 연습문제 {number}부터 하십시오"
                             if exercise else "이 노트북(과 그 앞의 노트북)을 먼저 실행하십시오")))
    return path


_cache: dict = {}


def events(run: Path):
    """The run folder's event files (not its sub-runs), loaded by ``EventAccumulator``
    with every event kept; one line if there are none or they cannot be read."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    files = sorted(run.glob("*tfevents*"))
    if not files:
        raise NotDone(say(f"run {run} holds no event file yet: run the cells above",
                          f"런 {run}에 이벤트 파일이 아직 없습니다: 위의 셀을 실행하십시오"))
    key = (str(run), tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    if key not in _cache:
        keep = {kind: 0 for kind in ea.DEFAULT_SIZE_GUIDANCE}
        try:
            if len(_cache) > 3:  # a few runs at a time (fmtb report reads many)
                _cache.pop(next(iter(_cache)))
            _cache[key] = ea.EventAccumulator(str(run), size_guidance=keep).Reload()
        except Exception as exc:  # a file TensorBoard itself cannot parse
            raise NotDone(say(f"cannot read the event files in {run} ({type(exc).__name__}): "
                              f"run the notebook again",
                              f"{run}의 이벤트 파일을 읽을 수 없습니다({type(exc).__name__}): "
                              f"노트북을 다시 실행하십시오")) from exc
    return _cache[key]


def _missing(run: Path, kind: str, tag: str, hint: str, acc=None):
    found = sorted(acc.Tags().get(kind, [])) if acc is not None else []
    shown = ", ".join(repr(t) for t in found[:6]) + (" …" if len(found) > 6 else "")
    return NotDone(say(f"run {run.name} has no {kind} tag {tag!r} (found: {shown or 'none'}); "
                       f"hint: {hint}",
                       f"런 {run.name}에 {kind} 태그 {tag!r}가 없습니다(있는 태그: "
                       f"{shown or '없음'}). 힌트: {hint}"))


def scalars(run: Path, tag: str, hint: str) -> list[tuple[int, float]]:
    acc = events(run)
    if tag not in acc.Tags().get("scalars", []):
        raise _missing(run, "scalars", tag, hint, acc)
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def tensor(run: Path, tag: str, hint: str):
    """The last value logged under ``tag`` as a NumPy array (PR curves, text)."""
    from tensorboard.util import tensor_util

    acc = events(run)
    if tag not in acc.Tags().get("tensors", []):
        raise _missing(run, "tensors", tag, hint, acc)
    return tensor_util.make_ndarray(acc.Tensors(tag)[-1].tensor_proto)


def answer(run: Path, name: str) -> str:
    """The text the learner logged with ``writer.add_text('answer/<name>', ...)``."""
    tag = f"answer/{name}/text_summary"  # add_text's tag in the event file
    if tag not in events(run).Tags().get("tensors", []):
        raise NotDone(say(f"run {run.name} has no answer 'answer/{name}' yet; log it with "
                          f"writer.add_text('answer/{name}', ...)",
                          f"런 {run.name}에 답 'answer/{name}'이 아직 없습니다. "
                          f"writer.add_text('answer/{name}', ...)로 기록하십시오"))
    value = tensor(run, tag, "")
    return " ".join(v.decode("utf-8") if isinstance(v, bytes) else str(v)
                    for v in value.reshape(-1)).strip()


def done(sentence_en: str, sentence_ko: str) -> None:
    print(say(f"Done: {sentence_en}", f"완료: {sentence_ko}"))


def wrong(en: str, ko: str) -> NotDone:
    return NotDone(say(en, ko))


# --- 01 --------------------------------------------------------------------------

def check_squares(runs_dir, run_name):
    """01.1: the scalar ``exercise/squares``, n * n at steps 0 to 9."""
    run = run_folder(runs_dir, run_name)
    points = scalars(run, "exercise/squares",
                     "writer.add_scalar('exercise/squares', n * n, n) for n in range(10)")
    got = {step: value for step, value in points}
    if sorted(got) != list(range(10)) or any(got[n] != n * n for n in range(10)):
        raise wrong(f"run {run.name}: 'exercise/squares' has steps {sorted(got)}; expected "
                    f"n * n at each step n from 0 to 9",
                    f"런 {run.name}: 'exercise/squares'의 단계는 {sorted(got)}입니다. 0부터 9까지 "
                    f"각 단계 n에 n * n이 있어야 합니다")
    done(f"run {run.name} shows n * n at steps 0 to 9 under 'exercise/squares'.",
         f"런 {run.name}의 'exercise/squares'에 단계 0~9의 n * n이 있습니다.")


def check_dataset_note(runs_dir, run_name):
    """01.2: the answer ``answer/dataset``: how many training images and classes."""
    run = run_folder(runs_dir, run_name)
    text = answer(run, "dataset")
    numbers = {int(n) for n in re.findall(r"\d+", text.replace(",", ""))}
    if not {60000, 10} <= numbers:
        raise wrong(f"run {run.name}: 'answer/dataset' says {text!r}; it should give the number "
                    f"of training images and of classes (see the cells printing them)",
                    f"런 {run.name}: 'answer/dataset'은 {text!r}입니다. 학습 이미지 수와 분류 "
                    f"수를 적어야 합니다(이를 출력하는 셀을 보십시오)")
    done(f"run {run.name} notes {text!r}.", f"런 {run.name}에 {text!r}이(가) 기록되었습니다.")


# --- 02 --------------------------------------------------------------------------

GRID_16 = 4 * (28 + 2) + 2  # make_grid(16 images, nrow=4), padding 2: 122 pixels a side


def check_sixteen_test_images(runs_dir, run_name):
    """02.1: a 4 x 4 grid of test images under ``sixteen_test_images``."""
    run = run_folder(runs_dir, run_name)
    acc = events(run)
    tag = "sixteen_test_images"
    if tag not in acc.Tags().get("images", []):
        raise _missing(run, "images", tag, "writer.add_image('sixteen_test_images', "
                       "torchvision.utils.make_grid(images, nrow=4) / 2 + 0.5)", acc)
    image = acc.Images(tag)[-1]
    if (image.width, image.height) != (GRID_16, GRID_16):
        raise wrong(f"run {run.name}: {tag!r} is {image.width} x {image.height} pixels; a 4 x 4 "
                    f"grid of 28-pixel images is {GRID_16} x {GRID_16}: 16 images, nrow=4",
                    f"런 {run.name}: {tag!r}는 {image.width} × {image.height} 픽셀입니다. 28픽셀 "
                    f"이미지의 4 × 4 그리드는 {GRID_16} × {GRID_16}입니다: 이미지 16장, nrow=4")
    done(f"run {run.name} shows a 4 x 4 grid under {tag!r}.",
         f"런 {run.name}의 {tag!r}에 4 × 4 그리드가 있습니다.")


def check_sixteen_labels(runs_dir, run_name):
    """02.2: the answer ``answer/labels``: the 16 images' classes, comma-separated."""
    run = run_folder(runs_dir, run_name)
    names = [n.strip() for n in answer(run, "labels").split(",") if n.strip()]
    unknown = [n for n in names if n not in CLASSES]
    if len(names) != 16 or unknown:
        raise wrong(f"run {run.name}: 'answer/labels' holds {len(names)} names"
                    f"{', not classes: ' + ', '.join(unknown[:3]) if unknown else ''}; "
                    f"expected the 16 class names, comma-separated",
                    f"런 {run.name}: 'answer/labels'에 이름이 {len(names)}개 있습니다"
                    f"{', 분류가 아닌 것: ' + ', '.join(unknown[:3]) if unknown else ''}. "
                    f"쉼표로 구분한 분류 이름 16개여야 합니다")
    done(f"run {run.name} names the 16 images' classes.",
         f"런 {run.name}에 이미지 16장의 분류가 있습니다.")


# --- 03 --------------------------------------------------------------------------

def graph(run: Path, hint: str):
    """The run's graph (a ``GraphDef``); one line if it has none."""
    acc = events(run)
    if not acc.Tags().get("graph"):
        raise NotDone(say(f"run {run.name} has no graph; hint: {hint}",
                          f"런 {run.name}에 그래프가 없습니다. 힌트: {hint}"))
    return acc.Graph()


def graph_scopes(run: Path, hint: str) -> set[str]:
    """The module scopes of the run's graph, such as ``Linear[fc1]``."""
    return {part for node in graph(run, hint).node for part in node.name.split("/") if "[" in part}


def check_dropout_graph(runs_dir, run_name):
    """03.2: the graph of a ``Net`` with dropout, in the run ``<run_name>_dropout``."""
    run = run_folder(runs_dir, run_name + DROPOUT_RUN, "03.2")
    scopes = graph_scopes(run, "writer.add_graph(DropoutNet(), images)")
    if not any(s.startswith("Dropout[") for s in scopes):
        raise wrong(f"run {run.name}: the graph has no Dropout module (modules: "
                    f"{', '.join(sorted(scopes))}); add self.dropout = nn.Dropout(...) and use it",
                    f"런 {run.name}: 그래프에 Dropout 모듈이 없습니다(모듈: "
                    f"{', '.join(sorted(scopes))}). self.dropout = nn.Dropout(...)을 추가해 "
                    f"사용하십시오")
    done(f"run {run.name} holds the graph of a Net with dropout.",
         f"런 {run.name}에 드롭아웃이 있는 Net의 그래프가 있습니다.")


def graph_input_shape(run: Path, scope: str, hint: str) -> list[int]:
    """The shape of the tensor entering module ``scope`` (the label of its arrow)."""
    nodes = {node.name: node for node in graph(run, hint).node}
    op = next(n for n in nodes.values() if f"/{scope}/" in n.name and n.op.startswith("aten::")
              and f"/{scope}/" not in n.input[0])  # the module's first op, fed from outside
    shape = nodes[op.input[0]].attr["_output_shapes"].list.shape[0]
    return [d.size for d in shape.dim]


def check_fc1_input(runs_dir, run_name):
    """03.1: the answer ``answer/fc1 input``: the shape of the tensor entering ``fc1``."""
    run = run_folder(runs_dir, run_name)
    shape = graph_input_shape(run, "Linear[fc1]", "run notebook 03's add_graph cell")
    text = answer(run, "fc1 input")
    if [int(n) for n in re.findall(r"\d+", text)] != shape:
        raise wrong(f"run {run.name}: 'answer/fc1 input' says {text!r}; in the Graphs "
                    f"dashboard, read the label of the arrow that enters Linear[fc1]",
                    f"런 {run.name}: 'answer/fc1 input'은 {text!r}입니다. Graphs 탭에서 "
                    f"Linear[fc1]로 들어가는 화살표의 글자를 읽으십시오")
    size = "×".join(map(str, shape))
    done(f"a {size} tensor enters fc1, as run {run.name} says.",
         f"런 {run.name}의 답대로 fc1에는 {size} 텐서가 들어갑니다.")


# --- 04 --------------------------------------------------------------------------

def embedding(run: Path, prefix: str, hint: str) -> dict:
    """The newest embedding in a ``<prefix>_*`` sub-run, read from the Projector's files."""
    from .board import projector_summary

    subruns = sorted(p for p in run.glob(f"{prefix}_*") if p.is_dir())
    if not subruns or not (subruns[-1] / "projector_config.pbtxt").is_file():
        raise NotDone(say(f"run {run.name} has no Projector sub-run {prefix}_…; hint: {hint}",
                          f"런 {run.name}에 Projector 하위 런 {prefix}_…가 없습니다. 힌트: {hint}"))
    try:
        items = projector_summary(subruns[-1])
    except (OSError, ValueError, IndexError) as exc:
        raise NotDone(say(f"cannot read the Projector's files in {subruns[-1]} "
                          f"({type(exc).__name__}): run the cell again",
                          f"{subruns[-1]}의 Projector 파일을 읽을 수 없습니다"
                          f"({type(exc).__name__}): 셀을 다시 실행하십시오")) from exc
    if not items:
        raise NotDone(say(f"{subruns[-1]} holds no embedding; hint: {hint}",
                          f"{subruns[-1]}에 임베딩이 없습니다. 힌트: {hint}"))
    return items[-1]


def check_test_embedding(runs_dir, run_name):
    """04.1: the first 300 test images in the Projector with their class names."""
    run = run_folder(runs_dir, run_name)
    item = embedding(run, "test_images", "board.embedding_writer(runs_dir, run_name, "
                     "'test_images').add_embedding(...)")
    labels = item.get("labels", [])
    if item["shape"] != (300, 784) or len(labels) != 300 or not set(labels) <= set(CLASSES):
        raise wrong(f"run {run.name}: the embedding is {item['shape'][0]} x {item['shape'][1]} "
                    f"with {len(labels)} labels; expected 300 x 784 with a class name for each",
                    f"런 {run.name}: 임베딩이 {item['shape'][0]} × {item['shape'][1]}이고 라벨이 "
                    f"{len(labels)}개입니다. 300 × 784에 각 점의 분류 이름이 있어야 합니다")
    done(f"run {run.name} projects 300 test images with their class names.",
         f"런 {run.name}에서 테스트 이미지 300장이 분류 이름과 함께 투영됩니다.")


def check_most_common_class(runs_dir, run_name):
    """04.2: the answer ``answer/most common``: the commonest class among the 300."""
    from collections import Counter

    run = run_folder(runs_dir, run_name)
    labels = embedding(run, "test_images", "do the exercise above first").get("labels", [])
    counts = Counter(labels)
    top = max(counts.values(), default=0)
    text = answer(run, "most common")
    if text not in {name for name, n in counts.items() if n == top}:
        raise wrong(f"run {run.name}: 'answer/most common' says {text!r}; in the Projector, "
                    f"search each class name and compare the numbers of matches",
                    f"런 {run.name}: 'answer/most common'은 {text!r}입니다. Projector 탭에서 분류 "
                    f"이름을 하나씩 검색해 일치하는 점의 수를 비교해보십시오")
    done(f"{text} is the commonest class ({top} of 300), as run {run.name} says.",
         f"런 {run.name}의 답대로 {text}이(가) 가장 많습니다(300개 중 {top}개).")


# --- 05 --------------------------------------------------------------------------

def slope(run: Path) -> tuple[float, int]:
    """How much the training loss falls per mini-batch, from its first to its last
    logged point, and how many points that took."""
    points = scalars(run, "training loss", say("run notebook 05's training (and the exercise)",
                                               "05의 학습(과 연습문제)을 실행하십시오"))
    if len(points) < 2:
        raise wrong(f"run {run.name}: 'training loss' has {len(points)} step(s); at least 2 "
                    f"are needed: log more often (a smaller log_every)",
                    f"런 {run.name}: 'training loss'에 단계가 {len(points)}개 있습니다. 적어도 "
                    f"2개가 필요합니다: 더 자주 기록하십시오(더 작은 log_every)")
    (s0, v0), (s1, v1) = points[0], points[-1]
    return (v0 - v1) / (s1 - s0), len(points)


def check_second_run(runs_dir, run_name):
    """05.1: a second, short run ``<run_name>_lr0.01`` with a training-loss curve."""
    run = run_folder(runs_dir, run_name + LR_RUN, "05.1")
    _, n = slope(run)
    if n < 3:
        raise wrong(f"run {run.name}: 'training loss' has {n} steps; log at least 3 "
                    f"(log_every=100 on 2000 images)",
                    f"런 {run.name}: 'training loss'에 단계가 {n}개 있습니다. 3개 이상 기록하십시오"
                    f"(이미지 2,000장에 log_every=100)")
    if not (run / "net.pt").is_file():
        raise wrong(f"run {run.name} has no net.pt: save the model with model.save_checkpoint",
                    f"런 {run.name}에 net.pt가 없습니다: model.save_checkpoint로 모델을 "
                    f"저장하십시오")
    done(f"run {run.name} logged {n} training-loss points and saved its model.",
         f"런 {run.name}에 학습 손실이 {n}개 기록되었고 모델이 저장되었습니다.")


def check_faster_run(runs_dir, run_name):
    """05.2: ``answer/faster run``: of the two short runs (lr 0.01, 0.001), the faster."""
    run = run_folder(runs_dir, run_name)
    short = [run_folder(runs_dir, run_name + LR_RUN, "05.1"),
             run_folder(runs_dir, run_name + SLOW_RUN, "05.2")]
    fast = max(short, key=lambda r: slope(r)[0])
    text = answer(run, "faster run")
    if text != fast.name:
        raise wrong(f"run {run.name}: 'answer/faster run' says {text!r}; compare the slopes of "
                    f"both short runs' 'training loss' per step (smoothing 0) and name the run",
                    f"런 {run.name}: 'answer/faster run'은 {text!r}입니다. 두 짧은 런의 'training "
                    f"loss'가 단계마다 떨어지는 정도를 비교해(smoothing 0) 런 이름을 적으십시오")
    done(f"the loss of {fast.name} falls faster, as run {run.name} says.",
         f"런 {run.name}의 답대로 {fast.name}의 손실이 더 빨리 떨어집니다.")


# --- 06 --------------------------------------------------------------------------

def check_shirt_curve(runs_dir, run_name):
    """06.1: Shirt's PR curve, fixed, under ``exercise/Shirt``: equal to ``Shirt``."""
    import numpy as np

    run = run_folder(runs_dir, run_name)
    hint = "writer.add_pr_curve('exercise/Shirt', labels, predictions)"
    mine = tensor(run, "exercise/Shirt", hint)
    reference = tensor(run, "Shirt", say("run notebook 06's PR-curve cell",
                                         "06의 정밀도-재현율 곡선 셀을 실행하십시오"))
    if mine.shape != reference.shape or not np.allclose(mine, reference):
        raise wrong(f"run {run.name}: 'exercise/Shirt' ({mine.shape[-1]} thresholds) differs "
                    f"from the tutorial's 'Shirt' curve: the labels must be test_label == 6, "
                    f"the predictions test_probs[:, 6]",
                    f"런 {run.name}: 'exercise/Shirt'(임계값 {mine.shape[-1]}개)가 튜토리얼의 "
                    f"'Shirt' 곡선과 다릅니다: 라벨은 test_label == 6, 예측 확률은 "
                    f"test_probs[:, 6]이어야 합니다")
    done(f"run {run.name}'s 'exercise/Shirt' is Shirt's PR curve.",
         f"런 {run.name}의 'exercise/Shirt'는 Shirt의 정밀도-재현율 곡선입니다.")


def hparams(run: Path) -> dict:
    """The hyperparameters ``add_hparams`` recorded in the run (HParams plugin data)."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    try:
        content = events(run).PluginTagToContent("hparams")
    except KeyError:  # no summary of that plugin in the run
        content = {}
    for raw in content.values():
        data = plugin_data_pb2.HParamsPluginData.FromString(raw)
        if data.HasField("session_start_info"):
            return {k: v.number_value if v.HasField("number_value") else v.string_value
                    for k, v in data.session_start_info.hparams.items()}
    raise NotDone(say(f"run {run.name} has no HParams; hint: writer.add_hparams(hparams, "
                      f"metrics, run_name='.')",
                      f"런 {run.name}에 HParams가 없습니다. 힌트: writer.add_hparams(hparams, "
                      f"metrics, run_name='.')"))


def check_hparams_two_runs(runs_dir, run_name):
    """06.3: HParams in both runs, lr 0.01 in the second, with its test accuracy."""
    runs = [run_folder(runs_dir, run_name), run_folder(runs_dir, run_name + LR_RUN, "05.1")]
    for run in runs:
        hparams(run)
        scalars(run, "hparam/test accuracy", "writer.add_hparams(hparams, "
                "{'hparam/test accuracy': ...}, run_name='.')")
    lr = hparams(runs[1]).get("lr")
    if lr != 0.01:
        raise wrong(f"run {runs[1].name} records lr {lr}; expected 0.01: take the hparams "
                    f"from its checkpoint's meta",
                    f"런 {runs[1].name}의 lr은 {lr}입니다. 0.01이어야 합니다: 체크포인트의 "
                    f"meta에서 하이퍼파라미터를 가져오십시오")
    done(f"the HParams dashboard can compare {runs[0].name} and {runs[1].name}.",
         f"HParams 탭에서 {runs[0].name}와(과) {runs[1].name}을(를) 비교할 수 있습니다.")


def pr_area(curve) -> float:
    """The area under a PR curve as ``add_pr_curve`` stores it (rows: TP, FP, TN, FN,
    precision, recall; thresholds rising, so recall falls)."""
    import numpy as np

    precision, recall = curve[4], curve[5]
    return float(np.sum((recall[:-1] - recall[1:]) * precision[:-1]))


CLOSE = 0.02  # areas closer than this are a tie to the eye


def check_second_hardest_class(runs_dir, run_name):
    """06.2: ``answer/second hardest class``: the second smallest area under its curve."""
    run = run_folder(runs_dir, run_name)
    areas = {name: pr_area(tensor(run, name, say("run notebook 06's PR-curve cell",
                                                  "06의 정밀도-재현율 곡선 셀을 실행하십시오")))
             for name in CLASSES}
    second = sorted(areas, key=areas.get)[1]
    text = answer(run, "second hardest class")
    if abs(areas.get(text, 2.0) - areas[second]) > CLOSE:  # a dashboard is read by eye
        raise wrong(f"run {run.name}: 'answer/second hardest class' says {text!r}; in PR "
                    f"Curves, find the class whose curve encloses the second least area",
                    f"런 {run.name}: 'answer/second hardest class'는 {text!r}입니다. PR "
                    f"Curves 탭에서 곡선 아래 면적이 두 번째로 작은 분류를 찾으십시오")
    done(f"{text} has the second smallest area under its PR curve, as run {run.name} says.",
         f"런 {run.name}의 답대로 {text}의 정밀도-재현율 곡선 아래 면적이 두 번째로 작습니다.")


CHECKS = {
    "01.1": check_squares, "01.2": check_dataset_note,
    "02.1": check_sixteen_test_images, "02.2": check_sixteen_labels,
    "03.1": check_fc1_input, "03.2": check_dropout_graph,
    "04.1": check_test_embedding, "04.2": check_most_common_class,
    "05.1": check_second_run, "05.2": check_faster_run,
    "06.1": check_shirt_curve, "06.2": check_second_hardest_class,
    "06.3": check_hparams_two_runs,
}
