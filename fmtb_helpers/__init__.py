"""Helpers for the fmtb notebooks: PyTorch's TensorBoard tutorial on Fashion-MNIST.

Modules, each named for what it holds:

- ``paths``: where data, runs and build output live by default
- ``data``: the real Fashion-MNIST, offline or online, and its loaders
- ``model``: the tutorial's ``Net``, its loss and optimizer, checkpoints
- ``runtime``: device choice, seeding, thread count
- ``plotting``: the tutorial's figures, made correct
- ``training`` / ``evaluation``: one optimisation step; test-set predictions,
  confusion matrix, mistakes, learned features
- ``board``: TensorBoard plumbing (writers, servers, reading event files back)
- ``params`` / ``runner`` / ``sweep`` / ``cli``: the ``fmtb`` command
- ``store`` / ``screenshots`` / ``bench``: ``make notebooks``, ``make screenshots``,
  ``fmtb bench``
"""

__version__ = "0.1.0"
