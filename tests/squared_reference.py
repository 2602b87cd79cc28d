"""An independent brute force for the mean-squared error's per-policy QP (App. B.3), written for the
tests only: it shares no code with ``symbolic/search/squared.py`` and solves a different problem.

By strong duality for convex QPs, ``g_π(D) = min{Σ D(R̂ − R)² : π uniformly optimal for R̂}`` equals the
maximum of the dual

    max_y 2 y·R − Σ_x y(x)²/D(x)   over y with y(x) = 0 where D(x) = 0, y ≥ 0 off π's pairs,
                                    and Σ_a y(s',a) = γ Σ_{s,a} τ(s'|s,a) y(s,a) for every s',

which is strictly concave on its variables, so its maximiser is unique.  The brute force enumerates
every set Z of off-policy pairs held at y = 0, maximises over the flows with y_Z = 0 (a null space
computed exactly by sympy, then a weighted least-squares solve), keeps the candidates with y ≥ 0 off
π, and returns the largest value: the unique maximiser is among them, and every candidate is dual
feasible, hence a lower bound.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations, product

import sympy


def _flow_matrix(mdp, columns):
    """Rows s' of the flow condition restricted to the pairs in ``columns``."""
    n, m = mdp.n_states, mdp.n_actions
    rows = []
    for target in range(n):
        row = []
        for x in columns:
            value = sympy.Integer(1) if x // m == target else sympy.Integer(0)
            if mdp.gamma:
                for t, p in mdp.successors(x):
                    if t == target:
                        value -= sympy.Rational(mdp.gamma.numerator, mdp.gamma.denominator) * \
                            sympy.Rational(p.numerator, p.denominator)
            row.append(value)
        rows.append(row)
    return sympy.Matrix(rows)


def _q(value: Fraction):
    return sympy.Rational(value.numerator, value.denominator)


def dual_brute_force(mdp, data, policy) -> Fraction:
    """``g_π(D)`` exactly, by the dual and its active sets."""
    m = mdp.n_actions
    on = {s * m + a for s, a in enumerate(policy)}
    free = [x for x in range(mdp.n_pairs) if data[x] and mdp.is_enabled(x)]
    off = [x for x in free if x not in on]
    best = None
    for size in range(len(off) + 1):
        for zero in combinations(off, size):
            columns = [x for x in free if x not in zero]
            if not columns:
                value, y = sympy.Integer(0), {}
            else:
                basis = _flow_matrix(mdp, columns).nullspace()
                if not basis:
                    value, y = sympy.Integer(0), {x: sympy.Integer(0) for x in columns}
                else:
                    N = sympy.Matrix.hstack(*basis)
                    W = sympy.diag(*[1 / _q(data[x]) for x in columns])
                    target = sympy.Matrix([_q(data[x] * mdp.reward[x]) for x in columns])
                    c = (N.T * W * N).LUsolve(N.T * W * target)
                    vec = N * c
                    y = {x: vec[i] for i, x in enumerate(columns)}
                    value = sum(2 * y[x] * _q(mdp.reward[x]) - y[x] ** 2 / _q(data[x]) for x in columns)
            if any(y.get(x, 0) < 0 for x in off):
                continue
            value = Fraction(int(sympy.fraction(value)[0]), int(sympy.fraction(value)[1]))
            if best is None or value > best:
                best = value
    return best


def squared_critical_brute_force(mdp, data, regret_bound) -> Fraction | None:
    """``ε*_MSE(D)``: every deterministic policy's return by a plain exact solve, then the dual."""
    n, m = mdp.n_states, mdp.n_actions
    returns = {}
    for policy in product(*[[a for a in range(m) if mdp.is_enabled(s * m + a)] for s in range(n)]):
        A = sympy.eye(n)
        for s, a in enumerate(policy):
            if mdp.gamma:
                for t, p in mdp.successors(s * m + a):
                    A[s, t] -= _q(mdp.gamma) * _q(p)
        v = A.LUsolve(sympy.Matrix([_q(mdp.reward[s * m + a]) for s, a in enumerate(policy)]))
        j = sum(_q(mdp.initial[s]) * v[s] for s in range(n))
        returns[policy] = Fraction(int(sympy.fraction(j)[0]), int(sympy.fraction(j)[1]))
    best, worst = max(returns.values()), min(returns.values())
    if best == worst:
        return None
    threshold = best - Fraction(regret_bound) * (best - worst)
    values = [dual_brute_force(mdp, data, p) for p, j in returns.items() if j <= threshold]
    if not values:
        return None
    spread = mdp.range_reward
    return min(values) / spread ** 2
