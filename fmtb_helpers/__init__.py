"""What the fmtb notebooks import: PyTorch's TensorBoard tutorial on Fashion-MNIST.

``data`` (the dataset, offline or online, and its loaders), ``model`` (``Net``,
checkpoints), ``plotting``, ``training``, ``evaluation`` (the tutorial's own
functions, as the notebooks define them), ``runtime`` (device, seeds, threads),
``board`` (TensorBoard in the notebook; servers in ``board_servers``), ``paths``.
The ``fmtb`` command is a separate package that uses this one.
"""

__version__ = "0.1.0"
