"""Independent reference computations for tests: stdlib ``Fraction`` and brute force only.

Nothing here calls ``symbolic`` beyond reading the MDP's fields, so agreement
with the toolkit is evidence, not tautology.
"""

from __future__ import annotations

import itertools
from fractions import Fraction


def _solve(rows: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction]:
    n = len(rows)
    a = [list(row) + [b] for row, b in zip(rows, rhs)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if a[r][col] != 0)
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col and a[r][col]:
                f = a[r][col] / a[col][col]
                a[r] = [u - f * v for u, v in zip(a[r], a[col])]
    return [a[i][n] / a[i][i] for i in range(n)]


def successors(mdp, x):
    if mdp.transitions is None:
        return [(x // mdp.n_actions, Fraction(1))]
    return list(mdp.transitions[x])


def values(mdp, policy, reward=None):
    """V^π for a deterministic policy, by elimination over Fraction."""
    reward = mdp.reward if reward is None else reward
    n, m = mdp.n_states, mdp.n_actions
    rows = []
    for s, a in enumerate(policy):
        row = [Fraction(0)] * n
        row[s] += 1
        for t, p in successors(mdp, s * m + a):
            row[t] -= mdp.gamma * p
        rows.append(row)
    return _solve(rows, [reward[s * m + a] for s, a in enumerate(policy)])


def occupancy(mdp, policy):
    """η^π over pairs for a deterministic policy: (I − γP_π)ᵀ d = μ0, η(s, π(s)) = d(s)."""
    n, m = mdp.n_states, mdp.n_actions
    rows = [[Fraction(0)] * n for _ in range(n)]          # the transpose of I − γ P_π
    for s, a in enumerate(policy):
        rows[s][s] += 1
        for t, p in successors(mdp, s * m + a):
            rows[t][s] -= mdp.gamma * p
    d = _solve(rows, list(mdp.initial))
    eta = [Fraction(0)] * mdp.n_pairs
    for s, a in enumerate(policy):
        eta[s * m + a] = d[s]
    return eta


def ret(mdp, policy, reward=None):
    return sum(p * v for p, v in zip(mdp.initial, values(mdp, policy, reward)))


def enabled_sets(mdp):
    """The action indices of each state, read from the ``enabled`` field (all when it is None)."""
    if getattr(mdp, "enabled", None) is None:
        return [list(range(mdp.n_actions)) for _ in range(mdp.n_states)]
    return [list(a) for a in mdp.enabled]


def enabled_pairs(mdp):
    m = mdp.n_actions
    return [s * m + a for s, acts in enumerate(enabled_sets(mdp)) for a in acts]


def advantages(mdp, policy, reward=None):
    """Advantages of the enabled pairs, as {pair: value}-ordered list (disabled pairs omitted)."""
    reward = mdp.reward if reward is None else reward
    v = values(mdp, policy, reward)
    m = mdp.n_actions
    return [reward[x] + mdp.gamma * sum(p * v[t] for t, p in successors(mdp, x)) - v[x // m]
            for x in enabled_pairs(mdp)]


def policies(mdp):
    """Every deterministic policy that picks an enabled action in every state."""
    return list(itertools.product(*enabled_sets(mdp)))


def reduced(mdp, data, policy):
    """Does ``policy`` pick, in every state, no action whose pair equals an earlier enabled action's
    in transition row (as a distribution), reward and data weight?  (docs/certificate-format.md §3.8)"""
    m = mdp.n_actions
    for s, a in enumerate(policy):
        x = s * m + a
        row = {t: p for t, p in successors(mdp, x) if p}
        for b in enabled_sets(mdp)[s]:
            z = s * m + b
            if b < a and mdp.reward[z] == mdp.reward[x] and data[z] == data[x] and \
                    {t: p for t, p in successors(mdp, z) if p} == row:
                return False
    return True


def returns(mdp, reward=None):
    return {pi: ret(mdp, pi, reward) for pi in policies(mdp)}


def regrets(mdp):
    """Normalised regret of every deterministic policy (0 for all when the range is 0)."""
    js = returns(mdp)
    best, worst = max(js.values()), min(js.values())
    if best == worst:
        return {pi: Fraction(0) for pi in js}
    return {pi: (best - j) / (best - worst) for pi, j in js.items()}


def error(mdp, data, reward_model):
    """E_D |R̂ − R| (absolute)."""
    return sum(d * abs(a - b) for d, a, b in zip(data, reward_model, mdp.reward))


def range_reward(mdp):
    on = [mdp.reward[x] for x in enabled_pairs(mdp)]
    return max(on) - min(on)


def constant_model_bound(mdp, data):
    """min_c E_D|c − R| / range R, the error of the best constant reward model (every policy optimal)."""
    return min(error(mdp, data, [c] * mdp.n_pairs) for c in {mdp.reward[x] for x in enabled_pairs(mdp)}) \
        / range_reward(mdp)


def is_witness(mdp, data, epsilon, regret_bound, reward_model, policy):
    """P1, P2 (π maximises J_R̂ over all deterministic policies) and not P3, by brute force."""
    if error(mdp, data, reward_model) > epsilon * range_reward(mdp):
        return False
    model_returns = returns(mdp, reward_model)
    if model_returns[tuple(policy)] != max(model_returns.values()):
        return False
    return regrets(mdp)[tuple(policy)] >= regret_bound


def dual_value(mdp, data, forced, y):
    """y · R if y is a dual valid for the family ``forced`` (per state: action or None), else None."""
    n, m = mdp.n_states, mdp.n_actions
    flow = [Fraction(0)] * n
    for x, v in enumerate(y):
        s, a = divmod(x, m)
        if abs(v) > data[x] or (v < 0 and forced[s] != a):
            return None
        flow[s] += v
        for t, p in successors(mdp, x):
            flow[t] -= mdp.gamma * p * v
    if any(flow):
        return None
    return sum(v * r for v, r in zip(y, mdp.reward))


def uniformly_optimal(mdp, policy, reward):
    return all(a <= 0 for a in advantages(mdp, policy, reward))


# -- brute force over the vertices of the error LP (works with per-state action sets) ---------

def _rank_solve(rows, rhs):
    """Solve the square system, or None if it is singular (Fraction elimination)."""
    n = len(rows)
    a = [list(row) + [b] for row, b in zip(rows, rhs)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if a[r][col] != 0), None)
        if pivot is None:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col and a[r][col]:
                f = a[r][col] / a[col][col]
                a[r] = [u - f * v for u, v in zip(a[r], a[col])]
    return [a[i][n] / a[i][i] for i in range(n)]


def vertex_errors(mdp, policy):
    """Error rows ``t`` of every vertex of Q_π of the true MDP (enabled pairs only).

    A vertex fixes V by |S| independent equations ``g_V(x) = R(x)`` over enabled
    pairs x; then R̂ = g_V on π's pairs and min(R, g_V) off them (docs/theory.md §3).  Each
    row comes with its reward model, so callers can check it is a real witness."""
    n, m = mdp.n_states, mdp.n_actions
    pairs = enabled_pairs(mdp)

    def bellman_row(x):
        row = [Fraction(0)] * n
        row[x // m] += 1
        for t, p in successors(mdp, x):
            row[t] -= mdp.gamma * p
        return row
    rows = {x: bellman_row(x) for x in pairs}
    on = {s * m + a for s, a in enumerate(policy)}
    out = []
    for subset in itertools.combinations(pairs, n):
        v = _rank_solve([rows[x] for x in subset], [mdp.reward[x] for x in subset])
        if v is None:
            continue
        model = [Fraction(0)] * mdp.n_pairs
        for x in pairs:
            g = sum(c * w for c, w in zip(rows[x], v))
            model[x] = g if x in on else min(mdp.reward[x], g)
        out.append(([abs(model[x] - mdp.reward[x]) if x in rows else Fraction(0)
                     for x in range(mdp.n_pairs)], model))
    return out


def critical_epsilon(mdp, data, regret_bound):
    """ε*(D) = min over π with regret ≥ L and over the vertices of Q_π of D·t / range R
    (None = +inf), with the minimising (reward model, policy)."""
    regret = regrets(mdp)
    best = None
    for pi, r in regret.items():
        if r < regret_bound:
            continue
        for t, model in vertex_errors(mdp, pi):
            value = sum(d * c for d, c in zip(data, t))
            if best is None or value < best[0]:
                best = (value, model, pi)
    if best is None:
        return None, None
    return best[0] / range_reward(mdp), best[1:]
