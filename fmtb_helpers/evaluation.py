"""The tutorial's ``select_n_random`` (notebook 04), test-set loop and PR-curve helper
(notebook 06), the same code as the notebooks define (a test checks), and what
else to read from predictions."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .data import classes


# helper function (notebook 04's, kept beside the other code that needs torch)
def select_n_random(data, labels, n=100):
    '''
    Selects n random datapoints and their corresponding labels from a dataset
    '''
    assert len(data) == len(labels)

    perm = torch.randperm(len(data))
    return data[perm][:n], labels[perm][:n]


def predict(net, testloader):
    """1. gets the probability predictions in a test_size x num_classes Tensor
    2. gets the preds in a test_size Tensor"""
    device = next(net.parameters()).device
    class_probs = []
    class_label = []
    with torch.no_grad():
        for data in testloader:
            images, labels = data[0].to(device), data[1]
            output = net(images)
            class_probs_batch = F.softmax(output, dim=1)  # one softmax for the batch
            class_probs.append(class_probs_batch.cpu())
            class_label.append(labels)
    test_probs = torch.cat(class_probs)
    test_label = torch.cat(class_label)
    return test_probs, test_label


def add_pr_curve_tensorboard(writer, class_index, test_probs, test_label,
                             global_step=0):  # fixed: the writer comes in
    '''
    Takes in a "class_index" from 0 to 9 and plots the corresponding
    precision-recall curve
    '''
    tensorboard_truth = test_label == class_index
    tensorboard_probs = test_probs[:, class_index]

    writer.add_pr_curve(classes[class_index],
                        tensorboard_truth,
                        tensorboard_probs,
                        global_step=global_step)
    # fixed: no writer.close() here, which began a new event file per class


def accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    return (probs.argmax(dim=1) == labels).float().mean().item()


def loss(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean cross-entropy, from probabilities."""
    picked = probs[torch.arange(len(labels)), labels].clamp_min(1e-12)
    return -picked.log().mean().item()


def confusion_matrix(probs: torch.Tensor, labels: torch.Tensor, num_classes: int = 10):
    """``[true class, predicted class]`` counts."""
    index = labels * num_classes + probs.argmax(dim=1)
    return torch.bincount(index, minlength=num_classes ** 2).view(num_classes, num_classes)


def per_class_accuracy(probs: torch.Tensor, labels: torch.Tensor, num_classes: int = 10):
    matrix = confusion_matrix(probs, labels, num_classes).float()
    return (matrix.diag() / matrix.sum(dim=1).clamp(min=1)).tolist()


def most_confident_mistakes(probs: torch.Tensor, labels: torch.Tensor, k: int = 16):
    """Indices of the ``k`` wrong predictions made with the highest probability."""
    confidence, preds = probs.max(dim=1)
    wrong = (preds != labels).nonzero().squeeze(1)
    order = confidence[wrong].argsort(descending=True)
    return wrong[order[:k]]


def penultimate_features(net, loader):
    """What ``net`` feeds its last layer (``fc3``'s input: 84 numbers an image) for
    every batch of ``loader``, with the labels."""
    captured = []
    hook = net.fc3.register_forward_pre_hook(lambda module, args: captured.append(args[0]))
    try:
        _, labels = predict(net, loader)
    finally:
        hook.remove()
    return torch.cat([c.cpu() for c in captured]), labels
