"""The ``fmtb`` command: runs the notebook series and sweeps with papermill.

It uses ``fmtb_helpers`` (what the notebooks import); ``fmtb_helpers`` never
imports this package. ``fmtb.maintainer`` holds what only the project's
maintainers run: storing the notebooks, screenshots, the benchmark.
"""
