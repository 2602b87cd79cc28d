"""The mean-squared error's campaign (App. B.3): ``ε*_MSE(D)`` from the exact engine against an
independent brute force on the QP's dual (``tests/squared_reference.py``), on many random small
MDPs, and the time each takes; also the float way a user might pick instead (a float solve of each
policy's QP, then the minimum), with how far it lands from the exact value.

    python -m benchmarks.campaign_squared [COUNT] [SEED]

prints one summary table (docs/performance.md, "The mean-squared error").  Any disagreement is
listed and makes the exit status 1.
"""

from __future__ import annotations

import random
import sys
import time
from fractions import Fraction

from rewardcert.symbolic.exact.evaluation import enumerate_policies
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.guidance.squaredfloat import pair_rows, squared_values
from rewardcert.symbolic.search.squared import squared_threshold
from tests.squared_reference import squared_critical_brute_force
from tests.test_squared import random_instance


def float_way(mdp, data, regret_bound) -> float | None:
    """Each policy's QP solved in floats only (the semismooth Newton guide), then the minimum."""
    bounds = return_bounds(mdp)
    if bounds.degenerate:
        return None
    rows = pair_rows(mdp)
    R = [float(r) for r in mdp.reward]
    best = None
    for evaluation in enumerate_policies(mdp, bounds):
        if evaluation.regret < regret_bound:
            continue
        V = squared_values(mdp, data, evaluation.policy, rows)
        b = rows @ V
        m = mdp.n_actions
        on = {s * m + a for s, a in enumerate(evaluation.policy)}
        value = 0.0
        for x, d in enumerate(data):
            rh = b[x] if x in on else min(R[x], b[x])
            value += float(d) * (rh - R[x]) ** 2
        best = value if best is None else min(best, value)
    return None if best is None else best / float(mdp.range_reward) ** 2


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    count = int(args[0]) if args else 200
    seed = int(args[1]) if len(args) > 1 else 2025
    rng = random.Random(seed)
    agree = infinite = policies = 0
    engine_s = brute_s = float_s = 0.0
    worst_float = 0.0
    bad = []
    for k in range(count):
        mdp, data = random_instance(rng, zeros=k % 2 == 0)
        L = Fraction(rng.randint(1, 4), 4)
        start = time.perf_counter()
        result = squared_threshold(mdp, data, L)
        engine_s += time.perf_counter() - start
        start = time.perf_counter()
        truth = squared_critical_brute_force(mdp, data, L)
        brute_s += time.perf_counter() - start
        start = time.perf_counter()
        approx = float_way(mdp, data, L)
        float_s += time.perf_counter() - start
        policies += len(result.optima)
        if result.critical_epsilon == truth:
            agree += 1
            infinite += truth is None
        else:
            bad.append((k, result.critical_epsilon, truth))
        if truth is not None and approx is not None:
            worst_float = max(worst_float, abs(approx - float(truth)))
    print(f"| instances | agree exactly | eps* = inf | QPs (policies of regret >= L) | engine (s) | "
          f"brute force (s) | float way (s) | float way's worst absolute error |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {count} | {agree} | {infinite} | {policies} | {engine_s:.2f} | {brute_s:.2f} | {float_s:.2f} | "
          f"{worst_float:.2e} |")
    for item in bad:
        print("DISAGREEMENT", item)
    print()
    print("| states x actions | policies | QPs | engine (s) | float way (s) |")
    print("|---|---|---|---|---|")
    for n, m in ((4, 3), (5, 3), (6, 2), (6, 3)):
        rng = random.Random(seed + n * 10 + m)
        mdp, data = random_instance(rng, zeros=False, max_states=n, max_actions=m)
        while mdp.n_states != n or mdp.n_actions != m:
            mdp, data = random_instance(rng, zeros=False, max_states=n, max_actions=m)
        start = time.perf_counter()
        result = squared_threshold(mdp, data, Fraction(1, 2))
        engine = time.perf_counter() - start
        start = time.perf_counter()
        float_way(mdp, data, Fraction(1, 2))
        print(f"| {n} x {m} | {mdp.n_deterministic_policies} | {len(result.optima)} | {engine:.2f} | "
              f"{time.perf_counter() - start:.2f} |")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
