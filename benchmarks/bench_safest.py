"""`rewardcert safest`: the cutting-plane LP solved on float supports against the exact simplex (issue 9).

``safest_distribution`` alternates two steps: an LP over the witness rows found so far (the
matrix game ``max_D min_k row_k·D``) proposes ``D``, and the exact search for ``ε*(D)`` adds the
attack it finds as a new row.  This times both ways of solving that LP, in one run and one after
the other (never in parallel), on seeded random MDPs ``random_mdp(100·|S| + |A|, |S|, |A|)``:

* **supports** — the default: HiGHS names the supports of ``D`` and of the row mixture, the two
  equalising systems are solved exactly, and the pair is kept only when its bounds meet exactly;
* **exact simplex** — ``_game_on_supports`` switched off, so every LP is the exact dense simplex
  (what ``safest`` did before).

Each run has a ``--budget`` (``max_seconds``); a run that stops reports its bracket on ``ε**``.
When both finish, their ``ε**`` must be equal, or the script exits 1.  The certificate of the
default run is checked by ``python -I -S proofs/checker.py``, timed.

Usage, from the repository root::

    python -m benchmarks.bench_safest                       # 3x3 4x3 4x4 5x4, --budget 120
    python -m benchmarks.bench_safest --shapes 5x4 --budget 300
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_matrix import fmt_seconds, parse_shape
from benchmarks.common import random_mdp
from benchmarks.timing import machine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHAPES = ("3x3", "4x3", "4x4", "5x4")


def run(mdp, L: Fraction, budget: float, exact_only: bool):
    from rewardcert.symbolic.paper import section3 as paper
    saved = paper._game_on_supports
    if exact_only:
        paper._game_on_supports = lambda mdp, rows: None
    try:
        start = time.perf_counter()
        result = paper.safest_distribution(mdp, L, max_seconds=budget)
        return time.perf_counter() - start, result
    finally:
        paper._game_on_supports = saved


def describe(result) -> str:
    if result.complete:
        return "inf" if result.max_critical_epsilon is None else f"{float(result.max_critical_epsilon):.6g}"
    return f"[{float(result.lower):.4g}, {float(result.upper):.4g}]"


def check_seconds(mdp, L: Fraction, result) -> str:
    from rewardcert.certificates import safest_certificate
    document = safest_certificate(mdp, L, result)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "safest.json")
        with open(path, "w") as handle:
            json.dump(document, handle)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "proofs" / "checker.py"), path],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
    verdict = done.stdout.strip().splitlines()[0] if done.stdout.strip() else done.stderr.strip()
    return f"{fmt_seconds(seconds)} ({verdict})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=list(DEFAULT_SHAPES))
    parser.add_argument("--regret", default="1/2")
    parser.add_argument("--budget", type=float, default=120.0)
    args = parser.parse_args()
    L = Fraction(args.regret)
    print("\n".join(machine(("python-flint", "highspy", "numpy"))))
    print(f"load average before the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"random_mdp(100*|S| + |A|, |S|, |A|), L = {L}; budget {args.budget:g} s per run\n")
    print("| S x A | cuts | supports | eps** | exact simplex | its eps** | exact / supports | check |")
    print("|---:|---:|---:|---|---:|---|---:|---|")
    failed = False
    for shape in args.shapes:
        n, m = parse_shape(shape)
        mdp = random_mdp(100 * n + m, n, m)
        fast_seconds, fast = run(mdp, L, args.budget, exact_only=False)
        slow_seconds, slow = run(mdp, L, args.budget, exact_only=True)
        if fast.complete and slow.complete and fast.max_critical_epsilon != slow.max_critical_epsilon:
            failed = True
        ratio = f"{slow_seconds / fast_seconds:.1f}" if fast.complete and slow.complete else \
            (f"> {slow_seconds / fast_seconds:.1f}" if fast.complete else "–")
        check = check_seconds(mdp, L, fast) if fast.complete else "not run (incomplete)"
        print(f"| {shape} | {fast.iterations} | {fmt_seconds(fast_seconds)}{'' if fast.complete else ' (stopped)'} "
              f"| {describe(fast)} | {fmt_seconds(slow_seconds)}{'' if slow.complete else ' (stopped)'} "
              f"| {describe(slow)} | {ratio} | {check} |", flush=True)
    print(f"\nload average after the run: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if failed:
        print("MISMATCH: the two ways gave different eps**")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
