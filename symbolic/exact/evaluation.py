"""Exact policy evaluation (docs/theory.md §1): values, occupancies, returns, advantages, regret.

``J*`` and ``J^min`` come from exact policy iteration, never from
enumeration; the policy it stops at is *uniformly* optimal (resp. pessimal):
every advantage is ≤ 0 (resp. ≥ 0) in every state, reachable or not, which
is exactly what a certificate checker re-verifies.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator, Sequence

from flint import fmpq

from ..core.errors import ModelError, ResourceLimit
from ..core.model import MDP, DeterministicPolicy, Vector
from ..core.policies import check_deterministic, check_stochastic
from .linalg import bellman_solve, dynamics, to_fmpq, to_fraction

Progress = Callable[[int, int], None]
"""``progress(done, total)``, called now and then during long enumerations."""


def reward_fmpq(mdp: MDP, reward: Sequence[Fraction] | None) -> list[fmpq]:
    reward = mdp.reward if reward is None else reward
    if len(reward) != mdp.n_pairs:
        raise ModelError(f"a reward needs {mdp.n_pairs} entries, one per state-action pair")
    return [to_fmpq(r) for r in reward]


def _policy_reward(mdp: MDP, policy, reward: list[fmpq], deterministic: bool) -> list[fmpq]:
    m = mdp.n_actions
    if deterministic:
        return [reward[s * m + a] for s, a in enumerate(policy)]
    out = []
    for s, row in enumerate(policy):
        total = fmpq(0)
        for a, p in enumerate(row):
            if p:
                total += to_fmpq(p) * reward[s * m + a]
        out.append(total)
    return out


def _checked_policy(mdp: MDP, policy):
    """``(policy, deterministic)`` after validation, for a tuple of ints or rows of probabilities."""
    if policy and isinstance(policy[0], int):
        return check_deterministic(mdp, policy), True
    return check_stochastic(mdp, policy), False


def _values_fmpq(mdp: MDP, policy, reward: list[fmpq]) -> list[fmpq]:
    policy, deterministic = _checked_policy(mdp, policy)
    return bellman_solve(dynamics(mdp), policy, _policy_reward(mdp, policy, reward, deterministic))


def state_values(mdp: MDP, policy, reward: Sequence[Fraction] | None = None) -> Vector:
    """``V^π_R = (I − γ P_π)^{-1} R_π`` exactly."""
    return tuple(map(to_fraction, _values_fmpq(mdp, policy, reward_fmpq(mdp, reward))))


def expected_return(mdp: MDP, policy, reward: Sequence[Fraction] | None = None) -> Fraction:
    """``J_R(π) = μ0 · V^π_R``."""
    values = _values_fmpq(mdp, policy, reward_fmpq(mdp, reward))
    mu0 = dynamics(mdp).mu0
    return to_fraction(sum((p * v for p, v in zip(mu0, values) if p), fmpq(0)))


def state_occupancy(mdp: MDP, policy) -> Vector:
    """``d^π`` with ``(I − γ P_π)^T d = μ0`` (total mass ``1/(1−γ)``)."""
    policy, _ = _checked_policy(mdp, policy)
    dyn = dynamics(mdp)
    return tuple(map(to_fraction, bellman_solve(dyn, policy, dyn.mu0, transpose=True)))


def occupancy(mdp: MDP, policy) -> Vector:
    """``η^π(s, a) = d^π(s) π(a|s)`` over pairs."""
    d = state_occupancy(mdp, policy)
    m = mdp.n_actions
    eta = [Fraction(0)] * mdp.n_pairs
    if policy and isinstance(policy[0], int):
        for s, a in enumerate(policy):
            eta[s * m + a] = d[s]
    else:
        for s, row in enumerate(policy):
            for a, p in enumerate(row):
                eta[s * m + a] = d[s] * p
    return tuple(eta)


def policy_distribution(mdp: MDP, policy) -> Vector:
    """``D^π = (1 − γ) η^π``, a distribution over pairs."""
    scale = 1 - mdp.gamma
    return tuple(scale * e for e in occupancy(mdp, policy))


def support(mdp: MDP, policy) -> frozenset[int]:
    """``supp D^π``: the pairs the policy visits with positive probability."""
    return frozenset(x for x, e in enumerate(occupancy(mdp, policy)) if e)


def advantages(mdp: MDP, policy: DeterministicPolicy, reward: Sequence[Fraction] | None = None) -> Vector:
    """``A^π_R(s,a) = R(s,a) + γ Σ τ(s'|s,a) V^π(s') − V^π(s)`` for a deterministic π.

    A disabled pair (no action there) has advantage 0 by convention, so the
    uniform optimality and pessimality tests range over enabled pairs only."""
    rew = reward_fmpq(mdp, reward)
    values = _values_fmpq(mdp, check_deterministic(mdp, policy), rew)
    q = dynamics(mdp).q_values(rew, values)
    m = mdp.n_actions
    return tuple(to_fraction(q[x] - values[x // m]) if mdp.is_enabled(x) else Fraction(0)
                 for x in range(mdp.n_pairs))


def is_uniformly_optimal(mdp: MDP, policy: DeterministicPolicy, reward: Sequence[Fraction] | None = None) -> bool:
    return all(adv <= 0 for adv in advantages(mdp, policy, reward))


def is_uniformly_pessimal(mdp: MDP, policy: DeterministicPolicy, reward: Sequence[Fraction] | None = None) -> bool:
    return all(adv >= 0 for adv in advantages(mdp, policy, reward))


def policy_iteration(mdp: MDP, reward: Sequence[fmpq], *, maximise: bool = True,
                     allowed: Sequence[Sequence[int]] | None = None,
                     start: Sequence[int] | None = None) -> tuple[DeterministicPolicy, list[fmpq]]:
    """Exact Howard policy iteration on fmpq data.

    Returns a deterministic policy that is uniformly optimal (``maximise``) or
    uniformly pessimal among the ``allowed`` actions of each state (default:
    the enabled ones), and its values.  Exact arithmetic makes the improvement test exact, so the loop
    ends in finitely many steps (each step strictly improves some value).
    """
    dyn = dynamics(mdp)
    n, m = dyn.n, dyn.m
    sign = 1 if maximise else -1
    if allowed is None:
        allowed = mdp.allowed_actions()
    if start is None:
        policy = [max(allowed[s], key=lambda a: sign * reward[s * m + a]) for s in range(n)]
    else:
        policy = [a if a in allowed[s] else allowed[s][0] for s, a in enumerate(start)]
    # Only states with a choice can improve: their allowed pairs are the only Q-values needed.
    choices = [s for s in range(n) if len(allowed[s]) > 1]
    pairs = [s * m + a for s in choices for a in allowed[s]]
    while True:
        values = bellman_solve(dyn, policy, [reward[s * m + a] for s, a in enumerate(policy)])
        q = dyn.q_values(reward, values, pairs)
        changed = False
        for s in choices:
            current = q[s * m + policy[s]]
            best_a, best_q = policy[s], current
            for a in allowed[s]:
                if sign * (q[s * m + a] - best_q) > 0:
                    best_a, best_q = a, q[s * m + a]
            if best_a != policy[s]:
                policy[s] = best_a
                changed = True
        if not changed:
            return tuple(policy), values


@dataclass(frozen=True)
class ReturnBounds:
    """``J*_R`` and ``J^min_R`` with a uniformly optimal and a uniformly pessimal policy."""

    optimal_policy: DeterministicPolicy
    pessimal_policy: DeterministicPolicy
    optimal_return: Fraction
    pessimal_return: Fraction

    @property
    def range(self) -> Fraction:
        """``range J_R = J* − J^min``."""
        return self.optimal_return - self.pessimal_return

    @property
    def degenerate(self) -> bool:
        """Every policy has the same return: regret is 0 for all of them."""
        return self.optimal_return == self.pessimal_return

    def regret_of_return(self, value: Fraction) -> Fraction:
        """Normalised regret of a policy with return ``value``."""
        if self.degenerate:
            return Fraction(0)
        return (self.optimal_return - value) / self.range

    def regret_threshold(self, bound: Fraction) -> Fraction:
        """``J* − L · range J``: regret ≥ L  ⇔  return ≤ this value."""
        return self.optimal_return - bound * self.range


def return_bounds(mdp: MDP, reward: Sequence[Fraction] | None = None, *,
                  starts: tuple[Sequence[int], Sequence[int]] | None = None) -> ReturnBounds:
    """``J*`` and ``J^min`` by exact policy iteration (no enumeration).  ``starts``: the policies
    the two iterations start from (``symbolic/guidance/floatvi.py`` proposes them for big models;
    any start ends at an exactly uniformly optimal, resp. pessimal, policy)."""
    rew = reward_fmpq(mdp, reward)
    mu0 = dynamics(mdp).mu0
    best, v_best = policy_iteration(mdp, rew, maximise=True, start=None if starts is None else starts[0])
    worst, v_worst = policy_iteration(mdp, rew, maximise=False, start=None if starts is None else starts[1])
    j_best = sum((p * v for p, v in zip(mu0, v_best) if p), fmpq(0))
    j_worst = sum((p * v for p, v in zip(mu0, v_worst) if p), fmpq(0))
    return ReturnBounds(best, worst, to_fraction(j_best), to_fraction(j_worst))


def optimal_policy(mdp: MDP, reward: Sequence[Fraction] | None = None) -> DeterministicPolicy:
    return policy_iteration(mdp, reward_fmpq(mdp, reward), maximise=True)[0]


def pessimal_policy(mdp: MDP, reward: Sequence[Fraction] | None = None) -> DeterministicPolicy:
    return policy_iteration(mdp, reward_fmpq(mdp, reward), maximise=False)[0]


def regret(mdp: MDP, policy, bounds: ReturnBounds | None = None) -> Fraction:
    """Normalised regret ``(J* − J(π)) / range J`` (0 when every return is equal)."""
    bounds = bounds or return_bounds(mdp)
    return bounds.regret_of_return(expected_return(mdp, policy))


MAX_ENUMERATION = 10_000_000


@dataclass(frozen=True)
class PolicyEvaluation:
    policy: DeterministicPolicy
    expected_return: Fraction
    regret: Fraction


def enumerate_policies(mdp: MDP, bounds: ReturnBounds | None = None, *,
                       progress: Progress | None = None) -> Iterator[PolicyEvaluation]:
    """Every deterministic policy with its exact return and regret."""
    total = mdp.n_deterministic_policies
    if total > MAX_ENUMERATION:
        from ..core.numbers import equals_count
        raise ResourceLimit(f"{_policy_count_text(mdp)} {equals_count(total)} deterministic policies; "
                            f"enumeration is limited to {MAX_ENUMERATION}")
    bounds = bounds or return_bounds(mdp)
    dyn = dynamics(mdp)
    rew = reward_fmpq(mdp, None)
    m = mdp.n_actions
    step = max(1, total // 200)
    for done, policy in enumerate(mdp.deterministic_policies()):
        # J = μ0ᵀ (I − γP_π)^{-1} R_π = d_πᵀ R_π with d_π from the transposed system.
        d = bellman_solve(dyn, policy, dyn.mu0, transpose=True)
        value = to_fraction(sum((d[s] * rew[s * m + a] for s, a in enumerate(policy)), fmpq(0)))
        if progress and done % step == 0:
            progress(done, total)
        yield PolicyEvaluation(policy, value, bounds.regret_of_return(value))
    if progress:
        progress(total, total)


def _policy_count_text(mdp: MDP) -> str:
    """``|A|^|S|``, or the product of the enabled set sizes."""
    if not mdp.has_disabled:
        return f"{mdp.n_actions}^{mdp.n_states}"
    return "product of the enabled action counts"
