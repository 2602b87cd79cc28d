"""The matrix M of Theorem 3.5: ``D ∈ safe(R, ε, L) ⇔ M D > ε · range R · 1`` (row-wise).

**Construction (bases).**  For ``π ∈ Π_L`` let ``Q_π`` be the polyhedron of
``(R̂, t)`` with ``π`` uniformly optimal for ``R̂`` and ``t ≥ |R̂ − R|``.  Writing
``R̂ = g_V + ξ`` with ``g_V(s,a) = V(s) − γ τ(·|s,a)·V``, ``ξ = 0`` on ``π``'s
pairs and ``ξ ≤ 0`` elsewhere, a vertex of ``Q_π`` must fix ``V`` by ``|S|``
linearly independent equations ``g_V(x) = R(x)``.  So every vertex belongs to
a *basis*: ``|S|`` pairs ``T`` whose rows of ``A − γP`` are independent, with
``V_T`` the solution.  ``V_T`` does not depend on ``π``.  The cheapest
completion at ``V_T`` has
``t(x) = |g(x) − R(x)|`` on ``π``'s pairs and ``t(x) = (R(x) − g(x))⁺``
elsewhere, and any other vertex at ``V_T`` only adds error.  Then
``f_π(D) = min_T D · t_{T,π}`` for every ``D ≥ 0`` (a linear objective that is
bounded below on a pointed polyhedron is minimised at a vertex).  So the rows
of ``M`` are the ``t_{T,π}`` over ``π ∈ Π_L``, with duplicates and
componentwise-dominated rows removed.  Each row keeps its witness
``(R̂, π)``.

At a fixed ``T``, ``t_{T,π} = b_T + Σ_{x ∈ C(π)} c_T(x) e_x``, where
``b_T = (R − g)⁺``, ``c_T = (g − R)⁺`` and ``C(π)`` is the set of ``π``'s pairs
with ``c_T > 0``.  Only the policies whose ``C(π)`` is minimal under inclusion
give undominated rows, so the enumeration costs ``C(|S×A|, |S|)`` exact
solves, plus one bitmask per basis and policy.

**The paper's Algorithm 1** (App. C.3.3) is implemented too,
as ``paper_algorithm_rows``.  It enumerates faces of the orthant-cut cones
``F_c(v)`` and gives the same safe set (rows may differ, e.g. its dominated
row ``(0, .8, 1.18)`` on Figure 4).  It is exponential in ``|S|(|A|−1)`` and
serves as an independent cross-check on small instances.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction
from math import comb
from typing import Sequence

from flint import fmpq, fmpq_mat

from .errors import ModelError, ResourceLimit
from .evaluation import Progress, ReturnBounds, enumerate_policies, return_bounds
from .exactlp import linear_program
from .linalg import dynamics, to_fmpq, to_fraction
from .numbers import equals_count, exact_arguments
from .model import MDP, DeterministicPolicy, Vector

MAX_BASES = 2_000_000
MAX_PAPER_CANDIDATES = 200_000


@dataclass(frozen=True)
class MatrixRow:
    """One row of M: ``D`` survives it iff ``coefficients · D > ε · range R``.

    ``coefficients = |witness − R|``: the witness ``R̂`` makes ``policy`` (regret ≥ L)
    uniformly optimal, so for every ``D`` the error ``E_D|R̂ − R|`` is this row times ``D``.
    """

    coefficients: Vector
    policy: DeterministicPolicy
    witness: Vector
    redundant: bool = False


@dataclass(frozen=True)
class SafetyMatrix:
    rows: tuple[MatrixRow, ...]                 # deduplicated, no row dominates another
    range_reward: Fraction
    high_regret_policies: tuple[DeterministicPolicy, ...]
    bounds: ReturnBounds
    bases: int                                   # bases enumerated (invertible ones)

    @exact_arguments(vectors=("data",))     # numbers read like the CLI reads them; floats refused
    def critical_epsilon(self, data: Sequence[Fraction]) -> Fraction | None:
        """``min_k (M D)_k / range R``; ``None`` (= +∞) when ``Π_L`` is empty."""
        if not self.rows:
            return None
        return min(sum((c * d for c, d in zip(row.coefficients, data) if c and d), Fraction(0))
                   for row in self.rows) / self.range_reward

    @exact_arguments("epsilon", vectors=("data",))
    def is_safe(self, data: Sequence[Fraction], epsilon: Fraction) -> bool:
        """Theorem 3.5 as stated: every row has ``row · D > ε · range R``."""
        bound = epsilon * self.range_reward
        return all(sum((c * d for c, d in zip(row.coefficients, data)), Fraction(0)) > bound
                   for row in self.rows)


def high_regret_policies(mdp: MDP, regret_bound: Fraction, bounds: ReturnBounds | None = None,
                         progress: Progress | None = None) -> tuple[DeterministicPolicy, ...]:
    """``Π_L`` by enumeration (the matrix needs every member)."""
    bounds = bounds or return_bounds(mdp)
    if bounds.degenerate:
        return ()
    return tuple(e.policy for e in enumerate_policies(mdp, bounds, progress=progress) if e.regret >= regret_bound)


def _bellman_rows(mdp: MDP) -> list[list[fmpq]]:
    """Row ``x`` of ``A − γP``: ``e_{s(x)} − γ τ(·|x)`` (dense, n entries)."""
    dyn = dynamics(mdp)
    return [dyn.dense_row(x) for x in range(mdp.n_pairs)]


def _minimal_masks(masks: set[int]) -> list[int]:
    """Bitmasks with no other mask as a strict subset."""
    ordered = sorted(masks, key=lambda b: (bin(b).count("1"), b))
    kept: list[int] = []
    for mask in ordered:
        if not any(k & mask == k for k in kept):
            kept.append(mask)
    return kept


def remove_dominated(rows: Sequence[MatrixRow]) -> list[MatrixRow]:
    """Deduplicate and drop rows that are componentwise ≥ another row (they never bind).

    Each entry is replaced by its rank among the distinct values of its column:
    that keeps every comparison within a column exact, and turns the quadratic
    pairwise test into integer array comparisons."""
    import numpy as np
    unique: dict[Vector, MatrixRow] = {}
    for row in rows:
        unique.setdefault(row.coefficients, row)
    ordered = sorted(unique.values(), key=lambda r: (sum(r.coefficients), r.coefficients))
    if not ordered:
        return []
    width = len(ordered[0].coefficients)
    ranks = np.empty((len(ordered), width), dtype=np.int64)
    for j in range(width):
        levels = {v: k for k, v in enumerate(sorted({r.coefficients[j] for r in ordered}))}
        ranks[:, j] = [levels[r.coefficients[j]] for r in ordered]
    # A row with a smaller sum can dominate a later one, never the reverse (rows are distinct).
    kept_index: list[int] = []
    for i in range(len(ordered)):
        if kept_index and np.any(np.all(ranks[kept_index] <= ranks[i], axis=1)):
            continue
        kept_index.append(i)
    return [ordered[i] for i in kept_index]


def dominating_row(row: Vector, rows: Sequence[MatrixRow]) -> MatrixRow | None:
    """A row of ``rows`` that is componentwise ≤ ``row`` (so ``row`` is implied), if any."""
    return next((k for k in rows if all(a <= b for a, b in zip(k.coefficients, row))), None)


def safety_matrix(mdp: MDP, regret_bound: Fraction, *, bounds: ReturnBounds | None = None,
                  progress: Progress | None = None, mark_redundant: bool = True) -> SafetyMatrix:
    """M exactly over the rationals, by enumerating bases (module docstring)."""
    if not (0 < regret_bound <= 1):
        raise ModelError(f"the regret bound L must satisfy 0 < L <= 1, got {regret_bound}", entry="regret")
    bounds = bounds or return_bounds(mdp)
    n, m, N = mdp.n_states, mdp.n_actions, mdp.n_pairs
    pairs = mdp.enabled_pairs      # bases among enabled pairs: the vertices of Q_π of the true MDP
    total = comb(len(pairs), n)                                           # second phase: the bases
    # Π_L is non-empty exactly when range J > 0 (the pessimal policy has regret 1 ≥ L), so the
    # bases count can be refused before the policy enumeration, which may itself be long.
    if not bounds.degenerate and total > MAX_BASES:
        raise ResourceLimit(f"M needs C({len(pairs)}, {n}) {equals_count(total)} bases; at most {MAX_BASES} are enumerated "
                            "(use `rewardcert threshold` for eps*(D), or `safest`, which do not build M)")
    policies = high_regret_policies(mdp, regret_bound, bounds, progress)   # first phase: the policies
    reward = [to_fmpq(r) for r in mdp.reward]
    bellman = _bellman_rows(mdp)
    policy_pairs = [[s * m + a for s, a in enumerate(pi)] for pi in policies]
    rows: list[MatrixRow] = []
    bases = 0
    step = max(1, total // 200)
    for index, subset in enumerate(itertools.combinations(pairs, n) if policies else ()):
        if progress and index % step == 0:
            progress(index, total)
        matrix = fmpq_mat(n, n, [v for x in subset for v in bellman[x]])
        if matrix.rank() < n:
            continue
        bases += 1
        potential = matrix.solve(fmpq_mat(n, 1, [reward[x] for x in subset]))
        g = [sum((row[k] * potential[k, 0] for k in range(n) if row[k]), fmpq(0)) for row in bellman]
        over = [max(g[x] - reward[x], fmpq(0)) for x in range(N)]     # c_T: R̂ must rise above R
        under = [max(reward[x] - g[x], fmpq(0)) for x in range(N)]    # b_T: R̂ must drop below R
        if mdp.has_disabled:   # no constraint and no error on a disabled pair
            for x in range(N):
                if not mdp.is_enabled(x):
                    over[x] = under[x] = fmpq(0)
        representative: dict[int, int] = {}
        for p, pairs in enumerate(policy_pairs):
            mask = 0
            for x in pairs:
                if over[x]:
                    mask |= 1 << x
            representative.setdefault(mask, p)
        for mask in _minimal_masks(set(representative)):
            p = representative[mask]
            on = set(policy_pairs[p])
            coefficients = tuple(to_fraction(under[x] + (over[x] if (mask >> x) & 1 else fmpq(0)))
                                 for x in range(N))
            witness = tuple(to_fraction(g[x] if x in on else min(reward[x], g[x])) for x in range(N))
            rows.append(MatrixRow(coefficients, policies[p], witness))
    if progress:
        progress(total, total)
    kept = remove_dominated(rows)
    if mark_redundant:
        kept = mark_redundant_rows(kept)
    return SafetyMatrix(tuple(kept), mdp.range_reward, policies, bounds, bases)


def witnessed_irredundant(rows: Sequence[MatrixRow], samples: int = 3000, seed: int = 0) -> set[int]:
    """Rows proved irredundant by an exact witness: an integer ``D ≥ 0`` at which the row is the
    *unique* minimum of ``row·D``.  Floats (numpy) only pick which ``D`` to try; each witness is
    confirmed in exact integer arithmetic, so the answer never depends on rounding."""
    import random
    from math import lcm

    import numpy as np

    if len(rows) < 2:
        return set()
    N = len(rows[0].coefficients)
    scale = 1
    for row in rows:
        for v in row.coefficients:
            scale = lcm(scale, v.denominator)
    ints = [[int(v * scale) for v in row.coefficients] for row in rows]
    floats = np.array([[float(v) for v in row.coefficients] for row in rows])
    rng = random.Random(seed)
    candidates = [[int(i == x) for i in range(N)] for x in range(N)] + [[1] * N]
    candidates += [[rng.randint(0, 20) for _ in range(N)] for _ in range(samples)]
    guesses = np.argmin(floats @ np.array(candidates, dtype=float).T, axis=0)
    found: set[int] = set()
    for D, k in zip(candidates, guesses):
        k = int(k)
        if k in found or not any(D):
            continue
        mine = sum(a * b for a, b in zip(ints[k], D))
        if all(sum(a * b for a, b in zip(other, D)) > mine for j, other in enumerate(ints) if j != k):
            found.add(k)
    return found


def mark_redundant_rows(rows: Sequence[MatrixRow], *, prefilter: bool = True) -> list[MatrixRow]:
    """Flag rows implied on the simplex by the others, for every ε:
    row k is redundant iff ``max_{D ∈ Δ} (min_{j≠k} row_j·D − row_k·D) ≤ 0``.

    Rows with an exact witness ``D`` (``witnessed_irredundant``) are irredundant without an LP;
    the others get one exact LP each (``prefilter=False``: every row gets its LP)."""
    if len(rows) < 2:
        return list(rows)
    N = len(rows[0].coefficients)
    witnessed = witnessed_irredundant(rows) if prefilter else set()
    out = []
    for k, row in enumerate(rows):
        if k in witnessed:
            out.append(MatrixRow(row.coefficients, row.policy, row.witness, redundant=False))
            continue
        # variables: D (N) and z; maximise z − row_k·D, z ≤ row_j·D for j ≠ k, ΣD = 1.
        c = [-v for v in row.coefficients] + [Fraction(1)]
        a_ub = [[-v for v in other.coefficients] + [Fraction(1)] for j, other in enumerate(rows) if j != k]
        result = linear_program(c, a_ub, [0] * len(a_ub), [[1] * N + [0]], [1])
        out.append(MatrixRow(row.coefficients, row.policy, row.witness, redundant=result.value <= 0))
    return out


# -- the paper's Algorithm 1 -------------------------------------------------------------

def paper_algorithm_rows(mdp: MDP, regret_bound: Fraction, *, bounds: ReturnBounds | None = None,
                         max_candidates: int = MAX_PAPER_CANDIDATES) -> list[Vector]:
    """Rows of M as Algorithm 1 of the paper computes them (App. C.3.3), exactly.

    For each ``π ∈ Π_L``, each subset ``E_F`` of the off-policy unit vectors and
    each ``|S|``-subset of the remaining ones (``E_G = E_F ∪ subset``): if
    ``E_G·[A − γP, −E_F]`` has full rank ``n + k``, solve it against ``E_G·R``, and
    when the cone coefficients are ``≥ 0`` emit ``|−R + [A − γP, −E_F] x|``.
    """
    bounds = bounds or return_bounds(mdp)
    n, m, N = mdp.n_states, mdp.n_actions, mdp.n_pairs
    policies = high_regret_policies(mdp, regret_bound, bounds)
    bellman = _bellman_rows(mdp)
    reward = [to_fmpq(r) for r in mdp.reward]
    budget = 0
    rows: set[Vector] = set()
    for pi in policies:
        off = [s * m + a for s in range(n) for a in mdp.enabled_actions(s) if a != pi[s]]
        for k in range(len(off) + 1):
            for e_f in itertools.combinations(off, k):
                rest = [x for x in mdp.enabled_pairs if x not in e_f]
                for subset in itertools.combinations(rest, n):
                    budget += 1
                    if budget > max_candidates:
                        raise ResourceLimit(f"Algorithm 1 needs more than {max_candidates} candidates here")
                    e_g = list(e_f) + list(subset)
                    # columns: the n columns of A − γP, then −e_x for x in E_F
                    entries = []
                    for x in e_g:
                        entries.extend(bellman[x])
                        entries.extend(fmpq(-1) if x == f else fmpq(0) for f in e_f)
                    matrix = fmpq_mat(n + k, n + k, entries)
                    if matrix.rank() < n + k:
                        continue
                    sol = matrix.solve(fmpq_mat(n + k, 1, [reward[x] for x in e_g]))
                    if any(sol[n + i, 0] < 0 for i in range(k)):
                        continue
                    row = []
                    for x in range(N):
                        value = sum((bellman[x][j] * sol[j, 0] for j in range(n)), fmpq(0))
                        if x in e_f:
                            value -= sol[n + e_f.index(x), 0]
                        row.append(abs(to_fraction(value) - mdp.reward[x]) if mdp.is_enabled(x) else Fraction(0))
                    rows.add(tuple(row))
    return sorted(rows)
