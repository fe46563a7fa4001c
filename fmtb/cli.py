"""The ``fmtb`` command: a thin layer over the package.

Errors a user can cause (:class:`fmtb_helpers.errors.FmtbError`) end in one line on
stderr and their class's exit code: 2 for bad input, 1 for a failed notebook.
SIGINT, SIGTERM and SIGHUP end fmtb in one line, exit code 128 + the signal's number
(130, 143, 129), after it has ended what it started.
"""
from __future__ import annotations

import sys

# fmtb runs kernels in process groups of their own and locks folders with POSIX calls:
# on a system without them it says so in one line and exits 2, before importing them.
# The notebooks themselves need only fmtb_helpers, which runs anywhere.
if not sys.platform.startswith(("linux", "darwin")):
    print(f"fmtb: error: fmtb runs on Linux and macOS, not on {sys.platform}; on Windows "
          f"use WSL, or open the notebooks in JupyterLab (they need only fmtb_helpers)",
          file=sys.stderr)
    sys.exit(2)

import argparse  # noqa: E402 (after the check above)
import signal  # noqa: E402

from fmtb_helpers import data, paths  # noqa: E402
from fmtb_helpers.errors import FmtbError  # noqa: E402

from . import fetch, folders, runner, series, sweep  # noqa: E402
from .errors import Stopped  # noqa: E402


def positive_int(text: str) -> int:
    """argparse's type for a count of at least 1 (``-j``): one line otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def cmd_data(args) -> int:
    raw = fetch.ensure_data(data.root(args.data_root, paths.data_root()), mirror=args.mirror,
                            download=not args.offline)
    print(f"Fashion-MNIST is ready in {raw} (4 files, SHA-256 verified)")
    return 0


def cmd_run(args) -> int:
    plan = runner.plan(notebooks=args.notebooks, runs_dir=args.runs_dir,
                       run_name=args.run_name, out=args.out, pairs=args.param or [],
                       replace=args.replace, lang=args.lang)
    runner.execute(plan, serve=args.serve, progress=not args.quiet, jobs=args.jobs)
    return 0


def cmd_sweep(args) -> int:
    return sweep.sweep(args.grid, args.param or [], runs_dir=args.runs_dir, out=args.out,
                       bars=not args.quiet, engine=args.engine, address=args.address,
                       cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
                       yes=args.yes)


def cmd_report(args) -> int:
    from . import report

    return report.main(args.dirs, csv_path=args.csv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fmtb", description="Fashion-MNIST with TensorBoard: the tutorial as notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="fetch and verify Fashion-MNIST")
    p.add_argument("--data-root", default=None,
                   help=f"where to keep it, e.g. a class's shared folder (default: "
                        f"${data.DATA_ENV} where set, else {paths.data_root()})")
    p.add_argument("--mirror", default=None,
                   help=f"folder with the four .gz files (default: ${fetch.MIRROR_ENV} "
                        f"or {fetch.DEFAULT_MIRROR})")
    p.add_argument("--offline", action="store_true", help="never try torchvision's download")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("run", help="run the notebook series with papermill",
                       description="Run the notebooks in order with papermill, all logging to "
                                   "one TensorBoard run.")
    p.add_argument("--notebooks", metavar="01,05,...",
                   help="which notebooks (default: all six)")
    p.add_argument("--runs-dir", metavar="DIR",
                   help=f"TensorBoard's logdir (default: {folders.runs_dir()})")
    p.add_argument("--run-name", metavar="NAME",
                   help="the run's folder (default: the next free fashion_mnist_experiment_N)")
    p.add_argument("--out", metavar="DIR",
                   help="executed notebooks (default: build/executed/<run-name>)")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a notebook parameter, e.g. -p train_subset 3000")
    p.add_argument("--replace", action="store_true",
                   help="reuse an existing --run-name: the old run is moved aside, not deleted")
    p.add_argument("--lang", choices=series.LANGS, default="en",
                   help="the edition: en (notebooks/) or ko (notebooks/ko/, Korean prose)")
    p.add_argument("--serve", action="store_true",
                   help="leave the series' TensorBoard server running and print its URL")
    p.add_argument("-j", "--jobs", type=positive_int, default=2, metavar="N",
                   help="notebooks run at once, as their order allows (default: 2; "
                        "1: strictly one after another)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", help="train and assess once per combination of a grid",
                       description="Run notebooks 05 and 06 once per combination, each its "
                                   "own run with add_hparams, for the HParams dashboard: "
                                   "one after another here, or side by side as Ray tasks "
                                   "(--engine ray).")
    p.add_argument("--grid", action="append", required=True, metavar="NAME=V1,V2",
                   help="a parameter and its values, e.g. --grid lr=0.001,0.01")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a parameter for every combination, e.g. -p train_subset 3000")
    p.add_argument("--runs-dir", metavar="DIR",
                   help=f"the sweep goes to DIR/sweep_N (default DIR: {folders.runs_dir()})")
    p.add_argument("--out", metavar="DIR",
                   help="executed notebooks go to DIR/<name> (default: into each "
                        "configuration's run folder, beside its event files)")
    p.add_argument("--engine", choices=sweep.ENGINES, default="local",
                   help="local: one configuration after another on this machine (default); "
                        "ray: each a Ray task, on a local Ray instance or a cluster "
                        "(pip install -e '.[ray]')")
    p.add_argument("--address", metavar="ADDR",
                   help="with --engine ray: join the Ray cluster at ADDR (default: "
                        "$RAY_ADDRESS; without either, or with 'local': start a local "
                        "instance for the sweep and stop it after)")
    p.add_argument("--cpus-per-trial", type=int, default=1, metavar="N",
                   help="with --engine ray: CPUs Ray reserves for each configuration, "
                        "and its torch threads (default: 1)")
    p.add_argument("--gpus-per-trial", type=float, default=0, metavar="N",
                   help="with --engine ray: GPUs for each configuration (default: 0, "
                        "the CPU); more than 0 trains on CUDA")
    p.add_argument("-y", "--yes", action="store_true",
                   help=f"start a grid of more than {sweep.LARGE} configurations without "
                        f"asking (off a terminal it is refused without)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("report", help="a table of learners' runs folders for a teacher",
                       description="A row per run in each learner's runs folder: the notebooks "
                                   "that logged, net.pt, the test accuracy, the exercises "
                                   "passed. Reads only.")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="a learner's runs folder (or a run)")
    p.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    p.set_defaults(func=cmd_report)

    return parser


def _stop(signum, frame):
    for other in (signal.SIGTERM, signal.SIGHUP):  # one is enough: let cleanup finish
        signal.signal(other, signal.SIG_IGN)
    raise Stopped(signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # SIGTERM (kill, a service manager) and SIGHUP (a closed terminal) unwind like
    # Ctrl-C, so that what fmtb started is ended on the way out.
    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return args.func(args)
    except FmtbError as exc:  # UsageError 2, NotebookFailed 1, DataError 2, ...
        print(f"fmtb {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"fmtb {args.command}: interrupted (SIGINT)", file=sys.stderr)
        return 128 + signal.SIGINT
    except Stopped as exc:
        print(f"fmtb {args.command}: stopped by {exc}", file=sys.stderr)
        return 128 + exc.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
