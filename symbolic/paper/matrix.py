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
import math
from dataclasses import dataclass
from fractions import Fraction
from math import comb
from typing import Callable, Sequence

from flint import fmpq, fmpq_mat, fmpz_mat

from ..core.errors import ResourceLimit
from ..core.model import MDP, DeterministicPolicy, Vector
from ..core.numbers import equals_count, exact_arguments
from ..core.parameters import check_regret_bound
from ..exact.evaluation import Progress, ReturnBounds, enumerate_policies
from ..exact.familylp import linear_program
from ..exact.linalg import dynamics, to_fmpq, to_fraction
from ..guidance.floatvi import return_bounds

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
    redundant: bool | None = False              # None: not checked (the marking was stopped)


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
    regret_bound = check_regret_bound(regret_bound)
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
        kept = mark_redundant_rows(kept, progress=progress)
    return SafetyMatrix(tuple(kept), mdp.range_reward, policies, bounds, bases)


_BRACKET_LIMIT_BITS = 62   # int64 sums in the bracketed unique-minimum test stay below 2^62
_BRACKET_SUM_BITS = 24     # ... for integer points with ΣD < 2^24
_BRACKET_MIN_BITS = 20     # fewer fraction bits than this (entries near 2^18): exact products only


class _Scores:
    """The unique-minimum test ``row_k·D < row_j·D`` for all ``j ≠ k``, exactly, for all rows at once.

    Each row keeps its own denominator ``d_j`` (``row_j = a_j / d_j``, ``a_j`` integer): scaling all
    rows to integers would take the lcm of every denominator in M (thousands of bits at 4×4),
    and FLINT's rational matrix product clears denominators that way too.  With an integer
    ``D``, ``d_j d_k (row_j·D − row_k·D) = d_k (a_j·D) − d_j (a_k·D)``, two integer matrix
    products whose signs are the comparisons."""

    def __init__(self, rows: Sequence[MatrixRow]):
        from math import lcm

        import numpy as np
        self.count = len(rows)
        self.width = len(rows[0].coefficients)
        self.rational = [[to_fmpq(v) for v in row.coefficients] for row in rows]
        denominators = [lcm(*(v.denominator for v in row.coefficients)) for row in rows]
        self.integer_rows = [[v.numerator * (d // v.denominator) for v in row.coefficients]
                             for row, d in zip(rows, denominators)]
        self.numerators = fmpz_mat(self.count, self.width, [a for row in self.integer_rows for a in row])
        self.denominators = fmpz_mat(self.count, 1, denominators)
        self.floats = np.array([[float(v) for v in row.coefficients] for row in rows])   # guidance only
        self.tolerance = 1e-7 * max(1.0, float(np.max(np.abs(self.floats))))
        self.integer_denominators = denominators
        self.low = self.high = None
        largest = max(abs(v) for row in rows for v in row.coefficients)
        bits = _BRACKET_LIMIT_BITS - _BRACKET_SUM_BITS - max(1, math.ceil(largest)).bit_length() - 1
        if bits >= _BRACKET_MIN_BITS:
            self.low = np.array([[(v.numerator << bits) // v.denominator for v in row.coefficients]
                                 for row in rows], dtype=np.int64)
            self.high = np.array([[-((-v.numerator << bits) // v.denominator) for v in row.coefficients]
                                  for row in rows], dtype=np.int64)

    def unique_minimum(self, k: int, data: Sequence[int]) -> bool:
        """Is row ``k`` the strict minimum of ``row·D`` at the integer ``D ≥ 0`` (not all 0)?"""
        if len(data) != self.width or not any(data) or any(d < 0 for d in data):
            return False
        if self.low is not None and sum(data) < 1 << _BRACKET_SUM_BITS:
            return self._bracketed_minimum(k, [int(d) for d in data])
        values = self.numerators * fmpz_mat(self.width, 1, [int(d) for d in data])
        mine, own = values[k, 0], self.denominators[k, 0]
        signs = (values * own - self.denominators * mine).entries()
        return min(signs[:k] + signs[k + 1:]) > 0

    def _bracketed_minimum(self, k: int, data: list[int]) -> bool:
        """``unique_minimum`` in int64 where it is safe, exactly: ``low_j ≤ 2^b row_j ≤ high_j``
        entrywise (floor and ceiling, computed in Python integers), so with ``D ≥ 0``
        ``low_j·D > high_k·D`` proves ``row_j·D > row_k·D``.  Every entry of ``low``/``high`` is at
        most ``2^b·max|row| + 1`` in size and ``ΣD < 2^24``, which ``b`` was chosen to keep every
        product sum below ``2^62``.  The few rows the brackets leave open (near ties) are
        compared exactly in Python integers."""
        import numpy as np
        point = np.array(data, dtype=np.int64)
        lower = self.low @ point
        open_rows = np.nonzero(lower <= int(self.high[k] @ point))[0]
        mine = sum(a * d for a, d in zip(self.integer_rows[k], data))
        own = self.integer_denominators[k]
        for j in open_rows.tolist():
            if j != k and own * sum(a * d for a, d in zip(self.integer_rows[j], data)) \
                    - self.integer_denominators[j] * mine <= 0:
                return False
        return True

    def unique_minima(self, candidates: Sequence[Sequence[int]], guesses: Sequence[int]) -> list[bool]:
        return [self.unique_minimum(k, data) for data, k in zip(candidates, guesses)]


def witnessed_irredundant(rows: Sequence[MatrixRow], samples: int = 3000, seed: int = 0,
                          scores: "_Scores | None" = None) -> set[int]:
    """Rows proved irredundant by an exact witness: an integer ``D ≥ 0`` at which the row is the
    *unique* minimum of ``row·D``.  Floats (numpy) only pick which ``D`` to try; each witness is
    confirmed exactly (``_Scores.unique_minimum``), so the answer never depends on rounding."""
    import numpy as np

    if len(rows) < 2:
        return set()
    N = len(rows[0].coefficients)
    scores = scores or _Scores(rows)
    floats = scores.floats
    candidates = [[int(i == x) for i in range(N)] for x in range(N)] + [[1] * N]
    candidates += np.random.default_rng(seed).integers(0, 21, size=(samples, N)).tolist()
    guesses = [int(k) for k in np.argmin(floats @ np.array(candidates, dtype=float).T, axis=0)]
    # one candidate per guessed row is enough when it holds; a second try covers ties in floats
    tries: dict[int, list[int]] = {}
    for index, k in enumerate(guesses):
        if any(candidates[index]) and len(tries.setdefault(k, [])) < 2:
            tries[k].append(index)
    chosen = [index for indices in tries.values() for index in indices]
    confirmed = scores.unique_minima([candidates[i] for i in chosen], [guesses[i] for i in chosen])
    return {guesses[i] for i, ok in zip(chosen, confirmed) if ok}


def _redundancy_lp(rows: Sequence[MatrixRow], k: int, others: Sequence[int]) -> bool:
    """Exactly: is row ``k`` implied on the simplex by the rows ``others`` (``k`` not among them)?

    Variables ``D`` (N) and ``z``; maximise ``z − row_k·D`` s.t. ``z ≤ row_j·D``, ``ΣD = 1``.
    Implied by a subset of the other rows means implied by all of them."""
    N = len(rows[k].coefficients)
    c = [-v for v in rows[k].coefficients] + [Fraction(1)]
    a_ub = [[-v for v in rows[j].coefficients] + [Fraction(1)] for j in others]
    return linear_program(c, a_ub, [0] * len(a_ub), [[1] * N + [0]], [1]).value <= 0


def _integer_point(point: Sequence[float], scale: int = 1 << 40) -> list[int]:
    """A float ``D`` as a nonnegative integer vector (only the direction of ``D`` matters)."""
    import math
    return [int(round(v * scale)) if math.isfinite(v) and v > 0 else 0 for v in point]


def _combination_below(scores: "_Scores", k: int, support: Sequence[int], weights: Sequence[float]) -> bool:
    """Exactly: is there a convex combination of the rows ``support`` that is componentwise
    ``≤ row_k``?  (Then row ``k`` is redundant: the LP dual in ``rewardcert.symbolic.guidance.redundancy``.)

    The float ``weights`` are not rounded: at the floating optimum the combination meets
    ``row_k`` on some pairs, and rounding would break those equalities.  Instead they say
    which pairs are tight, and the weights are solved for exactly from those equalities and
    ``Σ λ = 1`` (FLINT row reduction); the solution is then checked exactly."""
    import math

    import numpy as np

    if not weights or not all(math.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0:
        return False
    s = len(support)
    lam = np.array(weights) / sum(weights)
    gap = lam @ scores.floats[list(support)] - scores.floats[k]
    tight = [i for i in range(scores.width) if gap[i] >= -scores.tolerance]
    entries = [fmpq(1)] * s + [fmpq(1)]
    for i in tight:
        entries += [scores.rational[j][i] for j in support] + [scores.rational[k][i]]
    reduced, rank = fmpq_mat(len(tight) + 1, s + 1, entries).rref()
    exact = [fmpq(0)] * s
    for r in range(rank):
        pivot = next((c for c in range(s + 1) if reduced[r, c] != 0), s)
        if pivot == s:                     # 0 = 1: the tight pairs cannot all be equalities
            return False
        exact[pivot] = reduced[r, s]
    if any(v < 0 for v in exact):
        return False
    for i in range(scores.width):
        if sum((v * scores.rational[j][i] for v, j in zip(exact, support) if v), fmpq(0)) > scores.rational[k][i]:
            return False
    return sum(exact) == 1


def _float_hints(rows: Sequence[MatrixRow], start: set[int]):
    """The floating hint solver of ``rewardcert.symbolic.guidance.redundancy`` (``LayeredHints``: the batched game LPs, then
    HiGHS for a row they could not settle), or ``None`` for rows beyond floats (exact LPs alone)."""
    try:
        from ..guidance.redundancy import LayeredHints
        return LayeredHints([[float(v) for v in row.coefficients] for row in rows], sorted(start))
    except (OverflowError, ValueError):   # a row beyond floats
        # (not ImportError: a broken import of the toolkit's own module must fail loudly, not
        # silently drop every hint; a missing highspy only costs the second opinion, ``retry``)
        return None


def mark_redundant_rows(rows: Sequence[MatrixRow], *, prefilter: bool = True,
                        progress: Progress | None = None, hints=_float_hints,
                        stop: Callable[[], bool] | None = None) -> list[MatrixRow]:
    """Flag rows implied on the simplex by the others, for every ε:
    row k is redundant iff ``max_{D ∈ Δ} (min_{j≠k} row_j·D − row_k·D) ≤ 0``.

    ``prefilter=False``: one dense exact LP per row.  Otherwise every mark is still proved
    exactly, but most proofs are cheap:

    1. rows with an exact witness ``D`` (``witnessed_irredundant``) are irredundant;
    2. for the others a floating LP (``hints(rows, witnessed)``, HiGHS by default) suggests
       either a point ``D``, confirmed exactly as a witness, or a few rows whose convex
       combination lies below row k, confirmed by solving exactly for its weights or else
       by an exact LP against those rows alone;
    3. a row whose hint is missing, wrong or unconfirmed gets the dense exact LP.

    ``progress(done, total)`` is called every ``K/200`` rows and before every dense exact LP,
    so a caller's time limit (raising from it) can stop the marking.  ``stop()`` is polled at the
    same places: when it is true, the rows not yet decided are returned with ``redundant=None``
    (not checked).  Keeping a row never changes ``min_k row_k·D``, so such an M is still M."""
    if len(rows) < 2:
        return list(rows)
    K = len(rows)
    everyone = range(K)
    scores = _Scores(rows) if prefilter else None
    witnessed = witnessed_irredundant(rows, scores=scores) if prefilter else set()
    solver = hints(rows, witnessed) if prefilter else None
    step = max(1, K // 200)
    out = []
    for k, row in enumerate(rows):
        if k % step == 0:
            if progress:
                progress(k, K)
            if stop is not None and stop():
                return out + _unchecked(rows[k:])
        redundant = None
        if k in witnessed:
            redundant = False
        elif solver is not None:
            redundant = _confirmed_hint(rows, k, solver.hint(k), scores)
            if redundant is None and hasattr(solver, "retry"):      # a second opinion before the dense LP
                redundant = _confirmed_hint(rows, k, solver.retry(k), scores)
        if redundant is None:
            if progress:       # a dense exact LP can take minutes at 4x4: poll the time limit first
                progress(k, K)
            if stop is not None and stop():
                return out + _unchecked(rows[k:])
            redundant = _redundancy_lp(rows, k, [j for j in everyone if j != k])
        out.append(MatrixRow(row.coefficients, row.policy, row.witness, redundant=redundant))
    if progress:
        progress(K, K)
    return out


def _unchecked(rows: Sequence[MatrixRow]) -> list[MatrixRow]:
    """``rows`` marked "not checked" (``redundant=None``): the marking stopped before them."""
    return [MatrixRow(r.coefficients, r.policy, r.witness, redundant=None) for r in rows]


def _confirmed_hint(rows: Sequence[MatrixRow], k: int, hint, scores: _Scores) -> bool | None:
    """The mark a floating hint suggests if exact arithmetic confirms it, else ``None``."""
    if hint is None:
        return None
    if not hint.redundant:     # a coarse point first (the int64 test), then a fine one (exact products)
        if scores.unique_minimum(k, _integer_point(hint.point, 1 << 20)) or \
                scores.unique_minimum(k, _integer_point(hint.point)):
            return False
        return None
    support = [j for j in dict.fromkeys(hint.support) if 0 <= j < len(rows) and j != k]
    if not support:
        return None
    if support == list(hint.support) and len(hint.weights) == len(support) and \
            _combination_below(scores, k, support, hint.weights):
        return True
    return True if _redundancy_lp(rows, k, support) else None


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
    # Refuse before enumerating: per policy there are Σ_k C(|off|, k) C(|pairs| − k, n) candidates
    # (counting them one by one cost more than the cross-check's whole budget at 4x4).
    enabled = len(mdp.enabled_pairs)
    needed = 0
    for pi in policies:
        off_count = sum(len(mdp.enabled_actions(s)) - (a in mdp.enabled_actions(s)) for s, a in enumerate(pi))
        needed += sum(comb(off_count, k) * comb(enabled - k, n) for k in range(off_count + 1))
        if needed > max_candidates:
            raise ResourceLimit(f"Algorithm 1 needs more than {max_candidates} candidates here")
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
