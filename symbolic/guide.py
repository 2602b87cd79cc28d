"""Floating-point guesses that only steer exact computations (they never decide anything).

``greedy_policy`` runs value iteration in numpy floats and returns the greedy
policy of its last iterate.  Exact policy iteration started there usually ends
after one or two exact evaluations instead of one per step of the grid's
diameter; it ends at an exactly uniformly optimal (pessimal) policy from any
start, so a poor guess costs time, never correctness.

The family LPs of the search have their own float twin, ``symbolic/floatlp.py``.
``quiet_stdout`` keeps HiGHS's banner off standard output (``lp/``).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from typing import Sequence

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


@contextlib.contextmanager
def quiet_stdout(active: bool):
    """Keep file descriptor 1 quiet while a solver runs.

    HiGHS (1.16) prints its banner from C onto fd 1 when the first ``Highs``
    object of a process is made, even with output switched off; on a command
    that prints JSON that would corrupt the output.  Python-level redirection
    cannot catch it, so fd 1 points at the null device for the duration of the
    solve and is restored afterwards (the toolkit does not print from other
    threads meanwhile).
    """
    if not active:
        yield
        return
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
