"""Beyond the tutorial's plots (``matplotlib_imshow``, ``plot_classes_preds``: notebooks
02 and 05), a confusion matrix and a gallery of mistakes (notebook 06)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .tutorial import classes, matplotlib_imshow


def plot_confusion_matrix(matrix):
    """A heat map of ``[true, predicted]`` counts, each cell labelled."""
    matrix = torch.as_tensor(matrix).cpu()
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    shown = ax.imshow(matrix.numpy(), cmap="Blues")
    fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel="predicted", ylabel="true label")
    threshold = matrix.max().item() / 2
    for (i, j), count in np.ndenumerate(matrix.numpy()):
        ax.text(j, i, int(count), ha="center", va="center", fontsize=7,
                color="white" if count > threshold else "black")
    fig.tight_layout()
    return fig


def plot_mistakes(images, probs, labels, per_row: int = 8):
    """Each image titled with its wrong prediction, that prediction's
    probability and, in brackets, the true label."""
    rows = -(-len(images) // per_row)
    fig = plt.figure(figsize=(1.6 * per_row, 2.0 * rows))
    for idx in range(len(images)):
        ax = fig.add_subplot(rows, per_row, idx + 1, xticks=[], yticks=[])
        matplotlib_imshow(images[idx], one_channel=True)
        pred = int(probs[idx].argmax())
        ax.set_title(f"{classes[pred]} {probs[idx, pred]:.0%}\n({classes[int(labels[idx])]})",
                     fontsize=8, color="red")
    fig.tight_layout()
    return fig
