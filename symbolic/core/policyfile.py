"""Policy files, format ``rewardcert/policy-1``: one ``[policy.<state>]`` table per state.

Each table holds exact action probabilities that sum to 1, like a data file's
rows (``docs/model-format.md``).  Omitted actions have probability 0.  Used for
the reference policy ``π_ref`` of the regularised questions (``--reference``).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from .errors import ModelError, RewardcertError
from .io import load_table_file
from .model import MDP, require_all_actions
from .numbers import format_rational
from .policies import StochasticPolicy, check_reference, uniform_policy

POLICY_FORMAT = "rewardcert/policy-1"
_POLICY_KEYS = {"format", "name", "description", "policy"}


def policy_from_table(mdp: MDP, table: Any) -> StochasticPolicy:
    """``{state: {action: probability}}`` naming every state → rows of exact probabilities."""
    require_all_actions(mdp, "a policy file (rewardcert/policy-1)")
    if not isinstance(table, Mapping):
        raise ModelError("[policy] must be a table of states", table="policy")
    values = mdp.vector_from_table(table, name="policy", default_zero=True)
    m = mdp.n_actions
    for state in mdp.states:
        if state not in table:
            raise ModelError(f"no [policy.{state}] table: every state needs its action probabilities",
                             table="policy", entry=state)
    rows = []
    for s, state in enumerate(mdp.states):
        row = values[s * m:(s + 1) * m]
        for a, p in enumerate(row):
            if p < 0:
                raise ModelError(f"negative probability {format_rational(p)}", table=f"policy.{state}",
                                 entry=mdp.actions[a])
        if sum(row) != 1:
            raise ModelError(f"probabilities sum to {format_rational(sum(row))}, not 1", table=f"policy.{state}")
        rows.append(tuple(row))
    return tuple(rows)


def load_policy(path: str | os.PathLike, mdp: MDP) -> StochasticPolicy:
    """Read a ``rewardcert/policy-1`` file for ``mdp``."""
    return load_table_file(path, POLICY_FORMAT, _POLICY_KEYS, "policy file", "policy",
                           lambda table: policy_from_table(mdp, table))


def resolve_reference(spec: str | None, mdp: MDP) -> StochasticPolicy:
    """``--reference``: a policy file or ``uniform`` (the default); it must have full support."""
    require_all_actions(mdp, "a reference policy")
    if spec is None or spec == "uniform":
        return uniform_policy(mdp)
    policy = load_policy(spec, mdp)
    try:
        return check_reference(mdp, policy)
    except RewardcertError as exc:
        raise exc.located(file=os.fspath(spec)) from None


MU_FORMAT = "rewardcert/mu-1"
_MU_KEYS = {"format", "name", "description", "mu"}


def mu_from_table(mdp: MDP, table: Any) -> tuple:
    """``{state: probability}`` (omitted states 0) → a distribution over the states, exactly."""
    if not isinstance(table, Mapping):
        raise ModelError("[mu] must be a table of states", table="mu")
    values = []
    for state in table:
        if state not in mdp.states:
            raise ModelError(f"unknown state {state!r}", table="mu", entry=str(state))
    from .numbers import parse_rational
    for state in mdp.states:
        try:
            p = parse_rational(table[state], what="probability") if state in table else parse_rational(0)
        except ModelError as exc:
            raise ModelError(exc.message, table="mu", entry=state) from None
        if p < 0:
            raise ModelError(f"negative probability {format_rational(p)}", table="mu", entry=state)
        values.append(p)
    if sum(values) != 1:
        raise ModelError(f"probabilities sum to {format_rational(sum(values))}, not 1", table="mu")
    return tuple(values)


def resolve_mu(spec: str | None, mdp: MDP) -> tuple:
    """``--mu``: a ``rewardcert/mu-1`` file, ``uniform``, or (``None``) the model's ``initial``."""
    if spec is None:
        return tuple(mdp.initial)
    if spec == "uniform":
        from fractions import Fraction
        return tuple(Fraction(1, mdp.n_states) for _ in mdp.states)
    return load_table_file(spec, MU_FORMAT, _MU_KEYS, "distribution file", "mu", lambda table: mu_from_table(mdp, table))


def policy_to_document(mdp: MDP, policy: StochasticPolicy) -> dict[str, Any]:
    return {"format": POLICY_FORMAT,
            "policy": {s: {a: format_rational(p) for a, p in zip(mdp.actions, row) if p}
                       for s, row in zip(mdp.states, policy)}}


def policy_table(mdp: MDP, policy: StochasticPolicy) -> dict[str, dict[str, str]]:
    """The certificate shape ``{state: {action: "p/q"}}`` (zero entries omitted)."""
    return policy_to_document(mdp, policy)["policy"]


__all__ = ["MU_FORMAT", "POLICY_FORMAT", "load_policy", "mu_from_table", "resolve_mu", "policy_from_table", "policy_table", "policy_to_document",
           "resolve_reference"]
