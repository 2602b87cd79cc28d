"""Exact safety decisions without regularisation (SPEC §2–§3, §6 family certificates).

``policy_error`` solves ``f_π(D)`` (the least expected error of a reward model
that makes ``π`` optimal) exactly, with the witness ``R̂`` and the dual ``y``.

``critical_epsilon`` computes ``ε*(D) = min_{π ∈ Π_L} f_π(D) / range R`` by a
depth-first branch and bound over product families of deterministic policies
(per state: forced action or free).  A family is closed, without looking at
its members, by one of two exact arguments:

* **regret**: a uniformly pessimal policy of the family (exact policy
  iteration restricted to the family's actions) has return above
  ``J* − L · range J``, so every member has regret ``< L``;
* **dual**: a ``y`` feasible for every member (``y ≥ 0`` on every pair whose
  action the family does not force) with ``y · R`` at least the final
  critical error; weak duality bounds every member's ``f_π`` below by it.

Both arguments are sound for every member at once, so the closed leaves prove
``f_π(D) ≥ ε*(D) · range R`` for every ``π ∈ Π_L``; the incumbent's exact
witness proves the matching upper bound.  By Theorem E, ``D`` is safe for
``ε`` exactly when ``ε < ε*(D)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Sequence

from flint import fmpq

from ..core.model import MDP, DeterministicPolicy, Vector, validate_distribution
from ..core.policies import check_deterministic
from ..exact.familylp import FamilyLP, LPState
from ..exact.linalg import dynamics, to_fmpq, to_fraction

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class PolicyError:
    """``f_π(D)`` with its primal witness and its dual certificate."""

    policy: DeterministicPolicy
    value: Fraction          # min E_D|R̂ − R| over R̂ making π optimal (absolute, not normalised)
    reward_model: Vector     # a minimiser R̂ (π is uniformly optimal for it)
    dual: Vector             # y with y · R = value


def witness_reward(lp: FamilyLP, state: LPState, policy: Sequence[int], reward: Sequence[Fraction]) -> Vector:
    """R̂ from the optimal multipliers V: ``g_V(x) = V(s) − γτ(x)·V`` on the policy's
    pairs, ``min(R(x), g_V(x))`` elsewhere (complementary slackness gives the error)."""
    values = lp.multipliers(state)
    m = lp.m
    out = []
    for x, col in enumerate(lp.columns[:lp.N]):
        g = to_fraction(sum((v * values[k] for k, v in col), fmpq(0)))
        s, a = divmod(x, m)
        out.append(g if policy[s] == a else min(reward[x], g))
    return tuple(out)


def policy_error(mdp: MDP, data: Sequence[Fraction], policy: Sequence[int]) -> PolicyError:
    """Exact ``f_π(D)`` (SPEC §3) with a minimising reward model and an optimal dual."""
    policy = check_deterministic(mdp, policy)
    data = validate_distribution(mdp, data)
    lp = FamilyLP(dynamics(mdp), [to_fmpq(r) for r in mdp.reward], [to_fmpq(d) for d in data])
    state = lp.solve(lp.initial_state(policy), lp.lower_bounds(policy))
    return PolicyError(policy, to_fraction(state.objective), witness_reward(lp, state, policy, mdp.reward),
                       tuple(map(to_fraction, lp.dual(state))))
