"""Certificates of the mean-squared error at λ = 0 (paper App. B.3; ``docs/certificate-format.md``
§3.9): a witness for ``squared-unsafe``, and one KKT point per policy of regret ``≥ L`` for
``squared-safe`` and ``squared-threshold``."""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.search.squared import SquaredOptimum, SquaredResult

from .common import FORMAT, instance_document, return_evidence

ERROR = {"error": "squared"}


def _entry(mdp: MDP, optimum: SquaredOptimum) -> dict:
    return {"policy": mdp.policy_to_mapping(optimum.policy), "reward": mdp.pair_table(optimum.reward),
            "multipliers": mdp.pair_table(optimum.multipliers),
            "active": [list(mdp.pair_name(x)) for x in optimum.active]}


def squared_certificate(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, result: SquaredResult,
                        epsilon: Fraction | None = None) -> dict:
    """``squared-threshold`` (``epsilon`` None: the exact ``ε*_MSE(D)``), or the verdict at ``epsilon``:
    ``squared-unsafe`` with the minimiser as witness, ``squared-safe`` with every KKT point."""
    evidence = return_evidence(mdp, result.bounds)
    if epsilon is None:
        verdict = "squared-threshold"
        instance = instance_document(mdp, data, regret_bound, epsilon=result.critical_epsilon, extra=ERROR)
    elif result.verdict(epsilon) is Verdict.UNSAFE:
        verdict = "squared-unsafe"
        instance = instance_document(mdp, data, regret_bound, epsilon=epsilon, extra=ERROR)
        witness = result.witness
        evidence["witness"] = {"reward": mdp.pair_table(witness.reward),
                               "policy": mdp.policy_to_mapping(witness.policy)}
        return {"format": FORMAT, "instance": instance, "verdict": verdict, "evidence": evidence}
    else:
        verdict = "squared-safe"
        instance = instance_document(mdp, data, regret_bound, epsilon=epsilon, extra=ERROR)
    if not result.bounds.degenerate:
        evidence["policies"] = [_entry(mdp, optimum) for optimum in result.optima]
    return {"format": FORMAT, "instance": instance, "verdict": verdict, "evidence": evidence}


__all__ = ["squared_certificate"]
