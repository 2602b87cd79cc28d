"""Certified per-state bounds ``H(s) ≥ d^π(s)`` on every policy's discounted occupancy (format §3.7).

The regret-aware family bound (``docs/engine.md`` §2) needs, for every state
``s``, a bound ``H(s)`` on ``d^π(s) = Σ_t γ^t Pr^π(s_t = s)`` over all policies.
``1/(1 − γ)`` always works; a state the start distribution reaches only late,
or only with small probability, has a much smaller one, and the bound's ``t``
(hence its value) grows by the ratio.

The largest occupancy of ``s`` is the optimal value, at ``μ0``, of the MDP
whose reward is 1 in ``s`` and 0 elsewhere. Floating policy iteration (numpy)
finds it. The values are then raised by a margin and rounded up to the dyadic
grid ``2^-GRID_BITS``, and the rounded vector ``U_s`` is checked **exactly**
to be superharmonic: ``U_s(s') ≥ [s' = s] + γ τ(·|s',a) · U_s`` at every
enabled pair. That check alone is the proof (format §3.7): it gives
``d^π(s) ≤ μ0 · U_s`` for every policy ``π``. A state whose rounded vector
fails it simply keeps ``1/(1 − γ)``. The floats only propose.

Why the margin makes the check pass: if ``U`` is exactly superharmonic and
``U' = U + e`` with ``δ ≤ e ≤ δ + 2^-k`` componentwise, then
``U' − γPU' ≥ e_s + δ − γ(δ + 2^-k) ≥ e_s`` once ``δ(1 − γ) ≥ γ 2^-k``. The
margin takes that ``δ`` plus an allowance for the float solve's error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from .model import MDP

MAX_STATES = 128
"""Above this many states the bounds are not computed (``n`` float policy iterations, each with
dense ``n×n`` solves, and an exact check of ``n·|S×A|`` inequalities); ``H = 1/(1 − γ)`` then."""

GRID_BITS = 24
FLOAT_SLACK = 1e-9


@dataclass(frozen=True)
class OccupancyBounds:
    """``horizon[s] = H(s)``; ``vectors[s] = U_s`` (every entry, in state order) for each state whose
    bound is below ``1/(1 − γ)``: the evidence a certificate carries for it."""

    horizon: tuple[Fraction, ...]
    vectors: dict[int, tuple[Fraction, ...]]


def trivial_bounds(mdp: MDP) -> OccupancyBounds:
    return OccupancyBounds((1 / (1 - mdp.gamma),) * mdp.n_states, {})


def occupancy_bounds(mdp: MDP) -> OccupancyBounds:
    """``H(s)`` for every state, certified per state by a superharmonic vector (or ``1/(1 − γ)``)."""
    n, m = mdp.n_states, mdp.n_actions
    cap = 1 / (1 - mdp.gamma)
    if n > MAX_STATES or mdp.gamma == 0 or mdp.transitions is None:
        return trivial_bounds(mdp)
    import numpy as np
    gamma = float(mdp.gamma)
    enabled = [list(mdp.enabled_actions(s)) for s in range(n)]
    pairs = [s * m + a for s in range(n) for a in enabled[s]]
    P = np.zeros((n * m, n))
    for x in pairs:
        for t, p in mdp.successors(x):
            P[x, t] += float(p)
    mu0 = np.array([float(p) for p in mdp.initial])
    exact_succ = {x: [(t, mdp.gamma * p) for t, p in mdp.successors(x)] for x in pairs}
    scale = 2 ** GRID_BITS
    delta = gamma / ((1 - gamma) * scale)
    horizon = list((cap,) * n)
    vectors: dict[int, tuple[Fraction, ...]] = {}
    identity = np.eye(n)
    for s in range(n):
        policy = [enabled[u][0] for u in range(n)]
        values = np.zeros(n)
        for _ in range(100):
            rows = np.array([P[u * m + policy[u]] for u in range(n)])
            try:
                values = np.linalg.solve(identity - gamma * rows, identity[s])
            except np.linalg.LinAlgError:
                break
            q = {u: [(u == s) + gamma * P[u * m + a] @ values for a in enabled[u]] for u in range(n)}
            improved = [enabled[u][int(np.argmax(q[u]))] if max(q[u]) > q[u][enabled[u].index(policy[u])] + 1e-12
                        else policy[u] for u in range(n)]
            if improved == policy:
                break
            policy = improved
        if not np.all(np.isfinite(values)) or float(mu0 @ values) >= float(cap) * (1 - 1e-9):
            continue
        margin = delta + FLOAT_SLACK * (1 + float(np.max(np.abs(values)))) / (1 - gamma)
        u_vec = [Fraction(math.ceil((max(v, 0.0) + margin) * scale), scale) for v in values]
        if not _superharmonic(u_vec, s, pairs, m, exact_succ):
            continue
        bound = sum((p * v for p, v in zip(mdp.initial, u_vec) if p), Fraction(0))
        if bound < cap:
            horizon[s] = bound
            vectors[s] = tuple(u_vec)
    return OccupancyBounds(tuple(horizon), vectors)


def _superharmonic(u, s, pairs, m, succ) -> bool:
    """The exact check of format §3.7 for one state, as the checker does it."""
    for x in pairs:
        here = x // m
        if u[here] < (here == s) + sum((gp * u[t] for t, gp in succ[x]), Fraction(0)):
            return False
    return True
