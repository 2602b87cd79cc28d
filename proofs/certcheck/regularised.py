"""Regularised claims (λ > 0): ``regularised-unsafe``, ``regularised-safe``, ``regularised-interval``
(docs/certificate-format.md §6.1, §6.3, §6.3a).  A λ = 0 certificate never imports this module."""

from __future__ import annotations

from fractions import Fraction

from .instance import Instance
from .preference import check_preference_error, check_reference_data, preference_distance, preference_root_box
from .reading import MAX_TREE_NODES, Reject, exact_keys, keys_within, name_in, num, obj, rational, require, show
from .softmax import (Regularisation, check_soft_box, comparison_policy, policy_box, read_regularisation,
                      return_bounds_of_box)
from .unregularised import base_facts, check_return_bounds

EVIDENCE_KEYS = {"optimal_policy", "pessimal_policy", "witness", "soft_box", "comparison_policy", "box_tree",
                 "box_radius"}


def check_witness(inst: Instance, reg: Regularisation, evidence: dict, epsilon: Fraction, threshold: Fraction,
                  preference: bool) -> None:
    """Rules ``reg-witness-error`` (or ``reg-preference-error``), ``reg-fixed-point``,
    ``reg-policy-box``, ``reg-comparison``, ``reg-regret``."""
    witness = obj(evidence.get("witness"), "reg-witness-error", "evidence.witness")
    exact_keys(witness, {"reward"}, "reg-witness-error", "a regularised witness")
    reward_model = inst.pair_table(witness["reward"], "reg-witness-error", "evidence.witness.reward", complete=True)
    error = sum((d * abs(rh - r) for d, rh, r in zip(inst.data, reward_model, inst.reward) if d), Fraction(0))
    if preference:
        check_preference_error(inst, reg, reward_model, epsilon)
    else:
        require(error <= epsilon * inst.range_reward, "reg-witness-error",
                f"E_D|R^-R| = {num(error)} exceeds epsilon * range R = {num(epsilon * inst.range_reward)}")
    if inst.gamma == 0:
        require("soft_box" not in evidence, "reg-fixed-point", "no soft box is needed when gamma = 0")
        w_lo = w_hi = None
    else:
        w0, radius = check_soft_box(inst, reg, reward_model, evidence.get("soft_box"), "evidence.soft_box")
        w_lo, w_hi = [w - radius for w in w0], [w + radius for w in w0]
    lower, upper = policy_box(inst, reg, reward_model, reward_model, w_lo, w_hi)
    _, j_hi = return_bounds_of_box(inst, lower, upper, comparison_policy(inst, reg, evidence))
    require(j_hi <= threshold, "reg-regret",
            f"the regularised optimum's return may be {num(j_hi)}, above J* - L range J = {num(threshold)}")


def root_box(inst: Instance, reg: Regularisation, root_epsilon: Fraction, radii):
    """The root box of a box tree at ``root_epsilon``: the P1 ball's bounding box, or for the
    preference error (``radii`` given) the shift-normalised box of §6.3a."""
    if radii is not None:
        return preference_root_box(inst, reg, radii, root_epsilon)
    require(all(d > 0 for d in inst.data), "reg-positive-data", "a safe claim needs D(x) > 0 for every pair")
    spread = [root_epsilon * inst.range_reward / d for d in inst.data]
    return [r - w for r, w in zip(inst.reward, spread)], [r + w for r, w in zip(inst.reward, spread)]


def check_box_tree(inst: Instance, reg: Regularisation, tree, root, target: Fraction, threshold: Fraction,
                   preference: bool) -> dict:
    """Rules ``reg-split``, ``reg-far``, ``reg-bound`` over the box ``root``."""
    stack = [(tree, root)]
    nodes = far = bound = 0
    while stack:
        node, (lo, hi) = stack.pop()
        nodes += 1
        require(nodes <= MAX_TREE_NODES, "reg-split", "too many tree nodes")
        node = obj(node, "reg-split", "box tree node")
        if "split" in node:
            exact_keys(node, {"split", "at", "children"}, "reg-split", "a split node")
            pair, children = node["split"], node["children"]
            require(isinstance(pair, list) and len(pair) == 2, "reg-split", f"a split names a pair, not {show(pair)}")
            x = name_in(pair[0], inst.s_index, "reg-split", "state") * inst.m + name_in(pair[1], inst.a_index,
                                                                                          "reg-split", "action")
            at = rational(node["at"], "reg-split", "split.at")
            require(lo[x] < at < hi[x], "reg-split", f"split at {num(at)} outside ({num(lo[x])}, {num(hi[x])})")
            require(isinstance(children, list) and len(children) == 2, "reg-split", "a split has two children")
            low_hi, high_lo = list(hi), list(lo)
            low_hi[x], high_lo[x] = at, at
            stack.append((children[0], (lo, low_hi)))
            stack.append((children[1], (high_lo, hi)))
            continue
        kind = node.get("close")
        if kind == "far":
            exact_keys(node, {"close"}, "reg-far", "a far leaf")
            if preference:
                distance = preference_distance(inst, reg, lo, hi)
            else:
                distance = sum((d * (l - r if r < l else r - h if r > h else 0)
                                for d, r, l, h in zip(inst.data, inst.reward, lo, hi)), Fraction(0))
            require(distance > target, "reg-far", f"the box comes within error {num(distance)} <= {num(target)} of R")
            far += 1
        elif kind == "bound":
            if inst.gamma == 0:
                exact_keys(node, {"close"}, "reg-bound", "a bound leaf (gamma = 0)")
                w_low = w_high = None
            else:
                exact_keys(node, {"close", "soft_low", "soft_high", "comparison_policy"}, "reg-bound", "a bound leaf")
                w_lo, r_lo = check_soft_box(inst, reg, lo, node["soft_low"], "soft_low")
                w_hi, r_hi = check_soft_box(inst, reg, hi, node["soft_high"], "soft_high")
                w_low, w_high = [w - r_lo for w in w_lo], [w + r_hi for w in w_hi]
            lower, upper = policy_box(inst, reg, lo, hi, w_low, w_high)
            j_lo, _ = return_bounds_of_box(inst, lower, upper, comparison_policy(inst, reg, node))
            require(j_lo > threshold, "reg-bound",
                    f"the return may fall to {num(j_lo)}, not above J* - L range J = {num(threshold)}")
            bound += 1
        else:
            raise Reject("reg-split", f"a node must split or close ('far' or 'bound'), got {show(kind)}")
    return {"tree_nodes": nodes, "far_leaves": far, "bound_leaves": bound}


def read_claim(inst: Instance, instance: dict, evidence: dict):
    """What all three verdicts check first, in this order: ``reg-instance``, ``optimal-policy``,
    ``pessimal-policy``, ``reg-preference-data``, ``evidence``.  Returns the regularisation, thr
    (None when range J = 0), whether the error is the preference error, and the base facts."""
    require(all(inst.enabled), "reg-instance",
            "regularised certificates do not support per-state action sets (instance.model.enabled)")
    j_star, j_min = check_return_bounds(inst, evidence)
    reg = read_regularisation(inst, instance.get("regularisation"))
    measure = instance.get("error", "absolute")
    require(measure in ("absolute", "preference"), "reg-instance", "instance.error must be 'absolute' or 'preference'")
    preference = measure == "preference"
    if preference:
        check_reference_data(inst, reg)
    keys_within(evidence, EVIDENCE_KEYS | ({"box_radii"} if preference else set()), "evidence", "evidence")
    threshold = None if j_star == j_min else j_star - inst.regret_bound * (j_star - j_min)
    return reg, threshold, preference, {"error_measure": measure, "lambda": str(reg.lam)}


def check_unsafe(inst: Instance, instance: dict, evidence: dict, verdict: str) -> dict:
    reg, threshold, preference, facts = read_claim(inst, instance, evidence)
    require(threshold is not None, "degenerate", "every policy has the same return, so none has regret >= L")
    check_witness(inst, reg, evidence, inst.epsilon, threshold, preference)
    return {**base_facts(inst, verdict), **facts}


def check_safe(inst: Instance, instance: dict, evidence: dict, verdict: str) -> dict:
    reg, threshold, preference, facts = read_claim(inst, instance, evidence)
    facts = {**base_facts(inst, verdict), **facts}
    if threshold is None:
        return facts
    root = root_box(inst, reg, inst.epsilon, evidence.get("box_radii", {}) if preference else None)
    facts.update(check_box_tree(inst, reg, evidence.get("box_tree"), root, inst.epsilon * inst.range_reward,
                                threshold, preference))
    return facts


def check_interval(inst: Instance, instance: dict, evidence: dict, verdict: str) -> dict:
    """``lo ≤ ε*_λ(D) ≤ hi``: safe at lo (a box tree, when lo > 0), unsafe at hi (a witness, when finite)."""
    reg, threshold, preference, facts = read_claim(inst, instance, evidence)
    interval = obj(instance.get("critical_error"), "reg-interval", "instance.critical_error")
    exact_keys(interval, {"lower", "upper"}, "reg-interval", "critical_error")
    lower = rational(interval["lower"], "reg-interval", "critical_error.lower")
    upper = None if interval["upper"] == "inf" else rational(interval["upper"], "reg-interval", "critical_error.upper")
    require(0 <= lower and (upper is None or lower <= upper), "reg-interval", "need 0 <= lower <= upper")
    facts = {**base_facts(inst, verdict), "critical_error": {k: str(interval[k]) for k in ("lower", "upper")},
             **facts}
    if threshold is None:
        require(upper is None, "degenerate", "every policy has the same return: the critical error is inf")
        return facts
    if upper is not None:
        check_witness(inst, reg, evidence, upper, threshold, preference)
    else:
        require("witness" not in evidence, "reg-interval", "an infinite upper end has no witness")
    if lower > 0:
        require("box_radius" in evidence, "reg-interval", "a positive lower end needs box_radius")
        root_epsilon = rational(evidence["box_radius"], "reg-interval", "evidence.box_radius")
        require(lower <= root_epsilon, "reg-interval", "box_radius must be >= the lower end")
        root = root_box(inst, reg, root_epsilon, evidence.get("box_radii", {}) if preference else None)
        facts.update(check_box_tree(inst, reg, evidence.get("box_tree"), root, lower * inst.range_reward,
                                    threshold, preference))
    return facts
