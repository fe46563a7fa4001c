"""The tutorial's training loop, as notebook 05 defines it (a test checks that the
code is the same), and the check that stops a diverging training."""
from __future__ import annotations

import math

from .plotting import plot_classes_preds


class TrainingDiverged(FloatingPointError):
    """The loss is no longer a finite number; the message says what to try."""


def check_loss(running_loss, step):
    """Stop with a clear message once the loss is ``nan`` or infinite."""
    if not math.isfinite(running_loss):
        raise TrainingDiverged(f"the training diverged: the loss became {running_loss} by "
                               f"mini-batch {step}; try a smaller learning rate (lr)")


def train(net, trainloader, criterion, optimizer, writer, epochs=1,
          log_every=1000):  # parameters: the tutorial's 1 epoch, 1000 mini-batches
    device = next(net.parameters()).device  # fixed: the model's device
    running_loss = 0.0
    for epoch in range(epochs):  # loop over the dataset multiple times
        for i, data in enumerate(trainloader, 0):
            # get the inputs; data is a list of [inputs, labels]
            # fixed: on the model's device (see Differences from the tutorial)
            inputs, labels = data[0].to(device), data[1].to(device)
            # zero the parameter gradients
            optimizer.zero_grad()
            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            running_loss += loss.item()
            step = epoch * len(trainloader) + i  # the tutorial's step, named once
            # fixed: stop if the loss diverges (see Differences from the tutorial)
            check_loss(running_loss, step)
            if i % log_every == log_every - 1:    # every log_every mini-batches...
                # ...log the running loss
                writer.add_scalar('training loss', running_loss / log_every, step)
                # ...log a Matplotlib Figure showing the model's predictions on
                # the current mini-batch
                writer.add_figure('predictions vs. actuals',
                                  plot_classes_preds(net, inputs, labels),
                                  global_step=step)
                running_loss = 0.0
    print('Finished Training')
