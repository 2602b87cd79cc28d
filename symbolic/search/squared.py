"""The mean-squared error at λ = 0 (paper App. B.3): ``ε*_MSE(D)`` exactly, by one convex QP per
high-regret deterministic policy, each solved to a rational KKT point (docs/theory.md §3a).

P1 reads ``E_D[(R̂ − R)²] ≤ ε (range R)²`` (App. B.3's ``d^MSE_D(R, R̂) = E_D[((R̂ − R)/range R)²] ≤ ε``).
As with the absolute error, ``D`` is unsafe exactly when some deterministic ``π`` of regret ``≥ L``
is uniformly optimal for some ``R̂`` with P1 (Lemma A, the toolkit's own, does not depend on the error
measure), so ``ε*_MSE(D) = min_{π ∈ Π_L} g_π(D) / (range R)²`` with

    g_π(D) = min Σ_x D(x)(R̂(x) − R(x))²   over the R̂ that make π uniformly optimal.

**Optimality certificate.**  ``(R̂*, y)`` with ``π`` uniformly optimal for ``R̂*`` (primal
feasibility), ``y = D ∘ (R − R̂*)`` (stationarity in ``R̂``), ``y`` a flow with no source,
``Σ_a y(s',a) = γ Σ_{s,a} τ(s'|s,a) y(s,a)`` (stationarity in ``V``), ``y ≥ 0`` off ``π``'s pairs (dual
feasibility) and ``y(x) A*(x) = 0`` there (complementarity) proves ``g_π(D) = Σ D (R̂* − R)²``: for
any ``R̂`` that makes ``π`` optimal, ``y·R̂ = Σ_x y(x) A_R̂(x) ≤ 0`` (the flow cancels ``V``), ``y·R̂* = 0``,
and ``Σ D(R̂ − R)² − Σ D(R̂* − R)² ≥ −2 y·(R̂ − R̂*) ≥ 0``.  The checker replays exactly this
(``proofs/certcheck/squared.py``).

**Finding it.**  ``g_π = min_V φ(V)`` (``guidance/squaredfloat.py``), a convex piecewise quadratic in the
values ``V``.  Floats propose ``V``; the pieces it sits on (the off-policy pairs with ``R > b(V)``,
and those on the boundary) give a rational linear system, the normal equations of that piece,
whose solution is checked exactly.  If it does not check, exact Newton steps follow, then (at most
``2^ENUMERATE_UP_TO`` pieces) every piece; a policy none of these settles makes the answer unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import Sequence

from ..core.errors import ResourceLimit
from ..core.model import MDP, DeterministicPolicy, Vector
from ..core.results import Verdict
from ..exact.evaluation import ReturnBounds, enumerate_policies
from ..guidance.floatvi import return_bounds

MAX_SQUARED_POLICIES = 4096
"""Most deterministic policies ``--error squared`` enumerates (and the checker re-enumerates)."""
ENUMERATE_UP_TO = 12
"""The last resort tries every piece when a policy has at most this many off-policy data pairs."""
NEWTON_STEPS = 30


@dataclass(frozen=True)
class SquaredOptimum:
    """The KKT point of one policy's QP: ``value = Σ D(R̂ − R)² = g_π(D)`` exactly."""

    policy: DeterministicPolicy
    reward: Vector                     # R̂*, for which the policy is uniformly optimal
    multipliers: Vector                # y = D ∘ (R − R̂*)
    active: tuple[int, ...]            # off-policy pairs whose optimality constraint is tight (A = 0)
    value: Fraction

    def error(self, range_reward: Fraction) -> Fraction:
        """``E_D[(R̂ − R)²] / (range R)²``."""
        return self.value / range_reward ** 2


@dataclass(frozen=True)
class SquaredResult:
    """``ε*_MSE(D)`` (``None``: no policy has regret ``≥ L``, so ``D`` is safe for every ``ε``), with
    one KKT point per policy of ``Π_L`` and the minimiser (the witness)."""

    bounds: ReturnBounds
    range_reward: Fraction
    optima: tuple[SquaredOptimum, ...]
    witness: SquaredOptimum | None
    policies: int                      # deterministic policies enumerated

    @property
    def critical_epsilon(self) -> Fraction | None:
        return None if self.witness is None else self.witness.error(self.range_reward)

    def verdict(self, epsilon: Fraction) -> Verdict:
        star = self.critical_epsilon
        return Verdict.SAFE if star is None or epsilon < star else Verdict.UNSAFE


class _System:
    """The exact rows ``b_x`` of one policy's problem."""

    def __init__(self, mdp: MDP, data: Sequence[Fraction], policy: DeterministicPolicy):
        n, m = mdp.n_states, mdp.n_actions
        self.mdp, self.data, self.policy, self.n = mdp, data, policy, n
        self.rows = []
        for x in range(mdp.n_pairs):
            row = {x // m: Fraction(1)}
            if mdp.gamma:
                for t, p in mdp.successors(x):
                    row[t] = row.get(t, Fraction(0)) - mdp.gamma * p
            self.rows.append(row)
        self.on = [s * m + a for s, a in enumerate(policy)]
        on = set(self.on)
        self.off = [x for x in mdp.enabled_pairs if x not in on]
        self.pieces = [x for x in self.off if data[x]]      # off-policy pairs whose error can cost

    def b(self, x: int, values: Sequence[Fraction]) -> Fraction:
        return sum((c * values[t] for t, c in self.rows[x].items()), Fraction(0))

    def equations(self, piece, tight) -> tuple[list[list[Fraction]], list[Fraction]]:
        """The normal equations of ``Σ_{x on π or in piece} D(x)(b_x·V − R(x))²`` and ``b_x·V = R(x)`` for
        ``x ∈ tight``."""
        n, reward = self.n, self.mdp.reward
        matrix = [[Fraction(0)] * n for _ in range(n)]
        rhs = [Fraction(0)] * n
        for x in list(self.on) + list(piece):
            d = self.data[x]
            if not d:
                continue
            row = self.rows[x]
            for i, ci in row.items():
                rhs[i] += d * reward[x] * ci
                for j, cj in row.items():
                    matrix[i][j] += d * ci * cj
        for x in tight:
            matrix.append([self.rows[x].get(j, Fraction(0)) for j in range(n)])
            rhs.append(reward[x])
        return matrix, rhs

    def optimum(self, values: Sequence[Fraction]) -> SquaredOptimum | None:
        """The KKT point at ``values`` if ``values`` minimise ``φ`` (checked exactly), else ``None``."""
        mdp, data = self.mdp, self.data
        reward = list(mdp.reward)
        for x in self.on:
            reward[x] = self.b(x, values)
        for x in self.off:
            reward[x] = min(mdp.reward[x], self.b(x, values))
        y = [data[x] * (mdp.reward[x] - reward[x]) if mdp.is_enabled(x) else Fraction(0)
             for x in range(mdp.n_pairs)]
        # stationarity in V: y is a flow with no source (the gradient of φ vanishes)
        balance = [Fraction(0)] * self.n
        for x, value in enumerate(y):
            if value:
                for t, c in self.rows[x].items():
                    balance[t] += c * value
        if any(balance):
            return None
        active = tuple(x for x in self.off if reward[x] == self.b(x, values))
        value = sum((d * (rh - r) ** 2 for d, rh, r in zip(data, reward, mdp.reward) if d), Fraction(0))
        return SquaredOptimum(self.policy, tuple(reward), tuple(y), active, value)


def solve_consistent(matrix: list[list[Fraction]], rhs: list[Fraction],
                     prefer: Sequence[Fraction]) -> list[Fraction] | None:
    """An exact solution of ``matrix · v = rhs`` (any shape), with each free unknown set to its
    ``prefer`` value; ``None`` if the system is inconsistent."""
    rows = [list(r) + [b] for r, b in zip(matrix, rhs)]
    n = len(prefer)
    pivots: list[int] = []
    r = 0
    for col in range(n):
        pivot = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        head = rows[r]
        inv = 1 / head[col]
        for c in range(col, n + 1):
            head[c] *= inv
        for i in range(len(rows)):
            if i != r and rows[i][col]:
                factor = rows[i][col]
                target = rows[i]
                for c in range(col, n + 1):
                    if head[c]:
                        target[c] -= factor * head[c]
        pivots.append(col)
        r += 1
    if any(row[n] != 0 for row in rows[r:]):
        return None
    values = list(prefer)
    for i, col in enumerate(pivots):
        values[col] = rows[i][n] - sum((rows[i][c] * values[c] for c in range(n) if c != col and rows[i][c]),
                                       Fraction(0))
    return values


def _rational(value: float) -> Fraction:
    return Fraction(value).limit_denominator(1 << 40) if value == value else Fraction(0)


def _attempt(system: _System, piece, tight, prefer) -> SquaredOptimum | None:
    matrix, rhs = system.equations(piece, tight)
    values = solve_consistent(matrix, rhs, prefer)
    return None if values is None else system.optimum(values)


def policy_optimum(mdp: MDP, data: Sequence[Fraction], policy: DeterministicPolicy) -> SquaredOptimum | None:
    """``g_π(D)`` and its KKT point, or ``None`` when no method here settles this policy."""
    import numpy as np

    from ..guidance.squaredfloat import squared_values
    system = _System(mdp, data, policy)
    guess = squared_values(mdp, data, policy)
    prefer = [_rational(v) for v in guess]
    scale = 1e-9 * (1.0 + max(abs(float(r)) for r in mdp.reward))
    gaps = {x: float(mdp.reward[x]) - float(np.dot([float(system.rows[x].get(j, 0)) for j in range(system.n)],
                                                   guess)) for x in system.pieces}
    piece = [x for x in system.pieces if gaps[x] > scale]
    tight = [x for x in system.pieces if abs(gaps[x]) <= scale]
    for attempt in ((piece, tight), (piece + tight, []), (piece, [])):
        found = _attempt(system, *attempt, prefer)
        if found is not None:
            return found
    values = prefer
    for _ in range(NEWTON_STEPS):           # exact semismooth Newton from the guide
        piece = [x for x in system.pieces if mdp.reward[x] > system.b(x, values)]
        matrix, rhs = system.equations(piece, [])
        new = solve_consistent(matrix, rhs, values)
        if new is None:
            break
        found = system.optimum(new)
        if found is not None:
            return found
        if new == values:
            break
        values = new
    if len(system.pieces) <= ENUMERATE_UP_TO:
        for size in range(len(system.pieces) + 1):
            for chosen in combinations(system.pieces, size):
                found = _attempt(system, list(chosen), [], prefer)
                if found is not None:
                    return found
    return None


class SquaredUnsettled(ResourceLimit):
    """A policy's QP was not settled exactly (no verdict: unknown)."""


def squared_threshold(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, *,
                      bounds: ReturnBounds | None = None, stop=None) -> SquaredResult:
    """``ε*_MSE(D)`` exactly, enumerating the deterministic policies (at most ``MAX_SQUARED_POLICIES``)."""
    from ..core.model import validate_distribution
    from ..core.parameters import check_regret_bound
    regret_bound = check_regret_bound(regret_bound)
    data = validate_distribution(mdp, list(data))
    total = mdp.n_deterministic_policies
    if total > MAX_SQUARED_POLICIES:
        raise ResourceLimit(f"the mean-squared error enumerates the deterministic policies, at most "
                            f"{MAX_SQUARED_POLICIES}; this model has {total}", entry="--error squared")
    bounds = bounds or return_bounds(mdp)
    range_r = mdp.range_reward
    optima = []
    if not bounds.degenerate:
        threshold = bounds.regret_threshold(regret_bound)
        for evaluation in enumerate_policies(mdp, bounds):
            if stop is not None and stop():
                raise SquaredUnsettled("the enumeration was stopped before every policy was solved")
            if evaluation.expected_return > threshold:
                continue
            found = policy_optimum(mdp, data, evaluation.policy)
            if found is None:
                raise SquaredUnsettled(f"the QP of policy {mdp.policy_to_mapping(evaluation.policy)} was not "
                                       "settled exactly")
            optima.append(found)
    witness = min(optima, key=lambda o: o.value) if optima else None
    return SquaredResult(bounds, range_r, tuple(optima), witness, total)


__all__ = ["MAX_SQUARED_POLICIES", "SquaredOptimum", "SquaredResult", "SquaredUnsettled", "policy_optimum",
           "solve_consistent", "squared_threshold"]
