"""A real TensorBoard on loopback, asked over its HTTP API for every dashboard the
tutorial fills, with a test for each of the seed's visual defects."""
import io
import urllib.parse

import numpy as np
import pytest
from PIL import Image

from fmtb_helpers import data, tutorial

from support import (
    EVAL_IMAGES,
    EVAL_POINTS,
    LOG_EVERY,
    LOG_POINTS,
    N_FEATURES,
    SERIES_RUN,
    SUBSET,
    TensorBoard,
)

pytestmark = pytest.mark.integration

RUN = SERIES_RUN


@pytest.fixture(scope="module")
def tb(series):
    base, _ = series
    with TensorBoard(base / "runs") as server:
        yield server


def q(**params):
    return "?" + urllib.parse.urlencode(params)


def png(tb, path) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(tb.get(path))).convert("L"))


def images(tb, tag):
    return tb.get_json("/data/plugin/images/images" + q(run=RUN, tag=tag))


def test_runs(tb):
    assert RUN in tb.get_json("/data/runs")


def test_images_dashboard_holds_the_grid_and_every_figure(tb):
    tags = tb.get_json("/data/plugin/images/tags")[RUN]
    assert {"four_fashion_mnist_images", "predictions vs. actuals"} <= set(tags)
    assert len(images(tb, "four_fashion_mnist_images")) == 1
    figures = images(tb, "predictions vs. actuals")
    # more than TensorBoard's default of 10: the server runs with --samples_per_plugin images=100
    assert len(figures) == LOG_POINTS > 10
    assert [f["step"] for f in figures] == [LOG_EVERY * (i + 1) - 1 for i in range(LOG_POINTS)]


def test_grid_is_logged_unnormalised(tb):
    """Logged in [-1, 1], the grid's darker half would be clipped to black: the
    gray levels below the middle would all be gone."""
    (entry,) = images(tb, "four_fashion_mnist_images")
    grid = png(tb, "/data/plugin/images/" + entry["query"].join(["individualImage?", ""]))
    assert grid.shape == (32, 122)  # four 28 x 28 images with 2-pixel borders
    assert len(np.unique(grid[grid < 120])) > 20
    assert (grid[0, :] == 127).all() or (grid[0, :] == 128).all()  # border: 0 -> mid-gray


def test_prediction_figure_is_one_row_of_four(tb):
    entry = images(tb, "predictions vs. actuals")[-1]
    fig = png(tb, "/data/plugin/images/individualImage?" + entry["query"])
    height, width = fig.shape
    assert width / height > 2.5  # figsize=(12, 48) would be 0.25
    assert height < 600


def test_graphs_dashboard_holds_the_model(tb):
    info = tb.get_json("/data/plugin/graphs/info")
    assert info[RUN]["run_graph"]
    graph = tb.get("/data/plugin/graphs/graph" + q(run=RUN)).decode()
    for layer in ("conv1", "conv2", "fc1", "fc2", "fc3"):
        assert f"[{layer}]" in graph


def test_projector_holds_100_images_with_labels_and_gray_sprites(tb):
    runs = tb.get_json("/data/plugin/projector/runs")
    (pixels,) = [r for r in runs if r.startswith(f"{RUN}/pixels_")]
    (learned,) = [r for r in runs if r.startswith(f"{RUN}/learned_features_")]
    (features,) = tb.get_json("/data/plugin/projector/info" + q(run=learned))["embeddings"]
    assert [int(n) for n in features["tensorShape"]] == [N_FEATURES, 84]
    (emb,) = tb.get_json("/data/plugin/projector/info" + q(run=pixels))["embeddings"]
    assert [int(n) for n in emb["tensorShape"]] == [100, 784]
    assert [int(n) for n in emb["sprite"]["singleImageDim"]] == [28, 28]
    name = emb["tensorName"]
    labels = tb.get("/data/plugin/projector/metadata" + q(run=pixels, name=name)).decode()
    rows = labels.strip().splitlines()
    assert len(rows) == 100 and set(rows) <= set(tutorial.classes) and len(set(rows)) > 5
    sprite = png(tb, "/data/plugin/projector/sprite_image" + q(run=pixels, name=name))
    assert sprite.shape == (280, 280)
    # uint8 thumbnails would be scaled by 255 again: black and white only
    assert len(np.unique(sprite)) > 50


def test_scalars_dashboard_holds_the_training_loss(tb):
    points = tb.get_json("/data/plugin/scalars/scalars" + q(run=RUN, tag="training loss"))
    assert [p[1] for p in points] == [LOG_EVERY * (i + 1) - 1 for i in range(LOG_POINTS)]
    losses = [p[2] for p in points]
    assert all(0 < loss < 3 for loss in losses) and losses[-1] < losses[0]


def test_pr_curves_use_the_labels_as_truth(tb, real_data_root):
    tags = tb.get_json("/data/plugin/pr_curves/tags")[RUN]
    assert set(tutorial.classes) <= set(tags)
    labels = data.read_idx(data.raw_dir(real_data_root) / "t10k-labels-idx1-ubyte")
    # during training only the first eval_images test images are scored
    sample = data.class_counts(labels[:EVAL_IMAGES])
    for tag in tags:
        during = tag.startswith("during training/")
        name = tag.removeprefix("during training/")
        positives = sample[tutorial.classes.index(name)] if during else 1000
        for curve in tb.get_json("/data/plugin/pr_curves/pr_curves" + q(run=RUN, tag=tag))[RUN]:
            # at the lowest threshold every truly positive image counts
            assert curve["true_positives"][0] + curve["false_negatives"][0] == positives, tag
            assert (curve["true_positives"][0] + curve["false_positives"][0]
                    == (EVAL_IMAGES if during else 10000)), tag


def test_pr_curves_at_several_steps_during_training(tb):
    curves = tb.get_json("/data/plugin/pr_curves/pr_curves"
                         + q(run=RUN, tag="during training/Bag"))[RUN]
    assert [c["step"] for c in curves] == [0, SUBSET // 4 - 1]  # before and after training


def test_histograms_of_weights_and_gradients(tb):
    tags = tb.get_json("/data/plugin/histograms/tags")[RUN]
    assert {f"{kind}/{layer}.{p}" for kind in ("weights", "gradients")
            for layer in ("conv1", "conv2", "fc1", "fc2", "fc3")
            for p in ("weight", "bias")} == set(tags)
    series = tb.get_json("/data/plugin/histograms/histograms"
                         + q(run=RUN, tag="gradients/fc1.weight"))
    assert len(series) == EVAL_POINTS


def test_confusion_matrix_figure(tb):
    tags = tb.get_json("/data/plugin/images/tags")[RUN]
    assert [t for t in tags if "confusion" in t] == ["confusion matrix"]


def test_hparams_session_carries_metrics(tb):
    sessions = tb.hparams_sessions()
    assert RUN in sessions
    group = sessions[RUN]
    assert float(group["hparams"]["lr"]) == 0.001
    metrics = {m["name"]["tag"]: m["value"] for m in group["metricValues"]}
    assert 0.1 < metrics["hparam/test accuracy"] <= 1 and metrics["hparam/test loss"] > 0
