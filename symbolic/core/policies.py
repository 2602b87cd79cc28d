"""Policies at the door: deterministic and stochastic policies checked against a model."""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from .errors import ModelError
from .model import MDP, DeterministicPolicy

StochasticPolicy = tuple[tuple[Fraction, ...], ...]
"""``π(a|s)`` as one row of probabilities per state."""


def check_deterministic(mdp: MDP, policy: Sequence[int]) -> DeterministicPolicy:
    policy = tuple(policy)
    if len(policy) != mdp.n_states or not all(isinstance(a, int) and 0 <= a < mdp.n_actions for a in policy):
        raise ModelError(f"a deterministic policy needs one action index in [0, {mdp.n_actions}) "
                         f"for each of the {mdp.n_states} states")
    if mdp.has_disabled:
        check_enabled(mdp, policy)
    return policy


def check_enabled(mdp: MDP, policy: DeterministicPolicy) -> None:
    m = mdp.n_actions
    for s, a in enumerate(policy):
        if not mdp.is_enabled(s * m + a):
            raise ModelError(f"action {mdp.actions[a]!r} is not enabled in state {mdp.states[s]!r}",
                             table="policy", entry=mdp.states[s])


def check_stochastic(mdp: MDP, probs: Sequence[Sequence[Fraction]]) -> StochasticPolicy:
    rows = tuple(tuple(row) for row in probs)
    if len(rows) != mdp.n_states:
        raise ModelError(f"a stochastic policy needs {mdp.n_states} rows, got {len(rows)}")
    for s, row in enumerate(rows):
        where = f"policy.{mdp.states[s]}"
        if len(row) != mdp.n_actions:
            raise ModelError(f"expected {mdp.n_actions} probabilities", table=where)
        if not all(isinstance(p, Fraction) for p in row):
            raise ModelError("probabilities must be exact rationals (Fraction)", table=where)
        if any(p < 0 for p in row):
            raise ModelError("negative probability", table=where)
        if sum(row) != 1:
            raise ModelError(f"probabilities sum to {sum(row)}, not 1", table=where)
        if mdp.has_disabled and any(p and not mdp.is_enabled(s * mdp.n_actions + a) for a, p in enumerate(row)):
            raise ModelError("positive probability on an action that is not enabled", table=where)
    return rows


def deterministic_as_stochastic(mdp: MDP, policy: DeterministicPolicy) -> StochasticPolicy:
    return tuple(tuple(Fraction(int(a == chosen)) for a in range(mdp.n_actions)) for chosen in policy)


def check_reference(mdp: MDP, reference: StochasticPolicy) -> StochasticPolicy:
    """A full-support reference policy (docs/theory.md §5 needs ``π_ref(a|s) > 0`` everywhere), with one
    exact probability row per state summing to 1."""
    from .numbers import exact_number
    from .policies import check_stochastic
    if not isinstance(reference, (list, tuple)) or not all(isinstance(r, (list, tuple)) for r in reference):
        raise ModelError("the reference policy must be one row of probabilities per state", table="policy")
    reference = check_stochastic(mdp, [[exact_number(p, "reference") for p in row] for row in reference])
    for s, row in enumerate(reference):
        for a, p in enumerate(row):
            if p <= 0:
                raise ModelError("the reference policy must give every action positive probability",
                                 table=f"policy.{mdp.states[s]}", entry=mdp.actions[a])
    return reference


def uniform_policy(mdp: MDP) -> StochasticPolicy:
    p = Fraction(1, mdp.n_actions)
    return tuple((p,) * mdp.n_actions for _ in range(mdp.n_states))
