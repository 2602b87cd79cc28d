"""Benchmark: eps*(D) with a certificate (branch and bound) vs brute force, and the checker.

For random MDPs with 4 actions and n = 3..8 states (4^3 … 4^8 deterministic
policies) this times, in one run:

* **threshold**: what ``rewardcert threshold --out`` does, i.e. the exact branch
  and bound, building the certificate, and replaying it in the checker;
* **brute force**, as the issue defines it: one exact LP (the same exact
  simplex, no pruning, no warm start) for every deterministic policy;
* **brute force on Pi_L**: a stronger baseline that first evaluates every policy
  exactly and solves the LP only for those with regret ``>= L``;
* **checker**: ``python -I -S proofs/checker.py CERT`` in a fresh bare interpreter.

Both methods must return the same exact ``eps*(D)`` (asserted).  Brute force
is skipped where its measured growth predicts more than ``--budget`` seconds.

Usage: ``python -m benchmarks.bench_threshold [--sizes 3 4 5 6 7 8] [--seeds 3] [--budget 300]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from rewardcert.symbolic.exact.evaluation import enumerate_policies
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.policy_error import policy_error

from benchmarks.common import random_distribution, random_mdp
from benchmarks.timing import machine
from rewardcert.certificates import check_certificate_document, threshold_certificate

ROOT = Path(__file__).resolve().parent.parent
ACTIONS = 4
REGRET_BOUNDS = (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4))


def brute_force(mdp, data, L, bounds, *, only_high_regret: bool):
    best = None
    for evaluation in enumerate_policies(mdp, bounds):
        if only_high_regret and evaluation.regret < L:
            continue
        value = policy_error(mdp, data, evaluation.policy).value
        if evaluation.regret >= L:
            best = value if best is None or value < best else best
    return None if best is None else best / mdp.range_reward


def threshold_with_certificate(mdp, data, L, bounds):
    result = critical_epsilon(mdp, data, L, bounds=bounds)
    certificate = threshold_certificate(mdp, data, L, result)
    status, message, facts = check_certificate_document(certificate)
    assert status == "verified", message
    return result, certificate, facts


def run_checker(certificate) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cert.json"
        path.write_text(json.dumps(certificate))
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "proofs" / "checker.py"), str(path)],
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        assert done.stdout.strip() == "VERIFIED", done.stdout + done.stderr
        return elapsed, path.stat().st_size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 4, 5, 6, 7, 8])
    parser.add_argument("--seeds", type=int, default=3, help="random MDPs per size and L")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds allowed for one brute-force run")
    args = parser.parse_args(argv)

    print("\n".join(machine(("python-flint",))))
    print(f"random MDPs: {ACTIONS} actions, gamma 9/10, 3 successors per pair, positive random D, "
          f"L in {', '.join(map(str, REGRET_BOUNDS))}, {args.seeds} seeds each\n")
    header = (f"{'policies':>9} {'L':>4} {'|Pi_L|':>7} {'threshold s':>11} {'nodes':>6} {'leaves':>6} "
              f"{'brute s':>8} {'ratio':>6} {'brute PiL s':>11} {'ratio':>6} {'check s':>8} {'cert KB':>8}")
    print(header)
    print("-" * len(header))
    summary = {}
    rate = None   # measured seconds per exact LP, to predict the brute-force budget

    def timed_brute(mdp, data, L, bounds, count, only_high_regret, expected):
        nonlocal rate
        predicted = None if rate is None else rate * count
        if predicted is not None and predicted > args.budget:
            return None, predicted
        start = time.perf_counter()
        value = brute_force(mdp, data, L, bounds, only_high_regret=only_high_regret)
        elapsed = time.perf_counter() - start
        assert value == expected, (mdp.name, L, value, expected)
        if count:
            rate = elapsed / count
        return elapsed, None

    def cell(elapsed, predicted, reference):
        if elapsed is None:
            return f"{'>' + format(predicted, '.0f'):>8}", f"{'skip':>6}"
        return f"{elapsed:8.2f}", f"{elapsed / reference:6.1f}"

    for n in args.sizes:
        for L in REGRET_BOUNDS:
            rows = []
            for seed in range(args.seeds):
                mdp = random_mdp(1000 * n + seed, n, ACTIONS)
                data = random_distribution(1000 * n + seed, mdp)
                bounds = return_bounds(mdp)
                start = time.perf_counter()
                result, certificate, facts = threshold_with_certificate(mdp, data, L, bounds)
                t_threshold = time.perf_counter() - start
                high = sum(1 for e in enumerate_policies(mdp, bounds) if e.regret >= L)
                t_all, p_all = timed_brute(mdp, data, L, bounds, ACTIONS ** n, False, result.critical_epsilon)
                t_high, p_high = timed_brute(mdp, data, L, bounds, high, True, result.critical_epsilon)
                t_check, size = run_checker(certificate)
                leaves = facts["regret_leaves"] + facts["dual_leaves"]
                rows.append((t_threshold, t_all, t_high, t_check))
                all_s, all_r = cell(t_all, p_all, t_threshold)
                high_s, high_r = cell(t_high, p_high, t_threshold)
                print(f"{ACTIONS ** n:>9} {str(L):>4} {high:>7} {t_threshold:11.3f} {facts['tree_nodes']:>6} "
                      f"{leaves:>6} {all_s} {all_r} {high_s:>11} {high_r} {t_check:8.2f} {size / 1024:8.1f}",
                      flush=True)
            summary[(n, L)] = rows
    print("\nper size (worst case over seeds and L; ratios are brute-force time / threshold time):")
    for n in args.sizes:
        rows = [r for (k, _), rs in summary.items() if k == n for r in rs]
        parts = [f"threshold <= {max(r[0] for r in rows):.2f} s", f"checker <= {max(r[3] for r in rows):.2f} s"]
        for label, index in (("all policies", 1), ("Pi_L only", 2)):
            ratios = sorted(r[index] / r[0] for r in rows if r[index])
            if ratios:
                parts.append(f"vs brute force on {label}: min {ratios[0]:.1f}x, median {ratios[len(ratios) // 2]:.1f}x")
        print(f"  4^{n} = {ACTIONS ** n:>6} policies: " + "; ".join(parts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
