"""The LP fast path against the exact simplex, per policy LP and per family LP (issue 3).

For each size ``n`` (states; 4 actions, 3 successors per pair, γ = 9/10 from
``benchmarks.common.random_mdp``), a few seeded MDPs, data distributions
with about 30 % zeros and seeded deterministic policies are solved by

* ``exact``  — ``rewardcert.symbolic.search.engine.policy_error``: the exact bounded-variable
  simplex of ``symbolic/exact/familylp.py`` on the dual LP of ``f_π(D)``;
* ``fast``   — ``lp.fastpath.fast_policy_error``: HiGHS (through PuLP) on the
  same LP, crossover onto the exact vertex, exact verification of the dual
  (``check_dual``) and of the witness (uniform optimality, error = dual value),
  falling back to ``exact`` when that fails.  Model building, the solve,
  rationalisation and every exact check are inside the timing.

Both must return the same ``f_π(D)`` exactly.  The table shows median seconds
per policy LP, the ratio exact / fast, and how often the fast path certified
the answer itself versus fell back.  A second table does the same for one
family per instance (every other state free): ``fast_family_dual`` against
the exact family LP, counting a success when the verified dual's value equals
the exact family optimum.

Usage, from the repository root::

    python -m benchmarks.bench_fastpath                     # n = 5 10 20 40
    python -m benchmarks.bench_fastpath --sizes 5 10 --instances 3 --policies 2 --solver cbc

Exits 1 if the fast path and the exact engine ever disagree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from fractions import Fraction
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rewardcert.lp.fastpath import FAST, fast_family_dual, fast_policy_error
from rewardcert.lp.pulp_backend import default_solver
from rewardcert.symbolic.exact.familylp import FamilyLP
from rewardcert.symbolic.exact.linalg import dynamics, to_fmpq, to_fraction
from rewardcert.symbolic.search.policy_error import policy_error

from benchmarks.common import random_distribution, random_mdp, random_policy
from benchmarks.timing import best_time, machine


def exact_family_value(mdp, data, family) -> tuple[float, Fraction]:
    def run():
        lp = FamilyLP(dynamics(mdp), [to_fmpq(r) for r in mdp.reward], [to_fmpq(d) for d in data])
        start = [0 if a is None else a for a in family]
        return to_fraction(lp.solve(lp.initial_state(start), lp.lower_bounds(family)).objective)
    return best_time(run, repeat=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 20, 40])
    parser.add_argument("--actions", type=int, default=4)
    parser.add_argument("--instances", type=int, default=4, help="random MDPs per size")
    parser.add_argument("--policies", type=int, default=3, help="random policies per MDP")
    parser.add_argument("--zeros", type=float, default=0.3, help="share of pairs with D = 0")
    parser.add_argument("--solver", default=None, help="highs (default) or cbc")
    args = parser.parse_args(argv)
    solver = args.solver or default_solver()

    print("Fast path (float LP + exact certification) vs exact simplex, per LP")
    for line in machine(("python-flint", "pulp", "highspy")):
        print(f"  {line}")
    print(f"  solver: {solver}; {args.actions} actions, gamma = 9/10, 3 successors, "
          f"{args.zeros:.0%} zeros in D; {args.instances} MDPs x {args.policies} policies per size\n")

    fast_policy_error(random_mdp(0, 2, 2), random_distribution(0, random_mdp(0, 2, 2)), (0, 0), solver=solver)  # warm-up

    header = f"{'n':>4} {'pairs':>6} {'LPs':>4} {'exact s':>10} {'fast s':>10} {'solver s':>10} " \
             f"{'exact/fast':>11} {'certified':>10} {'fell back':>10}"
    print("Policy LPs f_pi(D) (median seconds per LP)")
    print(header)
    mismatches = 0
    family_rows = []
    for n in args.sizes:
        exact_times, fast_times, float_times = [], [], []
        certified = fell_back = 0
        fam = {"exact": [], "fast": [], "ok": 0, "weak": 0, "none": 0}
        for instance in range(args.instances):
            seed = 1000 * n + instance
            mdp = random_mdp(seed, n, args.actions)
            data = random_distribution(seed, mdp, zeros=args.zeros)
            dynamics(mdp)    # build the per-MDP exact dynamics once, as real use does
            for k in range(args.policies):
                policy = random_policy(seed * 31 + k, mdp)
                t_exact, exact = best_time(lambda: policy_error(mdp, data, policy), repeat=1)
                t_fast, fast = best_time(lambda: fast_policy_error(mdp, data, policy, solver=solver), repeat=3)
                if fast.value != exact.value:
                    mismatches += 1
                    print(f"  MISMATCH n={n} seed={seed} policy={policy}: fast {fast.value} exact {exact.value}")
                exact_times.append(t_exact)
                fast_times.append(t_fast)
                float_times.append(fast.float_seconds)
                if fast.path == FAST:
                    certified += 1
                else:
                    fell_back += 1
            family = tuple(None if s % 2 == 0 else a for s, a in enumerate(random_policy(seed * 17, mdp)))
            t_exact, value = exact_family_value(mdp, data, family)
            t_fast, found = best_time(lambda: fast_family_dual(mdp, data, family, solver=solver), repeat=3)
            fam["exact"].append(t_exact)
            fam["fast"].append(t_fast)
            if found is None:
                fam["none"] += 1
            elif found.value == value:
                fam["ok"] += 1
            elif found.value > value:
                mismatches += 1
                print(f"  MISMATCH n={n} seed={seed} family: verified dual {found.value} above optimum {value}")
            else:
                fam["weak"] += 1
        me, mf, mfl = (statistics.median(x) for x in (exact_times, fast_times, float_times))
        print(f"{n:>4} {n * args.actions:>6} {len(exact_times):>4} {me:>10.4f} {mf:>10.4f} {mfl:>10.4f} "
              f"{me / mf:>10.1f}x {certified:>10} {fell_back:>10}")
        family_rows.append((n, fam))
        sys.stdout.flush()

    print("\nFamily LPs (every other state free; median seconds per LP)")
    print(f"{'n':>4} {'LPs':>4} {'exact s':>10} {'fast s':>10} {'exact/fast':>11} "
          f"{'optimal':>8} {'weaker':>7} {'none':>5}")
    for n, fam in family_rows:
        me, mf = statistics.median(fam["exact"]), statistics.median(fam["fast"])
        print(f"{n:>4} {len(fam['exact']):>4} {me:>10.4f} {mf:>10.4f} {me / mf:>10.1f}x "
              f"{fam['ok']:>8} {fam['weak']:>7} {fam['none']:>5}")
    print("\n'certified': f_pi(D) proved exactly from the float answer; 'fell back': the exact simplex answered.")
    print("'optimal': the verified family dual reaches the exact family optimum; 'weaker': valid but lower.")
    if mismatches:
        print(f"\n{mismatches} MISMATCHES between the fast path and the exact engine")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
