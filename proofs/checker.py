#!/usr/bin/env python3
"""Standalone checker for rewardcert certificates (format ``rewardcert/certificate-1``).

Trusted base: the Python standard library and this file.  It imports nothing
from the rest of the toolkit, so a bug in a solver cannot certify itself.
Every field is type- and bounds-checked before use, arithmetic is exact
(``fractions.Fraction``), and any unexpected condition is a rejection.
The format and the meaning of each rule are in ``docs/certificate-format.md``.

Usage: ``python checker.py [--json] CERT.json``; exit 0 verified, 1 rejected,
2 unreadable.
"""

from __future__ import annotations

import json
import os
import re
import sys
from fractions import Fraction
from math import lcm

FORMAT = "rewardcert/certificate-1"
MODEL_FORMAT = "rewardcert/mdp-1"
MAX_BYTES = 256 * 1024 * 1024
MAX_STATES = 10_000
MAX_ACTIONS = 1_000
MAX_PAIRS = 100_000
MAX_TREE_NODES = 10_000_000
MAX_NUMBER_CHARS = 2000

_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_FRACTION = re.compile(r"([+-]?\d+)/(\d+)", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE]([+-]?\d+))?", re.ASCII)


def scaled(values) -> tuple[list[int], int]:
    """``(v·d for v in values), d`` with ``d`` the common denominator: exact integers whose
    signs and equalities are those of ``values``, for fast inner loops."""
    d = 1
    for v in values:
        d = lcm(d, v.denominator)
    return [v.numerator * (d // v.denominator) for v in values], d


class Reject(Exception):
    """A failed rule: the certificate does not prove its claim."""

    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


def require(condition: bool, rule: str, detail: str) -> None:
    if not condition:
        raise Reject(rule, detail)


# -- reading values ------------------------------------------------------------

def rational(value, rule: str, where: str) -> Fraction:
    """An exact rational: a JSON integer or a string "p", "p/q" or a finite decimal."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise Reject(rule, f"{where}: expected an integer or a rational string, got {type(value).__name__}")
    if isinstance(value, int):
        return Fraction(value)
    text = value.strip()
    require(len(text) <= MAX_NUMBER_CHARS, rule, f"{where}: number too long")
    if _INTEGER.fullmatch(text):
        return Fraction(int(text))
    match = _FRACTION.fullmatch(text)
    if match:
        require(int(match.group(2)) != 0, rule, f"{where}: zero denominator")
        return Fraction(int(match.group(1)), int(match.group(2)))
    match = _DECIMAL.fullmatch(text)
    if match:
        require(match.group(3) is None or abs(int(match.group(3))) <= MAX_NUMBER_CHARS, rule,
                f"{where}: exponent too large")
        return Fraction(text)
    raise Reject(rule, f"{where}: {value!r} is not an exact rational")


def obj(value, rule: str, where: str) -> dict:
    require(isinstance(value, dict), rule, f"{where}: expected an object")
    return value


def name_list(value, rule: str, where: str, limit: int) -> list:
    require(isinstance(value, list) and value, rule, f"{where}: expected a non-empty list of names")
    require(len(value) <= limit, rule, f"{where}: more than {limit} names")
    require(all(isinstance(v, str) and v for v in value), rule, f"{where}: names must be non-empty strings")
    require(len(set(value)) == len(value), rule, f"{where}: duplicate names")
    return value


def keys_within(table: dict, allowed, rule: str, where: str) -> None:
    for key in table:
        require(key in allowed, rule, f"{where}: unknown name {key!r}")


# -- the instance ----------------------------------------------------------------

class Instance:
    """The MDP, the data, ε and L, validated."""

    def __init__(self, doc: dict, verdict: str):
        model = obj(doc.get("model"), "model", "instance.model")
        require(model.get("format") == MODEL_FORMAT, "model", f"instance.model.format must be {MODEL_FORMAT!r}")
        keys_within(model, {"format", "name", "description", "gamma", "states", "actions", "initial",
                            "reward", "transitions"}, "model", "instance.model")
        for key in ("name", "description"):
            require(isinstance(model.get(key, ""), str), "model", f"instance.model.{key} must be a string")
        self.gamma = rational(model.get("gamma"), "model", "gamma")
        require(0 <= self.gamma < 1, "model", "gamma must satisfy 0 <= gamma < 1")
        self.states = name_list(model.get("states"), "model", "states", MAX_STATES)
        self.actions = name_list(model.get("actions"), "model", "actions", MAX_ACTIONS)
        n, m = len(self.states), len(self.actions)
        require(n * m <= MAX_PAIRS, "model", f"more than {MAX_PAIRS} state-action pairs")
        self.n, self.m = n, m
        self.s_index = {s: i for i, s in enumerate(self.states)}
        self.a_index = {a: j for j, a in enumerate(self.actions)}

        initial = obj(model.get("initial"), "model", "initial")
        keys_within(initial, self.s_index, "model", "initial")
        self.mu0 = [Fraction(0)] * n
        for s, p in initial.items():
            self.mu0[self.s_index[s]] = rational(p, "model", f"initial.{s}")
        require(all(p >= 0 for p in self.mu0) and sum(self.mu0) == 1, "model",
                "initial must be a probability distribution")

        self.reward = self.pair_table(model.get("reward"), "model", "reward", complete=True)

        self.succ: list[list[tuple[int, Fraction]]] = []
        transitions = model.get("transitions")
        if transitions is None:
            require(self.gamma == 0, "model", "transitions may be omitted only when gamma = 0")
            self.succ = [[] for _ in range(n * m)]
        else:
            transitions = obj(transitions, "model", "transitions")
            keys_within(transitions, self.s_index, "model", "transitions")
            for s in self.states:
                row = obj(transitions.get(s), "model", f"transitions.{s}")
                keys_within(row, self.a_index, "model", f"transitions.{s}")
                for a in self.actions:
                    dist = obj(row.get(a), "model", f"transitions.{s}.{a}")
                    keys_within(dist, self.s_index, "model", f"transitions.{s}.{a}")
                    entries = [(self.s_index[t], rational(p, "model", f"transitions.{s}.{a}.{t}"))
                               for t, p in dist.items()]
                    require(all(p >= 0 for _, p in entries) and sum(p for _, p in entries) == 1, "model",
                            f"transitions.{s}.{a} must be a probability distribution")
                    self.succ.append([(t, self.gamma * p) for t, p in entries if p])
            if self.gamma == 0:
                self.succ = [[] for _ in range(n * m)]

        self.data = self.pair_table(doc.get("data"), "data", "instance.data", complete=False)
        require(all(p >= 0 for p in self.data), "data", "negative probability in instance.data")
        require(sum(self.data) == 1, "data", "instance.data does not sum to 1")

        raw_eps = doc.get("epsilon")
        if verdict in ("threshold", "safest") and raw_eps == "inf":
            self.epsilon = None
        else:
            self.epsilon = rational(raw_eps, "epsilon", "instance.epsilon")
            if verdict in ("threshold", "safest", "interval"):
                require(self.epsilon >= 0, "epsilon", "the critical error must be >= 0")
            else:
                require(self.epsilon > 0, "epsilon", "epsilon must be > 0")
        self.epsilon_upper = interval_upper(doc, verdict, self.epsilon)
        self.regret_bound = rational(doc.get("regret_bound"), "regret-bound", "instance.regret_bound")
        require(0 < self.regret_bound <= 1, "regret-bound", "L must satisfy 0 < L <= 1")
        self.range_reward = max(self.reward) - min(self.reward)
        # Integer forms of γτ and D for the leaves' inner loops (see ``scaled``).
        self.tau_scale = 1
        for row in self.succ:
            for _, gp in row:
                self.tau_scale = lcm(self.tau_scale, gp.denominator)
        self.succ_int = [[(t, int(gp * self.tau_scale)) for t, gp in row] for row in self.succ]
        self.data_int, self.data_scale = scaled(self.data)
        self.reward_int = scaled(self.reward)

    def pair_table(self, table, rule: str, where: str, *, complete: bool) -> list[Fraction]:
        table = obj(table, rule, where)
        keys_within(table, self.s_index, rule, where)
        values: list = [None] * (self.n * self.m)
        for s, row in table.items():
            row = obj(row, rule, f"{where}.{s}")
            keys_within(row, self.a_index, rule, f"{where}.{s}")
            for a, v in row.items():
                values[self.s_index[s] * self.m + self.a_index[a]] = rational(v, rule, f"{where}.{s}.{a}")
        if complete:
            require(all(v is not None for v in values), rule, f"{where}: every state-action pair must be given")
        return [Fraction(0) if v is None else v for v in values]

    def policy(self, value, rule: str, where: str, family=None) -> list[int]:
        """``{state: action}`` naming every state; optionally a member of ``family``."""
        table = obj(value, rule, where)
        keys_within(table, self.s_index, rule, where)
        require(len(table) == self.n, rule, f"{where}: every state needs an action")
        policy = []
        for s in self.states:
            a = table.get(s)
            require(isinstance(a, str) and a in self.a_index, rule, f"{where}.{s}: unknown action {a!r}")
            policy.append(self.a_index[a])
        if family is not None:
            require(all(f is None or f == a for f, a in zip(family, policy)), rule,
                    f"{where}: the policy is not a member of the family")
        return policy

    # -- exact evaluation --------------------------------------------------------
    def values(self, policy, reward) -> list[Fraction]:
        """``V = (I − γP_π)^{-1} R_π`` by Gaussian elimination over Fraction."""
        n, m = self.n, self.m
        rhs = [reward[s * m + a] for s, a in enumerate(policy)]
        if self.gamma == 0:
            return rhs
        rows = []
        for s, a in enumerate(policy):
            row = [Fraction(0)] * n
            row[s] += 1
            for t, gp in self.succ[s * m + a]:
                row[t] -= gp
            rows.append(row + [rhs[s]])
        for col in range(n):
            pivot = next((r for r in range(col, n) if rows[r][col] != 0), None)
            require(pivot is not None, "internal", "singular Bellman system")  # impossible for gamma < 1
            rows[col], rows[pivot] = rows[pivot], rows[col]
            head = rows[col]
            inv = 1 / head[col]
            for r in range(n):
                if r != col and rows[r][col]:
                    factor = rows[r][col] * inv
                    target = rows[r]
                    for c in range(col, n + 1):
                        if head[c]:
                            target[c] -= factor * head[c]
        return [rows[s][n] / rows[s][s] for s in range(n)]

    def advantages(self, policy, reward, values=None):
        """``(A, V)``: every advantage ``R(x) + γτ(·|x)·V − V(s)`` multiplied by one positive
        integer (so signs and zeros are exact) and the values ``V`` of ``policy``."""
        values = values if values is not None else self.values(policy, reward)
        r_int, r_scale = self.reward_int if reward is self.reward else scaled(reward)
        v_int, v_scale = scaled(values)
        ts = self.tau_scale
        reward_factor, value_factor = ts * v_scale, r_scale * ts
        m = self.m
        out = []
        for x, row in enumerate(self.succ_int):
            future = 0
            for t, g in row:
                future += g * v_int[t]
            out.append(r_int[x] * reward_factor + r_scale * future - v_int[x // m] * value_factor)
        return out, values

    def ret(self, values) -> Fraction:
        return sum((p * v for p, v in zip(self.mu0, values) if p), Fraction(0))


# -- the rules ---------------------------------------------------------------------

def check_return_bounds(inst: Instance, evidence: dict):
    """Rules ``optimal-policy``, ``pessimal-policy``: pin J* and J^min."""
    best = inst.policy(evidence.get("optimal_policy"), "optimal-policy", "evidence.optimal_policy")
    adv, values = inst.advantages(best, inst.reward)
    bad = next((x for x, v in enumerate(adv) if v > 0), None)
    require(bad is None, "optimal-policy", f"positive advantage at {inst_pair(inst, bad)}")
    j_star = inst.ret(values)
    worst = inst.policy(evidence.get("pessimal_policy"), "pessimal-policy", "evidence.pessimal_policy")
    adv, values = inst.advantages(worst, inst.reward)
    bad = next((x for x, v in enumerate(adv) if v < 0), None)
    require(bad is None, "pessimal-policy", f"negative advantage at {inst_pair(inst, bad)}")
    return j_star, inst.ret(values)


def inst_pair(inst: Instance, x) -> str:
    return "?" if x is None else f"({inst.states[x // inst.m]}, {inst.actions[x % inst.m]})"


def check_witness(inst: Instance, witness, threshold: Fraction, *, exact_error: Fraction | None) -> None:
    """Rules ``witness-reward``, ``witness-error``, ``witness-optimal``, ``witness-regret``."""
    witness = obj(witness, "witness-reward", "evidence.witness")
    keys_within(witness, {"reward", "policy"}, "witness-reward", "evidence.witness")
    reward_model = inst.pair_table(witness.get("reward"), "witness-reward", "evidence.witness.reward",
                                   complete=True)
    error = sum((d * abs(rh - r) for d, rh, r in zip(inst.data, reward_model, inst.reward) if d), Fraction(0))
    if exact_error is None:
        require(error <= inst.epsilon * inst.range_reward, "witness-error",
                f"E_D|R^-R| = {error} exceeds epsilon * range R = {inst.epsilon * inst.range_reward}")
    else:
        require(error == exact_error, "witness-error",
                f"E_D|R^-R| = {error} differs from the claimed critical error times range R = {exact_error}")
    policy = inst.policy(witness.get("policy"), "witness-optimal", "evidence.witness.policy")
    adv, _ = inst.advantages(policy, reward_model)
    bad = next((x for x, v in enumerate(adv) if v > 0), None)
    require(bad is None, "witness-optimal",
            f"the witness policy is not optimal for the reward model (advantage > 0 at {inst_pair(inst, bad)})")
    j = inst.ret(inst.values(policy, inst.reward))
    require(j <= threshold, "witness-regret", f"the witness policy's return {j} exceeds J* - L range J = {threshold}")


def given_values(inst: Instance, table) -> list[Fraction]:
    table = obj(table, "regret-values", "regret leaf values")
    keys_within(table, inst.s_index, "regret-values", "regret leaf values")
    require(len(table) == inst.n, "regret-values", "regret leaf values: every state needs a value")
    return [rational(table[s], "regret-values", f"values.{s}") for s in inst.states]


def check_regret_leaf(inst: Instance, node: dict, family, threshold: Fraction) -> None:
    """Rules ``regret-member``, ``regret-values``, ``regret-pessimal``, ``regret-return``.

    Values supplied by the certificate are accepted only if they solve the policy's
    Bellman equations (zero advantage at the policy's own actions); that solution is
    unique because gamma < 1, so verifying replaces solving."""
    policy = inst.policy(node.get("policy"), "regret-member", "regret leaf policy", family)
    values = given_values(inst, node["values"]) if "values" in node else None
    adv, values = inst.advantages(policy, inst.reward, values)
    m = inst.m
    for s, a in enumerate(policy):
        require(adv[s * m + a] == 0, "regret-values",
                f"V({inst.states[s]}) does not solve the policy's Bellman equation")
    for x, v in enumerate(adv):
        allowed = family[x // m] is None or family[x // m] == x % m
        require(not allowed or v >= 0, "regret-pessimal",
                f"negative advantage at {inst_pair(inst, x)} within the family")
    j = inst.ret(values)
    require(j > threshold, "regret-return", f"pessimal return {j} is not above J* - L range J = {threshold}")


def check_dual_leaf(inst: Instance, node: dict, family, target: Fraction, strict: bool) -> None:
    """Rules ``dual-bounds``, ``dual-sign``, ``dual-flow``, ``dual-value``."""
    y = inst.pair_table(node.get("y"), "dual-bounds", "dual leaf y", complete=False)
    m = inst.m
    y_int, y_scale = scaled(y)
    r_int, r_scale = inst.reward_int
    ts = inst.tau_scale
    flow = [0] * inst.n            # the flow residuals times y_scale * tau_scale
    total = 0                      # y . R times y_scale * r_scale
    for x, v in enumerate(y_int):
        if not v:
            continue
        require(abs(v) * inst.data_scale <= inst.data_int[x] * y_scale, "dual-bounds",
                f"|y| > D at {inst_pair(inst, x)}")
        require(v > 0 or family[x // m] == x % m, "dual-sign",
                f"y < 0 at {inst_pair(inst, x)}, whose action the family does not fix")
        flow[x // m] += v * ts
        for t, g in inst.succ_int[x]:
            flow[t] -= g * v
        total += v * r_int[x]
    value = Fraction(total, y_scale * r_scale)
    bad = next((s for s, f in enumerate(flow) if f), None)
    require(bad is None, "dual-flow", f"flow constraint of state {inst.states[bad] if bad is not None else '?'} fails")
    if strict:
        require(value > target, "dual-value", f"y.R = {value} is not above epsilon * range R = {target}")
    else:
        require(value >= target, "dual-value", f"y.R = {value} is below the critical error times range R = {target}")


def check_tree(inst: Instance, tree, threshold: Fraction, target: Fraction | None, strict: bool,
               allow_open: bool = False) -> dict:
    """Walk the family tree (rule ``tree-split``), closing every leaf.  ``target is None``: only
    regret leaves are allowed (the claim is ε* = +∞).  ``allow_open``: open leaves (§3.5) are
    checked like dual leaves; only interval certificates have them."""
    stack = [(tree, [None] * inst.n, 0)]
    nodes = regret_leaves = dual_leaves = open_leaves = regret_dual_leaves = 0
    while stack:
        node, family, depth = stack.pop()
        nodes += 1
        require(nodes <= MAX_TREE_NODES, "tree-split", "too many tree nodes")
        node = obj(node, "tree-split", "tree node")
        if "split" in node:
            require(set(node) == {"split", "children"}, "tree-split", "a split node has exactly split and children")
            state = node["split"]
            require(isinstance(state, str) and state in inst.s_index, "tree-split", f"unknown state {state!r}")
            s = inst.s_index[state]
            require(family[s] is None, "tree-split", f"state {state} is split twice on one branch")
            children = obj(node["children"], "tree-split", "children")
            require(set(children) == set(inst.actions), "tree-split",
                    f"the split on {state} must have exactly one child per action")
            for a, child in children.items():
                sub = list(family)
                sub[s] = inst.a_index[a]
                stack.append((child, sub, depth + 1))
            continue
        kind = node.get("close")
        if kind == "regret":
            require(set(node) in ({"close", "policy"}, {"close", "policy", "values"}), "regret-member",
                    "a regret leaf has close, policy and optionally values")
            check_regret_leaf(inst, node, family, threshold)
            regret_leaves += 1
        elif kind == "dual":
            require(target is not None, "dual-value", "a dual leaf cannot prove an infinite critical error")
            require(set(node) == {"close", "y"}, "dual-bounds", "a dual leaf has exactly close and y")
            check_dual_leaf(inst, node, family, target, strict)
            dual_leaves += 1
        elif kind == "open" and allow_open and "w" in node:
            require(target is not None, "regret-dual-value", "an open leaf cannot prove an infinite critical error")
            require(set(node) == {"close", "t", "w"}, "regret-dual-bounds", "an open leaf has close, t and w")
            check_regret_dual_leaf(inst, node, family, threshold, target, strict)
            open_leaves += 1
        elif kind == "open" and allow_open:
            require(set(node) == {"close", "y"}, "dual-bounds", "an open leaf has exactly close and y")
            check_dual_leaf(inst, node, family, target, strict)
            open_leaves += 1
        elif kind == "regret-dual":
            require(target is not None, "regret-dual-value", "a dual leaf cannot prove an infinite critical error")
            require(set(node) == {"close", "t", "w"}, "regret-dual-bounds",
                    "a regret-dual leaf has exactly close, t and w")
            check_regret_dual_leaf(inst, node, family, threshold, target, strict)
            regret_dual_leaves += 1
        else:
            raise Reject("tree-split", f"a node must split or close ('regret', 'dual' or 'regret-dual'), "
                                       f"got {kind!r}")
    facts = {"tree_nodes": nodes, "regret_leaves": regret_leaves, "dual_leaves": dual_leaves}
    if allow_open:
        facts["open_leaves"] = open_leaves
    if regret_dual_leaves:
        facts["regret_dual_leaves"] = regret_dual_leaves
    return facts


def check_regret_dual_leaf(inst: Instance, node: dict, family, threshold: Fraction, target: Fraction,
                           strict: bool) -> None:
    """Rules ``regret-dual-t``, ``-bounds``, ``-flow``, ``-value`` (§3.6): ``y = w − t·η^π`` is a dual
    for every member π of regret >= L, with ``H = 1/(1 − γ)`` bounding every occupancy."""
    t = rational(node.get("t"), "regret-dual-t", "regret-dual leaf t")
    require(t >= 0, "regret-dual-t", "t must be >= 0")
    w = inst.pair_table(node.get("w"), "regret-dual-bounds", "regret-dual leaf w", complete=False)
    m = inst.m
    h = 1 / (1 - inst.gamma)
    flow = [Fraction(0)] * inst.n
    value = -t * threshold
    for x, v in enumerate(w):
        d = inst.data[x]
        forced = family[x // m]
        require(v <= d, "regret-dual-bounds", f"w > D at {inst_pair(inst, x)}")
        if forced is None or forced != x % m:
            require(v >= 0, "regret-dual-bounds", f"w < 0 at {inst_pair(inst, x)}, which a member may leave")
        if forced is None or forced == x % m:
            require(v >= t * h - d, "regret-dual-bounds", f"w < t/(1-gamma) - D at {inst_pair(inst, x)}")
        if v:
            flow[x // m] += v
            for s_next, gp in inst.succ[x]:
                flow[s_next] -= gp * v
            value += v * inst.reward[x]
    bad = next((s for s in range(inst.n) if flow[s] != t * inst.mu0[s]), None)
    require(bad is None, "regret-dual-flow",
            f"flow constraint of state {inst.states[bad] if bad is not None else '?'} is not t * mu0")
    if strict:
        require(value > target, "regret-dual-value", f"w.R - t thr = {value} is not above epsilon * range R = {target}")
    else:
        require(value >= target, "regret-dual-value",
                f"w.R - t thr = {value} is below the critical error times range R = {target}")


def check_certificate(document) -> dict:
    """Verify a parsed certificate; return facts about it or raise ``Reject``."""
    document = obj(document, "format", "certificate")
    require(document.get("format") == FORMAT, "format", f"format must be {FORMAT!r}")
    keys_within(document, {"format", "instance", "verdict", "evidence", "comment"}, "format", "certificate")
    verdict = document.get("verdict")
    require(verdict in ("safe", "unsafe", "threshold", "safest", "interval"), "verdict",
            f"unknown verdict {verdict!r}")
    inst = Instance(obj(document.get("instance"), "model", "instance"), verdict)
    evidence = obj(document.get("evidence"), "evidence", "evidence")
    keys_within(evidence, {"optimal_policy", "pessimal_policy", "witness", "tree", "cover"}, "evidence", "evidence")
    require(("cover" in evidence) == (verdict == "safest" and doc_epsilon(document) != "inf"), "cover-weights",
            "a finite safest claim needs a cover, and only it")
    j_star, j_min = check_return_bounds(inst, evidence)
    range_j = j_star - j_min
    facts = {"verdict": verdict, "states": inst.n, "actions": inst.m}
    if range_j == 0:
        # Every policy has regret 0 < L: safe for every epsilon.
        require(verdict != "unsafe", "degenerate", "every policy has the same return, so none has regret >= L")
        require(verdict not in ("threshold", "safest") or inst.epsilon is None, "degenerate",
                "every policy has the same return: the critical error is inf")
        require(verdict != "interval" or inst.epsilon_upper is None, "degenerate",
                "every policy has the same return: the interval must reach inf")
        return facts
    threshold = j_star - inst.regret_bound * range_j
    if verdict == "unsafe":
        check_witness(inst, evidence.get("witness"), threshold, exact_error=None)
        return facts
    if verdict == "safe":
        facts.update(check_tree(inst, evidence.get("tree"), threshold, inst.epsilon * inst.range_reward, True))
        return facts
    if verdict == "interval":
        facts.update(check_interval(inst, evidence, threshold))
        return facts
    if inst.epsilon is None:
        require("witness" not in evidence, "witness-error", "an infinite critical error has no witness")
        facts.update(check_tree(inst, evidence.get("tree"), threshold, None, False))
        return facts
    target = inst.epsilon * inst.range_reward
    check_witness(inst, evidence.get("witness"), threshold, exact_error=target)
    facts.update(check_tree(inst, evidence.get("tree"), threshold, target, False))
    if verdict == "safest":
        facts["cover"] = check_cover(inst, evidence.get("cover"), threshold, target)
    return facts


def interval_upper(doc: dict, verdict: str, lower: Fraction) -> Fraction | None:
    """Rule ``interval``: ``epsilon_upper`` (``None`` for "inf") in, and only in, interval certificates."""
    if verdict != "interval":
        require("epsilon_upper" not in doc, "interval", "only an interval certificate has epsilon_upper")
        return None
    require("epsilon_upper" in doc, "interval", "an interval certificate needs instance.epsilon_upper")
    raw = doc["epsilon_upper"]
    if raw == "inf":
        return None
    upper = rational(raw, "interval", "instance.epsilon_upper")
    require(lower <= upper, "interval", f"the interval [{lower}, {upper}] is empty")
    return upper


def check_interval(inst: Instance, evidence: dict, threshold: Fraction) -> dict:
    """§3.5: a witness proves ε* ≤ hi (when hi is finite); the tree, with open leaves, proves ε* ≥ lo."""
    upper = inst.epsilon_upper
    if upper is None:
        require("witness" not in evidence, "witness-error", "an interval with no upper end has no witness")
    else:
        require("witness" in evidence, "witness-error", "a finite upper end needs a witness")
        claimed = inst.epsilon
        inst.epsilon = upper            # witness-error reads error <= hi * range R
        try:
            check_witness(inst, evidence.get("witness"), threshold, exact_error=None)
        finally:
            inst.epsilon = claimed
    facts = check_tree(inst, evidence.get("tree"), threshold, inst.epsilon * inst.range_reward, False,
                       allow_open=True)
    facts["interval"] = [str(inst.epsilon), "inf" if upper is None else str(upper)]
    return facts


def doc_epsilon(document: dict):
    instance = document.get("instance")
    return instance.get("epsilon") if isinstance(instance, dict) else None


def check_cover(inst: Instance, cover, threshold: Fraction, target: Fraction) -> int:
    """Rules ``cover-weights``, ``cover-witness``, ``cover-bound``: no D tolerates more error.

    Each witness (R̂_k, π_k) is an attack on every D with error D·|R̂_k − R|, so
    ε*(D)·range R ≤ Σ_k w_k D·|R̂_k − R| ≤ max_x Σ_k w_k |R̂_k(x) − R(x)| ≤ target."""
    cover = obj(cover, "cover-weights", "evidence.cover")
    require(set(cover) == {"weights", "witnesses"}, "cover-weights", "a cover has exactly weights and witnesses")
    weights, witnesses = cover["weights"], cover["witnesses"]
    require(isinstance(weights, list) and isinstance(witnesses, list) and weights
            and len(weights) == len(witnesses), "cover-weights", "weights and witnesses must be equal-length lists")
    require(len(weights) <= MAX_TREE_NODES, "cover-weights", "too many cover witnesses")
    w = [rational(v, "cover-weights", f"cover.weights[{i}]") for i, v in enumerate(weights)]
    require(all(v >= 0 for v in w) and sum(w) == 1, "cover-weights", "weights must be >= 0 and sum to 1")
    combined = [Fraction(0)] * (inst.n * inst.m)
    for k, (weight, item) in enumerate(zip(w, witnesses)):
        item = obj(item, "cover-witness", f"cover.witnesses[{k}]")
        require(set(item) == {"reward", "policy"}, "cover-witness", "a cover witness has exactly reward and policy")
        reward_model = inst.pair_table(item["reward"], "cover-witness", f"cover.witnesses[{k}].reward",
                                       complete=True)
        policy = inst.policy(item["policy"], "cover-witness", f"cover.witnesses[{k}].policy")
        adv, _ = inst.advantages(policy, reward_model)
        require(all(v <= 0 for v in adv), "cover-witness", f"witness {k}: the policy is not optimal for R^")
        require(inst.ret(inst.values(policy, inst.reward)) <= threshold, "cover-witness",
                f"witness {k}: the policy's regret is below L")
        if weight:
            for x in range(len(combined)):
                combined[x] += weight * abs(reward_model[x] - inst.reward[x])
    worst = max(combined)
    require(worst <= target, "cover-bound", f"the weighted witnesses allow error {worst} > {target} somewhere")
    return len(w)


# -- entry points --------------------------------------------------------------------

def _no_duplicate_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name):
    raise ValueError(f"{name} is not allowed")


def check_file(path: str) -> tuple[str, str, dict]:
    """``("verified" | "rejected" | "unreadable", message, facts)`` for a certificate file."""
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            return "unreadable", f"file larger than {MAX_BYTES} bytes", {}
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
        document = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return "unreadable", f"{type(exc).__name__}: {exc}", {}
    return check_document(document)


def check_document(document) -> tuple[str, str, dict]:
    try:
        facts = check_certificate(document)
    except Reject as exc:
        return "rejected", f"{exc.rule}: {exc.detail}", {"rule": exc.rule}
    except Exception as exc:  # fail closed: an error in the checker is never a pass
        return "rejected", f"internal-error: {type(exc).__name__}: {exc}", {"rule": "internal-error"}
    return "verified", "", facts


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    paths = [a for a in args if a != "--json"]
    if len(paths) != 1:
        print("usage: checker.py [--json] CERT.json", file=sys.stderr)
        return 2
    status, message, facts = check_file(paths[0])
    if as_json:
        print(json.dumps({"result": status, "message": message, **facts}))
    elif status == "verified":
        print("VERIFIED")
    else:
        print(f"{status.upper()}: {message}")
    return {"verified": 0, "rejected": 1}.get(status, 2)


if __name__ == "__main__":
    sys.exit(main())
