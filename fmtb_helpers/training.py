"""One optimisation step of the tutorial's training loop, and what to log beside it."""
from __future__ import annotations


def train_step(net, inputs, labels, criterion, optimizer, device=None) -> float:
    """Zero the gradients, forward, backward, step; returns the batch's loss.
    ``device``: where to move the batch first (default: leave it)."""
    if device is not None:
        inputs, labels = inputs.to(device), labels.to(device)
    optimizer.zero_grad(set_to_none=True)
    loss = criterion(net(inputs), labels)
    loss.backward()
    optimizer.step()
    return loss.item()
