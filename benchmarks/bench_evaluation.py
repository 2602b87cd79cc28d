"""Exact policy evaluation V^π = (I − γP_π)^{-1} R_π: rewardcert's FLINT path against Fraction and sympy (issue 2).

For each size n, one seeded random MDP (``benchmarks.common.random_mdp``:
4 actions, 3 successors per pair, γ = 9/10) and one seeded deterministic
policy are evaluated exactly by

* ``flint``        — ``rewardcert.symbolic.exact.evaluation.state_values`` (python-flint ``fmpq_mat.solve``);
* ``fraction``     — ``rewardcert.symbolic.exact.linalg.fraction_solve``, stdlib ``Fraction`` Gaussian elimination;
* ``sympy-lu``     — ``sympy.Matrix.LUsolve`` (arithmetic on sympy ``Rational`` expressions);
* ``sympy-solve``  — ``sympy.Matrix.solve`` (Gauss–Jordan: sympy turns the matrix into a sparse
  ``DomainMatrix`` over ``QQ`` and row-reduces it in Python loops);
* ``sympy-dm``     — ``DomainMatrix`` over ``QQ``, ``lu_solve`` (dense; with sympy's
  ``flint`` ground types this is a FLINT ``fmpq_mat`` underneath).

Every method starts from the MDP and the policy and ends with the values as a
tuple of ``Fraction``, so conversions in and out are inside the timing; the
per-MDP dynamics cache of ``rewardcert.symbolic.exact.linalg.dynamics`` is warmed first (it is
built once per MDP in real use).  All answers must be identical, exactly.
``return_bounds`` (exact policy iteration for ``J*`` and ``J^min``) is timed
on the same MDPs.

A method whose time at the next size, extrapolated from its measured growth,
exceeds ``--budget`` seconds is skipped there and at larger sizes; its ratio
is then printed as a lower bound ``> budget / flint time``.

Usage, from the repository root::

    python -m benchmarks.bench_evaluation                       # n = 50 100 200 400
    python -m benchmarks.bench_evaluation --sizes 50 100 --budget 30
    python -m benchmarks.bench_evaluation --methods fraction sympy-dm --sympy-ground-types python

Exits 1 if two methods disagree on any value.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

if __package__ in (None, ""):  # run as a file: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rewardcert.symbolic.core.model import MDP, DeterministicPolicy, Vector
from rewardcert.symbolic.exact.evaluation import state_values
from rewardcert.symbolic.exact.linalg import dynamics, fraction_solve
from rewardcert.symbolic.guidance.floatvi import return_bounds

from benchmarks.common import random_mdp, random_policy
from benchmarks.timing import Budget, best_time, machine

METHODS = ("flint", "fraction", "sympy-lu", "sympy-solve", "sympy-dm")
LABELS = {
    "flint": "rewardcert (FLINT)",
    "fraction": "Fraction elimination",
    "sympy-lu": "sympy Matrix.LUsolve",
    "sympy-solve": "sympy Matrix.solve",
    "sympy-dm": "sympy DomainMatrix QQ",
}
Solver = Callable[[MDP, DeterministicPolicy], Vector]


def fraction_system(mdp: MDP, policy: DeterministicPolicy) -> tuple[list[list[Fraction]], list[Fraction]]:
    """Dense ``I − γP_π`` and ``R_π`` as Fractions, straight from the model (no FLINT involved)."""
    n, m = mdp.n_states, mdp.n_actions
    matrix = [[Fraction(0)] * n for _ in range(n)]
    rhs = []
    for s, a in enumerate(policy):
        row = matrix[s]
        row[s] += 1
        for t, p in mdp.transitions[s * m + a]:
            row[t] -= mdp.gamma * p
        rhs.append(mdp.reward[s * m + a])
    return matrix, rhs


def solve_fraction(mdp: MDP, policy: DeterministicPolicy) -> Vector:
    matrix, rhs = fraction_system(mdp, policy)
    return tuple(fraction_solve(matrix, rhs))


def sympy_solvers(sympy) -> dict[str, Solver]:
    """The three sympy methods, bound to an already imported ``sympy``."""
    from sympy.polys.matrices import DomainMatrix

    QQ = sympy.QQ

    def matrices(mdp, policy):
        matrix, rhs = fraction_system(mdp, policy)
        n = len(rhs)
        A = sympy.Matrix(n, n, [sympy.Rational(x.numerator, x.denominator) for row in matrix for x in row])
        b = sympy.Matrix(n, 1, [sympy.Rational(x.numerator, x.denominator) for x in rhs])
        return A, b

    def from_expr(column) -> Vector:
        if not all(e.is_Rational for e in column):
            raise AssertionError("sympy returned a non-rational value")
        return tuple(Fraction(int(e.p), int(e.q)) for e in column)

    def lu(mdp, policy):
        A, b = matrices(mdp, policy)
        return from_expr(A.LUsolve(b))

    def gauss_jordan(mdp, policy):
        A, b = matrices(mdp, policy)
        return from_expr(A.solve(b))

    def domain_matrix(mdp, policy):
        matrix, rhs = fraction_system(mdp, policy)
        n = len(rhs)
        A = DomainMatrix([[QQ(x.numerator, x.denominator) for x in row] for row in matrix], (n, n), QQ)
        b = DomainMatrix([[QQ(x.numerator, x.denominator)] for x in rhs], (n, 1), QQ)
        return tuple(Fraction(int(e.numerator), int(e.denominator)) for e in A.lu_solve(b).to_list_flat())

    return {"sympy-lu": lu, "sympy-solve": gauss_jordan, "sympy-dm": domain_matrix}


def import_sympy(ground_types: str | None):
    """Import sympy, first choosing its ground types if asked (they are fixed at import)."""
    if ground_types:
        if "sympy" in sys.modules:
            raise SystemExit("sympy was imported before --sympy-ground-types could take effect")
        os.environ["SYMPY_GROUND_TYPES"] = ground_types
    import sympy
    from sympy.external.gmpy import GROUND_TYPES
    from sympy.polys.matrices import DomainMatrix

    rep = type(DomainMatrix([[sympy.QQ(1)]], (1, 1), sympy.QQ).rep).__name__
    return sympy, f"sympy ground types: {GROUND_TYPES} (dense DomainMatrix over QQ is {rep})"


# -- formatting ------------------------------------------------------------------

def seconds(t: float) -> str:
    if t < 0.01:
        return f"{t * 1000:.2f} ms"
    if t < 10:
        return f"{t:.3f} s"
    return f"{t:.1f} s"


def ratio(t: float) -> str:
    return f"{t:.0f}" if t >= 100 else f"{t:.1f}" if t >= 10 else f"{t:.2f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    return "\n".join([line(header), rule, *map(line, rows)])


# -- the run ---------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_evaluation",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200, 400], metavar="N",
                        help="numbers of states (default: 50 100 200 400)")
    parser.add_argument("--actions", type=int, default=4, help="actions per state (default: 4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the MDPs and policies (default: 0)")
    parser.add_argument("--methods", nargs="+", choices=METHODS[1:], default=list(METHODS[1:]),
                        help="methods compared with rewardcert's FLINT path, which always runs")
    parser.add_argument("--budget", type=float, default=240.0,
                        help="seconds one method may take at one size, judged by extrapolation (default: 240)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="best-of count for runs shorter than --repeat-below (default: 3)")
    parser.add_argument("--repeat-below", type=float, default=2.0, metavar="SECONDS",
                        help="runs at least this long are not repeated (default: 2)")
    parser.add_argument("--no-bounds", action="store_true", help="skip timing return_bounds")
    parser.add_argument("--sympy-ground-types", choices=("flint", "gmpy", "python"),
                        help="set SYMPY_GROUND_TYPES before importing sympy")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.sizes))
    if any(n < 1 for n in sizes) or args.actions < 1 or args.repeat < 1 or args.budget <= 0:
        parser.error("sizes, --actions and --repeat must be positive, --budget > 0")

    methods = ["flint", *[m for m in METHODS[1:] if m in args.methods]]
    solvers: dict[str, Solver] = {"flint": state_values, "fraction": solve_fraction}
    notes = machine()
    if any(m.startswith("sympy") for m in methods):
        sympy, ground = import_sympy(args.sympy_ground_types)
        solvers.update(sympy_solvers(sympy))
        notes.append(ground)
    for line in notes:
        print(f"# {line}")
    print(f"# MDPs: random_mdp(seed={args.seed}, n, {args.actions}), gamma 9/10, 3 successors per pair; "
          f"policy: random_policy(seed={args.seed}, mdp)")
    print(f"# budget {args.budget:g} s per method and size; best of {args.repeat} for runs under "
          f"{args.repeat_below:g} s", flush=True)

    budget = Budget(args.budget)
    timings: dict[int, dict[str, float]] = {}
    predicted: dict[int, dict[str, float]] = {}
    bounds_time: dict[int, float] = {}
    digits: dict[int, int] = {}
    for n in sizes:
        mdp = random_mdp(args.seed, n, args.actions)
        policy = random_policy(args.seed, mdp)
        dynamics(mdp)  # the per-MDP cache every rewardcert call shares
        timings[n], predicted[n] = {}, {}
        reference: Vector | None = None
        for method in methods:
            if method != "flint" and not budget.allows(method, n):
                predicted[n][method] = budget.predict(method, n)
                print(f"n={n:<4} {method:<12} skipped: predicted {predicted[n][method]:.0f} s "
                      f"> budget {args.budget:g} s", file=sys.stderr, flush=True)
                continue
            elapsed, values = best_time(lambda: solvers[method](mdp, policy),
                                        repeat=args.repeat, repeat_below=args.repeat_below)
            if reference is None:
                reference = values
            elif values != reference:
                wrong = next(i for i, (u, v) in enumerate(zip(values, reference)) if u != v)
                print(f"MISMATCH at n={n}: {method} gives V[{mdp.states[wrong]}] = {values[wrong]}, "
                      f"flint gives {reference[wrong]}", file=sys.stderr)
                return 1
            timings[n][method] = elapsed
            budget.record(method, n, elapsed)
            print(f"n={n:<4} {method:<12} {seconds(elapsed)}", file=sys.stderr, flush=True)
        digits[n] = max(len(str(v.denominator)) for v in reference)
        if not args.no_bounds:
            elapsed, bounds = best_time(lambda: return_bounds(mdp), repeat=args.repeat,
                                        repeat_below=args.repeat_below)
            j = sum((p * v for p, v in zip(mdp.initial, reference)), Fraction(0))
            if not bounds.pessimal_return <= j <= bounds.optimal_return:
                print(f"n={n}: J(policy) = {j} lies outside [J^min, J*]", file=sys.stderr)
                return 1
            bounds_time[n] = elapsed
            print(f"n={n:<4} {'bounds':<12} {seconds(elapsed)}", file=sys.stderr, flush=True)

    skipped = any(predicted[n] for n in sizes)
    header = ["n", *[f"{LABELS[m]}" for m in methods]]
    rows = []
    for n in sizes:
        row = [str(n)]
        for m in methods:
            row.append(seconds(timings[n][m]) if m in timings[n] else f"> {args.budget:g} s (est. {predicted[n][m]:.0f} s)")
        rows.append(row)
    print("\nSeconds per exact evaluation V^π (best of the repeats):\n")
    print(table(header, rows))

    others = methods[1:]
    if others:
        rows = []
        for n in sizes:
            base = timings[n]["flint"]
            rows.append([str(n), *[ratio(timings[n][m] / base) if m in timings[n]
                                   else f"> {ratio(args.budget / base)} (est. {ratio(predicted[n][m] / base)})"
                                   for m in others]])
        print("\nRatios to rewardcert's FLINT path (time of method / time of FLINT):\n")
        print(table(["n", *[f"{LABELS[m]} / FLINT" for m in others]], rows))
        if skipped:
            print("\n'> budget': the method's measured growth predicted more than the budget, so it was "
                  "not run; its ratio is then at least budget / FLINT time (a lower bound, valid if the "
                  "prediction is); 'est.' is the extrapolated figure.")

    rows = []
    for small, large in zip(sizes, sizes[1:]):
        cells = [f"{small}→{large}"]
        for m in methods:
            if m in timings[small] and m in timings[large]:
                cells.append(f"{math.log(timings[large][m] / timings[small][m]) / math.log(large / small):.1f}")
            else:
                cells.append("–")
        rows.append(cells)
    if rows:
        print("\nMeasured growth exponent k, time ∝ n^k between consecutive sizes:\n")
        print(table(["sizes", *[LABELS[m] for m in methods]], rows))

    rows = [[str(n), str(digits[n])] + ([seconds(bounds_time[n]), ratio(bounds_time[n] / timings[n]["flint"])]
                                         if n in bounds_time else []) for n in sizes]
    header = ["n", "digits of largest denominator in V^π"]
    if bounds_time:
        header += ["return_bounds (J*, J^min), FLINT", "return_bounds / one evaluation"]
    print("\nSize of the exact answer" + (" and exact policy iteration" if bounds_time else "") + ":\n")
    print(table(header, rows))
    print("\nAll methods that ran gave identical exact values.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
