"""`rewardcert matrix` against its bases alone: what marking redundant rows costs (issue 9).

For seeded random MDPs ``random_mdp(100·|S| + |A|, |S|, |A|)`` at ``L = 1/2`` this times,
in one run and one after the other (never in parallel):

* **bases** — ``safety_matrix(mdp, L, mark_redundant=False)``: the rows of M from the
  exact solve per basis, duplicates and dominated rows removed;
* **M + marks** — ``safety_matrix(mdp, L)``: the same plus ``mark_redundant_rows``
  (exact witnesses, HiGHS hints confirmed exactly, exact LPs for what is left);
* **CLI** — ``python -m rewardcert matrix MODEL --regret 1/2`` in a fresh process
  (wall clock, interpreter start-up and imports included, output to the null device);
* **all-exact marks** — ``mark_redundant_rows(rows, prefilter=False)``, one dense exact LP
  per row, stopped after ``--budget`` seconds (then printed as ``> budget (k of K rows)``), and
  not run above ``--exact-max-rows`` rows (its first LP cannot be interrupted).
  When it finishes, its marks must equal those of the fast path, or the script exits 1.

Ratios are against **bases**.  The issue's target is CLI / bases ≤ 5.  Times are
wall-clock, best of 3 below 2 s, a single run above.

Usage, from the repository root::

    python -m benchmarks.bench_matrix_marks                     # 3x3 3x4 4x4, --budget 60
    python -m benchmarks.bench_matrix_marks --shapes 3x3 --budget 600
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

from rewardcert.symbolic.core.io import model_to_document
from rewardcert.symbolic.paper.matrix import mark_redundant_rows, safety_matrix

from benchmarks.bench_matrix import fmt_seconds, parse_shape
from benchmarks.common import random_mdp
from benchmarks.timing import best_time, machine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHAPES = ("3x3", "3x4", "4x4")


class _OutOfBudget(Exception):
    def __init__(self, done: int):
        self.done = done


def all_exact_marks(rows, budget: float):
    """``(seconds, marks)`` of one dense exact LP per row, or ``(None, rows done)`` past the budget."""
    start = time.perf_counter()

    def poll(done: int, total: int) -> None:
        if time.perf_counter() - start > budget:
            raise _OutOfBudget(done)
    try:
        marked = mark_redundant_rows(rows, prefilter=False, progress=poll)   # polled before every dense LP
    except _OutOfBudget as stop:
        return None, stop.done
    return time.perf_counter() - start, [r.redundant for r in marked]


def cli_seconds(mdp, L: Fraction) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.json"
        path.write_text(json.dumps(model_to_document(mdp)))
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        env.pop("REWARDCERT_PROGRESS", None)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "rewardcert", "matrix", str(path), "--regret", str(L)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"rewardcert matrix failed (exit {done.returncode}): {done.stderr.strip()}")
    return elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", type=parse_shape, nargs="+", default=[parse_shape(s) for s in DEFAULT_SHAPES],
                        metavar="NxM", help=f"random MDP shapes (default: {' '.join(DEFAULT_SHAPES)})")
    parser.add_argument("--regret", type=Fraction, default=Fraction(1, 2), help="L, as p/q (default 1/2)")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds the all-exact marking may take per instance (default 60)")
    parser.add_argument("--exact-max-rows", type=int, default=1000,
                        help="skip the all-exact marking above this many rows: its first dense LP alone can "
                             "outlast any budget (one took 301 s on the 4x4 instance's 4,756 rows)")
    args = parser.parse_args(argv)

    print("\n".join(machine(("python-flint", "highspy", "numpy"))))
    print(f"load average before the run: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rewardcert", "--help"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    print(f"CLI start-up alone (`python -m rewardcert --help`): {fmt_seconds(time.perf_counter() - start)}")
    print(f"random_mdp(100*|S| + |A|, |S|, |A|), L = {args.regret}; all-exact budget {args.budget:g} s\n")
    columns = ("S x A", "rows of M", "redundant", "bases", "M + marks", "CLI", "all-exact marks",
               "marks / bases", "CLI / bases", "agree")
    print("| " + " | ".join(columns) + " |")
    print("|" + "|".join("---:" for _ in columns) + "|")
    failures = 0
    for n, m in args.shapes:
        mdp = random_mdp(100 * n + m, n, m)
        t_bases, bare = best_time(lambda: safety_matrix(mdp, args.regret, mark_redundant=False))
        t_full, full = best_time(lambda: safety_matrix(mdp, args.regret))
        t_cli = cli_seconds(mdp, args.regret)
        assert [r.coefficients for r in full.rows] == [r.coefficients for r in bare.rows]
        marks = [r.redundant for r in full.rows]
        if len(bare.rows) > args.exact_max_rows:
            t_exact, exact = None, None
        else:
            t_exact, exact = all_exact_marks(bare.rows, args.budget)
        if exact is None:
            exact_text, agree = f"not run (> {args.exact_max_rows} rows)", "–"
        elif t_exact is None:
            exact_text, agree = f"> {args.budget:g} s ({exact} of {len(bare.rows)} rows)", "–"
        else:
            exact_text, agree = fmt_seconds(t_exact), "=" if exact == marks else "DIFFERENT"
            failures += exact != marks
        print(f"| {n}x{m} | {len(full.rows)} | {sum(marks)} | {fmt_seconds(t_bases)} | {fmt_seconds(t_full)} "
              f"| {fmt_seconds(t_cli)} | {exact_text} | {t_full / t_bases:.1f} | {t_cli / t_bases:.1f} | {agree} |",
              flush=True)
    print(f"\nload average after the run: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("agree: '=' the all-exact marks equal the fast path's; '–' the all-exact marking ran out of budget.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
