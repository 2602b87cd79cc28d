"""Float value iteration that proposes where exact policy iteration starts (it never decides).

``greedy_policy`` runs value iteration in numpy floats and returns the greedy
policy of its last iterate.  Exact policy iteration started there usually ends
after one or two exact evaluations instead of one per step of the grid's
diameter; it ends at an exactly uniformly optimal (pessimal) policy from any
start, so a poor guess costs time, never correctness.  ``return_bounds`` is
``symbolic.exact.evaluation.return_bounds`` with those starts on models of at
least ``FLOAT_START_FROM`` states: every layer above this one calls it.
"""

from __future__ import annotations

import math
from typing import Sequence

from ..exact.evaluation import return_bounds as exact_return_bounds

FLOAT_START_FROM = 256
"""Policy iteration on at least this many states starts from the floating greedy policy."""


def greedy_policy(mdp, reward: Sequence, *, maximise: bool = True,
                  allowed: Sequence[Sequence[int]] | None = None) -> list[int]:
    import numpy as np

    n, m = mdp.n_states, mdp.n_actions
    gamma = float(mdp.gamma)
    r = np.array([float(v) for v in reward]).reshape(n, m)
    sign = 1.0 if maximise else -1.0
    r = sign * r
    mask = None
    if allowed is not None:
        mask = np.full((n, m), True)
        for s, actions in enumerate(allowed):
            mask[s, list(actions)] = False
    if mdp.transitions is None or gamma == 0:
        q = r
    else:
        targets = np.array([t for row in mdp.transitions for t, _ in row], dtype=np.int64)
        probs = np.array([float(p) for row in mdp.transitions for _, p in row])
        starts = np.cumsum([0] + [len(row) for row in mdp.transitions[:-1]])
        values = np.zeros(n)
        steps = min(5000, max(10, int(math.log(1e-13) / math.log(gamma)) + 1))
        for _ in range(steps):
            q = r + gamma * np.add.reduceat(values[targets] * probs, starts).reshape(n, m)
            if mask is not None:
                q[mask] = -np.inf
            values = q.max(axis=1)
    if mask is not None:
        q = np.where(mask, -np.inf, q)
    return [int(a) for a in q.argmax(axis=1)]


def float_starts(mdp, reward: Sequence | None = None) -> tuple[list[int], list[int]] | None:
    """The greedy policies of float value iteration towards the largest and the least return, for
    models of at least ``FLOAT_START_FROM`` states with ``γ > 0`` (None otherwise)."""
    if mdp.n_states < FLOAT_START_FROM or not mdp.gamma or float(mdp.gamma) >= 1 - 1e-9:
        return None              # (a gamma floats cannot tell from 1 gets no float start)
    values = mdp.reward if reward is None else reward
    allowed = mdp.allowed_actions()
    return (greedy_policy(mdp, values, maximise=True, allowed=allowed),
            greedy_policy(mdp, values, maximise=False, allowed=allowed))


def return_bounds(mdp, reward: Sequence | None = None):
    """``J*`` and ``J^min`` exactly (``ReturnBounds``), started from ``float_starts``."""
    return exact_return_bounds(mdp, reward, starts=float_starts(mdp, reward))
