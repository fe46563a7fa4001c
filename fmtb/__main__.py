"""``python -m fmtb``: the ``fmtb`` command (a notebook opened alone fetches its data so)."""
from .cli import main

if __name__ == "__main__":  # not when a test walks the package
    raise SystemExit(main())
