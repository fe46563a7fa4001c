import pytest
import torch
import torch.nn.functional as F

from fmtb import fetch
from fmtb_helpers import data, evaluation, training, tutorial
from fmtb_helpers.tutorial import Net

from support import event_files

pytestmark = pytest.mark.unit


def batches_of(x, y, n):
    return [(x[i:i + n], y[i:i + n]) for i in range(0, len(x), n)]


@pytest.fixture
def net_and_data():
    torch.manual_seed(0)
    return Net(), torch.randn(10, 1, 28, 28), torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])


def test_predict_matches_per_element_softmax(net_and_data):
    net, x, y = net_and_data
    probs, labels = tutorial.predict(net, batches_of(x, y, 4))
    assert probs.shape == (10, 10) and torch.equal(labels, y)
    with torch.no_grad():
        for i in range(10):
            assert torch.allclose(probs[i], F.softmax(net(x[i:i + 1])[0], dim=0), atol=1e-6)


def test_loss_and_accuracy(net_and_data):
    net, x, y = net_and_data
    probs, labels = tutorial.predict(net, batches_of(x, y, 3))
    with torch.no_grad():
        assert evaluation.loss(probs, labels) == pytest.approx(
            F.cross_entropy(net(x), y).item(), rel=1e-5)
    assert evaluation.accuracy(probs, labels) == (probs.argmax(1) == y).float().mean().item()


def test_confusion_matrix_and_per_class_accuracy():
    probs = F.one_hot(torch.tensor([0, 0, 1, 2, 2, 2]), 3).float()
    labels = torch.tensor([0, 1, 1, 2, 2, 0])
    matrix = evaluation.confusion_matrix(probs, labels, 3)
    assert matrix.tolist() == [[1, 0, 1], [1, 1, 0], [0, 0, 2]]
    assert evaluation.per_class_accuracy(probs, labels, 3) == [0.5, 0.5, 1.0]


def test_most_confident_mistakes_come_first():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    labels = torch.tensor([0, 0, 1, 0])
    assert evaluation.most_confident_mistakes(probs, labels, k=2).tolist() == [1, 3]


def test_penultimate_features_are_fc3s_input(net_and_data):
    net, x, y = net_and_data
    features, labels = evaluation.penultimate_features(net, batches_of(x, y, 4))
    assert features.shape == (10, 84) and torch.equal(labels, y)
    with torch.no_grad():
        h = net.pool(F.relu(net.conv1(x)))
        h = net.pool(F.relu(net.conv2(h))).flatten(1)
        expected = F.relu(net.fc2(F.relu(net.fc1(h))))
    assert torch.allclose(features, expected, atol=1e-6)
    assert not net.fc3._forward_pre_hooks  # the hook is gone


def test_train_logs_the_tutorials_scalars_and_figures_and_learns(net_and_data, tmp_path,
                                                                   capsys):
    from torch.utils.tensorboard import SummaryWriter

    from fmtb_helpers import board

    net, x, y = net_and_data
    batches = batches_of(x.repeat(8, 1, 1, 1), y.repeat(8), 4)  # 20 mini-batches
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    criterion = torch.nn.CrossEntropyLoss()
    before = evaluation.loss(*tutorial.predict(net, batches_of(x, y, 10)))
    writer = SummaryWriter(tmp_path)
    tutorial.train(net, batches, criterion, optimizer, writer, epochs=2, log_every=5)
    summary = board.event_summary(board.event_file(writer))
    writer.close()
    # the tutorial's two tags, nothing else, at the steps of both epochs
    assert summary == {"scalars": {"training loss": 8},
                       "images": {"predictions vs. actuals": 8}}
    steps = [e.step for e in board.read_events(tmp_path).Scalars("training loss")]
    assert steps == [4, 9, 14, 19, 24, 29, 34, 39]
    assert evaluation.loss(*tutorial.predict(net, batches_of(x, y, 10))) < before
    assert "Finished Training" in capsys.readouterr().out


def test_a_diverging_training_stops_with_what_to_try(net_and_data, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    net, x, y = net_and_data
    optimizer = torch.optim.SGD(net.parameters(), lr=1e30, momentum=0.9)
    writer = SummaryWriter(tmp_path)
    with pytest.raises(training.TrainingDiverged, match=r"diverged.*smaller learning rate"):
        tutorial.train(net, batches_of(x.repeat(20, 1, 1, 1), y.repeat(20), 4),
                       torch.nn.CrossEntropyLoss(), optimizer, writer, log_every=1000)
    writer.close()


def test_add_pr_curve_tensorboard_uses_the_labels_as_truth(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    from fmtb_helpers import board

    probs = torch.softmax(torch.randn(30, 10), dim=1)
    labels = torch.arange(30) % 10
    writer = SummaryWriter(tmp_path)
    for i in range(10):
        tutorial.add_pr_curve_tensorboard(writer, i, probs, labels)
    assert board.event_summary(board.event_file(writer))["tensors"] == {
        name: 1 for name in tutorial.classes}
    writer.close()
    assert len(event_files(tmp_path)) == 1  # no writer.close() per class


def test_select_n_random_keeps_pairs_together():
    data_, labels = torch.arange(50).view(50, 1) * 10, torch.arange(50)
    picked, picked_labels = tutorial.select_n_random(data_, labels, n=7)
    assert len(picked) == 7 and torch.equal(picked[:, 0], picked_labels * 10)
    assert len(set(picked_labels.tolist())) == 7


def test_batches_cover_the_dataset_in_order(tmp_path, small_idx):
    mirror, _ = small_idx
    fetch.ensure_data(tmp_path / "root", mirror=mirror, download=False)
    trainset, _ = data.load_datasets(tmp_path / "root", in_memory=True)
    parts = list(data.batches(trainset, 5))
    assert [len(p[1]) for p in parts] == [5, 5, 2]
    assert torch.equal(torch.cat([p[1] for p in parts]), trainset.targets)
