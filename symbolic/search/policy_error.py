"""``f_π(D)`` for one policy: the least error of a reward model that makes ``π`` optimal, exactly.

``policy_error`` solves the error LP of docs/engine.md §1 with the exact simplex
(``exact/familylp.py``) and returns the value, a minimising reward model ``R̂`` and an optimal
dual ``y`` (the safety certificate of weak duality).
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
    """Exact ``f_π(D)`` (docs/theory.md §3) with a minimising reward model and an optimal dual."""
    policy = check_deterministic(mdp, policy)
    data = validate_distribution(mdp, data)
    lp = FamilyLP(dynamics(mdp), [to_fmpq(r) for r in mdp.reward], [to_fmpq(d) for d in data])
    state = lp.solve(lp.initial_state(policy), lp.lower_bounds(policy))
    return PolicyError(policy, to_fraction(state.objective), witness_reward(lp, state, policy, mdp.reward),
                       tuple(map(to_fraction, lp.dual(state))))
