"""λ = 0 claim ``interval``: what a stopped search proves, lo ≤ ε*(D) ≤ hi (docs/certificate-format.md §3.5)."""

from __future__ import annotations

from .families import check_tree
from .instance import Instance
from .reading import require
from .unregularised import check_witness, read_basis


def check_interval(inst: Instance, instance: dict, evidence: dict, verdict: str) -> dict:
    """A witness proves ε* ≤ hi (when hi is finite); the tree, with open leaves, proves ε* ≥ lo."""
    basis, facts = read_basis(inst, evidence, verdict)
    lower, upper = inst.epsilon, inst.epsilon_upper
    if basis.threshold is None:
        require(upper is None, "degenerate", "every policy has the same return: the interval must reach inf")
        return facts
    if upper is None:
        require("witness" not in evidence, "witness-error", "an interval with no upper end has no witness")
    else:
        require("witness" in evidence, "witness-error", "a finite upper end needs a witness")
        check_witness(inst, evidence.get("witness"), basis.threshold, upper * inst.range_reward, False)
    facts.update(check_tree(inst, evidence.get("tree"), basis, lower * inst.range_reward, False, allow_open=True))
    facts["interval"] = [str(lower), "inf" if upper is None else str(upper)]
    return facts
