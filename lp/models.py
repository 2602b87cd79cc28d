"""Floating-point encodings of the error LPs and the ε*(D) MILP, each with its decoder.

Every ``encode_*`` function returns the solver-neutral ``Model`` *and* the
map back (a decoder), in the spirit of cvxpy's ``apply → (problem,
inverse_data)``; ``solve_*`` runs the model and decodes the answer into a
frozen result of plain float tuples in the toolkit's flat pair order.  These
answers are numerical: the cross-check judges them against the exact engine
and the fast path rationalises and verifies them; nothing here is a verdict.

* **Primal LP** (docs/theory.md §3), for one deterministic ``π``::

      min Σ_x D(x) t(x)  over R̂, t (pairs), V (states)
      t ≥ R̂ − R,  t ≥ R − R̂,
      V(s) − R̂(x) − γτ(x)·V ≥ 0 for every pair x = (s, a)   ("Bellman rows"),
      with equality when a = π(s).

* **Dual / family LP** (docs/theory.md §3 dual form, §6 family certificates)::

      max R · y  s.t.  Σ_a y(s',a) − γ Σ_x τ(s'|x) y(x) = 0  (one "flow row" per state),
      lower(x) ≤ y(x) ≤ D(x),  lower(x) = −D(x) if the family forces x, else 0.

  The flow rows' duals (∂ objective / ∂ rhs) are the potentials ``V``.

* **MILP for ε*(D)** (docs/theory.md §4, minimising the error): binaries
  ``b(s,a)`` (one action per state), occupancies ``0 ≤ η(x) ≤ b(x)/(1−γ)``
  with the flow equations ``Σ_a η(s',a) − γ Σ τ(s'|x) η(x) = μ0(s')``, the
  regret row ``Σ η R ≤ J* − L·range J (+ slack)``, ``t ≥ |R̂ − R|``, the
  Bellman rows ``V(s) ≥ R̂(x) + γτ(x)·V`` and, for the chosen action,
  ``V(s) − R̂(x) − γτ(x)·V ≤ M (1 − b(x))``.

  **Big-M.**  There is no clean a-priori bound on an optimal ``R̂``: a policy
  that must beat a far better future needs ``R̂`` far above ``max R``, and a
  degenerate optimal basis can push the potentials ``V`` out further still
  (the only general bound is a Hadamard/Cramer bound, astronomically loose).
  So the MILP boxes the model: ``R̂ ∈ [min R − K, max R + K]`` and
  ``|V| ≤ (max|R| + K)/(1−γ)``, and uses ``M = (1+γ)·max|V| + max|R| + K``,
  which is valid for *every* point of the box, so the only restriction is the
  box itself.  The heuristic first box is ``K = 2·|S|·(1 + range R)/(1−γ)``
  (a witness typically shifts a reward by at most about the discounted range
  of the future it has to beat, once per state along a chain).  A constant
  ``R̂`` lies in every box and makes every policy optimal, and the uniformly
  pessimal policy (regret 1 ≥ L) is always in ``Π_L``, so the MILP is never
  truly infeasible outside the degenerate case ``range J = 0`` (answered as
  ``+∞`` without a solve): a reported infeasibility is numerical, is
  re-solved without presolve, and otherwise comes back as ``NOT_SOLVED``.

  Detection and retry: after each solve the decoded policy's *unboxed*
  primal LP is solved; if it beats the MILP objective (by 1e-7 relative) the
  box was **binding**.  The box also counts as **touched** when a reward with
  positive data weight rests on it (the solver paid error to go there, so it
  wanted to go further); rewards of zero weight, and the potentials they
  drive, rest on the box harmlessly all the time and are ignored.  On either
  signal ``K`` grows by ``BOX_GROWTH`` and the MILP is solved again, at most
  ``MAX_BOX_RETRIES`` times; the result reports ``box_touched`` and
  ``box_binding`` of the last solve.
  **Limitation:** both signals concern the returned solution; another policy
  whose cheapest witness lies outside the box could still be better without
  either firing.  That is one reason why the MILP is a cross-check of the
  exact engine and never a verdict.  Large ``K`` also costs precision (big-M
  times the integrality tolerance), so the solver tolerances are 1e-9 and the
  box grows at most ``BOX_GROWTH ** MAX_BOX_RETRIES`` = 1000-fold.

  The regret row carries a slack of ``1e-9·(1 + |J*| + range J)`` so that
  policies with regret *exactly* ``L`` (common: the pessimal policy when
  ``L = 1``) are never cut off by rounding; the decoded policy's regret is
  then checked exactly and, if it is below ``L``, excluded with a no-good cut
  (``Σ_s b(s, π(s)) ≤ |S| − 1``) and the MILP solved again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from rewardcert.lp.pulp_backend import Model, Solution, Status
from rewardcert.symbolic.core.errors import ModelError, RewardcertError
from rewardcert.symbolic.core.model import (
    MDP,
    DeterministicPolicy,
    validate_distribution,
)
from rewardcert.symbolic.core.parameters import check_regret_bound
from rewardcert.symbolic.core.policies import check_deterministic
from rewardcert.symbolic.core.results import Family
from rewardcert.symbolic.exact.evaluation import ReturnBounds, expected_return
from rewardcert.symbolic.exact.linalg import dynamics
from rewardcert.symbolic.guidance.floatvi import return_bounds

BOX_GROWTH = 10.0
MAX_BOX_RETRIES = 3
MAX_NO_GOOD_CUTS = 50
TOUCH_TOLERANCE = 1e-6
BINDING_TOLERANCE = 1e-7


def check_family(mdp: MDP, family: Sequence[int | None]) -> Family:
    family = tuple(family)
    if len(family) != mdp.n_states or not all(
            a is None or (isinstance(a, int) and 0 <= a < mdp.n_actions) for a in family):
        raise ModelError(f"a policy family needs one entry per state ({mdp.n_states}): an action index in "
                         f"[0, {mdp.n_actions}) or None")
    return family


def _floats(values: Sequence[Fraction], what: str) -> list[float]:
    out = []
    for i, v in enumerate(values):
        try:
            f = float(v)
        except OverflowError:
            raise RewardcertError(f"{what}[{i}] = {v} is too large for a floating-point solver") from None
        if not math.isfinite(f):
            raise RewardcertError(f"{what}[{i}] is not finite")
        out.append(f)
    return out


def _successors(mdp: MDP, x: int) -> list[tuple[int, float]]:
    """``γ τ(·|x)`` as floats (empty for a bandit), each correctly rounded from the exact product."""
    return [(t, int(gp.p) / int(gp.q)) for t, gp in dynamics(mdp).succ[x]]


def _bellman_terms(mdp: MDP, x: int, value_var: Sequence[int], reward_var: int) -> list[tuple[int, float]]:
    """Terms of ``V(s) − R̂(x) − γτ(x)·V``."""
    s = x // mdp.n_actions
    terms = [(value_var[s], 1.0), (reward_var, -1.0)]
    terms += [(value_var[t], -gp) for t, gp in _successors(mdp, x)]
    return terms


# -- primal LP ----------------------------------------------------------------------

@dataclass(frozen=True)
class PrimalDecoder:
    reward_vars: tuple[int, ...]
    error_vars: tuple[int, ...]
    value_vars: tuple[int, ...]
    bellman_rows: tuple[int, ...]


@dataclass(frozen=True)
class FloatPrimal:
    """A floating solution of the primal LP of ``f_π(D)``."""

    policy: DeterministicPolicy
    status: Status
    solver: str
    objective: float | None       # Σ D t as reported
    reward_model: tuple[float, ...]
    errors: tuple[float, ...]     # t
    values: tuple[float, ...]     # V
    bellman_duals: tuple[float, ...] | None   # ∂obj/∂rhs of the Bellman rows: the dual y
    seconds: float


def encode_primal(mdp: MDP, data: Sequence[Fraction], policy: Sequence[int]) -> tuple[Model, PrimalDecoder]:
    policy = check_deterministic(mdp, policy)
    data = validate_distribution(mdp, data)
    d = _floats(data, "data")
    r = _floats(mdp.reward, "reward")
    n, m, N = mdp.n_states, mdp.n_actions, mdp.n_pairs
    model = Model("primal-error-lp")
    rhat = [model.add_variable() for _ in range(N)]
    t = [model.add_variable(0.0) for _ in range(N)]
    v = [model.add_variable() for _ in range(n)]
    for x in range(N):
        model.add_constraint([(t[x], 1.0), (rhat[x], -1.0)], ">=", -r[x])   # t − R̂ ≥ −R
        model.add_constraint([(t[x], 1.0), (rhat[x], 1.0)], ">=", r[x])     # t + R̂ ≥ R
    rows = []
    for x in range(N):
        s, a = divmod(x, m)
        rows.append(model.add_constraint(_bellman_terms(mdp, x, v, rhat[x]), "==" if policy[s] == a else ">=", 0.0))
    model.set_objective([(t[x], d[x]) for x in range(N) if d[x]])
    return model, PrimalDecoder(tuple(rhat), tuple(t), tuple(v), tuple(rows))


def decode_primal(decoder: PrimalDecoder, policy: DeterministicPolicy, solution: Solution) -> FloatPrimal:
    pick = lambda handles: tuple(solution.values[h] for h in handles)
    duals = None if solution.duals is None else tuple(solution.duals[i] for i in decoder.bellman_rows)
    return FloatPrimal(tuple(policy), solution.status, solution.solver, solution.objective,
                       pick(decoder.reward_vars), pick(decoder.error_vars), pick(decoder.value_vars),
                       duals, solution.seconds)


def solve_primal(mdp: MDP, data: Sequence[Fraction], policy: Sequence[int], *,
                 solver: str | None = None, time_limit: float | None = None) -> FloatPrimal:
    """The primal LP of ``f_π(D)`` solved in floating point."""
    model, decoder = encode_primal(mdp, data, policy)
    return decode_primal(decoder, check_deterministic(mdp, policy), model.solve(solver, time_limit=time_limit))


# -- dual / family LP ------------------------------------------------------------------

@dataclass(frozen=True)
class DualDecoder:
    dual_vars: tuple[int, ...]
    flow_rows: tuple[int, ...]


@dataclass(frozen=True)
class FloatDual:
    """A floating solution of the dual (family) LP: ``y`` and the flow potentials ``V``."""

    family: Family
    status: Status
    solver: str
    objective: float | None       # R · y as reported
    dual: tuple[float, ...]       # y
    potentials: tuple[float, ...] | None   # ∂obj/∂rhs of the flow rows (the primal V)
    seconds: float
    basis: tuple[str, ...] | None = None     # simplex status of each y(x), if the solver gave it
    row_basis: tuple[str, ...] | None = None  # simplex status of each flow row's logical


def dual_bounds(data: Sequence[Fraction], family: Family, n_actions: int) -> list[tuple[Fraction, Fraction]]:
    """Exact ``(lower, upper)`` of every ``y(x)`` for ``family``."""
    out = []
    for x, dx in enumerate(data):
        s, a = divmod(x, n_actions)
        out.append((-dx if family[s] == a else Fraction(0), dx))
    return out


def encode_dual(mdp: MDP, data: Sequence[Fraction], family: Sequence[int | None]) -> tuple[Model, DualDecoder]:
    family = check_family(mdp, family)
    data = validate_distribution(mdp, data)
    r = _floats(mdp.reward, "reward")
    n, m, N = mdp.n_states, mdp.n_actions, mdp.n_pairs
    model = Model("family-dual-lp", maximise=True)
    y = []
    for lo, hi in dual_bounds(data, family, m):
        y.append(model.add_variable(float(lo), float(hi)))
    flow: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for x in range(N):
        flow[x // m].append((y[x], 1.0))
        for t, gp in _successors(mdp, x):
            flow[t].append((y[x], -gp))
    rows = tuple(model.add_constraint(terms, "==", 0.0) for terms in flow)
    model.set_objective([(y[x], r[x]) for x in range(N) if r[x]])
    return model, DualDecoder(tuple(y), rows)


def solve_dual(mdp: MDP, data: Sequence[Fraction], family: Sequence[int | None], *,
               solver: str | None = None, time_limit: float | None = None) -> FloatDual:
    """The dual LP of a family (a tuple of ints is a single policy) in floating point."""
    family = check_family(mdp, family)
    model, decoder = encode_dual(mdp, data, family)
    solution = model.solve(solver, time_limit=time_limit)
    potentials = None if solution.duals is None else tuple(solution.duals[i] for i in decoder.flow_rows)
    basis = None if solution.basis is None else tuple(solution.basis[h] for h in decoder.dual_vars)
    row_basis = None if solution.row_basis is None else tuple(solution.row_basis[i] for i in decoder.flow_rows)
    return FloatDual(family, solution.status, solution.solver, solution.objective,
                     tuple(solution.values[h] for h in decoder.dual_vars), potentials, solution.seconds,
                     basis, row_basis)


# -- MILP for ε*(D) ---------------------------------------------------------------------

@dataclass(frozen=True)
class MilpDecoder:
    choice_vars: tuple[int, ...]      # b(x)
    occupancy_vars: tuple[int, ...]   # η(x)
    reward_vars: tuple[int, ...]
    error_vars: tuple[int, ...]
    value_vars: tuple[int, ...]
    box: float                        # K
    reward_box: tuple[float, float]
    value_box: float
    big_m: float


@dataclass(frozen=True)
class MilpThreshold:
    """The MILP's answer for ``ε*(D)`` (a float: a cross-check, never a verdict).

    ``status`` OPTIMAL: ``policy`` is the decoded minimiser, whose regret
    ``≥ L`` was checked exactly, and ``objective`` is the MILP's ``Σ D t``
    (absolute; ``critical_epsilon = objective / range R``).  INFEASIBLE with
    ``critical_epsilon = inf``: every policy has regret 0 (``range J = 0``), so
    ``Π_L`` is empty.  NOT_SOLVED with ``nan``: the solver gave no answer.
    FEASIBLE: the time limit ran out holding an integer-feasible point; ``policy``
    (checked exactly to have regret ``≥ L``, else None) is a candidate minimiser
    and ``critical_epsilon`` only an estimate from above, never an answer.
    """

    status: Status
    solver: str
    critical_epsilon: float
    objective: float | None
    policy: DeterministicPolicy | None
    reward_model: tuple[float, ...] | None
    values: tuple[float, ...] | None
    big_m: float
    box: float
    box_touched: bool
    box_binding: bool
    box_retries: int
    no_good_cuts: int
    seconds: float


def initial_box(mdp: MDP) -> float:
    """The heuristic first ``K`` (see the module docstring)."""
    return 2.0 * mdp.n_states * (1.0 + float(mdp.range_reward)) / (1.0 - float(mdp.gamma))


def encode_milp(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, bounds: ReturnBounds, box: float,
                excluded: Sequence[DeterministicPolicy] = ()) -> tuple[Model, MilpDecoder]:
    data = validate_distribution(mdp, data)
    d = _floats(data, "data")
    r = _floats(mdp.reward, "reward")
    n, m, N = mdp.n_states, mdp.n_actions, mdp.n_pairs
    gamma = float(mdp.gamma)
    horizon = 1.0 / (1.0 - gamma)
    rmax_abs = max(abs(v) for v in r)
    reward_box = (min(r) - box, max(r) + box)
    value_box = (rmax_abs + box) * horizon
    big_m = (1.0 + gamma) * value_box + rmax_abs + box
    model = Model("critical-epsilon-milp")
    b = [model.add_binary() for _ in range(N)]
    eta = [model.add_variable(0.0, horizon) for _ in range(N)]
    rhat = [model.add_variable(*reward_box) for _ in range(N)]
    t = [model.add_variable(0.0) for _ in range(N)]
    v = [model.add_variable(-value_box, value_box) for _ in range(n)]
    mu0 = _floats(mdp.initial, "initial")
    for s in range(n):
        model.add_constraint([(b[s * m + a], 1.0) for a in range(m)], "==", 1.0)
    flow: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for x in range(N):
        model.add_constraint([(eta[x], 1.0), (b[x], -horizon)], "<=", 0.0)
        flow[x // m].append((eta[x], 1.0))
        for s2, gp in _successors(mdp, x):
            flow[s2].append((eta[x], -gp))
    for s in range(n):
        model.add_constraint(flow[s], "==", mu0[s])
    threshold = float(bounds.regret_threshold(regret_bound))
    slack = 1e-9 * (1.0 + abs(float(bounds.optimal_return)) + float(bounds.range))
    model.add_constraint([(eta[x], r[x]) for x in range(N) if r[x]], "<=", threshold + slack)
    for x in range(N):
        if not mdp.is_enabled(x):
            # A disabled pair is never chosen; D = 0 there, so it has no error and no constraint.
            model.add_constraint([(b[x], 1.0)], "<=", 0.0)
            continue
        model.add_constraint([(t[x], 1.0), (rhat[x], -1.0)], ">=", -r[x])
        model.add_constraint([(t[x], 1.0), (rhat[x], 1.0)], ">=", r[x])
        bell = _bellman_terms(mdp, x, v, rhat[x])
        model.add_constraint(bell, ">=", 0.0)
        model.add_constraint(bell + [(b[x], big_m)], "<=", big_m)
    for policy in excluded:
        model.add_constraint([(b[s * m + a], 1.0) for s, a in enumerate(policy)], "<=", n - 1.0)
    model.set_objective([(t[x], d[x]) for x in range(N) if d[x]])
    return model, MilpDecoder(tuple(b), tuple(eta), tuple(rhat), tuple(t), tuple(v), box, reward_box,
                              value_box, big_m)


def _decode_policy(mdp: MDP, decoder: MilpDecoder, solution: Solution) -> DeterministicPolicy:
    m = mdp.n_actions
    return tuple(max(mdp.enabled_actions(s), key=lambda a: solution.values[decoder.choice_vars[s * m + a]])
                 for s in range(mdp.n_states))


def _touches_box(decoder: MilpDecoder, solution: Solution, data: Sequence[float]) -> bool:
    """Does a reward with positive data weight rest on the box (see the module docstring)?"""
    lo, hi = decoder.reward_box
    tol = TOUCH_TOLERANCE * max(1.0, abs(lo), abs(hi))
    return any(d > 0 and not (lo + tol < solution.values[h] < hi - tol)
               for h, d in zip(decoder.reward_vars, data))


def solve_milp(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, *,
               bounds: ReturnBounds | None = None, solver: str | None = None,
               time_limit: float | None = None, box: float | None = None) -> MilpThreshold:
    """``ε*(D)`` from the MILP, with big-M retries and exact regret checks of the decoded policy."""
    data = validate_distribution(mdp, data)
    regret_bound = check_regret_bound(regret_bound)
    bounds = bounds or return_bounds(mdp)
    box = initial_box(mdp) if box is None else box
    name = solver or ""
    if bounds.degenerate:
        return MilpThreshold(Status.INFEASIBLE, name, math.inf, None, None, None, None, 0.0, box, False, False,
                             0, 0, 0.0)
    excluded: list[DeterministicPolicy] = []
    seconds = 0.0
    retries = 0
    while True:
        model, decoder = encode_milp(mdp, data, regret_bound, bounds, box, excluded)
        solution = model.solve(solver, time_limit=time_limit)
        seconds += solution.seconds
        name = solution.solver
        if solution.status is Status.INFEASIBLE:
            # Never a true answer: the uniformly pessimal policy has regret 1 ≥ L and is never cut
            # off, and a constant R̂ (inside every box) makes it optimal.  Presolve with tight
            # tolerances has been seen to misjudge these models (HiGHS 1.16), so ask again without it.
            solution = model.solve(solver, time_limit=time_limit, presolve=False)
            seconds += solution.seconds
            if solution.status is Status.INFEASIBLE:
                return MilpThreshold(Status.NOT_SOLVED, name, math.nan, None, None, None, None, decoder.big_m,
                                     box, False, False, retries, len(excluded), seconds)
        if solution.status is Status.FEASIBLE:
            # The time limit ran out holding an integer-feasible point: not an answer, but its policy
            # is still a candidate minimiser (the exact search verifies any seed before using it).
            policy = _decode_policy(mdp, decoder, solution)
            if bounds.regret_of_return(expected_return(mdp, policy)) < regret_bound:
                policy = None
            return MilpThreshold(Status.FEASIBLE, name,
                                 math.nan if policy is None else solution.objective / float(mdp.range_reward),
                                 None if policy is None else solution.objective, policy,
                                 None if policy is None else tuple(solution.values[h] for h in decoder.reward_vars),
                                 None if policy is None else tuple(solution.values[h] for h in decoder.value_vars),
                                 decoder.big_m, box, False, False, retries, len(excluded), seconds)
        if solution.status is not Status.OPTIMAL:
            return MilpThreshold(solution.status, name, math.nan, None, None, None, None, decoder.big_m, box,
                                 False, False, retries, len(excluded), seconds)
        policy = _decode_policy(mdp, decoder, solution)
        if bounds.regret_of_return(expected_return(mdp, policy)) < regret_bound:
            if len(excluded) >= MAX_NO_GOOD_CUTS:
                return MilpThreshold(Status.NOT_SOLVED, name, math.nan, None, None, None, None, decoder.big_m,
                                     box, False, False, retries, len(excluded), seconds)
            excluded.append(policy)
            continue
        touched = _touches_box(decoder, solution, _floats(data, "data"))
        free = solve_primal(mdp, data, policy, solver=solver, time_limit=time_limit)
        seconds += free.seconds
        scale = max(abs(x) for x in _floats(mdp.reward, "reward"))
        binding = free.status is Status.OPTIMAL and \
            free.objective < solution.objective - BINDING_TOLERANCE * scale
        if (touched or binding) and retries < MAX_BOX_RETRIES:
            retries += 1
            box *= BOX_GROWTH
            continue
        objective = solution.objective
        return MilpThreshold(Status.OPTIMAL, name, objective / float(mdp.range_reward), objective, policy,
                             tuple(solution.values[h] for h in decoder.reward_vars),
                             tuple(solution.values[h] for h in decoder.value_vars),
                             decoder.big_m, box, touched, binding, retries, len(excluded), seconds)
