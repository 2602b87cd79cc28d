"""Sparse exact evaluation against the dense FLINT solve, on 1,000- and 10,000-state chains, grids and lakes (issue 9).

Every measurement runs in a fresh interpreter and reports wall time and peak
resident memory (``ru_maxrss``) of that process, so the figures include the
interpreter and the model (the "idle" row: the model loaded, nothing solved).

* ``eval``: exact ``V^π`` of one seeded random deterministic policy
  (``benchmarks.common.random_policy(1, mdp)``);
* ``bounds``: ``J*`` and ``J^min`` by exact policy iteration, which is what
  ``rewardcert evaluate`` computes;
* ``sparse``: the toolkit as it is (``symbolic/exact/sparse.py``, float-started
  policy iteration); ``dense``: the previous code path, one dense FLINT
  ``fmpq_mat`` per solve and policy iteration started from the greedy reward.

The dense path is run only up to ``--dense-up-to`` states (at 10,000 states
its matrix alone holds 10^8 rationals).  Sparse and dense answers are compared
exactly where both run; the script exits 1 if they differ.

    python -m benchmarks.bench_sparse [--dense-up-to 1100] [--timeout 240]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks.timing import machine

INSTANCES = {
    "chain-1000": "chain(1000)", "grid-32x32": "slip_grid(32)", "lake-32x32": "frozen_lake(32, 0)",
    "chain-10000": "chain(10000)", "grid-100x100": "slip_grid(100)", "lake-100x100": "frozen_lake(100, 0)",
}
TASKS = {"idle": "idle", "eval": "eval", "bounds": "bounds"}

WORKER = r'''
import hashlib, json, resource, sys, time
from benchmarks.environments import chain, frozen_lake, slip_grid
from benchmarks.common import random_policy
from symbolic import linalg, guide
from rewardcert.symbolic.exact.evaluation import return_bounds, state_values
from rewardcert.symbolic.core.numbers import format_rational
text = lambda values: ",".join(map(format_rational, values)).encode()
mdp = eval(sys.argv[1]); task, method = sys.argv[2], sys.argv[3]
if method == "dense":
    linalg.DENSE_UP_TO = 10 ** 9          # every solve through one dense fmpq_mat, as before
    guide.FLOAT_START_FROM = 10 ** 9
    import rewardcert.symbolic.exact.evaluation as ev; ev.FLOAT_START_FROM = 10 ** 9
start = time.perf_counter()
digest = ""
if task == "eval":
    values = state_values(mdp, random_policy(1, mdp))
    digest = hashlib.sha256(text(values)).hexdigest()
elif task == "bounds":
    b = return_bounds(mdp)
    digest = hashlib.sha256(text((b.optimal_return, b.pessimal_return))).hexdigest()
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "digest": digest}))
'''


def measure(instance: str, task: str, method: str, timeout: float) -> dict | None:
    try:
        out = subprocess.run([sys.executable, "-c", WORKER, INSTANCES[instance], task, method],
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if out.returncode:
        raise SystemExit(f"{instance} {task} {method} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", nargs="+", default=list(INSTANCES), choices=list(INSTANCES))
    parser.add_argument("--dense-up-to", type=int, default=1100, help="largest model the dense path runs on")
    parser.add_argument("--timeout", type=float, default=240, help="seconds per measurement")
    parser.add_argument("--skip", nargs="*", default=["lake-100x100:bounds"],
                        help="INSTANCE:TASK pairs not to run (default: the 10,000-state lake's policy iteration)")
    args = parser.parse_args()
    for line in machine():
        print(line)
    print()
    print("| instance | task | sparse time | sparse peak RSS | dense time | dense peak RSS | dense / sparse time |")
    print("|---|---|---:|---:|---:|---:|---:|")
    failed = False
    for instance in args.instances:
        n = int(INSTANCES[instance].split("(")[1].split(")")[0].split(",")[0])
        states = n * n if "grid" in instance or "lake" in instance else n
        for task in TASKS:
            if f"{instance}:{task}" in args.skip:
                print(f"| {instance} | {task} | not run | – | not run | – | – |")
                continue
            sparse = measure(instance, task, "sparse", args.timeout)
            dense = measure(instance, task, "dense", args.timeout) if states <= args.dense_up_to else None
            cell = lambda r: (f"{r['seconds']:.3f} s", f"{r['rss_mb']:.0f} MB") if r else (f"> {args.timeout:.0f} s", "–")
            dense_cells = cell(dense) if states <= args.dense_up_to else ("not run", "–")
            ratio = f"{dense['seconds'] / sparse['seconds']:.1f}" if sparse and dense and task != "idle" else "–"
            if sparse and dense and sparse["digest"] != dense["digest"]:
                failed = True
                ratio += " DIFFER"
            print(f"| {instance} | {task} | {' | '.join(cell(sparse))} | {' | '.join(dense_cells)} | {ratio} |",
                  flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
