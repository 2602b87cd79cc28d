"""Cross-check of the exact engine by floating LP/MILP solvers, judged by optimality conditions.

**Tolerance.**  ``TOLERANCE = 1e-7``, relative.  Quantities on the scale of
the objective (values, duality gap, distance to the exact ``f_π``) are
divided by ``max|R|``; residuals of the primal constraints and the
complementarity sum (products of dual weights ``≤ D`` with primal slacks) are
divided by the largest magnitude in play (``max|R|``, ``max|R̂|``,
``max|V|``, where ``|V|`` may reach ``max|R̂|/(1−γ)``); residuals of the dual
constraints are absolute (``|y| ≤ D ≤ 1`` and the flow coefficients are at
most 1).

**How agreement is judged** (cvxpy's habit: optimality conditions, not the
objective alone).  For one policy ``π``, the float primal LP ``(R̂, t, V)``
and the float dual LP ``y`` (two separate solves) must each be

* *primal feasible*: ``t ≥ |R̂ − R|`` and the Bellman rows ``V(s) ≥ R̂(x) +
  γτ(x)·V`` (equality on ``π``'s pairs) up to the tolerance;
* *dual feasible*: flow rows ``Σ_a y(s',a) = γ Σ τ(s'|x) y(x)``, ``|y| ≤ D``,
  ``y ≥ 0`` off ``π`` up to the tolerance;
* *complementary*: the duality gap ``D·t − R·y`` and the sum of the
  complementarity products (``(D∓y)/2`` against the two error rows, ``y(x)``
  against the Bellman slack of ``x``) are below the tolerance.  Any primal
  optimum and any dual optimum are complementary, so separate solves are fine;

and both objectives must lie within the tolerance of the exact ``f_π(D)``.
All residuals are measured exactly: every float is converted to the rational
it denotes (``Fraction(float)`` is exact), so the measurement adds no rounding
of its own.  The exact side is checked too, exactly and without tolerance:
its dual passes ``check_dual`` with value ``f_π``, and its ``R̂`` makes ``π``
uniformly optimal with error ``f_π``.

For ``ε*(D)`` the MILP (``lp/models.py``) must agree on finiteness and on the
value within the tolerance; the policy it decodes must have regret ``≥ L``
(checked exactly) and exact error ``f_π ≥ ε*·range R`` (otherwise the exact
search missed a better policy) and ``≤ ε*·range R`` plus the tolerance;
its big-M box must not bind; the exact witness must pass
``witness_failures``; and the witness policy's LPs must pass the per-policy
check above.

**A box too small for the exact witness.**  Where ``D`` is 0 on some pairs the
cheapest reward model may need rewards far outside the MILP's first box (the
box only bounds ``R̂``; nothing bounds how large an unobserved reward must be).
One such case: 3 states, ``γ = 1/6``, ``D = 0`` on a state whose rewards must
reach 37 while the box stops at 30.8; the MILP then returned a policy with
error ``1/18`` against the exact ``ε* = 0``.  So when the MILP's value is above
the exact one and the exact witness ``R̂`` lies outside the MILP's box, the
MILP is solved again with a box twice as large as the witness needs
(``ThresholdCrossCheck.rebox``), and that answer is judged.  A MILP that still
disagrees with a box that contains the exact witness is a failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from rewardcert.lp.models import (
    FloatDual,
    FloatPrimal,
    MilpThreshold,
    dual_bounds,
    solve_dual,
    solve_milp,
    solve_primal,
)
from rewardcert.lp.pulp_backend import Status
from rewardcert.symbolic.core.model import (
    MDP,
    DeterministicPolicy,
    validate_distribution,
)
from rewardcert.symbolic.core.policies import check_deterministic
from rewardcert.symbolic.exact.duals import absolute_error, check_dual, witness_failures
from rewardcert.symbolic.exact.evaluation import expected_return, is_uniformly_optimal
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.policy_error import PolicyError, policy_error
from rewardcert.symbolic.search.results import ThresholdResult

TOLERANCE = 1e-7


@dataclass(frozen=True)
class PolicyCrossCheck:
    """Float primal and dual LPs of ``f_π(D)`` against the exact answer; residuals are relative (see module)."""

    policy: DeterministicPolicy
    agree: bool
    tolerance: float
    solver: str
    exact_value: Fraction
    primal_value: float | None
    dual_value: float | None
    primal_infeasibility: float
    dual_infeasibility: float
    duality_gap: float
    complementarity: float
    primal_error: float          # |D·t − f_π| / max|R|
    dual_error: float            # |R·y − f_π| / max|R|
    exact_consistent: bool
    failures: tuple[str, ...]


@dataclass(frozen=True)
class ThresholdCrossCheck:
    """The MILP's ``ε*(D)`` against the exact engine's (``None``/``inf`` mean ``+∞``)."""

    agree: bool
    tolerance: float
    solver: str
    exact_epsilon: Fraction | None
    milp_epsilon: float
    epsilon_error: float                   # |MILP − exact| in units of ε (0 when both are +∞)
    milp_policy: DeterministicPolicy | None
    milp_policy_epsilon: Fraction | None   # exact f_π / range R of the decoded policy
    milp: MilpThreshold
    witness_check: PolicyCrossCheck | None
    failures: tuple[str, ...]
    rebox: float | None = None             # the box the MILP was solved again with (it excluded the witness)


def _scale(mdp: MDP) -> Fraction:
    top = max(abs(r) for r in mdp.reward)
    return top if top else Fraction(1)


def _exact(values: Sequence[float]) -> list[Fraction] | None:
    if not all(isinstance(v, float) and math.isfinite(v) for v in values):
        return None
    return [Fraction(v) for v in values]


def _exact_side_failures(mdp: MDP, data, exact: PolicyError) -> list[str]:
    failures = []
    check = check_dual(mdp, data, exact.policy, exact.dual)
    if not check.feasible:
        failures.append(f"exact dual rejected: {check.failure}")
    elif check.value != exact.value:
        failures.append(f"exact dual value {check.value} differs from f_pi = {exact.value}")
    if absolute_error(mdp, data, exact.reward_model) != exact.value:
        failures.append("exact witness error differs from f_pi")
    if not is_uniformly_optimal(mdp, exact.policy, exact.reward_model):
        failures.append("exact witness does not make the policy uniformly optimal")
    return failures


def _primal_residuals(mdp: MDP, policy: DeterministicPolicy, rhat, t, v) -> Fraction:
    """Largest violation of the primal rows (absolute, exact)."""
    m = mdp.n_actions
    worst = Fraction(0)
    for x, r in enumerate(mdp.reward):
        s, a = divmod(x, m)
        worst = max(worst, abs(rhat[x] - r) - t[x], -t[x])
        q = rhat[x] + (mdp.gamma * sum((p * v[k] for k, p in mdp.successors(x)), Fraction(0)) if mdp.gamma else 0)
        slack = v[s] - q
        worst = max(worst, -slack if policy[s] != a else abs(slack))
    return worst


def _dual_residuals(mdp: MDP, data, policy: DeterministicPolicy, y) -> Fraction:
    """Largest violation of the flow rows and the box (absolute, exact)."""
    m = mdp.n_actions
    worst = Fraction(0)
    for x, (lo, hi) in enumerate(dual_bounds(data, policy, m)):
        worst = max(worst, y[x] - hi, lo - y[x])
    flow = [Fraction(0)] * mdp.n_states
    for x, value in enumerate(y):
        if value:
            flow[x // m] += value
            if mdp.gamma:
                for k, p in mdp.successors(x):
                    flow[k] -= mdp.gamma * p * value
    return max([worst] + [abs(f) for f in flow])


def _complementarity(mdp: MDP, data, rhat, t, v, y) -> Fraction:
    """``Σ_x |(D−y)/2 · (t−R̂+R)| + |(D+y)/2 · (t+R̂−R)| + |y · (V(s) − Q̂(x))|`` (zero at optimal pairs)."""
    m = mdp.n_actions
    total = Fraction(0)
    for x, r in enumerate(mdp.reward):
        s = x // m
        up, down = (data[x] - y[x]) / 2, (data[x] + y[x]) / 2
        total += abs(up * (t[x] - rhat[x] + r)) + abs(down * (t[x] + rhat[x] - r))
        q = rhat[x] + (mdp.gamma * sum((p * v[k] for k, p in mdp.successors(x)), Fraction(0)) if mdp.gamma else 0)
        total += abs(y[x] * (v[s] - q))
    return total


def cross_check_policy(mdp: MDP, data: Sequence[Fraction], policy: Sequence[int],
                       exact: PolicyError | None = None, *, tolerance: float = TOLERANCE,
                       solver: str | None = None, primal: FloatPrimal | None = None,
                       dual: FloatDual | None = None) -> PolicyCrossCheck:
    """Solve both LPs of ``f_π(D)`` in floats and judge them against the exact answer."""
    policy = check_deterministic(mdp, policy)
    data = validate_distribution(mdp, data)
    exact = exact if exact is not None else policy_error(mdp, data, policy)
    if exact.policy != policy:
        raise ValueError("the exact result belongs to another policy")
    primal = primal or solve_primal(mdp, data, policy, solver=solver)
    dual = dual or solve_dual(mdp, data, policy, solver=solver)
    exact_failures = _exact_side_failures(mdp, data, exact)
    failures = list(exact_failures)
    scale = _scale(mdp)
    inf = math.inf
    p_inf = d_inf = gap = comp = p_err = d_err = inf
    p_val = d_val = None
    rhat = t = v = y = None
    if primal.status is not Status.OPTIMAL:
        failures.append(f"primal LP: {primal.status.value}")
    else:
        rhat, t, v = _exact(primal.reward_model), _exact(primal.errors), _exact(primal.values)
        if rhat is None or t is None or v is None:
            failures.append("primal LP returned non-finite values")
        else:
            magnitude = max([scale] + [abs(x) for x in rhat] + [abs(x) for x in v])
            p_inf = float(_primal_residuals(mdp, policy, rhat, t, v) / magnitude)
            p_obj = sum((d * e for d, e in zip(data, t) if d), Fraction(0))
            p_val = float(p_obj)
            p_err = float(abs(p_obj - exact.value) / scale)
    if dual.status is not Status.OPTIMAL:
        failures.append(f"dual LP: {dual.status.value}")
    else:
        y = _exact(dual.dual)
        if y is None:
            failures.append("dual LP returned non-finite values")
        else:
            d_inf = float(_dual_residuals(mdp, data, policy, y))
            d_obj = sum((r * e for r, e in zip(mdp.reward, y) if e), Fraction(0))
            d_val = float(d_obj)
            d_err = float(abs(d_obj - exact.value) / scale)
    if p_val is not None and d_val is not None:
        gap = float((p_obj - d_obj) / scale)
        comp = float(_complementarity(mdp, data, rhat, t, v, y) / magnitude)
    for name, value in (("primal infeasibility", p_inf), ("dual infeasibility", d_inf),
                        ("|duality gap|", abs(gap)), ("complementarity", comp),
                        ("primal objective vs exact", p_err), ("dual objective vs exact", d_err)):
        if not value <= tolerance:
            failures.append(f"{name} {value:.3g} exceeds {tolerance:g}")
    return PolicyCrossCheck(policy, not failures, tolerance, primal.solver, exact.value, p_val, d_val,
                            p_inf, d_inf, gap, comp, p_err, d_err, not exact_failures, tuple(failures))


def cross_check(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction,
                exact_result: ThresholdResult | None = None, *, tolerance: float = TOLERANCE,
                solver: str | None = None) -> ThresholdCrossCheck:
    """The MILP's ``ε*(D)`` and the witness policy's LPs against the exact engine (see the module)."""
    data = validate_distribution(mdp, data)
    bounds = exact_result.bounds if exact_result is not None else return_bounds(mdp)
    exact_result = exact_result or critical_epsilon(mdp, data, regret_bound, bounds=bounds)
    failures: list[str] = []
    if not exact_result.complete:
        failures.append("the exact search is incomplete (a budget ran out)")
    milp = solve_milp(mdp, data, regret_bound, bounds=bounds, solver=solver)
    exact_eps = exact_result.critical_epsilon
    range_r = mdp.range_reward
    scale = _scale(mdp)
    rebox = None
    witness = exact_result.witness
    if exact_eps is not None and witness is not None and milp.status is Status.OPTIMAL and \
            (Fraction(milp.objective) - exact_eps * range_r) / scale > tolerance:
        need = witness_box(mdp, witness.reward)
        if need > milp.box:
            # The box excluded the exact witness: judge the MILP on a box that contains it.
            rebox = 2.0 * need
            milp = solve_milp(mdp, data, regret_bound, bounds=bounds, solver=solver, box=rebox)
    error = math.inf
    milp_policy_eps = None
    witness_check = None
    if exact_eps is None:
        if milp.status is not Status.INFEASIBLE:
            failures.append(f"exact: no policy has regret >= L, but the MILP is {milp.status.value}"
                            + (f" with policy {milp.policy}" if milp.policy is not None else ""))
        else:
            error = 0.0
    else:
        if milp.status is not Status.OPTIMAL:
            failures.append(f"MILP: {milp.status.value} but the exact critical epsilon is {exact_eps}")
        else:
            error = abs(milp.critical_epsilon - float(exact_eps))
            if abs(Fraction(milp.objective) - exact_eps * range_r) / scale > tolerance:
                failures.append(f"MILP objective {milp.objective!r} differs from exact "
                                f"{float(exact_eps * range_r)!r} by more than the tolerance")
            found = policy_error(mdp, data, milp.policy)
            milp_policy_eps = found.value / range_r
            if bounds.regret_of_return(expected_return(mdp, milp.policy)) < regret_bound:
                failures.append(f"the MILP's policy {milp.policy} has regret below L")   # unreachable
            if milp_policy_eps < exact_eps:
                failures.append(f"the MILP's policy {milp.policy} has f/range R = {milp_policy_eps} below the "
                                f"exact critical epsilon {exact_eps}: the exact search missed it")
            elif (milp_policy_eps - exact_eps) * range_r / scale > tolerance:
                failures.append(f"the MILP's policy {milp.policy} has exact f/range R = {milp_policy_eps}, "
                                f"above the exact critical epsilon {exact_eps}")
            if milp.box_binding:
                failures.append(f"the big-M box (K = {milp.box:g}) still binds after {milp.box_retries} retries")
        if witness is None:
            failures.append("the exact result has a finite critical epsilon but no witness")
        else:
            bad = witness_failures(mdp, data, exact_eps, regret_bound, witness, bounds)
            failures.extend(f"exact witness: {b}" for b in bad)
            witness_check = cross_check_policy(mdp, data, witness.policy, tolerance=tolerance, solver=solver)
            if witness_check.exact_value != exact_eps * range_r:
                failures.append(f"exact f of the witness policy is {witness_check.exact_value}, "
                                f"not critical epsilon x range R")
            failures.extend(f"witness policy: {f}" for f in witness_check.failures)
    return ThresholdCrossCheck(not failures, tolerance, milp.solver, exact_eps, milp.critical_epsilon, error,
                               milp.policy, milp_policy_eps, milp, witness_check, tuple(failures), rebox)


def witness_box(mdp: MDP, reward_model: Sequence[Fraction]) -> float:
    """The least MILP box ``K`` whose reward box ``[min R − K, max R + K]`` holds ``reward_model``."""
    low, high = min(mdp.reward), max(mdp.reward)
    return float(max([Fraction(0)] + [max(r - high, low - r) for r in reward_model]))
