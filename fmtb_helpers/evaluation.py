"""Test-set predictions, vectorised: one softmax per batch, no per-element loops."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def predict(net, loader, device: torch.device | str = "cpu"):
    """Class probabilities ``(N, 10)`` and true labels ``(N,)`` for every batch of ``loader``,
    both on the CPU."""
    net.eval()
    probs, labels = [], []
    with torch.no_grad():
        for images, batch_labels in loader:
            probs.append(F.softmax(net(images.to(device)), dim=1).cpu())
            labels.append(batch_labels)
    net.train()
    return torch.cat(probs), torch.cat(labels)


def accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    return (probs.argmax(dim=1) == labels).float().mean().item()


def per_class_accuracy(probs: torch.Tensor, labels: torch.Tensor, num_classes: int = 10):
    preds = probs.argmax(dim=1)
    hits = torch.bincount(labels[preds == labels], minlength=num_classes).float()
    totals = torch.bincount(labels, minlength=num_classes).float()
    return (hits / totals.clamp(min=1)).tolist()
