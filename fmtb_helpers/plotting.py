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
    with torch.no_grad():
        output = net(images)
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
