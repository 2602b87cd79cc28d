"""Benchmark: catastrophic Goodhart on families of growing bandits, to ``N = 10^4`` outcomes.

In one run, for the families ``power:2`` (B2, heavy), ``subgauss`` (B2, light, to its limit 58),
``product:2`` (B1) and ``pareto:2`` (the Thm 3 counterexample, with ``P_t`` at ``t = N/20``, ``c = 5``):

* **time per member**: the soft optimum alone, and with every claim and a KL budget of 1/10
  (``analyse``); the checker's replay of the member's certificate; and a float64 computation of the
  same three numbers (numpy, log-sum-exp) for comparison;
* **enclosure widths**: of the soft optimum's true gain and KL, and of the best true gain within the
  budget; and how far the float64 values land from the enclosures' midpoints.

Usage: ``python -m benchmarks.bench_heavy_tails [--sizes 10,100,1000,10000]``
"""

from __future__ import annotations

import argparse
import json
import math
import time
from fractions import Fraction

import numpy as np

from rewardcert.certificates.heavy_tails import family_certificate
from rewardcert.proofs import checker
from rewardcert.symbolic.optimisers.goodhart import GoodhartOptions, analyse, analyse_family
from rewardcert.symbolic.optimisers.heavy_tails import soft_optimum
from rewardcert.symbolic.optimisers.tail_families import member, parse_family

from benchmarks.timing import best_time, machine

FAMILIES = ("power:2", "subgauss", "product:2", "pareto:2")


def float64_soft_optimum(bandit, beta: float) -> tuple[float, float, float]:
    """``(true gain, proxy gain, KL)`` of ``Q e^{U/β}`` in float64 (the obvious alternative)."""
    (c,) = bandit.contexts
    q = np.array([float(x) for x in c.reference])
    v = np.array([float(x) for x in c.true])
    u = np.array([float(x) for x in c.proxy])
    with np.errstate(divide="ignore"):      # masses below 1e-308 (the sub-Gaussian tail) underflow to 0
        logits = np.log(q) + u / beta
    top = logits.max()
    w = np.exp(logits - top)
    z = w.sum()
    p = w / z
    kl = float(np.sum(p * (u / beta)) - (top + math.log(z)))
    return float(p @ v - q @ v), float(p @ u - q @ u), kl


def sizes_for(label: str, outcomes: list[int]) -> list[int]:
    """The member sizes ``N`` whose number of outcomes is about each of ``outcomes``."""
    family = parse_family(label)
    out = []
    for n in outcomes:
        size = {"power": n - 2, "subgauss": n - 2, "product": n // 2, "pareto": n}[family.name]
        size = max(1, min(size, family.max_size))
        if size not in out:
            out.append(size)
    return out


def width(enclosure) -> str:
    return f"{float(enclosure.upper - enclosure.lower):.1e}"


def member_row(label: str, size: int) -> dict:
    family = parse_family(label)
    bandit = member(family, size)
    construct = (Fraction(max(2, size // 20)), Fraction(1)) if family.name == "pareto" else None
    options = GoodhartOptions(Fraction(1), Fraction(1, 10), construct)
    start = time.perf_counter()
    soft = soft_optimum(bandit, Fraction(1))           # cold: the member's balls are made once, here
    soft_seconds = time.perf_counter() - start
    start = time.perf_counter()
    report = analyse(member(family, size), options)
    full_seconds = time.perf_counter() - start
    text = json.dumps(family_certificate(analyse_family(family, [size], options)))
    start = time.perf_counter()
    status = checker.check_document(json.loads(text))[0]
    check_seconds = time.perf_counter() - start
    float_seconds, (f_gain, _, f_kl) = best_time(lambda: float64_soft_optimum(bandit, 1.0))
    mid_gain = float((soft.true_gain.lower + soft.true_gain.upper) / 2)
    holds_zero = soft.true_gain.lower < 0 < soft.true_gain.upper
    mid_kl = float((soft.kl.lower + soft.kl.upper) / 2)
    return {"family": label, "size": size, "outcomes": family.outputs(size), "soft": soft_seconds,
            "full": full_seconds, "check": check_seconds, "verified": status, "float": float_seconds,
            "gain": "0 (the enclosure holds 0)" if holds_zero else f"{mid_gain:.11g}", "gain_width": width(soft.true_gain), "kl_width": width(soft.kl),
            "best_width": width(report.kl_budget.true.best), "float_gain_error": abs(f_gain - mid_gain),
            "float_kl_error": abs(f_kl - mid_kl), "bytes": len(text)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,10000", help="outcomes per member, comma-separated")
    args = parser.parse_args(argv)
    outcomes = [int(x) for x in args.sizes.split(",")]
    print(machine())
    rows = [member_row(label, n) for label in FAMILIES for n in sizes_for(label, outcomes)]
    print("\n| family | N | outcomes | soft optimum (s) | with every claim, budget 1/10 (s) | checker replay (s) "
          "| float64 (s) | certificate (bytes) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        assert r["verified"] == "verified", r
        print(f"| {r['family']} | {r['size']} | {r['outcomes']:,} | {r['soft']:.3f} | {r['full']:.2f} | "
              f"{r['check']:.2f} | {r['float']:.4f} | {r['bytes']:,} |")
    print("\n| family | N | true gain | width: true gain | width: KL | width: best true gain at KL <= 1/10 "
          "| float64 error: true gain | float64 error: KL |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['family']} | {r['size']} | {r['gain']} | {r['gain_width']} | {r['kl_width']} | "
              f"{r['best_width']} | {r['float_gain_error']:.1e} | {r['float_kl_error']:.1e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
