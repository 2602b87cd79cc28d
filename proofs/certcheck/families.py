"""λ = 0: the tree of policy families and its leaves (docs/certificate-format.md §3.2, §3.5–§3.7a)."""

from __future__ import annotations

from fractions import Fraction

from .instance import Instance
from .reading import (MAX_TREE_NODES, Reject, name_in, num, obj, ratio, rational, require, scaled, scaled_ratios,
                      show)

# A leaf's kind -> the key sets it may have, the rule naming another, the rule if the claim is ε* = +∞
# (None: allowed), and the fact that counts it.  An "open" leaf (§3.5) carries y, or t and w as in §3.6.
LEAVES = {"regret": (({"close", "policy"}, {"close", "policy", "values"}), "regret-member", None, "regret_leaves"),
          "dual": (({"close", "y"},), "dual-bounds", "dual-value", "dual_leaves"),
          "open y": (({"close", "y"},), "dual-bounds", "dual-value", "open_leaves"),
          "open w": (({"close", "t", "w"},), "regret-dual-bounds", "regret-dual-value", "open_leaves"),
          "regret-dual": (({"close", "t", "w"},), "regret-dual-bounds", "regret-dual-value", "regret_dual_leaves")}


def check_tree(inst: Instance, tree, basis, target: Fraction | None, strict: bool, allow_open: bool = False) -> dict:
    """Walk the family tree (rule ``tree-split``), closing every leaf against ``basis`` (an
    ``unregularised.Basis``: thr, covered actions, H).  ``target is None``: only regret leaves are
    allowed (ε* = +∞).  ``allow_open``: open leaves (§3.5), only in interval certificates."""
    covered = basis.covered
    stack = [(tree, [None] * inst.n, basis.horizon)]
    counts = dict.fromkeys(("tree_nodes", "regret_leaves", "dual_leaves", "open_leaves", "regret_dual_leaves",
                            "node_occupancy_bounds"), 0)
    while stack:
        node, family, horizon = stack.pop()
        counts["tree_nodes"] += 1
        require(counts["tree_nodes"] <= MAX_TREE_NODES, "tree-split", "too many tree nodes")
        node = obj(node, "tree-split", "tree node")
        if "occupancy" in node:
            horizon = superharmonic_bounds(inst, node["occupancy"], family, list(horizon), "node-occupancy-states",
                                           "node-occupancy-bound", "tree node occupancy")
            node = {k: v for k, v in node.items() if k != "occupancy"}
            counts["node_occupancy_bounds"] += 1
        if "split" in node:
            require(set(node) == {"split", "children"}, "tree-split", "a split node has exactly split and children")
            s = name_in(node["split"], inst.s_index, "tree-split", "state")
            state = inst.states[s]
            require(family[s] is None, "tree-split", f"state {state} is split twice on one branch")
            children = obj(node["children"], "tree-split", "children")
            require(set(children) == {a for a in inst.enabled_actions(s) if a not in covered[s]}, "tree-split",
                    f"the split on {state} must have exactly one child per enabled action"
                    + (" not covered by a duplicate" if covered[s] else ""))
            for a, child in children.items():
                sub = list(family)
                sub[s] = inst.a_index[a]
                stack.append((child, sub, horizon))
            continue
        kind = node.get("close")
        if kind not in ("regret", "dual", "regret-dual", "open") or kind == "open" and not allow_open:
            raise Reject("tree-split", f"a node must split or close as regret, dual or regret-dual, not {show(kind)}")
        kind = ("open w" if "w" in node else "open y") if kind == "open" else kind
        shapes, shape_rule, infinite_rule, counter = LEAVES[kind]
        if target is None and infinite_rule:
            raise Reject(infinite_rule, f"a {kind} leaf cannot prove an infinite critical error")
        if set(node) not in shapes:
            raise Reject(shape_rule, f"a {kind} leaf has the keys " + " or ".join(", ".join(sorted(k)) for k in shapes))
        if kind == "regret":
            check_regret_leaf(inst, node, family, basis.threshold)
        elif "w" in shapes[0]:
            check_regret_dual_leaf(inst, node, family, basis.threshold, target, strict, horizon)
        else:
            check_dual_leaf(inst, node, family, target, strict)
        counts[counter] += 1
    return {k: v for k, v in counts.items() if v or k in ("regret_leaves", "dual_leaves")
            or k == "open_leaves" and allow_open}


def check_regret_leaf(inst: Instance, node: dict, family, threshold: Fraction) -> None:
    """Rules ``regret-member``, ``regret-values``, ``regret-pessimal``, ``regret-return``.

    Values supplied by the certificate are accepted only if they solve the policy's
    Bellman equations (zero advantage at the policy's own actions); that solution is
    unique because gamma < 1, so verifying replaces solving."""
    policy = inst.policy(node.get("policy"), "regret-member", "regret leaf policy", family)
    if "values" in node:
        table = obj(node["values"], "regret-values", "regret leaf values")
        if len(table) != inst.n or not all(s in table for s in inst.states):
            raise Reject("regret-values", "regret leaf values: every state needs a value, and only states")
        v_int, v_scale = scaled_ratios([ratio(table[s], "regret-values", "values", s) for s in inst.states])
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
            raise Reject("regret-pessimal", f"negative advantage at {inst.pair(x)} within the family")
    mu_int, mu_scale = inst.mu_int
    j = Fraction(sum(p * v for p, v in zip(mu_int, v_int) if p), mu_scale * v_scale)
    require(j > threshold, "regret-return", f"pessimal return {num(j)} is not above J* - L range J = {num(threshold)}")


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
            raise Reject("dual-bounds", f"|y| > D at {inst.pair(x)}")
        if not inst.enabled[x]:
            raise Reject("dual-bounds", f"y is given at the disabled pair {inst.pair(x)}")
        if v < 0 and family[x // m] != x % m:
            raise Reject("dual-sign", f"y < 0 at {inst.pair(x)}, whose action the family does not fix")
        flow[x // m] += v * ts
        for t, g in inst.succ_int[x]:
            flow[t] -= g * v
        total += v * r_int[x]
    value = Fraction(total, y_scale * r_scale)
    bad = next((s for s, f in enumerate(flow) if f), None)
    require(bad is None, "dual-flow", f"flow constraint of state {inst.states[bad] if bad is not None else '?'} fails")
    if strict:
        require(value > target, "dual-value", f"y.R = {num(value)} is not above epsilon * range R = {num(target)}")
    else:
        require(value >= target, "dual-value",
                f"y.R = {num(value)} is below the critical error times range R = {num(target)}")


def check_regret_dual_leaf(inst: Instance, node: dict, family, threshold: Fraction, target: Fraction,
                           strict: bool, horizon) -> None:
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
            raise Reject("regret-dual-bounds", f"w > D at {inst.pair(x)}")
        if (forced is None or forced != x % m) and v < 0:
            raise Reject("regret-dual-bounds", f"w < 0 at {inst.pair(x)}, which a member may leave")
        if (forced is None or forced == x % m) and inst.enabled[x]:     # a disabled pair is never taken
            # v / ws >= th_int / ths - d_int / ds, times ws * ths * ds > 0
            if v * ths * ds < (th_int[x // m] * ds - d_int[x] * ths) * ws:
                raise Reject("regret-dual-bounds", f"w < t H(s) - D at {inst.pair(x)}")
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
        require(value > target, "regret-dual-value",
                f"w.R - t thr = {num(value)} is not above epsilon * range R = {num(target)}")
    else:
        require(value >= target, "regret-dual-value",
                f"w.R - t thr = {num(value)} is below the critical error times range R = {num(target)}")


def superharmonic_bounds(inst: Instance, table, family, bounds: list[Fraction], states_rule: str,
                         bound_rule: str, where_table: str) -> list[Fraction]:
    """Rules ``occupancy-*`` (§3.7) or ``node-occupancy-*`` (§3.7a): ``bounds`` with ``H(s)``
    lowered to ``μ0 · U_s`` for every ``U_s`` in ``table`` that is superharmonic on every enabled
    pair the family allows (all of them for the root family)."""
    table = obj(table, states_rule, where_table)
    s_index, succ_int, ts = inst.s_index, inst.succ_int, inst.tau_scale
    for state in table:
        name_in(state, s_index, states_rule, f"state in {where_table}")
    m = inst.m
    allowed = [x for x in range(inst.n * m)
               if inst.enabled[x] and family[x // m] in (None, x % m)]    # a disabled pair is never taken
    mu_int, mu_scale = inst.mu_int
    for state, row in table.items():
        if type(row) is not dict or not all(other in s_index for other in row):
            row = obj(row, states_rule, f"{where_table}.{state}")
            for other in row:
                name_in(other, s_index, states_rule, f"state in {where_table}.{state}")
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
                                         f"+ gamma tau U at {inst.pair(x)}")
        # μ0 · U_s = Σ mu_int · u_int / (mu_scale · u_scale)
        bound = Fraction(sum(p * u for p, u in zip(mu_int, u_int) if p), mu_scale * u_scale)
        bounds[target] = min(bounds[target], bound)
    return bounds
