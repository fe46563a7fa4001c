"""``python -m fmtb``: the ``fmtb`` command (a notebook that finds no data runs it so)."""
from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
