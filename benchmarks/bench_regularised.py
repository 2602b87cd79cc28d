"""Benchmark: the regularised threshold (λ > 0) — verified interval width against time, and the checker.

For seeded random contextual bandits (1×2 … 3×3) and MDPs (2×2 … 3×2, γ = 9/10)
with uniform D, λ = 1/2, uniform π_ref and L = 1/2, this runs in one process:

* **witness search alone** (the obvious alternative): the floating-guided search for a cheap
  witness, as a user of a floating optimiser would run it (here each candidate is also verified),
  which gives only an upper end;
* **threshold**: ``regularised_threshold`` with a time budget, stopping early
  once ``(upper − lower)/upper`` reaches the target (1% for one-state bandits,
  10% otherwise); the width at 5, 20 and 60 s is recorded from separate runs;
* **checker**: ``python -I -S proofs/checker.py`` on the resulting
  ``regularised-interval`` certificate, with its size.

Usage: ``python -m benchmarks.bench_regularised [--budget 60] [--quick]``
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

from rewardcert.symbolic.core.model import uniform_distribution
from rewardcert.symbolic.regularised.problem import regularised_problem
from rewardcert.symbolic.regularised.verdicts import regularised_threshold
from rewardcert.symbolic.regularised.witness import find_witness

from benchmarks.common import random_mdp
from benchmarks.timing import machine
from rewardcert.certificates import regularised_certificate

ROOT = Path(__file__).resolve().parent.parent
LAMBDA, L = Fraction(1, 2), Fraction(1, 2)
CASES = [("bandit", 1, 2), ("bandit", 1, 3), ("bandit", 2, 2), ("bandit", 2, 3), ("bandit", 3, 3),
         ("mdp", 2, 2), ("mdp", 3, 2)]


def instance(kind: str, n: int, m: int, seed: int = 1):
    gamma = Fraction(0) if kind == "bandit" else Fraction(9, 10)
    return random_mdp(seed, n, m, gamma=gamma, reward_range=(-5, 5))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="5 s budgets only")
    args = parser.parse_args(argv)
    print(machine())
    budgets = [5.0] if args.quick else [5.0, 20.0, args.budget]
    print("| instance | witness search alone (s) | its eps (upper end only) | " + " | ".join(f"width @ {b:g} s" for b in budgets)
          + " | interval at the last budget | target met (s) | checker (s) | certificate (kB) |")
    print("|---|---|---|" + "---|" * len(budgets) + "---|---|---|---|")
    for kind, n, m in CASES:
        mdp = instance(kind, n, m)
        D = uniform_distribution(mdp)
        target = Fraction(1, 100) if (kind == "bandit" and n == 1) else Fraction(1, 10)
        start = time.perf_counter()
        witness = find_witness(regularised_problem(mdp, D, L, LAMBDA, None, None), seconds=5.0)
        float_seconds = time.perf_counter() - start
        float_eps = float(witness.error) if witness else float("inf")
        widths, result, met = [], None, None
        for budget in budgets:
            start = time.perf_counter()
            result = regularised_threshold(mdp, D, L, LAMBDA, timeout=budget, relative_width=target)
            elapsed = time.perf_counter() - start
            width = None if not result.upper else (result.upper - result.lower) / result.upper
            widths.append("-" if width is None else f"{float(width):.3%}")
            if met is None and width is not None and width <= target:
                met = elapsed
            if result.complete:
                widths += ["(met)"] * (len(budgets) - len(widths))
                break
        cert = regularised_certificate(mdp, D, L, result)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(cert, handle)
            path = handle.name
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "proofs" / "checker.py"), path],
                              capture_output=True, text=True)
        check_seconds = time.perf_counter() - start
        assert done.stdout.startswith("VERIFIED"), done.stdout
        size = Path(path).stat().st_size / 1024
        interval = f"[{float(result.lower):.5g}, {float(result.upper):.5g}]" if result.upper else "-"
        print(f"| {kind} {n}×{m} | {float_seconds:.2f} | {float_eps:.5g} | " + " | ".join(widths)
              + f" | {interval} | {'-' if met is None else f'{met:.1f}'} | {check_seconds:.2f} | {size:.0f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
