"""Benchmark: the RLHF critical error (preference error on D^ref) and ``measures`` (Props 5.1-5.3).

In one run:

* **RLHF threshold**: the verified interval ``[lower, upper] ∋ ε*_RLHF`` after budgets of 1, 5
  and 20 s (stopping early at 1% width), on the example bandits and seeded random bandits: how
  the interval shrinks with time.
* **measures**: Props 5.1-5.3 on the 3-state, 2-action chain (examples/chain3*.toml) for
  T = 2 … 10, against brute-force enumeration of the (|S||A|)^T trajectory prefixes (run while
  it takes under ``--budget`` seconds, extrapolated beyond).

Usage: ``python -m benchmarks.bench_rlhf [--budget 30]``
"""

from __future__ import annotations

import argparse
import sys
import time
from fractions import Fraction
from pathlib import Path

from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.policies import uniform_policy
from rewardcert.symbolic.core.policyfile import load_policy
from rewardcert.symbolic.paper.measures import error_measures
from rewardcert.symbolic.regularised.preference import rlhf_threshold

from benchmarks.common import random_mdp
from benchmarks.timing import machine

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def brute_force_seconds(mdp, policy, estimate, horizon) -> float:
    """Enumerate every trajectory and its two returns (the obvious alternative)."""
    m = mdp.n_actions
    start = time.perf_counter()
    total = Fraction(0)
    stack = [(s, 0, p, Fraction(0), Fraction(0)) for s, p in enumerate(mdp.initial) if p]
    while stack:
        s, t, p, g, gh = stack.pop()
        for a in range(m):
            q = policy[s][a]
            if not q:
                continue
            x = s * m + a
            g2, gh2 = g + mdp.gamma ** t * mdp.reward[x], gh + mdp.gamma ** t * estimate[x]
            if t == horizon - 1:
                total += p * q * abs(g2 - gh2)
            else:
                stack.extend((s2, t + 1, p * q * r, g2, gh2) for s2, r in mdp.successors(x))
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0)
    args = parser.parse_args(argv)
    print(machine())
    bandit = load_model(EXAMPLES / "rlhf-bandit.toml").mdp
    cases = [("rlhf-bandit 2×5", bandit, load_policy(EXAMPLES / "rlhf-reference.toml", bandit)),
             ("chatbot 2×6", load_model(EXAMPLES / "chatbot.toml").mdp, None)]
    for n, m in ((2, 3), (3, 3)):
        mdp = random_mdp(3, n, m, gamma=0, reward_range=(-5, 5))
        cases.append((f"random bandit {n}×{m}", mdp, None))
    print("\n| bandit (L = 1/2, λ = 1/2) | interval @ 1 s | @ 5 s | @ 20 s | width @ 20 s | seconds used |")
    print("|---|---|---|---|---|---|")
    for label, mdp, reference in cases:
        reference = reference or uniform_policy(mdp)
        cells, used, width = [], 0.0, "-"
        for budget in (1.0, 5.0, 20.0):
            start = time.perf_counter()
            result = rlhf_threshold(mdp, Fraction(1, 2), Fraction(1, 2), reference, timeout=budget)
            used = time.perf_counter() - start
            if result.upper is None:
                cells.append("-")
                continue
            cells.append(f"[{float(result.lower):.4g}, {float(result.upper):.4g}]")
            if result.upper:
                width = f"{float((result.upper - result.lower) / result.upper):.1%}"
            if result.complete:
                cells += ["(met)"] * (3 - len(cells))
                break
        print(f"| {label} | " + " | ".join(cells) + f" | {width} | {used:.1f} |", flush=True)

    chain = load_model(EXAMPLES / "chain3.toml").mdp
    policy = load_policy(EXAMPLES / "chain3-policy.toml", chain)
    estimate = load_model(EXAMPLES / "chain3-estimate.toml").mdp.reward
    print("\n| T | measures (s) | (G_R, G_R^) values | Prop 5.2 left | brute force, Prop 5.1 left only (s) | ratio |")
    print("|---|---|---|---|---|---|")
    brute_last, growth = None, 6.0
    for horizon in range(2, 11):
        start = time.perf_counter()
        report = error_measures(chain, policy, estimate, horizon)
        seconds = time.perf_counter() - start
        if brute_last is None or brute_last * growth < args.budget:
            brute = brute_force_seconds(chain, policy, estimate, horizon)
            note = f"{brute:.2f}"
            brute_last = brute
        else:
            brute_last *= growth
            brute = brute_last
            note = f"~{brute:.0f} (extrapolated)"
        left = report.prop_5_2.left
        print(f"| {horizon} | {seconds:.2f} | {report.support} | [{float(left.lower):.4g}, {float(left.upper):.4g}] | "
              f"{note} | {brute / seconds:.2g} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
