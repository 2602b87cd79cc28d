"""A float guess of a tilt parameter: the ``λ ≥ 0`` at which the tilts ``Q e^{λT}`` reach a KL budget.

It only proposes: ``optimisers/heavy_tails.py`` refines the guess with enclosures and verifies a
rational bracket around it, so no float here decides anything.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

MAX_DOUBLINGS = 200


def _kl(rows, lam: float) -> float:
    """``Σ_s w_s (λ E_λ[T − m] − log Σ Q e^{λ(T − m)})`` in floats, shifted by each context's maximum."""
    total = 0.0
    for weight, log_q, t in rows:
        shifted = lam * (t - t.max())
        logits = log_q + shifted
        top = logits.max()
        w = np.exp(logits - top)
        z = w.sum()
        total += weight * (float((w * shifted).sum() / z) - (top + math.log(z)))
    return total


def tilt_parameter(contexts: Sequence[tuple[float, Sequence[float], Sequence[float]]], budget: float) -> float | None:
    """``λ`` with ``KL(λ) ≈ budget`` for ``contexts`` given as ``(μ0(s), log Q(·|s), T(s,·))``; None
    when the budget is not reached below ``2^MAX_DOUBLINGS`` (it is then at or past the argmax's KL)."""
    rows = [(w, np.asarray(lq, dtype=float), np.asarray(t, dtype=float)) for w, lq, t in contexts]
    if budget <= 0:
        return 0.0
    low, high = 0.0, 1.0
    doublings = 0
    while _kl(rows, high) < budget:
        low, high = high, high * 2
        doublings += 1
        if doublings > MAX_DOUBLINGS:
            return None
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if _kl(rows, middle) < budget:
            low = middle
        else:
            high = middle
    return (low + high) / 2
