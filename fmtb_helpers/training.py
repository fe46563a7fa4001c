"""The check that stops a diverging training, which the tutorial's ``train``
(notebook 05) calls after each mini-batch."""
from __future__ import annotations

import math

from .errors import FmtbError


class TrainingDiverged(FmtbError, FloatingPointError):
    """The loss is no longer a finite number; the message says what to try."""


def check_loss(running_loss, step):
    """Stop with a clear message once the loss is ``nan`` or infinite."""
    if not math.isfinite(running_loss):
        raise TrainingDiverged(f"the training diverged: the loss became {running_loss} by "
                               f"mini-batch {step}; try a smaller learning rate (lr)")
