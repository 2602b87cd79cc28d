"""The soft Bellman fixed point in floats: a guide for the rigorous soft boxes, never a verdict."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..core.model import MDP


def float_dynamics(mdp: MDP) -> np.ndarray:
    """``γ τ`` as a dense float array ``[x, s']`` (guides only)."""
    P = np.zeros((mdp.n_pairs, mdp.n_states))
    if mdp.gamma:
        for x in range(mdp.n_pairs):
            for t, p in mdp.successors(x):
                P[x, t] = float(mdp.gamma * p)
    return P


def soft_values_float(mdp: MDP, reward: Sequence[float], lam: float, log_ref: np.ndarray,
                      P: np.ndarray | None = None, start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(W, π̂)`` in floats by Newton's method on ``W = T(W)`` (a guide, never a verdict)."""
    n, m = mdp.n_states, mdp.n_actions
    r = np.asarray(reward, dtype=float).reshape(n, m)
    P = float_dynamics(mdp) if P is None else P
    W = np.zeros(n) if start is None else start.copy()
    for _ in range(100):
        Q = r + (P @ W).reshape(n, m)
        z = Q / lam + log_ref
        top = z.max(axis=1, keepdims=True)
        e = np.exp(z - top)
        total = e.sum(axis=1)
        T = lam * (np.log(total) + top[:, 0])
        pi = e / total[:, None]
        residual = W - T
        if not mdp.gamma:
            return T, pi
        if np.max(np.abs(residual)) <= 1e-13 * (1 + np.max(np.abs(T))):
            return T, pi
        jac = np.eye(n) - (pi[:, :, None] * P.reshape(n, m, n)).sum(axis=1)
        W = W - np.linalg.solve(jac, residual)
    return W, pi
