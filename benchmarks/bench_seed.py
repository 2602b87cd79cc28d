"""The exact search with and without the MILP seed, against the floating HiGHS MILP (issue 9).

For each instance and L: the floating MILP (``lp.solve_milp``, HiGHS) once,
then the exact branch and bound (``critical_epsilon``) with ``--budget``
seconds, seeded with the MILP's policy and unseeded.  A finished search gives
``ε*(D)``; a stopped one its certified interval ``[lo, hi]``.  "exact / MILP"
is the exact search's wall time (MILP included when seeded) over the MILP's.

    python -m benchmarks.bench_seed [--budget 12]
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction

from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import uniform_distribution
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.search.engine import critical_epsilon

from benchmarks.common import random_distribution, random_mdp
from benchmarks.environments import frozen_lake
from benchmarks.timing import machine


def instances():
    grid = load_model("examples/gridworld4x4.toml").mdp
    yield "gridworld 4x4, uniform D", grid, uniform_distribution(grid)
    lake = frozen_lake(4, 0)
    yield "FrozenLake 4x4 (slippery), uniform D", lake, uniform_distribution(lake)
    mdp = random_mdp(12_000, 12, 4)
    yield "random 12x4, random D", mdp, random_distribution(1, mdp, zeros=0)


def show(result) -> str:
    if result.complete:
        return "ε* = %.6g" % float(result.critical_epsilon) if result.critical_epsilon is not None else "ε* = inf"
    hi = "inf" if result.upper_bound is None else "%.6g" % float(result.upper_bound)
    return f"[{float(result.lower_bound):.3g}, {hi}]"


def main() -> int:
    from rewardcert import lp
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=12.0, help="seconds per exact search")
    parser.add_argument("--regrets", nargs="+", default=["1/4", "1/2", "3/4"])
    args = parser.parse_args()
    for line in machine(("python-flint", "PuLP", "highspy")):
        print(line)
    print()
    print("| instance | L | MILP ε* (float) | MILP time | seeded: result | time | exact / MILP | "
          "unseeded: result | time | exact / MILP |")
    print("|---|---|---:|---:|---|---:|---:|---|---:|---:|")
    for name, mdp, data in instances():
        bounds = return_bounds(mdp)
        for text in args.regrets:
            L = Fraction(text)
            start = time.perf_counter()
            milp = lp.solve_milp(mdp, data, L, bounds=bounds, time_limit=30)
            t_milp = time.perf_counter() - start
            seeds = [milp.policy] if milp.policy is not None else []
            start = time.perf_counter()
            seeded = critical_epsilon(mdp, data, L, bounds=bounds, max_seconds=args.budget, seed_policies=seeds)
            t_seeded = time.perf_counter() - start + t_milp
            start = time.perf_counter()
            plain = critical_epsilon(mdp, data, L, bounds=bounds, max_seconds=args.budget)
            t_plain = time.perf_counter() - start
            print(f"| {name} | {text} | {milp.critical_epsilon:.6g} | {t_milp:.2f} s | {show(seeded)} | "
                  f"{t_seeded:.2f} s | {t_seeded / t_milp:.1f} | {show(plain)} | {t_plain:.2f} s | "
                  f"{t_plain / t_milp:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
