"""Write certificates (``docs/certificate-format.md``) from exact engine results.

This is the untrusted producer; ``proofs/checker.py`` is the trusted checker
and shares no code with it.
"""

from __future__ import annotations

import json
import os
import re
from fractions import Fraction
from typing import Any, Sequence

from rewardcert.symbolic.core.errors import ResourceLimit, RewardcertError
from rewardcert.symbolic.core.io import data_to_document, model_to_document
from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.numbers import (
    MAX_NUMBER_CHARS,
    format_epsilon,
    format_ratio,
    format_rational,
)
from rewardcert.symbolic.core.results import Verdict, Witness
from rewardcert.symbolic.search.occupancy import GridVector
from rewardcert.symbolic.search.results import Closure, ThresholdResult

FORMAT = "rewardcert/certificate-1"


def _instance(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction | None, regret_bound: Fraction) -> dict:
    return {
        "model": model_to_document(mdp),
        "data": data_to_document(mdp, data)["data"],
        "epsilon": "inf" if epsilon is None else format_rational(epsilon),
        "regret_bound": format_rational(regret_bound),
    }


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


def _return_evidence(mdp: MDP, result: ThresholdResult) -> dict:
    return {"optimal_policy": mdp.policy_to_mapping(result.bounds.optimal_policy),
            "pessimal_policy": mdp.policy_to_mapping(result.bounds.pessimal_policy)}


def threshold_certificate(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction,
                          result: ThresholdResult) -> dict:
    """Certificate of ``ε*(D) = result.critical_epsilon`` (a complete search only)."""
    if not result.complete:
        raise RewardcertError("the search did not finish, so there is no threshold to certify")
    evidence = _return_evidence(mdp, result)
    if result.witness is not None:
        evidence["witness"] = witness_document(mdp, result.witness)
    if not result.bounds.degenerate:
        _tree_evidence(mdp, result, evidence, result.closures)
    return {"format": FORMAT, "instance": _instance(mdp, data, result.critical_epsilon, regret_bound),
            "verdict": "threshold", "evidence": evidence}


def interval_certificate(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction,
                         result: ThresholdResult) -> dict:
    """Certificate of ``lower_bound ≤ ε*(D) ≤ upper_bound`` from a stopped search (format §3.5):
    the families the search left unexplored are ``open`` leaves carrying their duals."""
    if result.complete:
        raise RewardcertError("the search finished: certify the threshold itself")
    evidence = _return_evidence(mdp, result)
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
    instance = _instance(mdp, data, result.lower_bound, regret_bound)
    instance["epsilon_upper"] = format_epsilon(result.upper_bound)
    return {"format": FORMAT, "instance": instance, "verdict": "interval", "evidence": evidence}


def safety_certificate(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                       result: ThresholdResult) -> dict:
    """Certificate of the verdict at ``epsilon`` (``safe`` or ``unsafe``) from a search result."""
    verdict = result.verdict(epsilon)
    evidence = _return_evidence(mdp, result)
    if verdict is Verdict.UNSAFE:
        evidence["witness"] = witness_document(mdp, result.witness)
    elif verdict is Verdict.SAFE:
        if not result.bounds.degenerate:
            _tree_evidence(mdp, result, evidence, result.closures + result.open_leaves)
    else:
        raise RewardcertError("the verdict is unknown, so there is nothing to certify")
    return {"format": FORMAT, "instance": _instance(mdp, data, epsilon, regret_bound),
            "verdict": verdict.value, "evidence": evidence}


def safest_certificate(mdp: MDP, regret_bound: Fraction, result) -> dict:
    """Certificate that ``result.data`` is a safest distribution with ``ε*(D) = ε**``
    and that no ``D`` tolerates more (``result`` is a ``symbolic.paper.SafestResult``)."""
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
    evidence = {"optimal_policy": mdp.policy_to_mapping(bounds.optimal_policy),
                "pessimal_policy": mdp.policy_to_mapping(bounds.pessimal_policy),
                "witness": witness_document(mdp, witness)}
    return {"format": FORMAT, "instance": _instance(mdp, data, epsilon, regret_bound),
            "verdict": "unsafe", "evidence": evidence}


class CertificateTooLarge(ResourceLimit):
    """The certificate's text would exceed what the checker reads (``CHECKER_MAX_BYTES``)."""


INDENT_UP_TO = 256 * 1024
"""A certificate whose compact JSON is at most this long is written indented, for people to read;
a larger one stays compact.  Indentation tripled the size of deep search trees: the 4x4 lake's
certificate at L = 1/2 has 108 MB indented and 35 MB compact."""


def certificate_text(path: str | os.PathLike, certificate: dict) -> str:
    """The JSON text of ``certificate``; ``CertificateTooLarge`` (naming ``path``) if the checker
    would refuse to read it, and ``ResourceLimit`` for a number it would refuse."""
    text = json.dumps(certificate, separators=(",", ":"), ensure_ascii=False)
    if _LONG_STRING.search(text):      # some number may be too long: walk the document to name it
        check_number_sizes(certificate)
    if len(text) <= INDENT_UP_TO:
        text = json.dumps(certificate, indent=1, ensure_ascii=False)
    text += "\n"
    size = len(text.encode("utf-8"))
    if size > CHECKER_MAX_BYTES:
        raise CertificateTooLarge(f"the certificate would have {size} bytes, and the checker reads at most "
                                  f"{CHECKER_MAX_BYTES}; no certificate was written", file=os.fspath(path))
    return text


def write_certificate(path: str | os.PathLike, certificate: dict, *, stdout=None, text: str | None = None) -> None:
    """Write ``certificate`` atomically (``rewardcert/output.py``); ``-`` is standard output.
    A missing parent directory is an error; an existing file survives any failure."""
    from .output import write_text
    if text is None:
        text = certificate_text(path, certificate)
    write_text(path, text, what="certificate", stdout=stdout)


_NUMBER = re.compile(r"[+-]?\d+(/\d+)?", re.ASCII)

# The standalone checker's own size limits (proofs/checker.py imports nothing from here; a test
# keeps these equal to its constants).  They are smaller than the loader's, so a model can be
# fine to analyse and still too large to certify: that is refused before any work (exit 2).
CHECKER_MAX_STATES = 10_000
CHECKER_MAX_ACTIONS = 1_000
CHECKER_MAX_PAIRS = 100_000
CHECKER_MAX_BYTES = 256 * 1024 * 1024


def check_certifiable(mdp: MDP) -> None:
    """Refuse (``ResourceLimit``) a model whose certificate the checker would refuse for its size."""
    for what, count, limit in (("states", mdp.n_states, CHECKER_MAX_STATES),
                               ("actions", mdp.n_actions, CHECKER_MAX_ACTIONS),
                               ("state-action pairs", mdp.n_pairs, CHECKER_MAX_PAIRS)):
        if count > limit:
            raise ResourceLimit(f"the model has {count} {what}, and the certificate checker accepts at most "
                                f"{limit}, so no certificate can be written; run without --out",
                                entry="--out")


_LONG_STRING = re.compile(r'"[^"]{%d,}"' % (MAX_NUMBER_CHARS + 1))
"""A number past ``MAX_NUMBER_CHARS`` is written as a JSON string that long, with no quote or
escape in it, so a text without such a string needs no walk.  The search is linear (it starts only
at quotes): 0.2 s on the lake's 78 MB certificate at L = 3/4, against 1.7 s for the walk over its
objects and 1.0 s for a search for a long run of digits, which restarts inside every run."""


def check_number_sizes(certificate: Any) -> None:
    """Refuse (``ResourceLimit``, exit 2) a certificate holding a number longer than the
    checker's limit, naming where.  Inputs are held to the limit when read
    (``symbolic.numbers.MAX_NUMBER_CHARS``); a number the engine derives from them (a
    critical error, a witness reward, a state value) can still outgrow it."""
    if not _has_long_number(certificate):
        return
    stack: list[tuple[Any, str]] = [(certificate, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, str) and len(value) > MAX_NUMBER_CHARS and _NUMBER.fullmatch(value):
            raise ResourceLimit(f"the certificate would hold a number of {len(value)} characters at {where}, "
                                f"beyond the checker's limit of {MAX_NUMBER_CHARS}; no certificate was written "
                                "(use numbers with shorter fractions in the model or the data)")


def _has_long_number(document: Any) -> bool:
    """Whether ``document`` holds a number longer than the checker's limit; the scan builds no
    location strings (``check_number_sizes`` then walks again, naming where)."""
    stack = [document]
    while stack:
        value = stack.pop()
        kind = type(value)
        if kind is dict:
            stack.extend(value.values())
        elif kind is list or kind is tuple:
            stack.extend(value)
        elif kind is str:
            if len(value) > MAX_NUMBER_CHARS and _NUMBER.fullmatch(value):
                return True
        elif isinstance(value, (dict, list, str)):      # a subclass: the careful walk decides
            return True
    return False


def check_certificate_document(certificate: dict[str, Any]) -> tuple[str, str, dict]:
    """Run the standalone checker on an in-memory certificate."""
    from rewardcert.proofs import checker
    return checker.check_document(json.loads(json.dumps(certificate)))
