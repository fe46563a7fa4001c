"""The tutorial's plotting helpers, as notebooks 02 and 05 define them (a test checks
that the code is the same), its slips fixed; beyond it, a confusion matrix and a
gallery of mistakes (notebook 06)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from .data import classes


def matplotlib_imshow(img, one_channel=False):
    if one_channel:
        img = img.mean(dim=0)
    img = img.cpu() / 2 + 0.5     # unnormalize (fixed: on the CPU, for .numpy())
    npimg = img.numpy()
    if one_channel:
        plt.imshow(npimg, cmap="Greys")
    else:
        plt.imshow(np.transpose(npimg, (1, 2, 0)))


def images_to_probs(net, images):
    '''
    Generates predictions and corresponding probabilities from a trained
    network and a list of images
    '''
    with torch.no_grad():  # fixed: looking needs no gradients
        output = net(images)
    # convert output probabilities to predicted class
    _, preds_tensor = torch.max(output, 1)
    preds = preds_tensor.cpu().numpy()  # fixed: .cpu(), and no squeeze of a batch of one
    return preds, [F.softmax(el, dim=0)[i].item() for i, el in zip(preds, output)]


def plot_classes_preds(net, images, labels):
    '''
    Generates matplotlib Figure using a trained network, along with images
    and labels from a batch, that shows the network's top prediction along
    with its probability, alongside the actual label, coloring this
    information based on whether the prediction was correct or not.
    Uses the "images_to_probs" function.
    '''
    images, labels = images[:8], labels[:8]  # added: at most 8, whatever the batch size
    preds, probs = images_to_probs(net, images)
    # plot the images in the batch, along with predicted and true labels
    fig = plt.figure(figsize=(3 * len(images), 3.6))  # fixed: one row (was 12 x 48)
    for idx in np.arange(len(images)):  # fixed: the whole batch (was always 4)
        ax = fig.add_subplot(1, len(images), idx+1, xticks=[], yticks=[])
        matplotlib_imshow(images[idx], one_channel=True)
        ax.set_title("{0}, {1:.1f}%\n(label: {2})".format(
            classes[preds[idx]],
            probs[idx] * 100.0,
            classes[labels[idx]]),
                    color=("green" if preds[idx]==labels[idx].item() else "red"))
    return fig


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
