"""What else to read from the predictions of the tutorial's ``predict`` (notebook 06)."""
from __future__ import annotations

import torch

from .tutorial import predict


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
