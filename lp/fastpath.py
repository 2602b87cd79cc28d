"""Fast path: floating duals from HiGHS turned into exact safety certificates, or discarded.

A floating LP answer never enters a verdict.  It is only a *hint* for where
an exact certificate lies; the certificate itself is rebuilt in exact
rationals and verified exactly (``rewardcert.symbolic.exact.duals.check_dual`` for a dual,
uniform optimality plus the exact error for a witness).  When the rebuild
fails, the exact engine (``rewardcert.symbolic.search.engine.policy_error``) answers instead,
and the result says which path was taken.

Two ways to rebuild an exact dual ``y`` of the family LP (see
``lp/models.py``) from a floating one, tried in this order:

1. **Basis crossover.**  A simplex solver returns a vertex.  Its basic
   columns are those with ``y`` strictly inside its bounds together with
   those whose floating reduced cost ``R(x) − (V(s) − γτ(x)·V)`` is smallest
   (zero for a basic column); ``n`` linearly independent ones are picked
   (independence judged in floats, then confirmed by the exact solve).  Every
   other entry is snapped exactly onto its nearest bound, the basic entries
   are solved exactly from the flow equations, and the potentials ``V`` are
   solved exactly from ``R(x) = V(s) − γτ(x)·V`` on the basic columns.  If
   the float basis was right, this is the exact optimal vertex and ``V`` is
   exactly complementary to it.
2. **Rationalise and repair** (the policy-basis repair).  Every entry is
   snapped onto a bound or rationalised with ``Fraction.limit_denominator``
   (several denominators are tried); then the entries of one full policy
   ``π_B`` (per state the most interior entry, preferring the family's forced
   action) are solved for exactly: the flow matrix restricted to ``π_B``'s
   columns is ``(I − γP_{π_B})ᵀ``, which is invertible.  Solved entries that
   leave their bounds are pinned to the bound and another action of that
   state becomes basic (re-solve, at most ``|S|`` rounds); remaining
   violations of ``|y| ≤ D`` are removed by scaling ``y`` towards 0 (the flow
   constraints are homogeneous, so ``λy`` still satisfies them exactly).

Every candidate is checked with ``check_dual``; a candidate that fails is
discarded, so the functions here only ever return exactly valid duals.

For one policy, optimality is certified exactly without the exact simplex:
from exact potentials ``V`` the reward model ``R̂ = V(s) − γτ(x)·V`` on the
policy's pairs and ``min(R, ·)`` elsewhere makes the policy uniformly optimal
(checked exactly), and if its exact error ``E_D|R̂ − R|`` equals the exact
dual value ``y · R``, weak duality pins ``f_π(D)`` to that common value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np
from flint import fmpq, fmpq_mat
from rewardcert.lp.models import FloatDual, check_family, dual_bounds, solve_dual
from rewardcert.lp.pulp_backend import Status
from rewardcert.symbolic.core.errors import ResourceLimit
from rewardcert.symbolic.core.model import (
    MDP,
    DeterministicPolicy,
    Vector,
    validate_distribution,
)
from rewardcert.symbolic.core.parameters import check_regret_bound
from rewardcert.symbolic.core.policies import check_deterministic
from rewardcert.symbolic.core.results import Family, Witness
from rewardcert.symbolic.exact.duals import absolute_error, check_dual
from rewardcert.symbolic.exact.evaluation import (
    ReturnBounds,
    enumerate_policies,
    is_uniformly_optimal,
    state_values,
)
from rewardcert.symbolic.exact.linalg import dynamics, to_fmpq, to_fraction
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.search.policy_error import PolicyError, policy_error

SNAP_TOLERANCES = (1e-9, 1e-6)
DENOMINATORS = (10 ** 4, 10 ** 6, 10 ** 9, None)   # None: the float's exact binary value
MAX_ENUMERATED_POLICIES = 4096
FAST, EXACT = "fast", "exact"


# -- exact dual results ---------------------------------------------------------------

@dataclass(frozen=True)
class ExactDual:
    """A dual ``y`` verified exactly for ``family``: ``value = y · R ≤ f_π(D)`` for every member."""

    family: Family
    dual: Vector
    value: Fraction
    method: str                 # "crossover" or "repair"
    potentials: Vector | None = None   # exact V complementary to y (crossover only)


@dataclass(frozen=True)
class FastPolicyError:
    """Exact ``f_π(D)`` and which path produced it.

    ``path == "fast"``: the floating LP's answer was rebuilt and certified
    exactly (witness error == dual value); ``"exact"``: the exact simplex of
    ``rewardcert.symbolic.search.engine`` answered, ``reason`` says why.
    """

    result: PolicyError
    path: str
    method: str | None = None
    reason: str | None = None
    float_seconds: float = 0.0

    @property
    def value(self) -> Fraction:
        return self.result.value


@dataclass(frozen=True)
class FastThreshold:
    """``ε*(D)`` from the fast path over an explicit enumeration of ``Π_L`` (``None`` means ``+∞``)."""

    critical_epsilon: Fraction | None
    witness: Witness | None
    policy_errors: tuple[FastPolicyError, ...]
    fast: int
    fallback: int


# -- exact flow algebra ---------------------------------------------------------------

class _Flow:
    """The flow matrix ``A`` (n × N): column ``x`` is ``e_s − γτ(·|x)``, exact and in floats."""

    def __init__(self, mdp: MDP):
        dyn = dynamics(mdp)
        self.n, self.m, self.N = dyn.n, dyn.m, dyn.n * dyn.m
        self.columns = dyn.rows
        dense = np.zeros((self.n, self.N))
        for x, col in enumerate(self.columns):
            for k, v in col:
                dense[k, x] = float(v.p) / float(v.q)
        self.dense = dense

    def matrix(self, basis: Sequence[int], logical: Sequence[int] = ()) -> fmpq_mat:
        """``[A_B | I_L]`` (n × (|B| + |L|)): flow columns, then unit columns of basic row logicals."""
        k = len(basis) + len(logical)
        entries = [fmpq(0)] * (self.n * k)
        for i, x in enumerate(basis):
            for row, v in self.columns[x]:
                entries[row * k + i] = v
        for j, row in enumerate(logical):
            entries[row * k + len(basis) + j] = fmpq(1)
        return fmpq_mat(self.n, k, entries)

    def residual(self, y: Sequence[fmpq], skip: frozenset[int] | set[int] = frozenset()) -> list[fmpq]:
        """``−Σ_{x ∉ skip} y(x) A_x``: the right-hand side for the entries in ``skip``."""
        rhs = [fmpq(0)] * self.n
        for x, value in enumerate(y):
            if value and x not in skip:
                for row, v in self.columns[x]:
                    rhs[row] -= v * value
        return rhs

    def solve_entries(self, basis: Sequence[int], y: list[fmpq], logical: Sequence[int] = ()) -> bool:
        """Overwrite ``y`` on ``basis`` so that ``A y = 0`` exactly (with ``|basis| + |logical| = n``
        and every basic logical, an equality row's slack, exactly 0); False if impossible."""
        rhs = self.residual(y, set(basis))
        try:
            sol = self.matrix(basis, logical).solve(fmpq_mat(self.n, 1, rhs))
        except ZeroDivisionError:
            return False
        if any(sol[len(basis) + j, 0] != 0 for j in range(len(logical))):
            return False
        for i, x in enumerate(basis):
            y[x] = sol[i, 0]
        return True

    def potentials(self, basis: Sequence[int], reward: Sequence[fmpq], logical: Sequence[int] = ()
                   ) -> list[fmpq] | None:
        """``V`` with zero reduced cost on the basis: ``V(s) − γτ(x)·V = R(x)`` on its columns and
        ``V(k) = 0`` on its logicals (``[A_B | I_L]ᵀ V = (R_B, 0)``)."""
        costs = [reward[x] for x in basis] + [fmpq(0)] * len(logical)
        try:
            sol = self.matrix(basis, logical).transpose().solve(fmpq_mat(self.n, 1, costs))
        except ZeroDivisionError:
            return None
        return [sol[i, 0] for i in range(self.n)]


def rationalise(value: float, denominator: int | None) -> Fraction:
    """A float as a nearby rational: its exact value, or the best with denominator ≤ ``denominator``."""
    if not math.isfinite(value):
        raise ValueError(f"cannot rationalise {value}")
    exact = Fraction(value)
    return exact if denominator is None else exact.limit_denominator(denominator)


def _snap(value: float, lo: Fraction, hi: Fraction, tolerance: float) -> Fraction | None:
    """The bound (or 0) within ``tolerance`` of ``value``, if any."""
    best = None
    for target in (lo, hi, Fraction(0)):
        if lo <= target <= hi:
            gap = abs(value - float(target))
            if gap <= tolerance and (best is None or gap < best[0]):
                best = (gap, target)
    return None if best is None else best[1]


def _interior(value: float, lo: Fraction, hi: Fraction) -> float:
    """How far inside its bounds an entry lies (negative: outside)."""
    return min(value - float(lo), float(hi) - value)


# -- crossover -------------------------------------------------------------------------

def _pick_basis(flow: _Flow, order: Sequence[int]) -> list[int] | None:
    """The first ``n`` columns of ``order`` that are linearly independent (judged in floats)."""
    n = flow.n
    q = np.zeros((n, 0))
    basis = []
    for x in order:
        col = flow.dense[:, x]
        norm = np.linalg.norm(col)
        if norm == 0:
            continue
        rest = col - q @ (q.T @ col)
        rest = rest - q @ (q.T @ rest)       # re-orthogonalise once (Gram–Schmidt twice is enough)
        size = np.linalg.norm(rest)
        if size > 1e-9 * norm:
            q = np.hstack([q, (rest / size)[:, None]])
            basis.append(x)
            if len(basis) == n:
                return basis
    return None


def _crossover(mdp: MDP, flow: _Flow, bounds: list[tuple[Fraction, Fraction]], answer: FloatDual,
               snap: float) -> tuple[list[fmpq], list[fmpq] | None] | None:
    """The exact vertex (and its potentials) of the basis the float answer points at, or None."""
    raw = answer.dual
    n, N = flow.n, flow.N
    status = answer.basis
    logical: list[int] = []
    if status is not None and answer.row_basis is not None:
        # The solver's own optimal basis (HiGHS): basic columns and basic row logicals.
        basis = [x for x in range(N) if status[x] == "basic"]
        logical = [k for k in range(n) if answer.row_basis[k] == "basic"]
        if len(basis) + len(logical) != n:
            return None
    else:
        # No basis reported: basic columns are the interior entries, then the smallest reduced costs.
        potentials = answer.potentials
        if potentials is not None and all(math.isfinite(v) for v in potentials):
            reduced = np.abs(np.asarray([float(r) for r in mdp.reward]) - flow.dense.T @ np.asarray(potentials))
        else:
            reduced = np.zeros(N)
        depth = [_interior(raw[x], *bounds[x]) for x in range(N)]
        order = sorted(range(N), key=lambda x: (depth[x] <= snap, reduced[x], -depth[x], x))
        basis = _pick_basis(flow, order)
        if basis is None or any(depth[x] > snap for x in set(range(N)).difference(basis)):
            return None          # an interior non-basic entry: not a vertex, leave it to the repair
        status = None
    in_basis = set(basis)
    y = [fmpq(0)] * N
    for x in range(N):
        if x in in_basis:
            continue
        lo, hi = bounds[x]
        side = None if status is None else status[x]
        if side == "upper":
            target = hi
        elif side == "lower":
            target = lo
        elif side == "zero" and lo <= 0 <= hi:
            target = Fraction(0)
        else:
            target = _snap(raw[x], lo, hi, snap)
            if target is None:
                target = lo if abs(raw[x] - float(lo)) <= abs(raw[x] - float(hi)) else hi
        y[x] = to_fmpq(target)
    if not flow.solve_entries(basis, y, logical):
        return None
    return y, flow.potentials(basis, [to_fmpq(r) for r in mdp.reward], logical)


# -- rationalise and repair ----------------------------------------------------------------

def repair_dual(mdp: MDP, data: Sequence[Fraction], family: Sequence[int | None], raw: Sequence[float], *,
                denominator: int | None = 10 ** 6, snap: float = 1e-9, fix_bounds: bool = True) -> Vector:
    """Rationalise ``raw`` and repair it exactly onto the flow constraints (policy-basis repair).

    The result always satisfies the flow equations exactly; with
    ``fix_bounds`` the repair also tries to restore the bounds (pin and swap,
    then scaling).  It is *not* verified: pass it to ``check_dual``.
    """
    family = check_family(mdp, family)
    data = validate_distribution(mdp, data)
    flow = _Flow(mdp)
    return tuple(map(to_fraction, _repair(mdp, flow, dual_bounds(data, family, mdp.n_actions), family, raw,
                                          denominator, snap, fix_bounds)[0]))


def _repair(mdp: MDP, flow: _Flow, bounds: list[tuple[Fraction, Fraction]], family: Family,
            raw: Sequence[float], denominator: int | None, snap: float,
            fix_bounds: bool) -> tuple[list[fmpq], DeterministicPolicy]:
    n, m, N = flow.n, flow.m, flow.N
    y = []
    for x in range(N):
        lo, hi = bounds[x]
        target = _snap(raw[x], lo, hi, snap)
        y.append(to_fmpq(target if target is not None else rationalise(raw[x], denominator)))

    def preference(s: int, a: int) -> tuple:
        x = s * m + a
        return (_interior(raw[x], *bounds[x]), family[s] == a, -a)

    policy = [max(mdp.enabled_actions(s), key=lambda a: preference(s, a)) for s in range(n)]
    pinned: set[int] = set()
    bounds_q = [(to_fmpq(lo), to_fmpq(hi)) for lo, hi in bounds]
    for _ in range(n + 1 if fix_bounds else 1):
        basis = [s * m + a for s, a in enumerate(policy)]
        if not flow.solve_entries(basis, y):      # unreachable: (I − γP)ᵀ is invertible
            break
        bad = [s for s, x in enumerate(basis) if not (bounds_q[x][0] <= y[x] <= bounds_q[x][1])]
        if not bad or not fix_bounds:
            break
        changed = False
        for s in bad:
            x = basis[s]
            lo, hi = bounds_q[x]
            y[x] = lo if y[x] < lo else hi
            pinned.add(x)
            others = [a for a in mdp.enabled_actions(s) if s * m + a not in pinned]
            if others:
                policy[s] = max(others, key=lambda a: preference(s, a))
                changed = True
        if not changed:
            basis = [s * m + a for s, a in enumerate(policy)]
            flow.solve_entries(basis, y)
            break
    if fix_bounds:
        # |y| ≤ D violations with the right signs: scale towards 0 (flow rows are homogeneous).
        sign_ok = all(y[x] >= 0 or lo < 0 for x, (lo, _) in enumerate(bounds_q))
        if sign_ok:
            scale = fmpq(1)
            for x, (lo, hi) in enumerate(bounds_q):
                if y[x] > hi:
                    scale = min(scale, hi / y[x])
                elif y[x] < lo:
                    scale = min(scale, lo / y[x])
            if scale < 1:
                y = [scale * v for v in y]
    return y, tuple(policy)


# -- certification ---------------------------------------------------------------------------

def _candidates(mdp: MDP, flow: _Flow, bounds, family: Family, answer: FloatDual):
    """Exact flow-feasible candidates ``(y, V or None, method, basis policy or None)``, best guesses first."""
    raw = answer.dual
    attempts = [answer]
    if answer.basis is not None:
        # Also try without the solver's basis, in case it was reported inconsistently.
        attempts.append(FloatDual(answer.family, answer.status, answer.solver, answer.objective, answer.dual,
                                  answer.potentials, answer.seconds))
    for attempt in attempts:
        for snap in SNAP_TOLERANCES:
            found = _crossover(mdp, flow, bounds, attempt, snap)
            if found is not None:
                yield found[0], found[1], "crossover", None
            if attempt.basis is not None:
                break                # the reported basis does not depend on the snap tolerance
    for denominator in DENOMINATORS:
        y, policy = _repair(mdp, flow, bounds, family, raw, denominator, SNAP_TOLERANCES[0], True)
        yield y, None, "repair", policy


def certify_dual(mdp: MDP, data: Sequence[Fraction], family: Sequence[int | None], raw: Sequence[float], *,
                 potentials: Sequence[float] | None = None, basis: Sequence[str] | None = None,
                 row_basis: Sequence[str] | None = None, target: float | None = None,
                 tolerance: float = 1e-7) -> ExactDual | None:
    """An exactly verified dual for ``family`` rebuilt from the floating ``raw``, or None.

    ``potentials`` (the flow rows' duals) and the simplex ``basis`` /
    ``row_basis`` statuses are optional hints.  Candidates are tried in order;
    the first whose exact value is within ``tolerance·(1 + max|R|)`` of
    ``target`` (default: the float value ``R · raw``) is returned, else the
    best valid one.  Every returned dual has passed ``check_dual``.
    """
    family = check_family(mdp, family)
    data = validate_distribution(mdp, data)
    raw = tuple(float(v) for v in raw)
    if len(raw) != mdp.n_pairs or not all(math.isfinite(v) for v in raw):
        return None
    if target is None:
        target = sum(float(r) * v for r, v in zip(mdp.reward, raw))
    hints_ok = basis is not None and row_basis is not None and len(basis) == mdp.n_pairs \
        and len(row_basis) == mdp.n_states
    answer = FloatDual(family, Status.OPTIMAL, "", target, raw,
                       None if potentials is None or len(potentials) != mdp.n_states else tuple(potentials), 0.0,
                       tuple(basis) if hints_ok else None, tuple(row_basis) if hints_ok else None)
    flow = _Flow(mdp)
    bounds = dual_bounds(data, family, mdp.n_actions)
    slack = tolerance * (1.0 + max(abs(float(r)) for r in mdp.reward))
    best: ExactDual | None = None
    for y, v, method, _ in _candidates(mdp, flow, bounds, family, answer):
        exact = tuple(map(to_fraction, y))
        check = check_dual(mdp, data, family, exact)
        if not check.feasible:
            continue
        found = ExactDual(family, exact, check.value, method,
                          None if v is None else tuple(map(to_fraction, v)))
        if best is None or found.value > best.value:
            best = found
        if float(found.value) >= target - slack:
            return found
    return best


def fast_family_dual(mdp: MDP, data: Sequence[Fraction], family: Sequence[int | None], *,
                     solver: str | None = None) -> ExactDual | None:
    """Solve the family LP in floats and turn its answer into an exactly verified dual (or None)."""
    answer = solve_dual(mdp, data, family, solver=solver)
    if answer.status is not Status.OPTIMAL:
        return None
    return certify_dual(mdp, data, family, answer.dual, potentials=answer.potentials, basis=answer.basis,
                        row_basis=answer.row_basis, target=answer.objective)


def _witness_from_potentials(mdp: MDP, policy: DeterministicPolicy, values: Sequence[Fraction]) -> Vector:
    """``R̂ = V(s) − γτ(x)·V`` on the policy's pairs, ``min(R, ·)`` elsewhere: π is uniformly optimal for it."""
    dyn = dynamics(mdp)
    m = dyn.m
    v = [to_fmpq(x) for x in values]
    out = []
    for x, r in enumerate(mdp.reward):
        s, a = divmod(x, m)
        g = v[s]
        for t, gp in dyn.succ[x]:
            g -= gp * v[t]
        g = to_fraction(g)
        out.append(g if policy[s] == a else min(r, g))
    return tuple(out)


def _potential_candidates(mdp: MDP, float_potentials: Sequence[float] | None, crossover: Vector | None,
                          basis_policy: DeterministicPolicy | None):
    if crossover is not None:
        yield crossover
    if basis_policy is not None:
        # The repair's basis is a policy: its potentials are that policy's values under R.
        yield state_values(mdp, basis_policy)
    if float_potentials is not None and all(math.isfinite(v) for v in float_potentials):
        for denominator in DENOMINATORS:
            yield tuple(rationalise(v, denominator) for v in float_potentials)


def certify_policy_error(mdp: MDP, data: Sequence[Fraction], policy: Sequence[int], answer: FloatDual
                         ) -> tuple[PolicyError, str] | None:
    """Exact ``f_π(D)`` certified from a floating dual-LP answer, or None.

    The certificate is a dual ``y`` passing ``check_dual`` and a reward model
    ``R̂`` for which ``π`` is uniformly optimal (checked exactly) with
    ``E_D|R̂ − R| = y · R`` exactly.
    """
    policy = check_deterministic(mdp, policy)
    data = validate_distribution(mdp, data)
    if answer.status is not Status.OPTIMAL or not all(math.isfinite(v) for v in answer.dual):
        return None
    flow = _Flow(mdp)
    bounds = dual_bounds(data, policy, mdp.n_actions)
    for y, v, method, basis_policy in _candidates(mdp, flow, bounds, policy, answer):
        exact = tuple(map(to_fraction, y))
        check = check_dual(mdp, data, policy, exact)
        if not check.feasible:
            continue
        crossover_v = None if v is None else tuple(map(to_fraction, v))
        for values in _potential_candidates(mdp, answer.potentials, crossover_v, basis_policy):
            witness = _witness_from_potentials(mdp, policy, values)
            if absolute_error(mdp, data, witness) == check.value and is_uniformly_optimal(mdp, policy, witness):
                return PolicyError(policy, check.value, witness, exact), method
    return None


def fast_policy_error(mdp: MDP, data: Sequence[Fraction], policy: Sequence[int], *,
                      solver: str | None = None) -> FastPolicyError:
    """Exact ``f_π(D)``: HiGHS plus exact certification, else the exact simplex (see the module docstring)."""
    policy = check_deterministic(mdp, policy)
    data = validate_distribution(mdp, data)
    answer = solve_dual(mdp, data, policy, solver=solver)
    if answer.status is not Status.OPTIMAL:
        return FastPolicyError(policy_error(mdp, data, policy), EXACT,
                               reason=f"the LP solver returned {answer.status.value}",
                               float_seconds=answer.seconds)
    certified = certify_policy_error(mdp, data, policy, answer)
    if certified is None:
        return FastPolicyError(policy_error(mdp, data, policy), EXACT,
                               reason="no rebuilt primal/dual pair closed the gap exactly",
                               float_seconds=answer.seconds)
    result, method = certified
    return FastPolicyError(result, FAST, method=method, float_seconds=answer.seconds)


def fast_critical_epsilon(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, *,
                          bounds: ReturnBounds | None = None, solver: str | None = None,
                          max_policies: int = MAX_ENUMERATED_POLICIES) -> FastThreshold:
    """Exact ``ε*(D) = min_{π ∈ Π_L} f_π(D) / range R`` with every ``f_π`` from ``fast_policy_error``.

    Enumerates ``Π_L`` explicitly (at most ``max_policies`` deterministic
    policies, else ``ResourceLimit``); ``rewardcert.symbolic.search.engine.critical_epsilon``
    is the scalable exact search.
    """
    data = validate_distribution(mdp, data)
    regret_bound = check_regret_bound(regret_bound)
    if mdp.n_deterministic_policies > max_policies:
        raise ResourceLimit(f"{mdp.n_actions}^{mdp.n_states} deterministic policies; the fast-path threshold "
                            f"enumerates at most {max_policies} (use rewardcert.symbolic.search.engine.critical_epsilon)")
    bounds = bounds or return_bounds(mdp)
    if bounds.degenerate:
        return FastThreshold(None, None, (), 0, 0)
    answers = [fast_policy_error(mdp, data, ev.policy, solver=solver)
               for ev in enumerate_policies(mdp, bounds) if ev.regret >= regret_bound]
    fast = sum(a.path == FAST for a in answers)
    if not answers:
        return FastThreshold(None, None, (), 0, 0)
    best = min(answers, key=lambda a: a.value)
    epsilon = best.value / mdp.range_reward
    return FastThreshold(epsilon, Witness(best.result.reward_model, best.result.policy, epsilon),
                         tuple(answers), fast, len(answers) - fast)
