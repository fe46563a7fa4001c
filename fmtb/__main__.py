"""``python -m fmtb``: the ``fmtb`` command (a notebook opened alone fetches its data so)."""
from .cli import main

raise SystemExit(main())
