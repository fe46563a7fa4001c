"""The tutorial's plotting helpers, made correct.

Fixed against the tutorial: tensors may live on a GPU (moved to the CPU before
``.numpy()``); a batch of one keeps its batch axis (no ``np.squeeze``); the
prediction figure is one row of images, sized for one row (not 12 x 48 inches);
softmax runs once over the batch instead of per element.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from .data import CLASSES, MEAN, STD


def unnormalize(img: torch.Tensor) -> torch.Tensor:
    """Undo ``Normalize((0.5,), (0.5,))``: values back in [0, 1], as TensorBoard expects."""
    return img * STD + MEAN


def matplotlib_imshow(img: torch.Tensor, one_channel: bool = False, ax=None) -> None:
    """Show one normalised image (C, H, W) on ``ax`` (default: the current axes)."""
    img = unnormalize(img.detach().cpu()).clamp(0, 1)
    ax = ax if ax is not None else plt.gca()
    if one_channel:
        ax.imshow(img.mean(dim=0).numpy(), cmap="Greys", vmin=0, vmax=1)
    else:
        ax.imshow(np.transpose(img.numpy(), (1, 2, 0)))


def images_to_probs(net, images: torch.Tensor):
    """Predicted classes and their probabilities for a batch, as two 1-D arrays."""
    device = next(net.parameters()).device
    with torch.no_grad():
        output = net(images.to(device))
    probs, preds = F.softmax(output, dim=1).max(dim=1)
    return preds.cpu().numpy(), probs.cpu().numpy()


def plot_classes_preds(net, images, labels, classes=CLASSES):
    """One row of the batch's images, titled with prediction, confidence and label,
    green where the prediction is right and red where it is wrong."""
    preds, probs = images_to_probs(net, images)
    labels = labels.cpu().numpy()
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(3 * n, 3.6), squeeze=False)
    for idx, ax in enumerate(axes[0]):
        ax.set_xticks([])
        ax.set_yticks([])
        matplotlib_imshow(images[idx], one_channel=True, ax=ax)
        ax.set_title("{0}, {1:.1f}%\n(label: {2})".format(
            classes[preds[idx]], probs[idx] * 100.0, classes[labels[idx]]),
            color=("green" if preds[idx] == labels[idx] else "red"))
    fig.tight_layout()
    return fig


def plot_confusion_matrix(matrix, classes=CLASSES):
    """A heat map of ``[true, predicted]`` counts, each cell labelled."""
    matrix = torch.as_tensor(matrix).cpu()
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    shown = ax.imshow(matrix.numpy(), cmap="Blues")
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=45, ha="right")
    ax.set_yticks(ticks, classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true label")
    threshold = matrix.max().item() / 2
    for (i, j), count in np.ndenumerate(matrix.numpy()):
        ax.text(j, i, int(count), ha="center", va="center", fontsize=7,
                color="white" if count > threshold else "black")
    fig.tight_layout()
    return fig


def plot_mistakes(images, probs, labels, indices, classes=CLASSES, per_row: int = 8):
    """The images at ``indices``, each titled with the wrong prediction, its
    probability and the true label."""
    rows = -(-len(indices) // per_row)
    fig, axes = plt.subplots(rows, per_row, figsize=(1.6 * per_row, 2.0 * rows),
                             squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, indices.tolist()):
        matplotlib_imshow(images[i], one_channel=True, ax=ax)
        pred = int(probs[i].argmax())
        ax.set_title(f"{classes[pred]} {probs[i, pred]:.0%}\n({classes[int(labels[i])]})",
                     fontsize=8, color="red")
    fig.tight_layout()
    return fig
