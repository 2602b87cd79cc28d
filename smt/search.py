"""SMT search for unsafety witnesses (docs/theory.md §4), and ε*(D) by exact optimisation.

One encoding, built by ``encode_search``: over real variables ``R̂(x)``,
``V(s)``, ``t(x)``, ``η(x)`` and Booleans ``b(s,a)`` (exactly one per state:
the deterministic policy ``π̂``)

* ``¬b(s,a) ⇒ η(s,a) = 0``, ``η ≥ 0`` and the occupancy flow
  ``Σ_a η(s',a) = μ0(s') + γ Σ_{s,a} τ(s'|s,a) η(s,a)``: ``η = η^π̂``;
* ``b(s,a) ⇒ V(s) = R̂(s,a) + γ τ(·|s,a)·V`` and
  ``V(s) ≥ R̂(s,a) + γ τ(·|s,a)·V`` for all ``s, a``: ``V = V^π̂_R̂`` and
  every advantage is ``≤ 0`` (``π̂`` is uniformly optimal for ``R̂``, P2);
* ``Σ_x η(x) R(x) ≤ J*_R − L · range J_R``: ``Reg^R(π̂) ≥ L`` (not P3);
* ``t ≥ |R̂ − R|`` and ``Σ_x D(x) t(x) ≤ ε · range R`` (P1).

By Lemma A (docs/theory.md §3) it is satisfiable iff ``D`` is unsafe.  ``find_witness``
decides it; ``minimise_error`` drops the P1 bound and minimises
``Σ D t`` with z3's ``Optimize``, which gives ``ε*(D)`` without listing
policies.  Every satisfying model is decoded into exact ``Fraction`` objects
and re-verified by ``rewardcert.symbolic.exact.duals.witness_failures``; a model that fails
that check is a solver or encoding bug and raises, it is never a verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

from rewardcert.smt import z3_backend as backend
from rewardcert.symbolic.core.errors import ModelError, RewardcertError
from rewardcert.symbolic.core.model import MDP, Vector, validate_distribution
from rewardcert.symbolic.core.numbers import format_rational
from rewardcert.symbolic.core.parameters import check_regret_bound
from rewardcert.symbolic.core.results import Verdict, Witness
from rewardcert.symbolic.exact.duals import absolute_error, witness_failures
from rewardcert.symbolic.exact.evaluation import ReturnBounds
from rewardcert.symbolic.guidance.floatvi import return_bounds

# -- results -------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """Outcome of one witness search at a fixed ``ε``.

    ``UNSAFE`` carries an exactly verified ``witness``; ``SAFE`` means z3
    proved that no witness exists; ``UNKNOWN`` (time-out or z3 ``unknown``)
    claims nothing.
    """

    verdict: Verdict
    witness: Witness | None
    reason: str


@dataclass(frozen=True)
class MinimumResult:
    """Outcome of minimising the error of an unsafety witness: ``ε*(D)``.

    * ``UNSAFE``: a minimum was found; ``critical_epsilon`` is ``ε*(D)`` and
      ``witness`` attains it (so ``D`` is unsafe exactly for ``ε ≥ ε*(D)``).
    * ``SAFE``: no policy has regret ``≥ L`` (only when every policy has the
      same return); ``ε*(D) = +∞`` and ``critical_epsilon`` is ``None``.
    * ``UNKNOWN``: the budget ran out; ``critical_epsilon`` is ``None``.  If a
      ``witness`` is given it is exactly verified and its ``error`` is an
      upper bound on ``ε*(D)``.
    """

    verdict: Verdict
    critical_epsilon: Fraction | None
    witness: Witness | None
    reason: str


# -- the encoding and its decoder ------------------------------------------------

@dataclass(frozen=True)
class SearchVariables:
    """The decoder of one encoding: its z3 variables and how to read a model back.

    ``reward[x]`` is ``R̂(x)``, ``choice[x]`` is ``b(s,a)`` (flat pair order)
    and ``error`` is the term ``Σ_x D(x) t(x)``, the unnormalised error bound.
    Pairs with ``D(x) = 0`` get no ``t(x)``: their error weight is zero, so
    ``R̂(x)`` is left free there.
    """

    mdp: MDP
    data: Vector
    reward: tuple[Any, ...]
    choice: tuple[Any, ...]
    error: Any

    def decode(self, model) -> Witness:
        """The exact witness ``(R̂, π̂)`` of a satisfying model; error recomputed from ``R̂``."""
        mdp = self.mdp
        m = mdp.n_actions
        reward = tuple(backend.model_value(model, r) for r in self.reward)
        policy = []
        for s in range(mdp.n_states):
            chosen = [a for a in range(m) if backend.model_flag(model, self.choice[s * m + a])]
            if len(chosen) != 1:
                raise RewardcertError(f"internal error: the SMT model chooses {len(chosen)} actions "
                                      f"in state {mdp.states[s]!r}, not exactly one")
            policy.append(chosen[0])
        error = absolute_error(mdp, self.data, reward) / mdp.range_reward
        return Witness(reward, tuple(policy), error)


def encode_search(mdp: MDP, data: Vector, regret_bound: Fraction, bounds: ReturnBounds, ctx, *,
                  error_bound: Fraction | None = None, strict: bool = False) -> tuple[list, SearchVariables]:
    """The docs/theory.md §4 constraints and their decoder.

    ``error_bound`` is ``ε``: it adds ``Σ D t ≤ ε · range R`` (``<`` when
    ``strict``); ``None`` leaves the error unbounded for minimisation.  The
    caller owns ``ctx`` (a fresh ``z3.Context``).
    """
    z3 = backend.load_z3()
    n, m = mdp.n_states, mdp.n_actions
    gamma = mdp.gamma

    def num(value: Fraction | int):
        return backend.rational(value, ctx)

    def total(terms: list):
        return z3.Sum(terms) if terms else num(0)

    reward = tuple(z3.Real(f"Rhat_{x}", ctx) for x in range(n * m))
    value = tuple(z3.Real(f"V_{s}", ctx) for s in range(n))
    eta = tuple(z3.Real(f"eta_{x}", ctx) for x in range(n * m))
    choice = tuple(z3.Bool(f"b_{x}", ctx) for x in range(n * m))
    constraints: list = []

    # The deterministic policy: exactly one action per state.
    for s in range(n):
        row = [choice[s * m + a] for a in range(m)]
        constraints.append(z3.Or(row) if m > 1 else row[0])
        for i in range(m):
            for j in range(i + 1, m):
                constraints.append(z3.Not(z3.And(row[i], row[j])))
    # Disabled pairs are never chosen; their R̂ is free and D = 0 there, so their
    # optimality constraints below are vacuous (see docs/engine.md, action sets).
    constraints.extend(z3.Not(choice[x]) for x in range(n * m) if not mdp.is_enabled(x))

    # Occupancy η = η^π̂: zero off the policy, non-negative, and the flow equations.
    inflow: list[list] = [[] for _ in range(n)]
    for x in range(n * m):
        constraints.append(eta[x] >= 0)
        constraints.append(z3.Implies(z3.Not(choice[x]), eta[x] == 0))
        if gamma:
            for s_next, p in mdp.successors(x):
                inflow[s_next].append(num(gamma * p) * eta[x])
    for s in range(n):
        out = total([eta[s * m + a] for a in range(m)])
        constraints.append(out == total([num(mdp.initial[s])] + inflow[s]))

    # Values and advantages: V = V^π̂_R̂ and every advantage ≤ 0.
    for x in range(n * m):
        s = x // m
        q = total([reward[x]] + ([num(gamma * p) * value[t] for t, p in mdp.successors(x)] if gamma else []))
        constraints.append(value[s] >= q)
        constraints.append(z3.Implies(choice[x], value[s] == q))

    # Not P3: J_R(π̂) = Σ η R ≤ J* − L · range J.
    constraints.append(total([num(r) * eta[x] for x, r in enumerate(mdp.reward) if r])
                       <= num(bounds.regret_threshold(regret_bound)))

    # P1: t ≥ |R̂ − R| where D > 0, and Σ D t ≤ ε · range R.
    weighted = []
    for x, d in enumerate(data):
        if d:
            t = z3.Real(f"t_{x}", ctx)
            constraints.append(t >= reward[x] - num(mdp.reward[x]))
            constraints.append(t >= num(mdp.reward[x]) - reward[x])
            weighted.append(num(d) * t)
    error = total(weighted)
    if error_bound is not None:
        limit = num(error_bound * mdp.range_reward)
        constraints.append(error < limit if strict else error <= limit)

    return constraints, SearchVariables(mdp, data, reward, choice, error)


# -- public API --------------------------------------------------------------------

def find_witness(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction, *,
                 timeout_ms: int | None = None, bounds: ReturnBounds | None = None) -> SearchResult:
    """Decide ``D ∈ unsafe(R, ε, L)`` by SMT: a verified witness, a proof of safety, or UNKNOWN."""
    data, epsilon, regret_bound, timeout_ms = _check_inputs(mdp, data, regret_bound, timeout_ms, epsilon)
    bounds = bounds or return_bounds(mdp)
    if bounds.degenerate:
        return SearchResult(Verdict.SAFE, None, "every policy has the same return, so none has regret >= L")
    outcome, witness, reason = _search(mdp, data, epsilon, regret_bound, bounds, timeout_ms, strict=False)
    if outcome == backend.SAT:
        _verify(mdp, data, epsilon, regret_bound, witness, bounds)
        return SearchResult(Verdict.UNSAFE, witness,
                            f"z3 found a reward model with error {format_rational(witness.error)} "
                            f"<= epsilon whose optimal policy has regret >= L")
    if outcome == backend.UNSAT:
        return SearchResult(Verdict.SAFE, None,
                            "z3 proved that no reward model within the error bound makes a policy "
                            "with regret >= L optimal")
    return SearchResult(Verdict.UNKNOWN, None, f"z3 gave no answer{_budget(timeout_ms)}: {reason}")


def minimise_error(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, *,
                   timeout_ms: int | None = None, bounds: ReturnBounds | None = None,
                   confirm: bool = True) -> MinimumResult:
    """``ε*(D)``: the least error of an unsafety witness, by exact optimisation in z3.

    With ``confirm`` (the default) the minimum is re-proved by an independent
    satisfiability query: no witness has error strictly below it.
    """
    data, _, regret_bound, timeout_ms = _check_inputs(mdp, data, regret_bound, timeout_ms, None)
    bounds = bounds or return_bounds(mdp)
    if bounds.degenerate:
        return MinimumResult(Verdict.SAFE, None, None,
                             "every policy has the same return, so none has regret >= L: epsilon* = inf")
    deadline = _Deadline(timeout_ms)
    z3 = backend.load_z3()
    ctx = backend.new_context()
    constraints, variables = encode_search(mdp, data, regret_bound, bounds, ctx)
    optimizer = z3.Optimize(ctx=ctx)
    backend.set_timeout(optimizer, deadline.remaining())
    optimizer.add(*constraints)
    handle = optimizer.minimize(variables.error)
    outcome = backend.status(optimizer.check())

    if outcome == backend.UNSAT:
        # The pessimal policy has regret 1 >= L and a constant reward model makes it optimal.
        raise RewardcertError("internal error: z3 found no unsafety witness at any error, but the "
                              "pessimal policy with a constant reward model is one")
    if outcome == backend.UNKNOWN:
        return MinimumResult(Verdict.UNKNOWN, None,
                             _upper_bound(mdp, data, regret_bound, bounds, optimizer, variables),
                             f"z3 gave no minimum{_budget(timeout_ms)}: {optimizer.reason_unknown()}")

    witness = variables.decode(optimizer.model())
    minimum = handle.value()
    if not backend.is_numeral(minimum):
        raise RewardcertError(f"internal error: z3's minimum {minimum} is not an attained rational")
    minimum = backend.to_fraction(minimum) / mdp.range_reward
    if witness.error != minimum:
        raise RewardcertError(f"internal error: z3's minimum {minimum} differs from the error "
                              f"{witness.error} of its own model")
    _verify(mdp, data, minimum, regret_bound, witness, bounds)

    if confirm and minimum > 0:
        remaining = deadline.remaining()
        if remaining is not None and remaining <= 0:
            return MinimumResult(Verdict.UNKNOWN, None, witness,
                                 "the time ran out before the minimum could be confirmed; "
                                 "the witness's error is an upper bound on epsilon*")
        outcome, below, reason = _search(mdp, data, minimum, regret_bound, bounds, remaining, strict=True)
        if outcome == backend.SAT:
            raise RewardcertError(f"internal error: z3's minimum {minimum} is not minimal; a witness with "
                                  f"error {below.error} exists")
        if outcome == backend.UNKNOWN:
            return MinimumResult(Verdict.UNKNOWN, None, witness,
                                 f"the minimum could not be confirmed ({reason}); "
                                 "the witness's error is an upper bound on epsilon*")
    return MinimumResult(Verdict.UNSAFE, minimum, witness,
                         f"epsilon* = {format_rational(minimum)}: the least error of a reward model whose "
                         f"optimal policy has regret >= L" + (" (minimality re-proved)" if confirm else ""))


# -- helpers -------------------------------------------------------------------------

def _search(mdp, data, epsilon, regret_bound, bounds, timeout_ms, *, strict):
    """One satisfiability query: (outcome, decoded witness or None, z3's reason if unknown)."""
    z3 = backend.load_z3()
    ctx = backend.new_context()
    constraints, variables = encode_search(mdp, data, regret_bound, bounds, ctx,
                                           error_bound=epsilon, strict=strict)
    solver = z3.Solver(ctx=ctx)
    backend.set_timeout(solver, timeout_ms)
    solver.add(*constraints)
    outcome = backend.status(solver.check())
    if outcome == backend.SAT:
        return outcome, variables.decode(solver.model()), ""
    return outcome, None, solver.reason_unknown() if outcome == backend.UNKNOWN else ""


def _verify(mdp, data, epsilon, regret_bound, witness, bounds) -> None:
    failures = witness_failures(mdp, data, epsilon, regret_bound, witness, bounds)
    if failures:
        raise RewardcertError("internal error: the SMT witness fails exact verification: " + "; ".join(failures))


def _upper_bound(mdp, data, regret_bound, bounds, optimizer, variables) -> Witness | None:
    """The best witness z3 had when it stopped, if it had one that verifies exactly."""
    z3 = backend.load_z3()
    try:
        witness = variables.decode(optimizer.model())
    except (z3.Z3Exception, RewardcertError):  # no model, or a partial one: no bound to report
        return None
    if witness_failures(mdp, data, witness.error, regret_bound, witness, bounds):
        return None
    return witness


def _budget(timeout_ms: int | None) -> str:
    return "" if timeout_ms is None else f" within the {timeout_ms} ms budget"


class _Deadline:
    """A wall-clock budget shared by the queries of one call."""

    def __init__(self, timeout_ms: int | None):
        self.end = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000

    def remaining(self) -> int | None:
        if self.end is None:
            return None
        return int((self.end - time.monotonic()) * 1000)


def _check_inputs(mdp, data, regret_bound, timeout_ms, epsilon):
    if not isinstance(mdp, MDP):
        raise ModelError(f"expected an MDP, got {type(mdp).__name__}")
    data = validate_distribution(mdp, data)
    regret_bound = check_regret_bound(_exact(regret_bound, "regret bound L"))
    if epsilon is not None:
        epsilon = _exact(epsilon, "epsilon")
        if epsilon < 0:
            raise ModelError(f"epsilon must be >= 0, got {format_rational(epsilon)}", entry="epsilon")
    if timeout_ms is not None and (isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int)
                                   or timeout_ms <= 0):
        raise ModelError(f"timeout_ms must be a positive integer number of milliseconds, got {timeout_ms!r}",
                         entry="timeout_ms")
    return data, epsilon, regret_bound, timeout_ms


def _exact(value, name: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (Fraction, int)):
        hint = f' (write Fraction("{value!r}") or Fraction(p, q))' if isinstance(value, float) else ""
        raise ModelError(f"{name} must be an exact rational, got {type(value).__name__} {value!r}{hint}",
                         entry=name)
    return Fraction(value)
