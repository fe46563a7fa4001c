import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F

from fmtb_helpers import plotting, tutorial
from fmtb_helpers.tutorial import Net

pytestmark = pytest.mark.unit

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("n", [1, 4])
def test_images_to_probs_shapes_and_values(n):
    torch.manual_seed(0)
    net = Net()
    images = torch.randn(n, 1, 28, 28)
    preds, probs = tutorial.images_to_probs(net, images)
    assert preds.shape == (n,) and len(probs) == n
    with torch.no_grad():
        out = net(images)
    for i in range(n):  # the tutorial's per-element softmax, as the reference
        assert preds[i] == out[i].argmax().item()
        assert probs[i] == pytest.approx(F.softmax(out[i], dim=0)[preds[i]].item(), rel=1e-5)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("n", [1, 4])
def test_prediction_figure_is_one_row(device, n):
    net = Net().to(device)
    images, labels = torch.randn(n, 1, 28, 28, device=device), torch.arange(n, device=device)
    fig = tutorial.plot_classes_preds(net, images, labels)
    try:
        assert len(fig.axes) == n
        width, height = fig.get_size_inches()
        assert width / height >= 0.7 * n and height < 6  # one row, not 12 x 48 inches
        rows = {round(ax.get_position().y0, 3) for ax in fig.axes}
        assert len(rows) == 1
        titles = [ax.get_title() for ax in fig.axes]
        assert all("(label: " in t and "%" in t for t in titles)
        colors = {ax.title.get_color() for ax in fig.axes}
        assert colors <= {"green", "red"}
    finally:
        plt.close(fig)


def test_each_title_names_its_own_images_label():
    """What the figure drew, read back: the title of image i carries label i, and is
    green exactly where the prediction (its first line) is that label."""
    torch.manual_seed(1)
    net = Net()
    images, labels = torch.randn(4, 1, 28, 28), torch.tensor([3, 9, 0, 5])
    fig = tutorial.plot_classes_preds(net, images, labels)
    try:
        for ax, label, image in zip(fig.axes, labels, images, strict=True):
            predicted, _, rest = ax.get_title().partition(", ")
            assert rest.endswith(f"(label: {tutorial.classes[label]})")
            assert (ax.title.get_color() == "green") == (predicted == tutorial.classes[label])
            shown = torch.as_tensor(ax.images[0].get_array())
            assert torch.allclose(shown, image[0] / 2 + 0.5)  # its own picture
    finally:
        plt.close(fig)


def test_imshow_keeps_gray_levels():
    img = torch.linspace(-1, 1, 28 * 28).view(1, 28, 28)
    fig, ax = plt.subplots()
    try:
        assert tutorial.matplotlib_imshow(img, one_channel=True) is None
        shown = ax.images[0].get_array()
        assert shown.min() == pytest.approx(0) and shown.max() == pytest.approx(1)
        assert len(set(shown.flatten().tolist())) > 100
    finally:
        plt.close(fig)


def test_confusion_matrix_figure_labels_every_cell():
    matrix = torch.arange(100).view(10, 10)
    fig = plotting.plot_confusion_matrix(matrix)
    try:
        ax = fig.axes[0]
        assert len(ax.texts) == 100 and ax.texts[11].get_text() == "11"
        assert [t.get_text() for t in ax.get_yticklabels()][0] == "T-shirt/top"
    finally:
        plt.close(fig)


def test_mistakes_figure_titles_prediction_and_label():
    images = torch.zeros(5, 1, 28, 28)
    probs = torch.nn.functional.one_hot(torch.tensor([1, 2, 3, 4, 5]), 10).float()
    fig = plotting.plot_mistakes(images[[4, 0]], probs[[4, 0]], torch.zeros(2, dtype=torch.long))
    try:
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        assert titles == ["Sandal 100%\n(T-shirt/top)", "Trouser 100%\n(T-shirt/top)"]
    finally:
        plt.close(fig)
