"""The float guide of the mean-squared error's per-policy QP (App. B.3): it proposes values ``V``,
which the exact solver in ``search/squared.py`` turns into a KKT point and verifies; nothing here
decides anything.

For a deterministic ``π`` the least ``Σ_x D(x)(R̂(x) − R(x))²`` over the ``R̂`` that make ``π``
uniformly optimal is ``min_V φ(V)``, with ``b_x(V) = V(s) − γ τ(·|x)·V`` for a pair ``x = (s, a)``:

    φ(V) = Σ_{x on π} D(x) (b_x(V) − R(x))² + Σ_{x off π} D(x) max(0, R(x) − b_x(V))²

(``R̂ = b(V)`` on ``π``'s pairs, ``R̂ = min(R, b(V))`` off them).  ``φ`` is convex and continuously
differentiable, so a semismooth Newton method with a backtracking line search finds a minimiser.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def pair_rows(mdp) -> np.ndarray:
    """The matrix whose row ``x`` is ``b_x = e_{s(x)} − γ τ(·|x)``."""
    n, m = mdp.n_states, mdp.n_actions
    rows = np.zeros((mdp.n_pairs, n))
    for x in range(mdp.n_pairs):
        rows[x, x // m] += 1.0
        if mdp.gamma:
            for t, p in mdp.successors(x):
                rows[x, t] -= float(mdp.gamma * p)
    return rows


def squared_values(mdp, data: Sequence, policy: Sequence[int], rows: np.ndarray | None = None,
                   iterations: int = 200) -> np.ndarray:
    """A float minimiser ``V`` of ``φ`` for ``policy`` (enabled pairs only)."""
    n, m = mdp.n_states, mdp.n_actions
    B = pair_rows(mdp) if rows is None else rows
    R = np.array([float(r) for r in mdp.reward])
    D = np.array([float(d) for d in data])
    on = np.zeros(mdp.n_pairs, dtype=bool)
    for s, a in enumerate(policy):
        on[s * m + a] = True
    enabled = np.array([mdp.is_enabled(x) for x in range(mdp.n_pairs)])
    off = enabled & ~on & (D > 0)
    V = np.linalg.solve(B[on], R[on])          # the values of π under R: every on-policy residual 0

    def phi(v):
        r = B @ v - R
        return float((D[on] * r[on] ** 2).sum() + (D[off] * np.minimum(r[off], 0.0) ** 2).sum())

    value = phi(V)
    scale = 1.0 + float(np.abs(R).max(initial=0.0))
    for _ in range(iterations):
        r = B @ V - R
        active = on | (off & (r < 0))
        w = np.where(active, D, 0.0)
        grad = 2 * B.T @ (w * r)
        if np.linalg.norm(grad) <= 1e-15 * scale:
            break
        H = 2 * (B.T * w) @ B
        ridge = 1e-12 * (np.trace(H) / n + 1e-30)
        step = np.linalg.lstsq(H + ridge * np.eye(n), -grad, rcond=None)[0]
        t = 1.0
        while t > 1e-12:
            candidate = V + t * step
            new = phi(candidate)
            if new <= value + 1e-4 * t * float(grad @ step):
                break
            t /= 2
        else:
            break
        if np.allclose(candidate, V, rtol=0, atol=1e-16 * scale):
            V = candidate
            break
        V, value = candidate, new
    return V


__all__ = ["pair_rows", "squared_values"]
