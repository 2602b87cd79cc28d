"""Rigorous enclosures for the regularised objective (SPEC §5): exp, log, the soft optimum.

Every transcendental quantity is computed in FLINT ``arb`` ball arithmetic,
which rounds outward, and leaves this module as an ``Enclosure``: a pair of
exact ``Fraction`` bounds read off the ball's midpoint and radius.  Floats
appear only in ``soft_values_float``, which *guides* the choice of a centre
``W0``; the claim ``W* ∈ [W0 − ρ, W0 + ρ]`` rests on the rigorous residual
``|T(W0) − W0| ≤ (1 − γ)ρ`` (``T`` is a monotone γ-contraction, so the box maps
into itself), which the standalone checker replays with its own series.

Convention (SPEC §5): ``J`` is the unnormalised return, the regulariser is the
occupancy-weighted KL ``ω(π) = Σ_s d^π(s) KL(π(·|s) ‖ π_ref(·|s))``, and
``π̂(a|s) = π_ref(a|s) exp((Q(s,a) − W(s))/λ)`` with ``Q = R̂ + γτW``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np
from flint import arb, ctx, fmpq

from .errors import ModelError
from .evaluation import StochasticPolicy, state_occupancy, state_values
from .model import MDP, Vector

PRECISION = 256
"""Working precision of every ``arb`` computation, in bits."""

MARGIN = Fraction(1, 2 ** 100)
"""A bound must clear its threshold by this much (relative to 1 + |threshold|) before it counts, so
the checker's own 160-bit arithmetic reaches the same conclusion."""


@dataclass(frozen=True)
class Enclosure:
    """A real number known to lie in ``[lower, upper]`` (exact rationals)."""

    lower: Fraction
    upper: Fraction

    def __post_init__(self) -> None:
        if self.lower > self.upper:
            raise ValueError(f"empty enclosure [{self.lower}, {self.upper}]")

    @property
    def width(self) -> Fraction:
        return self.upper - self.lower

    def contains(self, value: Fraction) -> bool:
        return self.lower <= value <= self.upper

    def __float__(self) -> float:
        return float((self.lower + self.upper) / 2)

    def as_json(self) -> dict[str, str]:
        from .numbers import format_rational
        return {"lower": format_rational(self.lower), "upper": format_rational(self.upper)}

    def text(self, digits: int = 6) -> str:
        from .numbers import approximate
        return f"[{approximate(self.lower, digits)}, {approximate(self.upper, digits)}]"


class _Precision:
    """Scoped ``arb`` precision (FLINT's context is process-wide; restore it on exit)."""

    def __enter__(self):
        self.saved = ctx.prec
        ctx.prec = PRECISION

    def __exit__(self, *exc):
        ctx.prec = self.saved


def ball(value: Fraction | int) -> arb:
    value = Fraction(value)
    return arb(fmpq(value.numerator, value.denominator))


MAGNITUDE_BITS = 1 << 16
"""Enclosures never hold numbers beyond ``2^±65536`` in absolute value (apart from 0).  A ball
whose midpoint or radius is outside that range has its ends rounded outward into it (a tiny end
to 0 or ``±2^-65536``, a huge lower end down to ``2^65536``, a huge upper end of a negative number
up to ``-2^65536``), so no ``Fraction`` grows with an ``arb`` exponent: each end costs at most
about 8 KB and microseconds.  Without this,
``1/(1 + exp(8·10^10))`` built ``2^-(1.2·10^11)`` exactly: one uninterruptible big-integer
power and gigabytes of memory (a data weight of 10^-9 at λ > 0).  An end that would have to be
``±∞`` raises ``EnclosureOverflow``."""

_LIMIT = Fraction(2) ** MAGNITUDE_BITS
_TINY = 1 / _LIMIT


class EnclosureOverflow(ArithmeticError):
    """An enclosure's end point would have to be ``±∞`` (beyond ``2^MAGNITUDE_BITS``)."""


def _in_range(pair) -> bool:
    mantissa, exponent = (int(v) for v in pair)
    return not mantissa or abs(exponent + abs(mantissa).bit_length()) <= MAGNITUDE_BITS


def _dyadic(pair) -> Fraction:
    mantissa, exponent = (int(v) for v in pair)
    return Fraction(mantissa << exponent) if exponent >= 0 else Fraction(mantissa, 1 << -exponent)


def _end_point(end: arb, up: bool) -> Fraction:
    """An exact end point (``arb.lower()`` or ``upper()``, radius 0) as a ``Fraction``, rounded
    outward (up if ``up``) into ``[-2^65536, 2^65536]``, tiny values to 0 or ``±2^-65536``."""
    pair = end.mid().man_exp()
    if _in_range(pair):
        return _dyadic(pair)
    mantissa, exponent = (int(v) for v in pair)
    if exponent < 0:                                        # tiny
        if mantissa > 0:
            return _TINY if up else Fraction(0)
        return Fraction(0) if up else -_TINY
    if mantissa > 0 and not up:                             # huge: only the inner side is bounded
        return _LIMIT
    if mantissa < 0 and up:
        return -_LIMIT
    raise EnclosureOverflow(f"an enclosure's end is beyond 2^{MAGNITUDE_BITS} in absolute value")


def bounds(x: arb) -> Enclosure:
    """The rational interval ``[mid − rad, mid + rad]`` of a finite ball, exactly when the midpoint
    and radius are within ``2^±MAGNITUDE_BITS``, and rounded outward into that range otherwise."""
    if not x.is_finite():
        raise ArithmeticError("an arb ball is not finite; raise PRECISION or shrink the input")
    mid, rad = x.mid().man_exp(), x.rad().man_exp()
    if _in_range(mid) and _in_range(rad):
        centre, radius = _dyadic(mid), _dyadic(rad)
        return Enclosure(centre - radius, centre + radius)
    return Enclosure(_end_point(x.lower(), up=False), _end_point(x.upper(), up=True))


def exp_enclosure(value: Fraction) -> Enclosure:
    with _Precision():
        return bounds(ball(value).exp())


def log_enclosure(value: Fraction) -> Enclosure:
    if value <= 0:
        raise ModelError(f"log of a non-positive number {value}")
    with _Precision():
        return bounds(ball(value).log())


# -- the reference policy ------------------------------------------------------------

def check_reference(mdp: MDP, reference: StochasticPolicy) -> StochasticPolicy:
    """A full-support reference policy (SPEC §5 needs ``π_ref(a|s) > 0`` everywhere), with one
    exact probability row per state summing to 1."""
    from .evaluation import check_stochastic
    from .numbers import exact_number
    if not isinstance(reference, (list, tuple)) or not all(isinstance(r, (list, tuple)) for r in reference):
        raise ModelError("the reference policy must be one row of probabilities per state", table="policy")
    reference = check_stochastic(mdp, [[exact_number(p, "reference") for p in row] for row in reference])
    for s, row in enumerate(reference):
        for a, p in enumerate(row):
            if p <= 0:
                raise ModelError("the reference policy must give every action positive probability",
                                 table=f"policy.{mdp.states[s]}", entry=mdp.actions[a])
    return reference


def uniform_policy(mdp: MDP) -> StochasticPolicy:
    p = Fraction(1, mdp.n_actions)
    return tuple((p,) * mdp.n_actions for _ in range(mdp.n_states))


# -- floating guide ------------------------------------------------------------------

def _float_dynamics(mdp: MDP) -> np.ndarray:
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
    P = _float_dynamics(mdp) if P is None else P
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


# -- the rigorous soft optimum ---------------------------------------------------------

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
    with _Precision():
        lam_b = ball(lam)
        for s in range(mdp.n_states):
            row = q[s * m:(s + 1) * m]
            top = max(row)
            total = arb(0)
            for a, qa in enumerate(row):
                total += ball(reference[s][a]) * ((ball(qa - top)) / lam_b).exp()
            out.append(bounds(ball(top) + lam_b * total.log()))
    return out


def _rational(value: float) -> Fraction:
    return Fraction(value) if np.isfinite(value) else Fraction(0)


def soft_box(mdp: MDP, reward: Sequence[Fraction], lam: Fraction, reference: StochasticPolicy,
             guide: np.ndarray | None = None) -> SoftBox:
    """A verified box around the soft Bellman fixed point of ``reward`` (``γ > 0``)."""
    n, m = mdp.n_states, mdp.n_actions
    log_ref = np.log(np.array([[float(p) for p in row] for row in reference]))
    P = _float_dynamics(mdp)
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
        w = [_round_dyadic(v, 120) for v in w]
    t = soft_operator(mdp, reward, lam, reference, w)
    gap = max(max(e.upper - ws, ws - e.lower) for e, ws in zip(t, w))
    scale = 1 + max(abs(v) for v in w)
    radius = (gap * (1 + Fraction(1, 2 ** 20)) + scale * Fraction(1, 2 ** 120)) / (1 - mdp.gamma)
    return SoftBox(tuple(w), _round_up(radius))


def _round_dyadic(value: Fraction, bits: int) -> Fraction:
    return Fraction(round(value * 2 ** bits), 2 ** bits)


def _round_up(value: Fraction, bits: int = 64) -> Fraction:
    """``value`` rounded up to ``bits`` significant bits (keeps radii short in certificates)."""
    if value <= 0:
        return Fraction(0)
    shift = bits - (value.numerator.bit_length() - value.denominator.bit_length())
    scaled = value * Fraction(2) ** shift
    return Fraction(-(-scaled.numerator // scaled.denominator)) / Fraction(2) ** shift


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
    with _Precision():
        lam_b = ball(lam)
        for s in range(mdp.n_states):
            for a in range(m):
                worst, best = arb(0), arb(0)
                for b in range(m):
                    if b == a:
                        continue
                    ratio = ball(reference[s][b] / reference[s][a])
                    lo, hi = gaps[(s, b, a)]
                    worst += ratio * (ball(hi) / lam_b).exp()
                    best += ratio * (ball(lo) / lam_b).exp()
                low = bounds(1 / (1 + worst)).lower
                high = bounds(1 / (1 + best)).upper
                lower.append(_round_dyadic_down(max(low, Fraction(0))))
                upper.append(min(Fraction(1), -_round_dyadic_down(-high)))
    return lower, upper


def _round_dyadic_down(value: Fraction, bits: int = 200) -> Fraction:
    return Fraction(value.numerator * 2 ** bits // value.denominator, 2 ** bits)


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
    with _Precision():
        total = arb(0)
        for s, row in enumerate(policy):
            if not d[s]:
                continue
            kl = arb(0)
            for a, p in enumerate(row):
                if p:
                    kl += ball(p) * (ball(p) / ball(reference[s][a])).log()
            total += ball(d[s]) * kl
        return bounds(total)


def clears(value: Fraction, threshold: Fraction, *, above: bool) -> bool:
    """``value`` is beyond ``threshold`` by the safety margin (see MARGIN)."""
    slack = MARGIN * (1 + abs(threshold))
    return value > threshold + slack if above else value < threshold - slack
