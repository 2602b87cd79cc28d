"""Exact checks of the two kinds of evidence: dual vectors (safety) and witnesses (unsafety).

A dual ``y`` for a family ``F`` of policies (docs/theory.md §3, §4) satisfies

* zero-source flow: ``Σ_a y(s',a) = γ Σ_{s,a} τ(s'|s,a) y(s,a)`` for every ``s'``,
* ``−D(x) ≤ y(x) ≤ D(x)``, and ``y(s,a) ≥ 0`` unless ``F`` forces action ``a`` in ``s``.

Then every reward model making any member of ``F`` optimal has error
``E_D|R̂ − R| ≥ y · R`` (weak duality).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..core.model import MDP
from ..core.results import Family, Witness
from .evaluation import ReturnBounds, expected_return, return_bounds


@dataclass(frozen=True)
class DualCheck:
    feasible: bool
    value: Fraction            # y · R (meaningful only when feasible)
    failure: str | None = None


def flow_residual(mdp: MDP, y: Sequence[Fraction]) -> list[Fraction]:
    """``Σ_a y(s',a) − γ Σ τ(s'|s,a) y(s,a)`` for every ``s'`` (zero for a valid dual)."""
    n, m = mdp.n_states, mdp.n_actions
    residual = [Fraction(0)] * n
    for x, value in enumerate(y):
        if not value:
            continue
        residual[x // m] += value
        if mdp.gamma:
            for t, p in mdp.successors(x):
                residual[t] -= mdp.gamma * p * value
    return residual


def check_dual(mdp: MDP, data: Sequence[Fraction], family: Family, y: Sequence[Fraction]) -> DualCheck:
    """Is ``y`` a dual valid for every policy of ``family``?  Exact; names the first failure."""
    m = mdp.n_actions
    if len(y) != mdp.n_pairs:
        return DualCheck(False, Fraction(0), f"dual has {len(y)} entries, expected {mdp.n_pairs}")
    for x, value in enumerate(y):
        s, a = divmod(x, m)
        state, action = mdp.pair_name(x)
        if abs(value) > data[x]:
            return DualCheck(False, Fraction(0), f"|y({state},{action})| = {abs(value)} exceeds D = {data[x]}")
        if value < 0 and family[s] != a:
            return DualCheck(False, Fraction(0), f"y({state},{action}) < 0 but the family does not force {action}")
    for s, r in enumerate(flow_residual(mdp, y)):
        if r:
            return DualCheck(False, Fraction(0), f"flow constraint of state {mdp.states[s]} is off by {r}")
    return DualCheck(True, sum((v * r for v, r in zip(y, mdp.reward) if v), Fraction(0)))


def absolute_error(mdp: MDP, data: Sequence[Fraction], reward_model: Sequence[Fraction]) -> Fraction:
    """``E_{x∼D} |R̂(x) − R(x)|`` (not normalised)."""
    return sum((d * abs(rh - r) for d, rh, r in zip(data, reward_model, mdp.reward) if d), Fraction(0))


def witness_failures(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                     witness: Witness, bounds: ReturnBounds | None = None) -> list[str]:
    """The conditions an unsafety witness violates (empty list: it is a valid witness).

    P1: ``E_D|R̂ − R| ≤ ε · range R``; P2: ``J_R̂(π̂) = max_π J_R̂(π)``;
    not P3: ``Reg^R(π̂) ≥ L``; and the stated error must be exact.
    """
    failures = []
    bounds = bounds or return_bounds(mdp)
    if bounds.degenerate:
        return ["every policy has regret 0, so no policy can violate P3"]
    err = absolute_error(mdp, data, witness.reward)
    if err != witness.error * mdp.range_reward:
        failures.append(f"stated error {witness.error} is not E_D|R̂-R|/range R = {err / mdp.range_reward}")
    if err > epsilon * mdp.range_reward:
        failures.append(f"P1 fails: error {err / mdp.range_reward} > epsilon {epsilon}")
    model_bounds = return_bounds(mdp, witness.reward)
    if expected_return(mdp, witness.policy, witness.reward) != model_bounds.optimal_return:
        failures.append("P2 fails: the policy is not optimal for the reward model")
    if bounds.regret_of_return(expected_return(mdp, witness.policy)) < regret_bound:
        failures.append("P3 holds: the policy's regret is below the bound")
    return failures
