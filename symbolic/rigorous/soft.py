"""The regularised optimum enclosed: soft Bellman boxes, policy boxes and return bounds.

Convention (docs/regularised.md): ``J`` is the unnormalised return, the regulariser is the
occupancy-weighted KL ``ω(π) = Σ_s d^π(s) KL(π(·|s) ‖ π_ref(·|s))``, and
``π̂(a|s) = π_ref(a|s) exp((Q(s,a) − W(s))/λ)`` with ``Q = R̂ + γτW``.  Floats appear only in
the guide that picks a centre ``W0`` (``guidance/softfloat.py``); the claim
``W* ∈ [W0 − ρ, W0 + ρ]`` rests on the rigorous residual ``|T(W0) − W0| ≤ (1 − γ)ρ`` (``T`` is a
monotone γ-contraction, so the box maps into itself), which the standalone checker replays with
its own series.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..core.model import MDP, Vector
from ..core.policies import StochasticPolicy
from ..exact.evaluation import state_occupancy, state_values
from .enclosures import (
    Enclosure,
    Precision,
    ball,
    bounds,
    round_dyadic,
    round_dyadic_down,
    round_up,
)


@dataclass(frozen=True)
class SoftBox:
    """``W*`` of a reward model lies within ``radius`` of ``values`` in every state."""

    values: Vector
    radius: Fraction


def _q_exact(mdp: MDP, reward: Sequence[Fraction], w: Sequence[Fraction]) -> list[Fraction]:
    return [reward[x] + mdp.gamma * sum((p * w[t] for t, p in mdp.successors(x)), Fraction(0))
            if mdp.gamma else reward[x] for x in range(mdp.n_pairs)]


def soft_operator(mdp: MDP, reward: Sequence[Fraction], lam: Fraction, reference: StochasticPolicy,
                  w: Sequence[Fraction]) -> list[Enclosure]:
    """Enclosures of ``T(W)(s) = λ log Σ_a π_ref(a|s) exp(Q(s,a)/λ)`` at a rational ``W``."""
    m = mdp.n_actions
    q = _q_exact(mdp, reward, w)
    out = []
    with Precision():
        lam_b = ball(lam)
        for s in range(mdp.n_states):
            row = q[s * m:(s + 1) * m]
            top = max(row)
            total = ball(0)
            for a, qa in enumerate(row):
                total += ball(reference[s][a]) * ((ball(qa - top)) / lam_b).exp()
            out.append(bounds(ball(top) + lam_b * total.log()))
    return out


def _rational(value: float) -> Fraction:
    return Fraction(value) if value == value and abs(value) != float("inf") else Fraction(0)


def soft_box(mdp: MDP, reward: Sequence[Fraction], lam: Fraction, reference: StochasticPolicy,
             guide=None) -> SoftBox:
    """A verified box around the soft Bellman fixed point of ``reward`` (``γ > 0``)."""
    import numpy as np  # the float guide (numpy) loads only when a soft box is needed

    from ..guidance.softfloat import float_dynamics, soft_values_float
    n, m = mdp.n_states, mdp.n_actions
    log_ref = np.log(np.array([[float(p) for p in row] for row in reference]))
    P = float_dynamics(mdp)
    W, pi = soft_values_float(mdp, [float(r) for r in reward], float(lam), log_ref, P, guide)
    w = [_rational(v) for v in W]
    # Iterative refinement: the residual at high precision, the Newton correction in floats.
    jac = np.eye(n) - (pi[:, :, None] * P.reshape(n, m, n)).sum(axis=1)
    for _ in range(3):
        t = soft_operator(mdp, reward, lam, reference, w)
        residual = np.array([float(w[s] - (t[s].lower + t[s].upper) / 2) for s in range(n)])
        if not np.any(residual):
            break
        step = np.linalg.solve(jac, residual)
        w = [ws - Fraction(float(d)) for ws, d in zip(w, step)]
        w = [round_dyadic(v, 120) for v in w]
    t = soft_operator(mdp, reward, lam, reference, w)
    gap = max(max(e.upper - ws, ws - e.lower) for e, ws in zip(t, w))
    scale = 1 + max(abs(v) for v in w)
    radius = (gap * (1 + Fraction(1, 2 ** 20)) + scale * Fraction(1, 2 ** 120)) / (1 - mdp.gamma)
    return SoftBox(tuple(w), round_up(radius))


def advantage_gaps(mdp: MDP, r_lo: Sequence[Fraction], r_hi: Sequence[Fraction],
                   w_lo: Sequence[Fraction] | None, w_hi: Sequence[Fraction] | None):
    """``gap(s, b, a) = [min, max]`` of ``Q*(s,b) − Q*(s,a) = R̂(b) − R̂(a) + γ(τ_b − τ_a)·W`` over
    ``R̂ ∈ [r_lo, r_hi]`` and ``W ∈ [w_lo, w_hi]``.  Taking the difference first lets a shift of
    ``W`` that both actions see cancel (docs/certificate-format.md §6.2)."""
    m = mdp.n_actions
    gaps = {}
    for s in range(mdp.n_states):
        for a in range(m):
            xa = s * m + a
            for b in range(m):
                if b == a:
                    continue
                xb = s * m + b
                lo, hi = r_lo[xb] - r_hi[xa], r_hi[xb] - r_lo[xa]
                if mdp.gamma:
                    coeff: dict[int, Fraction] = {}
                    for t, p in mdp.successors(xb):
                        coeff[t] = coeff.get(t, Fraction(0)) + mdp.gamma * p
                    for t, p in mdp.successors(xa):
                        coeff[t] = coeff.get(t, Fraction(0)) - mdp.gamma * p
                    for t, c in coeff.items():
                        if c > 0:
                            lo, hi = lo + c * w_lo[t], hi + c * w_hi[t]
                        elif c < 0:
                            lo, hi = lo + c * w_hi[t], hi + c * w_lo[t]
                gaps[(s, b, a)] = (lo, hi)
    return gaps


def policy_box(mdp: MDP, lam: Fraction, reference: StochasticPolicy, r_lo: Sequence[Fraction],
               r_hi: Sequence[Fraction], w_lo: Sequence[Fraction] | None = None,
               w_hi: Sequence[Fraction] | None = None) -> tuple[list[Fraction], list[Fraction]]:
    """An enclosure ``[lower, upper]`` of ``π̂(a|s)`` for every ``R̂`` in ``[r_lo, r_hi]`` whose soft
    fixed point lies in ``[w_lo, w_hi]``, in ratio form
    ``π̂(a|s) = 1 / (1 + Σ_{b≠a} (π_ref(b)/π_ref(a)) exp((Q(b) − Q(a))/λ))``."""
    m = mdp.n_actions
    gaps = advantage_gaps(mdp, r_lo, r_hi, w_lo, w_hi)
    lower, upper = [], []
    with Precision():
        lam_b = ball(lam)
        for s in range(mdp.n_states):
            for a in range(m):
                worst, best = ball(0), ball(0)
                for b in range(m):
                    if b == a:
                        continue
                    ratio = ball(reference[s][b] / reference[s][a])
                    lo, hi = gaps[(s, b, a)]
                    worst += ratio * (ball(hi) / lam_b).exp()
                    best += ratio * (ball(lo) / lam_b).exp()
                low = bounds(1 / (1 + worst)).lower
                high = bounds(1 / (1 + best)).upper
                lower.append(round_dyadic_down(max(low, Fraction(0))))
                upper.append(min(Fraction(1), -round_dyadic_down(-high)))
    return lower, upper


def _extreme_mix(lower: Sequence[Fraction], upper: Sequence[Fraction], adv: Sequence[Fraction],
                 largest: bool) -> Fraction:
    """min (max) of ``Σ_a p_a adv_a`` over ``lower ≤ p ≤ upper``, ``Σ p = 1`` (greedy, exact)."""
    value = sum((lo * a for lo, a in zip(lower, adv)), Fraction(0))
    rest = 1 - sum(lower)
    for i in sorted(range(len(adv)), key=lambda i: adv[i], reverse=largest):
        if rest <= 0:
            break
        give = min(rest, upper[i] - lower[i])
        value += give * adv[i]
        rest -= give
    return value


def return_enclosure(mdp: MDP, lower: Sequence[Fraction], upper: Sequence[Fraction],
                     comparison: StochasticPolicy) -> Enclosure:
    """Bounds on ``J_R(π)`` over every policy in the box (performance difference against ``π̃``)."""
    values = state_values(mdp, comparison)
    m = mdp.n_actions
    base = sum((p * v for p, v in zip(mdp.initial, values) if p), Fraction(0))
    mins, maxs = [], []
    for s in range(mdp.n_states):
        adv = []
        for a in range(m):
            x = s * m + a
            future = mdp.gamma * sum((p * values[t] for t, p in mdp.successors(x)), Fraction(0)) \
                if mdp.gamma else Fraction(0)
            adv.append(mdp.reward[x] + future - values[s])
        lo, hi = lower[s * m:(s + 1) * m], upper[s * m:(s + 1) * m]
        mins.append(_extreme_mix(lo, hi, adv, False))
        maxs.append(_extreme_mix(lo, hi, adv, True))
    spill = mdp.gamma / (1 - mdp.gamma)
    j_lo = base + sum(p * v for p, v in zip(mdp.initial, mins)) + spill * min(mins)
    j_hi = base + sum(p * v for p, v in zip(mdp.initial, maxs)) + spill * max(maxs)
    if mdp.gamma:
        # Second bound: weight by π̃'s own occupancy d̃ and pay for ‖d^π − d̃‖₁ ≤ γ/(1−γ) Σ_s d̃(s) δ_s,
        # with δ_s the largest ‖π(·|s) − π̃(·|s)‖₁ over the box (second order in the box width).
        occ = state_occupancy(mdp, comparison)
        drift = Fraction(0)
        for s in range(mdp.n_states):
            delta = sum((max(upper[s * m + a] - comparison[s][a], comparison[s][a] - lower[s * m + a])
                         for a in range(m)), Fraction(0))
            drift += occ[s] * delta
        drift *= spill
        j_lo = max(j_lo, base + sum(d * v for d, v in zip(occ, mins)) - drift * max(abs(v) for v in mins))
        j_hi = min(j_hi, base + sum(d * v for d, v in zip(occ, maxs)) + drift * max(abs(v) for v in maxs))
    return Enclosure(j_lo, j_hi)


def comparison_policy(mdp: MDP, lower: Sequence[Fraction], upper: Sequence[Fraction]) -> StochasticPolicy:
    """A short rational stochastic policy inside (or near) the box: the comparison ``π̃``."""
    m = mdp.n_actions
    rows = []
    for s in range(mdp.n_states):
        mids = [((lower[s * m + a] + upper[s * m + a]) / 2).limit_denominator(2 ** 48) for a in range(m)]
        big = max(range(m), key=lambda a: mids[a])
        mids[big] = Fraction(1) - sum((p for a, p in enumerate(mids) if a != big), Fraction(0))
        if mids[big] < 0:
            mids = [Fraction(1, m)] * m
        rows.append(tuple(mids))
    return tuple(rows)


@dataclass(frozen=True)
class SoftOptimum:
    """The regularised optimum ``π̂`` of a reward model, enclosed, with its return under ``R``."""

    box: SoftBox | None            # None for a bandit: Q = R̂ exactly
    policy_lower: Vector
    policy_upper: Vector
    comparison: StochasticPolicy
    true_return: Enclosure         # J_R(π̂)


def soft_optimum(mdp: MDP, reward_model: Sequence[Fraction], lam: Fraction,
                 reference: StochasticPolicy) -> SoftOptimum:
    """``π̂`` for a rational ``R̂``, ``λ > 0`` and full-support ``π_ref``, as proven enclosures."""
    if mdp.gamma:
        box = soft_box(mdp, reward_model, lam, reference)
        w_lo = [w - box.radius for w in box.values]
        w_hi = [w + box.radius for w in box.values]
    else:
        box = w_lo = w_hi = None
    lower, upper = policy_box(mdp, lam, reference, reward_model, reward_model, w_lo, w_hi)
    comparison = comparison_policy(mdp, lower, upper) if mdp.gamma else reference
    return SoftOptimum(box, tuple(lower), tuple(upper), comparison,
                       return_enclosure(mdp, lower, upper, comparison))


def kl_regulariser(mdp: MDP, policy: StochasticPolicy, reference: StochasticPolicy) -> Enclosure:
    """``ω(π) = Σ_s d^π(s) KL(π(·|s) ‖ π_ref(·|s))`` for a rational ``π`` (unnormalised ``d^π``)."""
    d = state_occupancy(mdp, policy)
    with Precision():
        total = ball(0)
        for s, row in enumerate(policy):
            if not d[s]:
                continue
            kl = ball(0)
            for a, p in enumerate(row):
                if p:
                    kl += ball(p) * (ball(p) / ball(reference[s][a])).log()
            total += ball(d[s]) * kl
        return bounds(total)
