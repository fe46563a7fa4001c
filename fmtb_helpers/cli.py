"""The ``fmtb`` command: a thin layer over the package.

Errors a user can cause end in one line on stderr and exit code 2; a failed
notebook exits 1.
"""
from __future__ import annotations

import argparse
import sys

from . import data, paths


class UsageError(Exception):
    """Bad input: reported in one line, exit code 2."""


def cmd_data(args) -> int:
    raw = data.ensure_data(args.data_root, mirror=args.mirror, download=not args.offline)
    print(f"Fashion-MNIST is ready in {raw} (4 files, SHA-256 verified)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fmtb", description="Fashion-MNIST with TensorBoard: the tutorial as notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="fetch and verify Fashion-MNIST")
    p.add_argument("--data-root", default=None,
                   help=f"where to keep it (default: {paths.data_root()})")
    p.add_argument("--mirror", default=None,
                   help=f"folder with the four .gz files (default: ${data.MIRROR_ENV} "
                        f"or {data.DEFAULT_MIRROR})")
    p.add_argument("--offline", action="store_true", help="never try torchvision's download")
    p.set_defaults(func=cmd_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UsageError, data.DataError) as exc:
        print(f"fmtb {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fmtb {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
