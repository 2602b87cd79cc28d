"""Issue 30: one `threshold` sweep over 5 values of L against 5 separate `threshold` processes.

``python -m benchmarks.bench_sweep [--model PATH] [--repeat K]``: wall and CPU time of each way on
the same model, in the same run, best of K, and their ratio.  The sweep reads the model once and
solves J*/J^min once, and pays the interpreter's start-up (imports, numpy) once.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

from benchmarks.timing import machine

VALUES = ["1/4", "3/8", "1/2", "5/8", "3/4"]


def _timed(argv_list) -> tuple[float, float]:
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for argv in argv_list:
        subprocess.run([sys.executable, "-m", "rewardcert", *argv], check=False, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter() - start, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="examples/gridworld4x4.toml")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(machine())
    base = ["threshold", args.model, "--data", "uniform"]
    separate = [[*base, "--regret", v] for v in VALUES]
    sweep = [[*base, "--regret", ",".join(VALUES)]]
    rows = []
    for name, runs in (("5 separate processes", separate), ("one sweep (5 rows)", sweep)):
        best = min((_timed(runs) for _ in range(args.repeat)), key=lambda t: t[0])
        rows.append((name, best))
    (_, (wall_sep, cpu_sep)), (_, (wall_sweep, cpu_sweep)) = rows
    print(f"\n`rewardcert threshold {args.model} --data uniform --regret L`, L in {{{', '.join(VALUES)}}}\n")
    print("| how | wall (s) | CPU (s) |\n|---|---:|---:|")
    for name, (wall, cpu) in rows:
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
    print(f"\nratio separate / sweep: {wall_sep / wall_sweep:.2f}x wall, {cpu_sep / cpu_sweep:.2f}x CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())
