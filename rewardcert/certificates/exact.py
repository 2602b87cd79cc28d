"""Certificates of the exact λ = 0 verdicts (``docs/certificate-format.md`` §3) from engine results."""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from rewardcert.symbolic.core.errors import RewardcertError
from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.numbers import (
    format_epsilon,
    format_ratio,
    format_rational,
)
from rewardcert.symbolic.core.results import Verdict, Witness
from rewardcert.symbolic.search.occupancy import GridVector
from rewardcert.symbolic.search.results import Closure, ThresholdResult

from .common import FORMAT, instance_document, return_evidence


def _sparse_table(values: Sequence[Fraction], names: Sequence[tuple[str, str]]) -> dict:
    """``{state: {action: value}}`` of the non-zero values; ``names[x]``: pair ``x``'s (state, action)."""
    table: dict[str, dict[str, str]] = {}
    for (state, action), v in zip(names, values, strict=True):
        if v._numerator if type(v) is Fraction else v:     # Fraction's bool() is a Python-level call
            row = table.get(state)
            if row is None:
                row = table[state] = {}
            row[action] = format_rational(v)
    return table


def witness_document(mdp: MDP, witness: Witness) -> dict:
    return {"reward": mdp.pair_table(witness.reward), "policy": mdp.policy_to_mapping(witness.policy)}


def family_tree(mdp: MDP, closures: Sequence[Closure], order: Sequence[int], splits: dict | None = None,
                actions: Sequence[Sequence[int]] | None = None, node_occupancy: dict | None = None) -> dict:
    """Nest the closed families into a split tree: an internal family splits on ``splits[family]``
    (dynamic branching) or, by default, on ``order[depth]`` (each family fixes ``order[:depth]``),
    into one child per action of ``actions[s]`` (default: every enabled action).  A family in
    ``node_occupancy`` carries its ``{s: U_s}`` (format §3.7a)."""
    leaves = {c.family: c for c in closures}
    n = mdp.n_states
    splits = splits or {}
    actions = actions if actions is not None else mdp.allowed_actions()
    node_occupancy = node_occupancy or {}
    names = [mdp.pair_name(x) for x in range(mdp.n_pairs)]

    def node(family: tuple, depth: int) -> dict:
        made = bare(family, depth)
        vectors = node_occupancy.get(family)
        if vectors:
            made["occupancy"] = _vectors_table(mdp, vectors)
        return made

    def bare(family: tuple, depth: int) -> dict:
        leaf = leaves.get(family)
        if leaf is not None:
            if leaf.kind == "regret":
                closed = {"close": "regret", "policy": mdp.policy_to_mapping(leaf.policy)}
                if leaf.values is not None:  # lets the checker verify V instead of solving for it
                    closed["values"] = {s: format_rational(v) for s, v in zip(mdp.states, leaf.values)}
                return closed
            if leaf.kind == "regret-dual":
                return {"close": "regret-dual", "t": format_rational(leaf.t), "w": _sparse_table(leaf.w, names)}
            return {"close": "dual", "y": _sparse_table(leaf.dual, names)}
        if depth >= n:
            raise RewardcertError(f"internal error: policy {family} is not covered by the search")
        s = splits.get(family, order[depth])
        children = {}
        for a in actions[s]:
            child = list(family)
            child[s] = a
            children[mdp.actions[a]] = node(tuple(child), depth + 1)
        return {"split": mdp.states[s], "children": children}

    return node((None,) * n, 0)


def _occupancy_evidence(mdp: MDP, result: ThresholdResult, leaves: Sequence[Closure]) -> dict | None:
    """The superharmonic vectors behind the H(s) that regret-dual leaves used (format §3.7)."""
    occupancy = result.occupancy
    if occupancy is None or not occupancy.vectors or not any(c.kind == "regret-dual" for c in leaves):
        return None
    return _vectors_table(mdp, occupancy.vectors)


def _vectors_table(mdp: MDP, vectors: dict) -> dict:
    """``{s: U_s}`` in the form of format §3.7 (zero entries omitted)."""
    states = mdp.states
    table = {}
    for s, u in sorted(vectors.items()):
        if isinstance(u, GridVector):      # integers over one denominator: no Fraction per entry
            table[states[s]] = {states[k]: format_ratio(v, u.denominator) for k, v in enumerate(u.numerators) if v}
        else:
            table[states[s]] = {states[k]: format_rational(v) for k, v in enumerate(u) if v}
    return table


def _duplicates_evidence(mdp: MDP, result: ThresholdResult) -> dict | None:
    """The actions the tree leaves out, each with the duplicate that covers it (format §3.8)."""
    if result.duplicates is None or not result.duplicates.cover:
        return None
    table: dict[str, dict[str, str]] = {}
    for x, kept in sorted(result.duplicates.cover.items()):
        state, action = mdp.pair_name(x)
        table.setdefault(state, {})[action] = mdp.pair_name(kept)[1]
    return table


def _tree_evidence(mdp: MDP, result: ThresholdResult, evidence: dict, leaves: Sequence[Closure]) -> None:
    actions = result.duplicates.actions if result.duplicates is not None else None
    evidence["tree"] = family_tree(mdp, leaves, result.branch_order, result.splits, actions,
                                   result.node_occupancy)
    duplicates = _duplicates_evidence(mdp, result)
    if duplicates is not None:
        evidence["duplicates"] = duplicates
    occupancy = _occupancy_evidence(mdp, result, leaves)
    if occupancy is not None:
        evidence["occupancy"] = occupancy


def threshold_certificate(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction,
                          result: ThresholdResult) -> dict:
    """Certificate of ``ε*(D) = result.critical_epsilon`` (a complete search only)."""
    if not result.complete:
        raise RewardcertError("the search did not finish, so there is no threshold to certify")
    evidence = return_evidence(mdp, result.bounds)
    if result.witness is not None:
        evidence["witness"] = witness_document(mdp, result.witness)
    if not result.bounds.degenerate:
        _tree_evidence(mdp, result, evidence, result.closures)
    return {"format": FORMAT, "instance": instance_document(mdp, data, regret_bound, epsilon=result.critical_epsilon),
            "verdict": "threshold", "evidence": evidence}


def interval_certificate(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction,
                         result: ThresholdResult) -> dict:
    """Certificate of ``lower_bound ≤ ε*(D) ≤ upper_bound`` from a stopped search (format §3.5):
    the families the search left unexplored are ``open`` leaves carrying their duals."""
    if result.complete:
        raise RewardcertError("the search finished: certify the threshold itself")
    evidence = return_evidence(mdp, result.bounds)
    if result.witness is not None:
        evidence["witness"] = witness_document(mdp, result.witness)
    _tree_evidence(mdp, result, evidence, result.closures + result.open_leaves)
    tree = evidence["tree"]
    opened = {c.family for c in result.open_leaves}

    def mark(node: dict, family: tuple, depth: int) -> None:
        # family_tree writes every dual-carrying leaf as "dual"; the unexplored ones become "open".
        if "split" in node:
            s = mdp.state_index(node["split"])
            for action, sub in node["children"].items():     # enabled actions only
                child = list(family)
                child[s] = mdp.action_index(action)
                mark(sub, tuple(child), depth + 1)
        elif family in opened:
            node["close"] = "open"

    mark(tree, (None,) * mdp.n_states, 0)
    instance = instance_document(mdp, data, regret_bound, epsilon=result.lower_bound)
    instance["epsilon_upper"] = format_epsilon(result.upper_bound)
    return {"format": FORMAT, "instance": instance, "verdict": "interval", "evidence": evidence}


def safety_certificate(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                       result: ThresholdResult) -> dict:
    """Certificate of the verdict at ``epsilon`` (``safe`` or ``unsafe``) from a search result."""
    verdict = result.verdict(epsilon)
    evidence = return_evidence(mdp, result.bounds)
    if verdict is Verdict.UNSAFE:
        evidence["witness"] = witness_document(mdp, result.witness)
    elif verdict is Verdict.SAFE:
        if not result.bounds.degenerate:
            _tree_evidence(mdp, result, evidence, result.closures + result.open_leaves)
    else:
        raise RewardcertError("the verdict is unknown, so there is nothing to certify")
    return {"format": FORMAT, "instance": instance_document(mdp, data, regret_bound, epsilon=epsilon),
            "verdict": verdict.value, "evidence": evidence}


def safest_certificate(mdp: MDP, regret_bound: Fraction, result) -> dict:
    """Certificate that ``result.data`` is a safest distribution with ``ε*(D) = ε**``
    and that no ``D`` tolerates more (``result`` is a ``rewardcert.symbolic.paper.safest.SafestResult``)."""
    certificate = threshold_certificate(mdp, result.data, regret_bound, result.threshold)
    certificate["verdict"] = "safest"
    if result.max_critical_epsilon is not None:
        certificate["evidence"]["cover"] = {
            "weights": [format_rational(w) for w in result.weights],
            "witnesses": [{"reward": mdp.pair_table(row.witness), "policy": mdp.policy_to_mapping(row.policy)}
                          for row in result.rows]}
    return certificate


def unsafe_certificate(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                       witness: Witness, bounds) -> dict:
    """An ``unsafe`` certificate from any verified witness (e.g. one found by the SMT layer)."""
    evidence = {**return_evidence(mdp, bounds), "witness": witness_document(mdp, witness)}
    return {"format": FORMAT, "instance": instance_document(mdp, data, regret_bound, epsilon=epsilon),
            "verdict": "unsafe", "evidence": evidence}
