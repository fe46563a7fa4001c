"""One optimisation step of the tutorial's training loop."""
from __future__ import annotations


def train_step(net, inputs, labels, criterion, optimizer) -> float:
    """Zero the gradients, forward, backward, step; returns the batch's loss."""
    optimizer.zero_grad(set_to_none=True)
    loss = criterion(net(inputs), labels)
    loss.backward()
    optimizer.step()
    return loss.item()
