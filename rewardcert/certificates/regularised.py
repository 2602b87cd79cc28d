"""Certificates of the regularised verdicts (``docs/certificate-format.md`` §6)."""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from rewardcert.symbolic.core.errors import RewardcertError
from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.numbers import format_rational
from rewardcert.symbolic.core.policyfile import policy_table
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.regularised.results import (
    BoxLeaf,
    RegularisedResult,
    RegularisedWitness,
)
from rewardcert.symbolic.rigorous.soft import SoftBox

from .common import FORMAT, instance_document, return_evidence


def _regularisation(mdp: MDP, result: RegularisedResult) -> dict:
    """``instance.regularisation`` and, for the preference error, ``instance.error`` (format §6.1)."""
    return {"regularisation": {"lambda": format_rational(result.lam),
                               "reference": policy_table(mdp, result.reference),
                               "regulariser": "occupancy-kl"},
            **({"error": "preference"} if result.error_measure == "preference" else {})}


def _soft_box(mdp: MDP, box: SoftBox) -> dict:
    return {"values": {s: format_rational(v) for s, v in zip(mdp.states, box.values)},
            "radius": format_rational(box.radius)}


def _witness_evidence(mdp: MDP, witness: RegularisedWitness) -> dict:
    evidence = {"witness": {"reward": mdp.pair_table(witness.reward)}}
    if mdp.gamma:
        evidence["soft_box"] = _soft_box(mdp, witness.optimum.box)
        evidence["comparison_policy"] = policy_table(mdp, witness.optimum.comparison)
    return evidence


def _tree(mdp: MDP, node) -> dict:
    if isinstance(node, BoxLeaf):
        if node.kind == "far":
            return {"close": "far"}
        leaf = {"close": "bound"}
        if mdp.gamma:
            leaf.update(soft_low=_soft_box(mdp, node.soft_low), soft_high=_soft_box(mdp, node.soft_high),
                        comparison_policy=policy_table(mdp, node.comparison))
        return leaf
    _, x, at, low, high = node
    state, action = mdp.pair_name(x)
    return {"split": [state, action], "at": format_rational(at), "children": [_tree(mdp, low), _tree(mdp, high)]}


def regularised_certificate(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction,
                            result: RegularisedResult, epsilon: Fraction | None = None) -> dict:
    """The certificate of a regularised result: at ``epsilon`` (``regularised-safe`` or
    ``regularised-unsafe``), or of its interval (``epsilon is None``: ``regularised-interval``)."""
    instance = instance_document(mdp, data, regret_bound, extra=_regularisation(mdp, result))
    evidence = return_evidence(mdp, result.bounds)
    if epsilon is None:
        instance["critical_error"] = {"lower": format_rational(result.lower),
                                      "upper": "inf" if result.upper is None else format_rational(result.upper)}
        if result.witness is not None and not result.bounds.degenerate:
            evidence.update(_witness_evidence(mdp, result.witness))
        if result.lower > 0 and not result.bounds.degenerate:
            evidence["box_radius"] = format_rational(result.tree.root_epsilon)
            evidence["box_tree"] = _tree(mdp, result.tree.node)
            _radii(mdp, result, evidence)
        verdict = "regularised-interval"
    else:
        instance["epsilon"] = format_rational(epsilon)
        state = result.verdict(epsilon)
        if state is Verdict.UNSAFE:
            evidence.update(_witness_evidence(mdp, result.witness))
            verdict = "regularised-unsafe"
        elif state is Verdict.SAFE:
            if not result.bounds.degenerate:
                evidence["box_tree"] = _tree(mdp, result.tree.node)
                _radii(mdp, result, evidence)
            verdict = "regularised-safe"
        else:
            raise RewardcertError("the verdict is unknown, so there is nothing to certify")
    return {"format": FORMAT, "instance": instance, "verdict": verdict, "evidence": evidence}


def _radii(mdp: MDP, result: RegularisedResult, evidence: dict) -> None:
    """The preference error's root box half-widths (docs/certificate-format.md §6.3a)."""
    if result.error_measure != "preference":
        return
    table: dict = {}
    for x, rho in sorted(result.tree.radii.items()):
        state, action = mdp.pair_name(x)
        table.setdefault(state, {})[action] = format_rational(rho)
    evidence["box_radii"] = table
