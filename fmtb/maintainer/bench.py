"""``python -m fmtb.maintainer.bench`` (``make bench``), a maintainer's tool that needs
a checkout (``../shared/bench``): the series beside the tutorial's own code and the
training floor.

Three commands run one after another in one invocation, on the same data:

- the seed script (the tutorial's code as one script) — its wall time;
- the floor (same model and batch size, data in memory, nothing logged) — its
  training time;
- ``fmtb run`` with defaults — its wall time, and the duration papermill
  records for notebook 05's training loop (the cell tagged ``training-loop``);
  its accuracy is what notebook 06 recorded in the run's event files.

Each command's process tree is sampled for memory (PSS, so forked workers'
shared pages are not counted twice). Prints the ratios the speed targets name.

``--sweep`` (``make bench-sweep``) instead runs one grid twice in one invocation, with the
same parameters: ``fmtb sweep`` on the local engine, then on Ray
(``--engine ray --cpus-per-trial 1``, a local instance it starts and stops);
it prints the ratio of their wall times, and checks that both found the same
metrics for every configuration.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from fmtb_helpers import paths

from .. import folders, processes, results
from ..errors import UsageError

TARGETS = {"series / seed": 0.5, "training cell / floor": 1.25, "ray / local": 0.65}
SWEEP_GRID = "lr=0.001,0.003,0.01,0.03"  # four configurations
SWEEP_PARAMS = [("train_subset", "3000")]


def default_script(name: str) -> Path:
    return paths.project_root().parent / "shared" / "bench" / name


def _tree_pss(proc) -> int:
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # ended while sampled, or not ours to read
    return total


def measure(cmd: list[str], env: dict | None = None, cwd: str | Path | None = None,
            interval: float = 0.25) -> dict:
    """Run ``cmd``; its wall time, peak memory (MB, PSS of the process tree) and output."""
    import psutil

    started = time.perf_counter()
    popen = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, **(env or {})}, cwd=cwd)
    peak = [0]

    def sample():
        proc = psutil.Process(popen.pid)
        while popen.poll() is None:
            peak[0] = max(peak[0], _tree_pss(proc))
            time.sleep(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        output = popen.communicate()[0]
    finally:  # stopped (Ctrl-C, SIGTERM): the measured command ends with fmtb
        processes.terminate(popen)
    wall = time.perf_counter() - started
    sampler.join()
    if popen.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({popen.returncode}):\n{output[-3000:]}")
    return {"wall_s": wall, "peak_mb": peak[0] / 2**20, "output": output}


def _field(name: str, text: str) -> float:
    """``NAME=VALUE`` from the last line of the shared scripts' output that has it
    (their only way to report)."""
    for line in reversed(text.splitlines()):
        fields = dict(token.split("=", 1) for token in line.split() if "=" in token)
        if name in fields:
            return float(fields[name])
    raise RuntimeError(f"no {name}= in:\n{text[-2000:]}")


def run(seed_script: Path, floor_script: Path, workdir: Path, data_root: Path, log=print):
    python = sys.executable
    found = {}
    log(f"seed script: {seed_script}", flush=True)
    seed = measure([python, str(seed_script)], cwd=workdir,
                   env={"DATA_ROOT": str(data_root), "LOG_DIR": str(workdir / "seed_runs" / "x"),
                        "MPLBACKEND": "Agg"})
    found["seed"] = {"wall_s": seed["wall_s"], "peak_mb": seed["peak_mb"],
                       "train_s": _field("train_s", seed["output"]),
                       "accuracy": _field("accuracy", seed["output"])}
    log(f"floor: {floor_script}", flush=True)
    floor = measure([python, str(floor_script), str(data_root), "4"], cwd=workdir)
    found["floor"] = {"train_s": _field("train_s", floor["output"]),
                        "accuracy": _field("acc", floor["output"]),
                        "peak_mb": floor["peak_mb"]}
    log("fmtb run (defaults)", flush=True)
    out = workdir / "executed"
    series = measure([str(Path(python).with_name("fmtb")), "run", "--runs-dir",
                      str(workdir / "runs"), "--run-name", "bench", "--out", str(out), "-q"])
    training = results.executed(out, "05")
    found["fmtb"] = {"wall_s": series["wall_s"], "peak_mb": series["peak_mb"],
                     "notebook_05_s": training.metadata.papermill.duration,
                     "training_cell_s": results.cell_duration(training,
                                                              results.TRAINING_CELL_TAG),
                     "accuracy": results.final_metrics(workdir / "runs" / "bench")[
                         results.ACCURACY]}
    s, f, m = found["seed"], found["floor"], found["fmtb"]
    found["ratios"] = {
        "series / seed": m["wall_s"] / s["wall_s"],
        "training cell / floor": m["training_cell_s"] / f["train_s"],
        "notebook 05 / floor": m["notebook_05_s"] / f["train_s"],
        "accuracy fmtb - floor (points)": 100 * (m["accuracy"] - f["accuracy"]),
        "peak memory fmtb / seed": m["peak_mb"] / s["peak_mb"],
    }
    return found


def report(found: dict) -> str:
    s, f, m = found["seed"], found["floor"], found["fmtb"]
    lines = [
        f"seed script  wall {s['wall_s']:6.1f} s  train {s['train_s']:5.1f} s  "
        f"accuracy {s['accuracy']:.4f}  peak {s['peak_mb']:6.0f} MB",
        f"floor                     train {f['train_s']:5.1f} s  accuracy {f['accuracy']:.4f}",
        f"fmtb run     wall {m['wall_s']:6.1f} s  training cell {m['training_cell_s']:5.1f} s  "
        f"notebook 05 {m['notebook_05_s']:5.1f} s  accuracy {m['accuracy']:.4f}  "
        f"peak {m['peak_mb']:6.0f} MB",
    ]
    for name, value in found["ratios"].items():
        target = TARGETS.get(name)
        lines.append(f"{name:<32} {value:6.2f}" + (f"   (target <= {target})" if target else ""))
    return "\n".join(lines)


def median_of(rounds: list[dict]) -> dict:
    """Each ratio's median over the rounds; the figures beside are the round's closest
    to the median in ``series / seed``."""
    import statistics
    ratios = {name: statistics.median(r["ratios"][name] for r in rounds)
              for name in rounds[0]["ratios"]}
    middle = min(rounds, key=lambda r: abs(r["ratios"]["series / seed"]
                                           - ratios["series / seed"]))
    return {**middle, "ratios": ratios, "rounds": rounds}


def main(seed_script=None, floor_script=None, data_root=None, out=None,
         rounds: int = 3) -> dict:
    from ..fetch import ensure_data

    seed_script = Path(seed_script or default_script("seed_baseline.py"))
    floor_script = Path(floor_script or default_script("bare_loop.py"))
    for script in (seed_script, floor_script):
        if not script.is_file():
            raise FileNotFoundError(f"{script} is missing: pass --seed-script / --floor-script")
    data_root = paths.data_root(data_root)
    ensure_data(data_root)
    done = []
    for i in range(rounds):
        print(f"round {i + 1} of {rounds}", flush=True)
        with tempfile.TemporaryDirectory(prefix="fmtb-bench-") as tmp:
            done.append(run(seed_script, floor_script, Path(tmp), data_root))
        print("  ".join(f"  {k} {v:.2f}" for k, v in done[-1]["ratios"].items()), flush=True)
    found = median_of(done)
    print(f"median of {rounds} round{'s' * (rounds > 1)}:")
    print(report(found))
    out = Path(out) if out else folders.build_dir() / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(found, indent=2))
    print(f"(written to {out})")
    return found


ENGINE_ARGS = {"local": [], "ray": ["--engine", "ray", "--cpus-per-trial", "1"]}  # argv words


def sweep_engines(workdir: Path, grid: str = SWEEP_GRID, pairs=SWEEP_PARAMS, rounds: int = 1,
                  log=print) -> dict:
    """The same grid on the local engine and on Ray, alternating (local, ray, then ray,
    local, ...) so that a machine that drifts faster or slower favours neither; each
    engine's time is its total over the rounds."""
    fmtb = str(Path(sys.executable).with_name("fmtb"))
    given = [arg for name, value in pairs for arg in ("-p", name, value)]
    found = {"grid": grid, "params": dict(pairs), "rounds": rounds}
    order = [engine for i in range(rounds)
             for engine in (("local", "ray") if i % 2 == 0 else ("ray", "local"))]
    for i, engine in enumerate(order):
        log(f"fmtb sweep --grid {grid} {' '.join(given)} {' '.join(ENGINE_ARGS[engine])}".rstrip(),
            flush=True)
        runs = workdir / f"{engine}-{i}"
        run = measure([fmtb, "sweep", "--grid", grid, *given, *ENGINE_ARGS[engine], "-q",
                       "--runs-dir", str(runs), "--out", str(workdir / f"{engine}-{i}-executed")],
                      interval=1.0)
        sweep_dir = runs / "sweep_1"
        metrics = {p.name: results.final_metrics(p) for p in sorted(sweep_dir.iterdir())}
        mine = found.setdefault(engine, {"wall_s": 0.0, "walls_s": [], "peak_mb": 0.0})
        mine["wall_s"] += run["wall_s"]
        mine["walls_s"].append(run["wall_s"])
        mine["peak_mb"] = max(mine["peak_mb"], run["peak_mb"])
        first = found.setdefault("metrics", metrics)  # same seeds: the same results
        if metrics != first:
            raise RuntimeError(f"fmtb sweep ({engine}) found {metrics}, where the first run "
                               f"found {first}")
    found["ratios"] = {"ray / local": found["ray"]["wall_s"] / found["local"]["wall_s"]}
    return found


def sweep_report(found: dict) -> str:
    lines = [f"sweep of {len(found['metrics'])} configurations ({found['grid']}, "
             + ", ".join(f"{k} {v}" for k, v in found["params"].items()) + "): "
             "the same metrics on both engines"]
    for engine in ("local", "ray"):
        walls = " + ".join(f"{w:.1f}" for w in found[engine]["walls_s"])
        lines.append(f"{engine:<6} engine  wall {found[engine]['wall_s']:6.1f} s"
                     + (f" ({walls})" if found["rounds"] > 1 else "")
                     + f"  peak {found[engine]['peak_mb']:6.0f} MB")
    value = found["ratios"]["ray / local"]
    lines.append(f"{'ray / local':<32} {value:6.2f}   (target <= {TARGETS['ray / local']})")
    return "\n".join(lines)


def main_sweep(grid: str | None = None, pairs=None, out=None, rounds: int = 2) -> dict:
    from ..fetch import ensure_data

    ensure_data(paths.data_root())
    with tempfile.TemporaryDirectory(prefix="fmtb-bench-") as tmp:
        found = sweep_engines(Path(tmp), grid or SWEEP_GRID, pairs or SWEEP_PARAMS, rounds)
    print(sweep_report(found))
    out = Path(out) if out else folders.build_dir() / "bench_sweep.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(found, indent=2))
    print(f"(written to {out})")
    return found


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m fmtb.maintainer.bench",
        description="Run the tutorial's script, the training floor and 'fmtb run' side by "
                    "side; print the ratios. Needs the repository's ../shared/bench.")
    p.add_argument("--seed-script", help="default: ../shared/bench/seed_baseline.py")
    p.add_argument("--floor-script", help="default: ../shared/bench/bare_loop.py")
    p.add_argument("--data-root", default=None)
    p.add_argument("--out", help="results as JSON (default: build/bench.json, or "
                                 "build/bench_sweep.json with --sweep)")
    p.add_argument("--sweep", action="store_true",
                   help="instead: one grid on fmtb sweep's local engine and on Ray "
                        "(--cpus-per-trial 1) side by side; print the ratio")
    p.add_argument("--grid", metavar="NAME=V1,V2",
                   help=f"with --sweep (default: {SWEEP_GRID})")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="with --sweep: a parameter for every configuration (default: "
                        "-p train_subset 3000)")
    p.add_argument("--rounds", type=int, default=None, metavar="N",
                   help="run the three N times and print each ratio's median (default: 3); "
                        "with --sweep, each engine N times, alternating local, ray, ray, "
                        "local, ... (default: 2)")
    return p


def command(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        rounds = args.rounds if args.rounds is not None else (2 if args.sweep else 3)
        if rounds < 1:
            raise UsageError(f"--rounds must be 1 or more, not {rounds}")
        if args.sweep:
            main_sweep(args.grid, [tuple(p) for p in args.param] if args.param else None,
                       args.out, rounds)
        else:
            main(args.seed_script, args.floor_script, args.data_root, args.out, rounds)
    except (UsageError, FileNotFoundError) as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(command())
