"""The instance (the MDP, the data, ε and L), read and validated once into a frozen object; what the
evidence adds (thr, covered actions, occupancy bounds) is passed on as ``unregularised.Basis``."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import lcm

from .linear import solve
from .reading import (MAX_ACTIONS, MAX_PAIRS, MAX_STATES, MODEL_FORMAT, Reject, keys_within, name_list, num,
                      obj, ratio, rational, require, scaled, scaled_ratios, show)

@dataclass(frozen=True, slots=True)
class Names:
    """The states, the actions and the enabled pairs (§8); a pair ``(s, a)`` is ``x = s·m + a``."""
    states: tuple
    actions: tuple
    n: int
    m: int
    s_index: dict
    a_index: dict
    enabled: tuple

    def pair(self, x) -> str:
        return "?" if x is None else f"({self.states[x // self.m]}, {self.actions[x % self.m]})"

    def enabled_actions(self, s: int) -> list[str]:
        return [a for j, a in enumerate(self.actions) if self.enabled[s * self.m + j]]

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
                raise Reject(rule, f"{where}.{s}: unknown action {show(a)}")
            j = a_index[a]
            if not enabled[i * m + j]:
                raise Reject(rule, f"{where}.{s}: action {a} is not enabled in {s}")
            policy.append(j)
        if family is not None:
            require(all(f is None or f == a for f, a in zip(family, policy)), rule,
                    f"{where}: the policy is not a member of the family")
        return policy


@dataclass(frozen=True, slots=True)
class Instance(Names):
    """The validated ``instance``: the model's numbers (``succ[x]`` lists ``(t, γτ(t|x))``), the data,
    ε (None for "inf" or absent), the interval's upper end and L, and integer forms of γτ, D, R and
    μ0 over common denominators for the leaves' inner loops (see ``scaled``)."""
    name: str
    gamma: Fraction
    mu0: tuple
    reward: tuple
    succ: tuple
    data: tuple
    epsilon: Fraction | None
    epsilon_upper: Fraction | None
    regret_bound: Fraction
    range_reward: Fraction
    tau_scale: int
    succ_int: tuple
    data_int: tuple
    data_scale: int
    reward_int: tuple
    mu_int: tuple

    def values(self, policy, reward) -> list[Fraction]:
        """``V = (I − γP_π)^{-1} R_π``, exactly."""
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
            rows.append(row)
        return solve(rows, rhs)

    def advantages(self, policy, reward):
        """``(A, V)``: every advantage ``R(x) + γτ(·|x)·V − V(s)`` times one positive integer (so signs
        and zeros are exact), and the values ``V`` of ``policy``."""
        values = self.values(policy, reward)
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

    def ret(self, values) -> Fraction:
        return sum((p * v for p, v in zip(self.mu0, values) if p), Fraction(0))


def read_names(model: dict) -> Names:
    states = tuple(name_list(model.get("states"), "model", "states", MAX_STATES))
    actions = tuple(name_list(model.get("actions"), "model", "actions", MAX_ACTIONS))
    n, m = len(states), len(actions)
    require(n * m <= MAX_PAIRS, "model", f"more than {MAX_PAIRS} state-action pairs")
    s_index = {s: i for i, s in enumerate(states)}
    a_index = {a: j for j, a in enumerate(actions)}
    flags = [True] * (n * m)
    table = model.get("enabled")
    if table is not None:       # docs/certificate-format.md §8
        table = obj(table, "model", "enabled")
        keys_within(table, s_index, "model", "enabled")
        for s, listed in table.items():
            require(isinstance(listed, list) and listed, "model", f"enabled.{s}: expected a non-empty list")
            require(all(isinstance(a, str) and a in a_index for a in listed), "model", f"enabled.{s}: unknown action")
            require(len(set(listed)) == len(listed), "model", f"enabled.{s}: an action is listed twice")
            i = s_index[s]
            for j, a in enumerate(actions):
                flags[i * m + j] = a in listed
    return Names(states, actions, n, m, s_index, a_index, tuple(flags))


def read_transitions(names: Names, model: dict, gamma: Fraction) -> list:
    """``succ[x]``: the pairs ``(t, γτ(t|x))`` with ``τ(t|x) > 0`` (none when γ = 0)."""
    n, m = names.n, names.m
    transitions = model.get("transitions")
    if transitions is None:
        require(gamma == 0, "model", "transitions may be omitted only when gamma = 0")
        return [[] for _ in range(n * m)]
    transitions = obj(transitions, "model", "transitions")
    keys_within(transitions, names.s_index, "model", "transitions")
    succ = []
    for i, s in enumerate(names.states):
        row = obj(transitions.get(s), "model", f"transitions.{s}")
        keys_within(row, names.a_index, "model", f"transitions.{s}")
        for j, a in enumerate(names.actions):
            if not names.enabled[i * m + j]:
                require(a not in row, "model", f"transitions.{s}.{a}: {a} is not enabled in {s}")
                succ.append([])      # never used: no policy picks a disabled action
                continue
            dist = obj(row.get(a), "model", f"transitions.{s}.{a}")
            keys_within(dist, names.s_index, "model", f"transitions.{s}.{a}")
            entries = [(names.s_index[t], rational(p, "model", f"transitions.{s}.{a}.{t}")) for t, p in dist.items()]
            require(all(p >= 0 for _, p in entries) and sum(p for _, p in entries) == 1, "model",
                    f"transitions.{s}.{a} must be a probability distribution")
            succ.append([(t, gamma * p) for t, p in entries if p])
    return succ if gamma else [[] for _ in range(n * m)]


def read_epsilon(doc: dict, verdict: str) -> tuple[Fraction | None, Fraction | None]:
    """Rules ``epsilon`` and ``interval``: ``(ε, the interval's upper end)``, None standing for "inf"."""
    raw = doc.get("epsilon")
    if verdict == "regularised-interval":
        require("epsilon" not in doc, "epsilon", "an interval claim carries critical_error, not epsilon")
        epsilon = None
    elif verdict in ("threshold", "safest", "squared-threshold") and raw == "inf":
        epsilon = None
    else:
        epsilon = rational(raw, "epsilon", "instance.epsilon")
        if verdict in ("threshold", "safest", "interval", "squared-threshold"):
            require(epsilon >= 0, "epsilon", "the critical error must be >= 0")
        else:
            require(epsilon > 0, "epsilon", "epsilon must be > 0")
    if verdict != "interval":
        require("epsilon_upper" not in doc, "interval", "only an interval certificate has epsilon_upper")
        return epsilon, None
    require("epsilon_upper" in doc, "interval", "an interval certificate needs instance.epsilon_upper")
    if doc["epsilon_upper"] == "inf":
        return epsilon, None
    upper = rational(doc["epsilon_upper"], "interval", "instance.epsilon_upper")
    require(epsilon <= upper, "interval", f"the interval [{num(epsilon)}, {num(upper)}] is empty")
    return epsilon, upper


def read_instance(doc: dict, verdict: str) -> Instance:
    """Rules ``model``, ``data``, ``epsilon``, ``interval``, ``regret-bound``: the ``instance`` object."""
    model = obj(doc.get("model"), "model", "instance.model")
    require(model.get("format") == MODEL_FORMAT, "model", f"instance.model.format must be {MODEL_FORMAT!r}")
    keys_within(model, {"format", "name", "description", "gamma", "states", "actions", "initial", "reward",
                        "transitions", "enabled"}, "model", "instance.model")
    for key in ("name", "description"):
        require(isinstance(model.get(key, ""), str), "model", f"instance.model.{key} must be a string")
    gamma = rational(model.get("gamma"), "model", "gamma")
    require(0 <= gamma < 1, "model", "gamma must satisfy 0 <= gamma < 1")
    names = read_names(model)
    n = names.n
    initial = obj(model.get("initial"), "model", "initial")
    keys_within(initial, names.s_index, "model", "initial")
    mu0 = [Fraction(0)] * n
    for s, p in initial.items():
        mu0[names.s_index[s]] = rational(p, "model", f"initial.{s}")
    require(all(p >= 0 for p in mu0) and sum(mu0) == 1, "model", "initial must be a probability distribution")
    reward = tuple(names.pair_table(model.get("reward"), "model", "reward", complete=True))
    succ = read_transitions(names, model, gamma)
    data = names.pair_table(doc.get("data"), "data", "instance.data", complete=False)
    require(all(p >= 0 for p in data), "data", "negative probability in instance.data")
    require(sum(data) == 1, "data", "instance.data does not sum to 1")
    epsilon, upper = read_epsilon(doc, verdict)
    regret_bound = rational(doc.get("regret_bound"), "regret-bound", "instance.regret_bound")
    require(0 < regret_bound <= 1, "regret-bound", "L must satisfy 0 < L <= 1")
    on = [r for r, e in zip(reward, names.enabled) if e]
    tau_scale = 1
    for row in succ:
        for _, gp in row:
            tau_scale = lcm(tau_scale, gp.denominator)
    data_int, data_scale = scaled(data)
    return Instance(names.states, names.actions, n, names.m, names.s_index, names.a_index, names.enabled,
                    name=model.get("name", ""), gamma=gamma, mu0=tuple(mu0), reward=reward,
                    succ=tuple(tuple(row) for row in succ), data=tuple(data), epsilon=epsilon,
                    epsilon_upper=upper, regret_bound=regret_bound, range_reward=max(on) - min(on),
                    tau_scale=tau_scale,
                    succ_int=tuple([(t, int(gp * tau_scale)) for t, gp in row] for row in succ),
                    data_int=tuple(data_int), data_scale=data_scale, reward_int=scaled(reward), mu_int=scaled(mu0))
