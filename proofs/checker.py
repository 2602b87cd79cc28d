#!/usr/bin/env python3
"""Standalone checker for rewardcert certificates (format ``rewardcert/certificate-1``).

Trusted base: the Python standard library and this file.  It imports nothing
from the rest of the toolkit, so a bug in a solver cannot certify itself.
Every field is type- and bounds-checked before use, arithmetic is exact
(``fractions.Fraction``), and any unexpected condition is a rejection.
The format and the meaning of each rule are in ``docs/certificate-format.md``.

Usage: ``python checker.py [--json] CERT.json`` (``-`` reads standard input);
exit 0 verified, 1 rejected, 2 unreadable.
"""

from __future__ import annotations

import gc
import json
import os
import re
import sys
from fractions import Fraction
from functools import lru_cache
from math import lcm

FORMAT = "rewardcert/certificate-1"
MODEL_FORMAT = "rewardcert/mdp-1"
MAX_BYTES = 256 * 1024 * 1024
MAX_STATES = 10_000
MAX_ACTIONS = 1_000
MAX_PAIRS = 100_000
MAX_TREE_NODES = 10_000_000
MAX_NUMBER_CHARS = 2000   # the toolkit refuses longer numbers at input (symbolic/core/numbers.py; a test keeps them equal)

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


def scaled_ratios(entries) -> tuple[list[int], int]:
    """``scaled`` for ``(p, q)`` pairs (``q > 0``; None counts as 0), as ``ratio`` reads them: ``d``
    is the lcm of the denominators as written, so for unreduced fractions it is a multiple of
    ``scaled``'s; every use of the integers is homogeneous in the two."""
    d = 1
    for e in entries:
        if e is not None and e[1] != 1:
            d = lcm(d, e[1])
    return [0 if e is None else e[0] * (d // e[1]) for e in entries], d


class Reject(Exception):
    """A failed rule: the certificate does not prove its claim."""

    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


def require(condition: bool, rule: str, detail: str) -> None:
    """Raise ``Reject`` unless ``condition``.  The per-pair loops of the leaf checks write
    ``if ...: raise Reject(...)`` instead, so that their messages are formatted only on failure
    (formatting them for every pair that passed was about a fifth of the lake certificate's check)."""
    if not condition:
        raise Reject(rule, detail)


# -- reading values ------------------------------------------------------------

_PLAIN = re.compile(r"(-?\d+)(?:/(\d+))?", re.ASCII)


def plain_rational(value) -> tuple[int, int] | None:
    """``(p, q)`` with ``q > 0`` and ``p/q`` the value ``rational`` reads, for the forms the toolkit
    writes: a JSON integer, or a string ``"p"`` or ``"p/q"`` (no spaces, no ``+``, ``q ≠ 0``, at most
    ``MAX_NUMBER_CHARS`` long).  None for anything else, which ``rational`` then reads or rejects.
    It lets the per-pair loops skip building a ``Fraction`` and a location string per number."""
    kind = type(value)
    if kind is int:
        return value, 1
    if kind is str and len(value) <= MAX_NUMBER_CHARS:
        match = _PLAIN.fullmatch(value)
        if match is not None:
            q = match.group(2)
            if q is None:
                return int(match.group(1)), 1
            q = int(q)
            if q:
                return int(match.group(1)), q
    return None


def ratio(value, rule: str, *where: str) -> tuple[int, int]:
    """``(p, q)``, ``q > 0``, of the exact rational ``value`` (read as ``rational`` reads it); the
    location ``".".join(where)`` is built only when the plain form does not apply."""
    plain = plain_rational(value)
    if plain is not None:
        return plain
    q = rational(value, rule, ".".join(where))
    return q.numerator, q.denominator


def rational(value, rule: str, where: str) -> Fraction:
    """An exact rational: a JSON integer or a string "p", "p/q" or a finite decimal."""
    plain = plain_rational(value)
    if plain is not None:
        return Fraction(*plain)
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
        self.horizon: list[Fraction] | None = None     # H(s) of §3.7, set from the evidence
        self.covered: list[set] | None = None          # actions covered by a duplicate (§3.8), per state
        model = obj(doc.get("model"), "model", "instance.model")
        require(model.get("format") == MODEL_FORMAT, "model", f"instance.model.format must be {MODEL_FORMAT!r}")
        keys_within(model, {"format", "name", "description", "gamma", "states", "actions", "initial",
                            "reward", "transitions", "enabled"}, "model", "instance.model")
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
        self.enabled = self.read_enabled(model.get("enabled"))

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
                    if not self.enabled[self.s_index[s] * m + self.a_index[a]]:
                        require(a not in row, "model", f"transitions.{s}.{a}: {a} is not enabled in {s}")
                        self.succ.append([])      # never used: no policy picks a disabled action
                        continue
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
        if verdict == "regularised-interval":
            require("epsilon" not in doc, "epsilon", "an interval claim carries critical_error, not epsilon")
            self.epsilon = None
        elif verdict in ("threshold", "safest") and raw_eps == "inf":
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
        on = [r for r, e in zip(self.reward, self.enabled) if e]
        self.range_reward = max(on) - min(on)
        # Integer forms of γτ and D for the leaves' inner loops (see ``scaled``).
        self.tau_scale = 1
        for row in self.succ:
            for _, gp in row:
                self.tau_scale = lcm(self.tau_scale, gp.denominator)
        self.succ_int = [[(t, int(gp * self.tau_scale)) for t, gp in row] for row in self.succ]
        self.data_int, self.data_scale = scaled(self.data)
        self.reward_int = scaled(self.reward)
        self.mu_int = scaled(self.mu0)

    def pair_entries(self, table, rule: str, where: str) -> list[tuple[int, int] | None]:
        """``{state: {action: number}}`` as one ``(p, q)`` (``q > 0``) per pair, None where not given.
        Every location string is built only for a message (this runs once per tree leaf)."""
        table = obj(table, rule, where)
        keys_within(table, self.s_index, rule, where)
        s_index, a_index, enabled, m = self.s_index, self.a_index, self.enabled, self.m
        values: list = [None] * (self.n * m)
        for s, row in table.items():
            if type(row) is not dict or not all(a in a_index for a in row):
                row = obj(row, rule, f"{where}.{s}")
                keys_within(row, a_index, rule, f"{where}.{s}")
            base = s_index[s] * m
            for a, v in row.items():
                x = base + a_index[a]
                if not enabled[x]:
                    raise Reject(rule, f"{where}.{s}.{a}: {a} is not enabled in {s}")
                values[x] = ratio(v, rule, where, s, a)
        return values

    def pair_table(self, table, rule: str, where: str, *, complete: bool) -> list[Fraction]:
        values = self.pair_entries(table, rule, where)
        if complete:
            require(all(v is not None or not e for v, e in zip(values, self.enabled)), rule,
                    f"{where}: every enabled state-action pair must be given")
        return [Fraction(0) if v is None else Fraction(*v) for v in values]

    def pair_ints(self, table, rule: str, where: str) -> tuple[list[int], int]:
        """A pair table (not every pair need be given) as integers ``v·d`` over their common positive
        denominator ``d`` (``scaled_ratios``), read without building a ``Fraction`` per pair."""
        return scaled_ratios(self.pair_entries(table, rule, where))

    def policy(self, value, rule: str, where: str, family=None) -> list[int]:
        """``{state: action}`` naming every state; optionally a member of ``family``."""
        table = obj(value, rule, where)
        keys_within(table, self.s_index, rule, where)
        require(len(table) == self.n, rule, f"{where}: every state needs an action")
        policy = []
        a_index, enabled, m = self.a_index, self.enabled, self.m
        for i, s in enumerate(self.states):
            a = table.get(s)
            if not (isinstance(a, str) and a in a_index):
                raise Reject(rule, f"{where}.{s}: unknown action {a!r}")
            j = a_index[a]
            if not enabled[i * m + j]:
                raise Reject(rule, f"{where}.{s}: action {a} is not enabled in {s}")
            policy.append(j)
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
        return self.advantage_ints(reward, *scaled(values)), values

    def advantage_ints(self, reward, v_int: list[int], v_scale: int) -> list[int]:
        """``advantages`` for the values ``V = v_int / v_scale`` (``v_scale > 0``)."""
        r_int, r_scale = self.reward_int if reward is self.reward else scaled(reward)
        ts = self.tau_scale
        reward_factor, value_factor = ts * v_scale, r_scale * ts
        m = self.m
        out = []
        for x, row in enumerate(self.succ_int):
            if not self.enabled[x]:
                out.append(0)      # a disabled pair has no action, hence no advantage (§8)
                continue
            future = 0
            for t, g in row:
                future += g * v_int[t]
            out.append(r_int[x] * reward_factor + r_scale * future - v_int[x // m] * value_factor)
        return out

    def read_enabled(self, table) -> list[bool]:
        """The optional ``enabled`` table as one flag per pair (docs/certificate-format.md §8)."""
        n, m = self.n, self.m
        if table is None:
            return [True] * (n * m)
        table = obj(table, "model", "enabled")
        keys_within(table, self.s_index, "model", "enabled")
        flags = [True] * (n * m)
        for s, actions in table.items():
            require(isinstance(actions, list) and actions, "model", f"enabled.{s}: expected a non-empty list")
            require(all(isinstance(a, str) and a in self.a_index for a in actions), "model",
                    f"enabled.{s}: unknown action")
            require(len(set(actions)) == len(actions), "model", f"enabled.{s}: an action is listed twice")
            i = self.s_index[s]
            for j, a in enumerate(self.actions):
                flags[i * m + j] = a in actions
        return flags

    def enabled_actions(self, s: int) -> list[str]:
        return [a for j, a in enumerate(self.actions) if self.enabled[s * self.m + j]]

    def tree_actions(self, s: int) -> list[str]:
        """The actions a tree split on ``s`` must name: the enabled ones less those covered (§3.8)."""
        covered = self.covered[s] if self.covered else ()
        return [a for a in self.enabled_actions(s) if a not in covered]

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


def given_values(inst: Instance, table) -> tuple[list[int], int]:
    """A regret leaf's values as integers over their common denominator (``scaled_ratios``)."""
    table = obj(table, "regret-values", "regret leaf values")
    keys_within(table, inst.s_index, "regret-values", "regret leaf values")
    require(len(table) == inst.n, "regret-values", "regret leaf values: every state needs a value")
    return scaled_ratios([ratio(table[s], "regret-values", "values", s) for s in inst.states])


def check_regret_leaf(inst: Instance, node: dict, family, threshold: Fraction) -> None:
    """Rules ``regret-member``, ``regret-values``, ``regret-pessimal``, ``regret-return``.

    Values supplied by the certificate are accepted only if they solve the policy's
    Bellman equations (zero advantage at the policy's own actions); that solution is
    unique because gamma < 1, so verifying replaces solving."""
    policy = inst.policy(node.get("policy"), "regret-member", "regret leaf policy", family)
    if "values" in node:
        v_int, v_scale = given_values(inst, node["values"])
    else:
        v_int, v_scale = scaled(inst.values(policy, inst.reward))
    adv = inst.advantage_ints(inst.reward, v_int, v_scale)
    m = inst.m
    for s, a in enumerate(policy):
        if adv[s * m + a] != 0:
            raise Reject("regret-values", f"V({inst.states[s]}) does not solve the policy's Bellman equation")
    for x, v in enumerate(adv):
        allowed = family[x // m] is None or family[x // m] == x % m
        if allowed and v < 0:
            raise Reject("regret-pessimal", f"negative advantage at {inst_pair(inst, x)} within the family")
    mu_int, mu_scale = inst.mu_int
    j = Fraction(sum(p * v for p, v in zip(mu_int, v_int) if p), mu_scale * v_scale)
    require(j > threshold, "regret-return", f"pessimal return {j} is not above J* - L range J = {threshold}")


def check_dual_leaf(inst: Instance, node: dict, family, target: Fraction, strict: bool) -> None:
    """Rules ``dual-bounds``, ``dual-sign``, ``dual-flow``, ``dual-value``."""
    y_int, y_scale = inst.pair_ints(node.get("y"), "dual-bounds", "dual leaf y")
    m = inst.m
    r_int, r_scale = inst.reward_int
    ts = inst.tau_scale
    flow = [0] * inst.n            # the flow residuals times y_scale * tau_scale
    total = 0                      # y . R times y_scale * r_scale
    for x, v in enumerate(y_int):
        if not v:
            continue
        if abs(v) * inst.data_scale > inst.data_int[x] * y_scale:
            raise Reject("dual-bounds", f"|y| > D at {inst_pair(inst, x)}")
        if not inst.enabled[x]:
            raise Reject("dual-bounds", f"y is given at the disabled pair {inst_pair(inst, x)}")
        if v < 0 and family[x // m] != x % m:
            raise Reject("dual-sign", f"y < 0 at {inst_pair(inst, x)}, whose action the family does not fix")
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
    root_horizon = getattr(inst, "horizon", None) or [1 / (1 - inst.gamma)] * inst.n
    stack = [(tree, [None] * inst.n, 0, root_horizon)]
    nodes = regret_leaves = dual_leaves = open_leaves = regret_dual_leaves = node_bounds = 0
    while stack:
        node, family, depth, horizon = stack.pop()
        nodes += 1
        require(nodes <= MAX_TREE_NODES, "tree-split", "too many tree nodes")
        node = obj(node, "tree-split", "tree node")
        if "occupancy" in node:
            horizon = check_node_occupancy(inst, node["occupancy"], family, horizon)
            node = {k: v for k, v in node.items() if k != "occupancy"}
            node_bounds += 1
        if "split" in node:
            require(set(node) == {"split", "children"}, "tree-split", "a split node has exactly split and children")
            state = node["split"]
            require(isinstance(state, str) and state in inst.s_index, "tree-split", f"unknown state {state!r}")
            s = inst.s_index[state]
            require(family[s] is None, "tree-split", f"state {state} is split twice on one branch")
            children = obj(node["children"], "tree-split", "children")
            require(set(children) == set(inst.tree_actions(s)), "tree-split",
                    f"the split on {state} must have exactly one child per enabled action"
                    + (" not covered by a duplicate" if inst.covered and inst.covered[s] else ""))
            for a, child in children.items():
                sub = list(family)
                sub[s] = inst.a_index[a]
                stack.append((child, sub, depth + 1, horizon))
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
            check_regret_dual_leaf(inst, node, family, threshold, target, strict, horizon)
            open_leaves += 1
        elif kind == "open" and allow_open:
            require(set(node) == {"close", "y"}, "dual-bounds", "an open leaf has exactly close and y")
            check_dual_leaf(inst, node, family, target, strict)
            open_leaves += 1
        elif kind == "regret-dual":
            require(target is not None, "regret-dual-value", "a dual leaf cannot prove an infinite critical error")
            require(set(node) == {"close", "t", "w"}, "regret-dual-bounds",
                    "a regret-dual leaf has exactly close, t and w")
            check_regret_dual_leaf(inst, node, family, threshold, target, strict, horizon)
            regret_dual_leaves += 1
        else:
            raise Reject("tree-split", f"a node must split or close ('regret', 'dual' or 'regret-dual'), "
                                       f"got {kind!r}")
    facts = {"tree_nodes": nodes, "regret_leaves": regret_leaves, "dual_leaves": dual_leaves}
    if allow_open:
        facts["open_leaves"] = open_leaves
    if regret_dual_leaves:
        facts["regret_dual_leaves"] = regret_dual_leaves
    if node_bounds:
        facts["node_occupancy_bounds"] = node_bounds
    return facts


def check_occupancy(inst: Instance, table) -> list[Fraction]:
    """Rules ``occupancy-states`` and ``occupancy-bound`` (§3.7): the occupancy bound ``H(s)`` of every
    state, ``1/(1 − γ)`` unless a superharmonic ``U_s`` certifies a smaller ``μ0 · U_s``."""
    cap = 1 / (1 - inst.gamma)
    bounds = [cap] * inst.n
    if table is None:
        return bounds
    return superharmonic_bounds(inst, table, [None] * inst.n, bounds, "occupancy", "evidence.occupancy")


def check_node_occupancy(inst: Instance, table, family, horizon: list[Fraction]) -> list[Fraction]:
    """Rules ``node-occupancy-states`` and ``node-occupancy-bound`` (§3.7a): the ``H(s)`` in force in
    a node's subtree, from superharmonic vectors checked on the pairs its members may take."""
    return superharmonic_bounds(inst, table, family, list(horizon), "node-occupancy", "tree node occupancy")


def superharmonic_bounds(inst: Instance, table, family, bounds: list[Fraction], rules: str,
                         where_table: str) -> list[Fraction]:
    """``bounds`` with ``H(s)`` lowered to ``μ0 · U_s`` for every ``U_s`` in ``table`` that is
    superharmonic on every enabled pair the family allows (all of them for the root family)."""
    table = obj(table, f"{rules}-states", where_table)
    keys_within(table, inst.s_index, f"{rules}-states", where_table)
    m = inst.m
    allowed = [x for x in range(inst.n * m)
               if inst.enabled[x] and family[x // m] in (None, x % m)]    # a disabled pair is never taken
    s_index, succ_int, ts = inst.s_index, inst.succ_int, inst.tau_scale
    mu_int, mu_scale = inst.mu_int
    bound_rule = f"{rules}-bound"
    for state, row in table.items():
        if type(row) is not dict or not all(other in s_index for other in row):
            row = obj(row, f"{rules}-states", f"{where_table}.{state}")
            keys_within(row, s_index, f"{rules}-states", f"{where_table}.{state}")
        entries = [None] * inst.n
        for other, v in row.items():
            entries[s_index[other]] = ratio(v, bound_rule, where_table, state, other)
        u_int, u_scale = scaled_ratios(entries)        # U_s = u_int / u_scale
        target = s_index[state]
        # U(s') ≥ [s' = s] + Σ γτ U, times tau_scale · u_scale: exact integers.
        unit = ts * u_scale
        for x in allowed:
            here = x // m
            rhs = unit if here == target else 0
            for t, g in succ_int[x]:
                rhs += g * u_int[t]
            if ts * u_int[here] < rhs:
                raise Reject(bound_rule, f"{where_table}.{state}: U({inst.states[here]}) < [s' = {state}] "
                                               f"+ gamma tau U at {inst_pair(inst, x)}")
        # μ0 · U_s = Σ mu_int · u_int / (mu_scale · u_scale)
        bound = Fraction(sum(p * u for p, u in zip(mu_int, u_int) if p), mu_scale * u_scale)
        bounds[target] = min(bounds[target], bound)
    return bounds


def check_duplicates(inst: Instance, table) -> list[set]:
    """Rule ``duplicate-actions`` (§3.8): ``table[s][b] = a`` covers ``b`` by its exact duplicate ``a``
    (equal transition row, reward and data weight); returns the covered action names per state."""
    covered = [set() for _ in range(inst.n)]
    if table is None:
        return covered
    table = obj(table, "duplicate-actions", "evidence.duplicates")
    keys_within(table, inst.s_index, "duplicate-actions", "evidence.duplicates")
    m = inst.m
    for state, row in table.items():
        where = f"evidence.duplicates.{state}"
        row = obj(row, "duplicate-actions", where)
        s = inst.s_index[state]
        enabled = inst.enabled_actions(s)
        for b, a in row.items():
            require(b in enabled and isinstance(a, str) and a in enabled, "duplicate-actions",
                    f"{where}.{b}: both actions must be enabled actions of {state}")
            require(a != b, "duplicate-actions", f"{where}.{b}: an action cannot cover itself")
            require(a not in row, "duplicate-actions", f"{where}.{b}: {a} is itself covered (no chains)")
            xa, xb = s * m + inst.a_index[a], s * m + inst.a_index[b]
            require(sorted(inst.succ[xa]) == sorted(inst.succ[xb]), "duplicate-actions",
                    f"{where}.{b}: the transition rows of {a} and {b} differ")
            require(inst.reward[xa] == inst.reward[xb], "duplicate-actions",
                    f"{where}.{b}: the rewards of {a} and {b} differ")
            require(inst.data[xa] == inst.data[xb], "duplicate-actions",
                    f"{where}.{b}: the data weights of {a} and {b} differ")
            covered[s].add(b)
    return covered


def check_regret_dual_leaf(inst: Instance, node: dict, family, threshold: Fraction, target: Fraction,
                           strict: bool, horizon: list[Fraction]) -> None:
    """Rules ``regret-dual-t``, ``-bounds``, ``-flow``, ``-value`` (§3.6): ``y = w − t·η^π`` is a dual
    for every member π of regret >= L, with ``horizon[s] = H(s)`` (§3.7, §3.7a) bounding every
    member's occupancy of ``s``."""
    t = rational(node.get("t"), "regret-dual-t", "regret-dual leaf t")
    require(t >= 0, "regret-dual-t", "t must be >= 0")
    # Exact integers, as in check_dual_leaf: w = w_int / ws, D = data_int / ds, t H(s) = th_int[s] / ths.
    w_int, ws = inst.pair_ints(node.get("w"), "regret-dual-bounds", "regret-dual leaf w")
    m = inst.m
    d_int, ds = inst.data_int, inst.data_scale
    th_int, ths = scaled([t * h for h in horizon])
    r_int, r_scale = inst.reward_int
    ts = inst.tau_scale
    flow = [0] * inst.n            # the flow residuals times ws * tau_scale
    total = 0                      # w . R times ws * r_scale
    for x, v in enumerate(w_int):
        forced = family[x // m]
        if v * ds > d_int[x] * ws:
            raise Reject("regret-dual-bounds", f"w > D at {inst_pair(inst, x)}")
        if (forced is None or forced != x % m) and v < 0:
            raise Reject("regret-dual-bounds", f"w < 0 at {inst_pair(inst, x)}, which a member may leave")
        if (forced is None or forced == x % m) and inst.enabled[x]:     # a disabled pair is never taken
            # v / ws >= th_int / ths - d_int / ds, times ws * ths * ds > 0
            if v * ths * ds < (th_int[x // m] * ds - d_int[x] * ths) * ws:
                raise Reject("regret-dual-bounds", f"w < t H(s) - D at {inst_pair(inst, x)}")
        if v:
            flow[x // m] += v * ts
            for s_next, g in inst.succ_int[x]:
                flow[s_next] -= g * v
            total += v * r_int[x]
    mu_int, mu_scale = inst.mu_int
    # flow / (ws * ts) == t * mu0, times ws * ts * t.denominator * mu_scale
    left, right = t.denominator * mu_scale, t.numerator * ws * ts
    bad = next((s for s in range(inst.n) if flow[s] * left != right * mu_int[s]), None)
    require(bad is None, "regret-dual-flow",
            f"flow constraint of state {inst.states[bad] if bad is not None else '?'} is not t * mu0")
    value = Fraction(total, ws * r_scale) - t * threshold
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
    require(verdict in ("safe", "unsafe", "threshold", "safest", "interval") + REGULARISED, "verdict",
            f"unknown verdict {verdict!r}")
    inst = Instance(obj(document.get("instance"), "model", "instance"), verdict)
    evidence = obj(document.get("evidence"), "evidence", "evidence")
    require(("regularisation" in document["instance"]) == (verdict in REGULARISED), "reg-instance",
            "instance.regularisation goes with the regularised verdicts, and only with them")
    if verdict in REGULARISED:
        require(all(inst.enabled), "reg-instance",
                "regularised certificates do not support per-state action sets (instance.model.enabled)")
        j_star, j_min = check_return_bounds(inst, evidence)
        facts = {"verdict": verdict, "states": inst.n, "actions": inst.m, **instance_facts(document, inst)}
        interval = document["instance"].get("critical_error")
        if isinstance(interval, dict):
            facts["critical_error"] = {k: str(interval.get(k)) for k in ("lower", "upper")}
        facts["error_measure"] = document["instance"].get("error", "absolute")
        range_j = j_star - j_min
        threshold = j_star - inst.regret_bound * range_j
        facts.update(check_regularised(inst, document, evidence, verdict, range_j == 0, threshold))
        return facts
    keys_within(evidence, {"optimal_policy", "pessimal_policy", "witness", "tree", "cover", "occupancy",
                           "duplicates"}, "evidence", "evidence")
    require("duplicates" not in evidence or verdict in ("safe", "threshold", "safest", "interval"),
            "duplicate-actions", "only certificates with a tree carry duplicate actions")
    inst.covered = check_duplicates(inst, evidence.get("duplicates"))
    require("occupancy" not in evidence or verdict in ("safe", "threshold", "safest", "interval"),
            "occupancy-states", "only certificates with a tree carry occupancy bounds")
    inst.horizon = check_occupancy(inst, evidence.get("occupancy"))
    require(("cover" in evidence) == (verdict == "safest" and doc_epsilon(document) != "inf"), "cover-weights",
            "a finite safest claim needs a cover, and only it")
    j_star, j_min = check_return_bounds(inst, evidence)
    range_j = j_star - j_min
    facts = {"verdict": verdict, "states": inst.n, "actions": inst.m, **instance_facts(document, inst)}
    if any(inst.covered):
        facts["duplicate_actions"] = sum(len(c) for c in inst.covered)
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


def _text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def instance_facts(document: dict, inst: Instance) -> dict:
    """What the claim is about, for the report line: model name, eps (or eps*), L."""
    model = document["instance"]["model"]
    return {"model": model.get("name", ""),
            "epsilon": "inf" if inst.epsilon is None else _text(inst.epsilon),
            "regret_bound": _text(inst.regret_bound)}


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


# -- regularised certificates (lambda > 0): rigorous exp and log over Fraction ------------
# docs/certificate-format.md §6.  Intervals are (lower, upper) pairs of Fractions rounded
# outward to PRECISION significant bits after every operation.

PRECISION = 160
REGULARISED = ("regularised-unsafe", "regularised-safe", "regularised-interval")


def _round(q: Fraction, up: bool) -> Fraction:
    """``q`` rounded to PRECISION significant bits, towards +inf if ``up`` else -inf."""
    if q == 0:
        return q
    num, den = q.numerator, q.denominator
    shift = PRECISION - (abs(num).bit_length() - den.bit_length())
    if shift >= 0:
        scaled_num, rem = divmod(num << shift, den)
        result = Fraction(scaled_num + (1 if up and rem else 0), 1 << shift)
    else:
        scaled_num, rem = divmod(num, den << -shift)
        result = Fraction((scaled_num + (1 if up and rem else 0)) << -shift)
    return result


def _down(q: Fraction) -> Fraction:
    return _round(q, False)


def _up(q: Fraction) -> Fraction:
    return _round(q, True)


def _exp_small(y: Fraction) -> tuple[Fraction, Fraction]:
    """Enclosure of exp(y) for 0 <= y <= 1/2, in fixed point with F = PRECISION + 16 fractional
    bits: the Taylor terms are floored for the lower sum and ceiled for the upper one, and the
    tail after a term t is at most 2t (the ratio of successive terms is <= 1/2)."""
    bits = PRECISION + 16
    one = 1 << bits
    y_lo = y.numerator * one // y.denominator
    y_hi = -(-y.numerator * one // y.denominator)
    lo_sum = hi_sum = 0
    t_lo = t_hi = one
    i = 0
    while t_hi > 1:
        lo_sum += t_lo
        hi_sum += t_hi
        i += 1
        t_lo = t_lo * y_lo // (i * one)
        t_hi = -(-t_hi * y_hi // (i * one))
    # i >= 1 terms were summed; the remaining tail is <= 2 * t_hi (+ 1 for the last rounding)
    return _down(Fraction(lo_sum, one)), _up(Fraction(hi_sum + 2 * t_hi + 2, one))


EXP_FLOOR = 10_000  # exp(x) for x < -EXP_FLOOR is enclosed by [0, exp(-EXP_FLOOR)]


@lru_cache(maxsize=1 << 16)
def exp_bounds(x: Fraction) -> tuple[Fraction, Fraction]:
    """Rigorous enclosure of exp(x) for a rational x <= 0 (the only kind the rules need)."""
    require(x <= 0, "internal", "exp of a positive argument")
    if x < -EXP_FLOOR:
        return Fraction(0), exp_bounds(Fraction(-EXP_FLOOR))[1]
    y, k = -x, 0
    while y > Fraction(1, 2) * (1 << k):
        k += 1
    lo, _ = _exp_small(_down(y / (1 << k)))
    _, hi = _exp_small(_up(y / (1 << k)))
    for _ in range(k):
        lo, hi = _down(lo * lo), _up(hi * hi)
    # exp(x) = 1 / exp(y)
    return _down(1 / hi), _up(1 / lo)


def _atanh_bounds(z: Fraction) -> tuple[Fraction, Fraction]:
    """Enclosure of atanh(z) for a dyadic |z| <= 1/3: the series sum |z|^(2i+1)/(2i+1) with
    remainder |z|^(2n+1)/((2n+1)(1 - z^2)), then the sign of z (atanh is odd)."""
    a = abs(z)
    a2 = a * a
    lo_sum = hi_sum = Fraction(0)
    p_lo = p_hi = a
    eps = Fraction(1, 1 << (PRECISION + 10))
    i = 0
    while p_hi > eps:
        lo_sum += _down(p_lo / (2 * i + 1))
        hi_sum += _up(p_hi / (2 * i + 1))
        i += 1
        p_lo, p_hi = _down(p_lo * a2), _up(p_hi * a2)
    hi_sum += _up(p_hi / ((2 * i + 1) * (1 - a2)))
    lo, hi = _down(lo_sum), _up(hi_sum)
    return (lo, hi) if z >= 0 else (-hi, -lo)


@lru_cache(maxsize=1 << 16)
def log_bounds(x: Fraction) -> tuple[Fraction, Fraction]:
    """Rigorous enclosure of log(x) for a rational x > 0."""
    require(x > 0, "internal", "log of a non-positive number")
    k = x.numerator.bit_length() - x.denominator.bit_length()
    m = x / Fraction(2) ** k
    while m > Fraction(4, 3):
        m, k = m / 2, k + 1
    while m < Fraction(2, 3):
        m, k = m * 2, k - 1
    m_lo, m_hi = _down(m), _up(m)
    lo, _ = _atanh_bounds(_down((m_lo - 1) / (m_lo + 1)))
    _, hi = _atanh_bounds(_up((m_hi - 1) / (m_hi + 1)))
    lo, hi = 2 * lo, 2 * hi
    if k:
        l2_lo, l2_hi = _atanh_bounds(Fraction(1, 3))
        l2_lo, l2_hi = 2 * l2_lo, 2 * l2_hi
        lo, hi = (lo + k * l2_lo, hi + k * l2_hi) if k > 0 else (lo + k * l2_hi, hi + k * l2_lo)
    return _down(lo), _up(hi)


def _imul(a: tuple, b: tuple) -> tuple[Fraction, Fraction]:
    products = [x * y for x in a for y in b]
    return _down(min(products)), _up(max(products))


def _softplus_bounds(x: Fraction) -> tuple[Fraction, Fraction]:
    """log(1 + e^x) = max(x, 0) + log(1 + e^(-|x|)), with exp of a non-positive number only."""
    lo, hi = exp_bounds(-abs(x))
    log_lo, log_hi = log_bounds(1 + lo)[0], log_bounds(1 + hi)[1]
    top = max(x, Fraction(0))
    return top + log_lo, top + log_hi


def _pair_kl_upper(u: Fraction, v: Fraction) -> Fraction:
    return _pair_kl_bounds(u, v)[1]


@lru_cache(maxsize=1 << 16)
def _pair_kl_bounds(u: Fraction, v: Fraction) -> tuple[Fraction, Fraction]:
    """Enclosure of KL(Bern(σ(u)) ‖ Bern(σ(v))) = σ(u)(sp(−v) − sp(−u)) + σ(−u)(sp(v) − sp(u))."""
    e_lo, e_hi = exp_bounds(-abs(u))
    big = (_down(1 / (1 + e_hi)), _up(1 / (1 + e_lo)))          # σ(|u|)
    small = (_down(e_lo / (1 + e_lo)), _up(e_hi / (1 + e_hi)))   # σ(−|u|)
    p, q = (big, small) if u >= 0 else (small, big)
    a_lo, a_hi = _softplus_bounds(-v)
    b_lo, b_hi = _softplus_bounds(-u)
    c_lo, c_hi = _softplus_bounds(v)
    d_lo, d_hi = _softplus_bounds(u)
    first = _imul(p, (a_lo - b_hi, a_hi - b_lo))
    second = _imul(q, (c_lo - d_hi, c_hi - d_lo))
    return first[0] + second[0], first[1] + second[1]


def preference_pairs(inst: Instance, reg):
    """``(weight, x1, x2)`` for every unordered pair of distinct actions in a state with μ0(s) > 0.
    The ordered pair (a2, a1) has the negated differences and the same KL, so ``weight`` is twice
    ``μ0(s) π_ref(a1|s) π_ref(a2|s)``."""
    m = inst.m
    for s in range(inst.n):
        if inst.mu0[s]:
            for a1 in range(m):
                for a2 in range(a1 + 1, m):
                    yield 2 * inst.mu0[s] * reg.reference[s][a1] * reg.reference[s][a2], s * m + a1, s * m + a2


def preference_distance(inst: Instance, reg, lo, hi) -> Fraction:
    """Lower bound on the preference error over a box of reward models: each pair's KL at the
    point of its difference interval nearest the true difference (KL is convex in it)."""
    total = Fraction(0)
    for weight, x1, x2 in preference_pairs(inst, reg):
        u = inst.reward[x1] - inst.reward[x2]
        v = min(max(u, lo[x1] - hi[x2]), hi[x1] - lo[x2])
        if v != u:
            total = _down(total + weight * _pair_kl_bounds(u, v)[0])
    return total


def preference_root_box(inst: Instance, reg, radii, root_epsilon: Fraction):
    """Rule ``reg-preference-box``: the shift-normalised root box, its radii verified."""
    radii = obj(radii, "reg-preference-box", "evidence.box_radii")
    keys_within(radii, inst.s_index, "reg-preference-box", "evidence.box_radii")
    m = inst.m
    lo, hi = list(inst.reward), list(inst.reward)
    target = root_epsilon * inst.range_reward
    for s in range(inst.n):
        if not inst.mu0[s]:
            continue
        row = obj(radii.get(inst.states[s]), "reg-preference-box", f"box_radii.{inst.states[s]}")
        require(set(row) == set(inst.actions[1:]), "reg-preference-box",
                f"box_radii.{inst.states[s]} names every action but the first, {inst.actions[0]!r}")
        for a in range(1, m):
            rho = rational(row[inst.actions[a]], "reg-preference-box", f"box_radii.{inst.states[s]}.{inst.actions[a]}")
            require(rho > 0, "reg-preference-box", "radii must be > 0")
            u = inst.reward[s * m + a] - inst.reward[s * m]
            weight = 2 * inst.mu0[s] * reg.reference[s][a] * reg.reference[s][0]
            low = min(_pair_kl_bounds(u, u + rho)[0], _pair_kl_bounds(u, u - rho)[0])
            require(weight * low > target, "reg-preference-box",
                    f"radius {rho} at {inst_pair(inst, s * m + a)} does not push the error above the root target")
            lo[s * m + a] -= rho
            hi[s * m + a] += rho
    return lo, hi


def check_preference_error(inst: Instance, reg, reward_model, epsilon: Fraction) -> None:
    """Rule ``reg-preference-error``: E_{s∼μ0, a1,a2∼π_ref} KL(p_R ‖ p_R̂) <= ε range R (Def C.27)."""
    total = Fraction(0)
    for weight, x1, x2 in preference_pairs(inst, reg):
        u = inst.reward[x1] - inst.reward[x2]
        v = reward_model[x1] - reward_model[x2]
        if u != v:
            total = _up(total + weight * _pair_kl_upper(u, v))
    require(total <= epsilon * inst.range_reward, "reg-preference-error",
            f"the preference error may be {float(total):.6g}, above epsilon * range R = "
            f"{float(epsilon * inst.range_reward):.6g}")


def check_reference_data(inst: Instance, reg) -> None:
    """Rule ``reg-preference-data``: a bandit, and D = D^ref, D(s,a) = μ0(s) π_ref(a|s), exactly."""
    require(inst.gamma == 0, "reg-preference-data", "the preference error is defined for bandits (gamma = 0)")
    for x, d in enumerate(inst.data):
        s, a = divmod(x, inst.m)
        require(d == inst.mu0[s] * reg.reference[s][a], "reg-preference-data",
                f"D at {inst_pair(inst, x)} is not mu0(s) * pi_ref(a|s)")


class Regularisation:
    """``instance.regularisation``: lambda and the full-support reference policy."""

    def __init__(self, inst: Instance, table):
        table = obj(table, "reg-instance", "instance.regularisation")
        require(set(table) == {"lambda", "reference", "regulariser"}, "reg-instance",
                "instance.regularisation has exactly lambda, reference and regulariser")
        require(table["regulariser"] == "occupancy-kl", "reg-instance", "the regulariser must be 'occupancy-kl'")
        self.lam = rational(table["lambda"], "reg-instance", "regularisation.lambda")
        require(self.lam > 0, "reg-instance", "lambda must be > 0")
        self.reference = stochastic_policy(inst, table["reference"], "reg-instance", "regularisation.reference")
        require(all(p > 0 for row in self.reference for p in row), "reg-instance",
                "the reference policy must give every action positive probability")


def stochastic_policy(inst: Instance, table, rule: str, where: str) -> list[list[Fraction]]:
    """``{state: {action: p}}`` naming every state; rows >= 0 summing to 1 (omitted actions 0)."""
    table = obj(table, rule, where)
    keys_within(table, inst.s_index, rule, where)
    require(len(table) == inst.n, rule, f"{where}: every state needs a row")
    values = inst.pair_table(table, rule, where, complete=False)
    rows = [values[s * inst.m:(s + 1) * inst.m] for s in range(inst.n)]
    for s, row in enumerate(rows):
        require(all(p >= 0 for p in row) and sum(row) == 1, rule,
                f"{where}.{inst.states[s]} must be a probability distribution")
    return rows


def _bellman_rows(inst: Instance, policy: list[list[Fraction]]) -> list[list[Fraction]]:
    """The matrix ``I − γP_π`` of a stochastic ``π`` as rows."""
    n, m = inst.n, inst.m
    rows = []
    for s in range(n):
        row = [Fraction(0)] * n
        row[s] += 1
        for a in range(m):
            if policy[s][a]:
                for t, gp in inst.succ[s * m + a]:
                    row[t] -= policy[s][a] * gp
        rows.append(row)
    return rows


def stochastic_values(inst: Instance, policy: list[list[Fraction]], reward) -> list[Fraction]:
    """``V^π = (I − γP_π)^{-1} R_π`` for a stochastic ``π``, by exact elimination."""
    n, m = inst.n, inst.m
    rhs = [sum((policy[s][a] * reward[s * m + a] for a in range(m) if policy[s][a]), Fraction(0))
           for s in range(n)]
    if inst.gamma == 0:
        return rhs
    return _eliminate(_bellman_rows(inst, policy), rhs)


def stochastic_occupancy(inst: Instance, policy: list[list[Fraction]]) -> list[Fraction]:
    """``d^π`` with ``(I − γP_π)^T d = μ0`` (total mass ``1/(1−γ)``)."""
    rows = _bellman_rows(inst, policy)
    transposed = [[rows[r][c] for r in range(inst.n)] for c in range(inst.n)]
    return _eliminate(transposed, list(inst.mu0))


def _eliminate(matrix: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction]:
    n = len(matrix)
    rows = [list(row) + [b] for row, b in zip(matrix, rhs)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if rows[r][col] != 0), None)
        require(pivot is not None, "internal", "singular Bellman system")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        head = rows[col]
        for r in range(n):
            if r != col and rows[r][col]:
                factor = rows[r][col] / head[col]
                target = rows[r]
                for c in range(col, n + 1):
                    if head[c]:
                        target[c] -= factor * head[c]
    return [rows[s][n] / rows[s][s] for s in range(n)]


def soft_box(inst: Instance, table, where: str) -> tuple[list[Fraction], Fraction]:
    """A soft box ``{"values": {state: W0}, "radius": rho}`` (not yet verified)."""
    table = obj(table, "reg-fixed-point", where)
    require(set(table) == {"values", "radius"}, "reg-fixed-point", f"{where} has exactly values and radius")
    values = obj(table["values"], "reg-fixed-point", f"{where}.values")
    keys_within(values, inst.s_index, "reg-fixed-point", f"{where}.values")
    require(len(values) == inst.n, "reg-fixed-point", f"{where}.values: every state needs a value")
    w0 = [rational(values[s], "reg-fixed-point", f"{where}.values.{s}") for s in inst.states]
    radius = rational(table["radius"], "reg-fixed-point", f"{where}.radius")
    require(radius >= 0, "reg-fixed-point", f"{where}.radius must be >= 0")
    return w0, radius


def _q_values(inst: Instance, reward, w) -> list[Fraction]:
    return [reward[x] + sum((gp * w[t] for t, gp in inst.succ[x]), Fraction(0)) for x in range(inst.n * inst.m)]


def check_soft_box(inst: Instance, reg: Regularisation, reward, table, where: str):
    """Rule ``reg-fixed-point``: |T(W0) − W0| <= (1 − γ)ρ; returns (W0, ρ)."""
    w0, radius = soft_box(inst, table, where)
    q = _q_values(inst, reward, w0)
    m, lam = inst.m, reg.lam
    for s in range(inst.n):
        row = q[s * m:(s + 1) * m]
        top = max(row)
        total_lo = total_hi = Fraction(0)
        for a, qa in enumerate(row):
            lo, hi = exp_bounds((qa - top) / lam)
            total_lo += reg.reference[s][a] * lo
            total_hi += reg.reference[s][a] * hi
        log_lo, _ = log_bounds(_down(total_lo))
        _, log_hi = log_bounds(_up(total_hi))
        t_lo, t_hi = top + lam * log_lo, top + lam * log_hi
        gap = max(t_hi - w0[s], w0[s] - t_lo)
        require(gap <= (1 - inst.gamma) * radius, "reg-fixed-point",
                f"{where}: |T(W0) - W0| at {inst.states[s]} is not shown to be <= (1 - gamma) * radius")
    return w0, radius


def _exp_upper(x: Fraction) -> Fraction | None:
    """An upper bound on exp(x) for a rational of either sign; ``None`` stands for +inf (x huge)."""
    if x <= 0:
        return exp_bounds(x)[1]
    if x > EXP_FLOOR:
        return None
    return _up(1 / exp_bounds(-x)[0])


def _exp_lower(x: Fraction) -> Fraction:
    """A lower bound on exp(x) for a rational of either sign (exp is increasing)."""
    if x <= 0:
        return exp_bounds(x)[0]
    return _down(1 / exp_bounds(-min(x, Fraction(EXP_FLOOR)))[1])


def advantage_gaps(inst: Instance, r_lo, r_hi, w_lo, w_hi) -> dict:
    """[min, max] of Q*(s,b) − Q*(s,a) = R̂(b) − R̂(a) + γ(τ_b − τ_a)·W over the boxes of R̂ and W."""
    m = inst.m
    gaps = {}
    for s in range(inst.n):
        for a in range(m):
            xa = s * m + a
            for b in range(m):
                if b == a:
                    continue
                xb = s * m + b
                lo, hi = r_lo[xb] - r_hi[xa], r_hi[xb] - r_lo[xa]
                if w_lo is not None:
                    coeff: dict = {}
                    for t, gp in inst.succ[xb]:
                        coeff[t] = coeff.get(t, Fraction(0)) + gp
                    for t, gp in inst.succ[xa]:
                        coeff[t] = coeff.get(t, Fraction(0)) - gp
                    for t, c in coeff.items():
                        if c > 0:
                            lo, hi = lo + c * w_lo[t], hi + c * w_hi[t]
                        elif c < 0:
                            lo, hi = lo + c * w_hi[t], hi + c * w_lo[t]
                gaps[(s, b, a)] = (lo, hi)
    return gaps


def policy_box(inst: Instance, reg: Regularisation, r_lo, r_hi, w_lo=None, w_hi=None):
    """Rule ``reg-policy-box``: an enclosure of π̂(a|s) over R̂ ∈ [r_lo, r_hi] with W* ∈ [w_lo, w_hi],
    in ratio form π̂(a|s) = 1 / (1 + Σ_{b≠a} (π_ref(b)/π_ref(a)) exp((Q(b) − Q(a))/λ))."""
    m, lam = inst.m, reg.lam
    gaps = advantage_gaps(inst, r_lo, r_hi, w_lo, w_hi)
    lower, upper = [], []
    for s in range(inst.n):
        for a in range(m):
            x = s * m + a
            p = reg.reference[s][a]
            worst = best = Fraction(0)      # Σ_b ratio · exp bounds, for the lower and the upper end
            infinite = False
            for b in range(m):
                if b == a:
                    continue
                ratio = reg.reference[s][b] / p
                gap_lo, gap_hi = gaps[(s, b, a)]
                big = _exp_upper(gap_hi / lam)
                if big is None:
                    infinite = True
                else:
                    worst = _up(worst + ratio * big)
                best = _down(best + ratio * _exp_lower(gap_lo / lam))
            lo = Fraction(0) if infinite else _down(1 / (1 + worst))
            hi = min(Fraction(1), _up(1 / (1 + best)))
            require(0 <= lo <= hi, "reg-policy-box", f"empty policy box at {inst_pair(inst, x)}")
            lower.append(lo)
            upper.append(hi)
    return lower, upper


def _extreme_mix(lower, upper, adv, largest: bool) -> Fraction:
    """min (or max) of Σ_a p_a adv_a over lower <= p <= upper, Σ p = 1 (exact greedy)."""
    require(sum(lower) <= 1 <= sum(upper), "reg-policy-box", "the policy box misses the simplex")
    value = sum((lo * a for lo, a in zip(lower, adv)), Fraction(0))
    rest = 1 - sum(lower)
    for i in sorted(range(len(adv)), key=lambda i: adv[i], reverse=largest):
        if rest <= 0:
            break
        give = min(rest, upper[i] - lower[i])
        value += give * adv[i]
        rest -= give
    return value


def return_bounds_of_box(inst: Instance, reg: Regularisation, lower, upper, comparison) -> tuple[Fraction, Fraction]:
    """Lower and upper bounds on J_R(π) over every policy in the box (docs §6.2)."""
    values = stochastic_values(inst, comparison, inst.reward)
    m = inst.m
    base = inst.ret(values)
    mins, maxs = [], []
    for s in range(inst.n):
        adv = []
        for a in range(m):
            x = s * m + a
            adv.append(inst.reward[x] + sum((gp * values[t] for t, gp in inst.succ[x]), Fraction(0)) - values[s])
        lo, hi = lower[s * m:(s + 1) * m], upper[s * m:(s + 1) * m]
        mins.append(_extreme_mix(lo, hi, adv, False))
        maxs.append(_extreme_mix(lo, hi, adv, True))
    spill = inst.gamma / (1 - inst.gamma)
    j_lo = base + sum(p * v for p, v in zip(inst.mu0, mins)) + spill * min(mins)
    j_hi = base + sum(p * v for p, v in zip(inst.mu0, maxs)) + spill * max(maxs)
    if inst.gamma:
        occ = stochastic_occupancy(inst, comparison)
        drift = spill * sum((occ[s] * sum((max(upper[s * m + a] - comparison[s][a], comparison[s][a] - lower[s * m + a])
                                           for a in range(m)), Fraction(0)) for s in range(inst.n)), Fraction(0))
        j_lo = max(j_lo, base + sum(d * v for d, v in zip(occ, mins)) - drift * max(abs(v) for v in mins))
        j_hi = min(j_hi, base + sum(d * v for d, v in zip(occ, maxs)) + drift * max(abs(v) for v in maxs))
    return j_lo, j_hi


def comparison_policy(inst: Instance, reg: Regularisation, evidence: dict):
    if inst.gamma == 0 and "comparison_policy" not in evidence:
        return reg.reference
    require("comparison_policy" in evidence, "reg-comparison", "a comparison_policy is needed when gamma > 0")
    return stochastic_policy(inst, evidence["comparison_policy"], "reg-comparison", "comparison_policy")


def check_regularised_witness(inst: Instance, reg: Regularisation, evidence: dict, epsilon: Fraction,
                              threshold: Fraction, preference: bool = False) -> None:
    """Rules ``reg-witness-error``, ``reg-fixed-point``, ``reg-policy-box``, ``reg-regret``."""
    witness = obj(evidence.get("witness"), "reg-witness-error", "evidence.witness")
    require(set(witness) == {"reward"}, "reg-witness-error", "a regularised witness has exactly reward")
    reward_model = inst.pair_table(witness["reward"], "reg-witness-error", "evidence.witness.reward", complete=True)
    error = sum((d * abs(rh - r) for d, rh, r in zip(inst.data, reward_model, inst.reward) if d), Fraction(0))
    if preference:
        check_preference_error(inst, reg, reward_model, epsilon)
    else:
        require(error <= epsilon * inst.range_reward, "reg-witness-error",
                f"E_D|R^-R| = {error} exceeds epsilon * range R = {epsilon * inst.range_reward}")
    if inst.gamma == 0:
        require("soft_box" not in evidence, "reg-fixed-point", "no soft box is needed when gamma = 0")
        w_lo = w_hi = None
    else:
        w0, radius = check_soft_box(inst, reg, reward_model, evidence.get("soft_box"), "evidence.soft_box")
        w_lo, w_hi = [w - radius for w in w0], [w + radius for w in w0]
    lower, upper = policy_box(inst, reg, reward_model, reward_model, w_lo, w_hi)
    _, j_hi = return_bounds_of_box(inst, reg, lower, upper, comparison_policy(inst, reg, evidence))
    require(j_hi <= threshold, "reg-regret",
            f"the regularised optimum's return may be {float(j_hi):.6g}, above J* - L range J = {float(threshold):.6g}")


def check_box_tree(inst: Instance, reg: Regularisation, tree, root_epsilon: Fraction, target: Fraction,
                   threshold: Fraction, radii=None) -> dict:
    """Rules ``reg-split``, ``reg-far``, ``reg-bound`` over the root box at ``root_epsilon``
    (``radii``: the preference error's shift-normalised root box, §6.3a)."""
    if radii is not None:
        root = preference_root_box(inst, reg, radii, root_epsilon)
    else:
        require(all(d > 0 for d in inst.data), "reg-positive-data", "a safe claim needs D(x) > 0 for every pair")
        spread = [root_epsilon * inst.range_reward / d for d in inst.data]
        root = ([r - w for r, w in zip(inst.reward, spread)], [r + w for r, w in zip(inst.reward, spread)])
    stack = [(tree, root)]
    nodes = far = bound = 0
    while stack:
        node, (lo, hi) = stack.pop()
        nodes += 1
        require(nodes <= MAX_TREE_NODES, "reg-split", "too many tree nodes")
        node = obj(node, "reg-split", "box tree node")
        if "split" in node:
            require(set(node) == {"split", "at", "children"}, "reg-split",
                    "a split node has exactly split, at and children")
            pair = node["split"]
            require(isinstance(pair, list) and len(pair) == 2 and pair[0] in inst.s_index
                    and pair[1] in inst.a_index, "reg-split", f"unknown pair {pair!r}")
            x = inst.s_index[pair[0]] * inst.m + inst.a_index[pair[1]]
            at = rational(node["at"], "reg-split", "split.at")
            require(lo[x] < at < hi[x], "reg-split", f"split at {at} outside ({lo[x]}, {hi[x]})")
            children = node["children"]
            require(isinstance(children, list) and len(children) == 2, "reg-split", "a split has two children")
            low_hi, high_lo = list(hi), list(lo)
            low_hi[x], high_lo[x] = at, at
            stack.append((children[0], (lo, low_hi)))
            stack.append((children[1], (high_lo, hi)))
            continue
        kind = node.get("close")
        if kind == "far":
            require(set(node) == {"close"}, "reg-far", "a far leaf has exactly close")
            if radii is not None:
                distance = preference_distance(inst, reg, lo, hi)
            else:
                distance = sum((d * (l - r if r < l else r - h if r > h else 0)
                                for d, r, l, h in zip(inst.data, inst.reward, lo, hi)), Fraction(0))
            require(distance > target, "reg-far", f"the box comes within error {distance} <= {target} of R")
            far += 1
        elif kind == "bound":
            if inst.gamma == 0:
                require(set(node) == {"close"}, "reg-bound", "a bound leaf has exactly close when gamma = 0")
                w_low = w_high = None
            else:
                require(set(node) == {"close", "soft_low", "soft_high", "comparison_policy"}, "reg-bound",
                        "a bound leaf has close, soft_low, soft_high and comparison_policy")
                w_lo, r_lo = check_soft_box(inst, reg, lo, node["soft_low"], "soft_low")
                w_hi, r_hi = check_soft_box(inst, reg, hi, node["soft_high"], "soft_high")
                w_low, w_high = [w - r_lo for w in w_lo], [w + r_hi for w in w_hi]
            lower, upper = policy_box(inst, reg, lo, hi, w_low, w_high)
            j_lo, _ = return_bounds_of_box(inst, reg, lower, upper, comparison_policy(inst, reg, node))
            require(j_lo > threshold, "reg-bound",
                    f"the return may fall to {float(j_lo):.6g}, not above J* - L range J = {float(threshold):.6g}")
            bound += 1
        else:
            raise Reject("reg-split", f"a node must split or close ('far' or 'bound'), got {kind!r}")
    return {"tree_nodes": nodes, "far_leaves": far, "bound_leaves": bound}


def check_regularised(inst: Instance, document: dict, evidence: dict, verdict: str, degenerate: bool,
                      threshold) -> dict:
    """The three regularised verdicts (docs/certificate-format.md §6.3)."""
    instance = document["instance"]
    reg = Regularisation(inst, instance.get("regularisation"))
    measure = instance.get("error", "absolute")
    require(measure in ("absolute", "preference"), "reg-instance",
            "instance.error must be 'absolute' or 'preference'")
    preference = measure == "preference"
    if preference:
        check_reference_data(inst, reg)
    allowed = {"optimal_policy", "pessimal_policy", "witness", "soft_box", "comparison_policy", "box_tree",
               "box_radius"} | ({"box_radii"} if preference else set())
    radii = evidence.get("box_radii", {}) if preference else None
    keys_within(evidence, allowed, "evidence", "evidence")
    facts = {"lambda": str(reg.lam)}
    if verdict == "regularised-interval":
        interval = obj(instance.get("critical_error"), "reg-interval", "instance.critical_error")
        require(set(interval) == {"lower", "upper"}, "reg-interval", "critical_error has exactly lower and upper")
        lower = rational(interval["lower"], "reg-interval", "critical_error.lower")
        upper = None if interval["upper"] == "inf" else rational(interval["upper"], "reg-interval",
                                                                 "critical_error.upper")
        require(0 <= lower and (upper is None or lower <= upper), "reg-interval", "need 0 <= lower <= upper")
        if degenerate:
            require(upper is None, "degenerate", "every policy has the same return: the critical error is inf")
            return facts
        if upper is not None:
            check_regularised_witness(inst, reg, evidence, upper, threshold, preference)
        else:
            require("witness" not in evidence, "reg-interval", "an infinite upper end has no witness")
        if lower > 0:
            require("box_radius" in evidence, "reg-interval", "a positive lower end needs box_radius")
            root = rational(evidence["box_radius"], "reg-interval", "evidence.box_radius")
            require(lower <= root, "reg-interval", "box_radius must be >= the lower end")
            facts.update(check_box_tree(inst, reg, evidence.get("box_tree"), root, lower * inst.range_reward,
                                        threshold, radii))
        return facts
    if degenerate:
        require(verdict != "regularised-unsafe", "degenerate",
                "every policy has the same return, so none has regret >= L")
        return facts
    if verdict == "regularised-unsafe":
        check_regularised_witness(inst, reg, evidence, inst.epsilon, threshold, preference)
        return facts
    facts.update(check_box_tree(inst, reg, evidence.get("box_tree"), inst.epsilon,
                                inst.epsilon * inst.range_reward, threshold, radii))
    return facts


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
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_BYTES + 1)
            if len(raw) > MAX_BYTES:
                return "unreadable", f"standard input longer than {MAX_BYTES} bytes", {}
            text = raw.decode("utf-8")
        else:
            size = os.path.getsize(path)
            if size > MAX_BYTES:
                return "unreadable", f"file larger than {MAX_BYTES} bytes", {}
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8")
        document = _without_cycle_collection(json.loads, text, object_pairs_hook=_no_duplicate_keys,
                                             parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        return "unreadable", f"{type(exc).__name__}: {exc}", {}
    return check_document(document)


def _without_cycle_collection(function, *args, **options):
    """``function(*args, **options)`` with the cyclic garbage collector paused.  Parsing and checking
    build millions of containers and no reference cycles, and each collection the allocations
    trigger would walk all of them: on a 78 MB certificate, parsing took 1.7 s with it and 0.85 s
    without.  Reference counting still frees everything; only cycles would wait."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return function(*args, **options)
    finally:
        if paused:
            gc.enable()


def check_document(document) -> tuple[str, str, dict]:
    try:
        facts = _without_cycle_collection(check_certificate, document)
    except Reject as exc:
        return "rejected", f"{exc.rule}: {exc.detail}", {"rule": exc.rule}
    except Exception as exc:  # fail closed: an error in the checker is never a pass
        return "rejected", f"internal-error: {type(exc).__name__}: {exc}", {"rule": "internal-error"}
    return "verified", "", facts


USAGE = """usage: checker.py [--json] CERT.json

Check a rewardcert certificate (format rewardcert/certificate-1) with exact
arithmetic, trusting no solver.  CERT.json may be '-' for standard input.
Prints VERIFIED, or REJECTED: <rule>: <detail>, or UNREADABLE: <reason>;
--json prints one JSON object instead.
Exit status: 0 verified, 1 rejected, 2 unreadable or a usage error."""


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "-h" in args or "--help" in args:
        print(USAGE)
        return 0
    as_json = "--json" in args
    paths = [a for a in args if a != "--json"]
    unknown = [a for a in paths if a.startswith("-") and a != "-"]
    if unknown or len(paths) != 1:
        problem = f"unknown option {unknown[0]}" if unknown else "give exactly one certificate file"
        print(USAGE.splitlines()[0] + f"\nchecker.py: error: {problem}", file=sys.stderr)
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
