"""Tilts ``Q e^{λT}`` of a bandit enclosed in fixed point (docs/certificate-format.md §9.5): their gains
and KL, the log-moment ``ψ`` of the Donsker-Varadhan ceiling, the argmax's KL and ``P_t``'s KL.

Each context's numbers are integers over ``2^F`` (``2^{F+G}`` for products with centred rewards),
rounded outward; ``exp`` and ``log`` come from ``series`` (§6.4).  An enclosure is a pair
``(lower, upper)`` of ``Fraction``s."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .series import exp_bounds, log_bounds

GUARD_BITS = 192
"""Fractional bits beyond the smallest reference probability's (``F``), and of the centred rewards (``G``)."""


def _floor(value: Fraction, bits: int) -> int:
    return (value.numerator << bits) // value.denominator


def _ceil(value: Fraction, bits: int) -> int:
    return -((-value.numerator << bits) // value.denominator)


@dataclass(frozen=True)
class Context:
    """One context (``μ0(s) > 0``): its outputs' ``V``, ``U``, ``Q`` and what every tilt reuses."""

    weight: Fraction
    true: tuple
    proxy: tuple
    reference: tuple
    bits: int
    q_int: tuple                  # (floor, ceil) of Q·2^F
    centred: dict                 # "true"/"proxy" -> tuple of (floor, ceil) of (T − E_Q T)·2^G
    means: dict                   # "true"/"proxy" -> E_Q T, exactly

    def column(self, which: str) -> tuple:
        return self.proxy if which == "proxy" else self.true

    def flat(self, which: str) -> bool:
        column = self.column(which)
        return min(column) == max(column)


def make_context(weight: Fraction, true, proxy, reference) -> Context:
    """Every ``Q > 0``; the caller has checked shapes and sums."""
    smallest = min(reference)
    bits = GUARD_BITS + len(reference).bit_length() + max(0, smallest.denominator.bit_length()
                                                        - smallest.numerator.bit_length() + 1)
    q_int = tuple((_floor(q, bits), _ceil(q, bits)) for q in reference)
    means, centred = {}, {}
    for which, column in (("true", true), ("proxy", proxy)):
        mean = sum((q * t for q, t in zip(reference, column)), Fraction(0))
        means[which] = mean
        centred[which] = tuple((_floor(t - mean, GUARD_BITS), _ceil(t - mean, GUARD_BITS)) for t in column)
    return Context(weight, tuple(true), tuple(proxy), tuple(reference), bits, q_int, centred, means)


def _exponentials(context: Context, which: str, lam: Fraction) -> list[tuple[int, int]]:
    """``e^{λ(T − max T)}`` per output as integer intervals over ``2^F``, along the chain of distinct values."""
    column = context.column(which)
    bits = context.bits
    one = 1 << bits
    values = sorted(set(column), reverse=True)
    found = {values[0]: (one, one)}
    low, high = one, one
    for previous, value in zip(values, values[1:]):
        f_lo, f_hi = exp_bounds(lam * (value - previous))
        low = (low * _floor(f_lo, bits)) >> bits
        high = -((-high * _ceil(f_hi, bits)) >> bits)
        found[value] = (low, high)
    return [found[t] for t in column]


def _product(w: tuple[int, int], c: tuple[int, int]) -> tuple[int, int]:
    """``[w] · [c]`` for ``w ≥ 0`` (integer intervals)."""
    w_lo, w_hi = w
    c_lo, c_hi = c
    if c_lo >= 0:
        return w_lo * c_lo, w_hi * c_hi
    if c_hi <= 0:
        return w_hi * c_lo, w_lo * c_hi
    return w_hi * c_lo, w_hi * c_hi


def _divide(num: tuple[int, int], den: tuple[int, int], scale: int) -> tuple[Fraction, Fraction]:
    """``[num] / ([den] · 2^scale)`` for ``den > 0``."""
    a, b = num
    z1, z2 = den
    lower = Fraction(a, z2 << scale) if a >= 0 else Fraction(a, z1 << scale)
    upper = Fraction(b, z1 << scale) if b >= 0 else Fraction(b, z2 << scale)
    return lower, upper


def context_tilt(context: Context, which: str, lam: Fraction):
    """``(true gain, proxy gain, KL)`` of the tilt in one context, as enclosures."""
    bits = context.bits
    exps = _exponentials(context, which, lam)
    top = max(context.column(which))
    z_lo = z_hi = 0
    sums = {"true": [0, 0], "proxy": [0, 0]}
    st_lo = st_hi = 0
    for (q_lo, q_hi), (e_lo, e_hi), v, u, t in zip(context.q_int, exps, context.centred["true"],
                                                    context.centred["proxy"], context.column(which)):
        w = ((q_lo * e_lo) >> bits, -((-q_hi * e_hi) >> bits))
        z_lo += w[0]
        z_hi += w[1]
        for key, c in (("true", v), ("proxy", u)):
            lo, hi = _product(w, c)
            sums[key][0] += lo
            sums[key][1] += hi
        shift = t - top                       # <= 0, exact
        s_lo, s_hi = _floor(shift, GUARD_BITS), _ceil(shift, GUARD_BITS)
        lo, hi = _product(w, (s_lo, s_hi))
        st_lo += lo
        st_hi += hi
    z = (max(z_lo, 1), z_hi)
    gains = {key: _divide(tuple(sums[key]), z, GUARD_BITS) for key in sums}
    mean_lo, mean_hi = _divide((st_lo, st_hi), z, GUARD_BITS)
    log_lo = log_bounds(Fraction(z[0], 1 << bits))[0]
    log_hi = log_bounds(Fraction(z[1], 1 << bits))[1]
    kl = (lam * mean_lo - log_hi, lam * mean_hi - log_lo)
    return gains["true"], gains["proxy"], kl


def tilt(contexts: list[Context], which: str, lam: Fraction) -> dict:
    """``{"true_gain", "proxy_gain", "kl"}`` of the tilt in ``which`` at ``λ ≥ 0``, as enclosures
    (weighted by ``μ0``); exact zeros where the setting makes them so (§9.5)."""
    zero = (Fraction(0), Fraction(0))
    if lam == 0 or all(c.flat(which) for c in contexts):
        return {"true_gain": zero, "proxy_gain": zero, "kl": zero}
    totals = {"true_gain": [Fraction(0), Fraction(0)], "proxy_gain": [Fraction(0), Fraction(0)],
              "kl": [Fraction(0), Fraction(0)]}
    for context in contexts:
        parts = dict(zip(("true_gain", "proxy_gain", "kl"), context_tilt(context, which, lam)))
        for key, (lo, hi) in parts.items():
            totals[key][0] += context.weight * lo
            totals[key][1] += context.weight * hi
    out = {key: (lo, hi) for key, (lo, hi) in totals.items()}
    out["kl"] = (max(out["kl"][0], Fraction(0)), max(out["kl"][1], Fraction(0)))
    for key, which_reward in (("true_gain", "true"), ("proxy_gain", "proxy")):
        if all(c.flat(which_reward) for c in contexts):
            out[key] = zero
    return out


def log_moment(contexts: list[Context], lam: Fraction) -> tuple[Fraction, Fraction]:
    """``ψ(λ) = Σ_s μ0(s) log E_Q e^{λ(V − E_Q V)}`` for ``λ > 0`` (``≥ 0`` by Jensen)."""
    lower = upper = Fraction(0)
    for context in contexts:
        z_lo = z_hi = 0
        bits = context.bits
        for (q_lo, q_hi), (e_lo, e_hi) in zip(context.q_int, _exponentials(context, "true", lam)):
            z_lo += (q_lo * e_lo) >> bits
            z_hi += -((-q_hi * e_hi) >> bits)
        shift = lam * (max(context.true) - context.means["true"])
        lower += context.weight * (log_bounds(Fraction(max(z_lo, 1), 1 << bits))[0] + shift)
        upper += context.weight * (log_bounds(Fraction(z_hi, 1 << bits))[1] + shift)
    return max(lower, Fraction(0)), max(upper, Fraction(0))


def largest_gain(contexts: list[Context], which: str) -> Fraction:
    """``G(T) = Σ_s μ0(s) (max T − E_Q T)``, exactly."""
    return sum((c.weight * (max(c.column(which)) - c.means[which]) for c in contexts), Fraction(0))


def argmax_kl(contexts: list[Context], which: str) -> tuple[Fraction, Fraction]:
    """``K = Σ_s μ0(s) (−log Q(argmax T | s))``; exactly 0 when every argmax holds all of ``Q``."""
    lower = upper = Fraction(0)
    for c in contexts:
        column = c.column(which)
        top = max(column)
        mass = sum((q for q, t in zip(c.reference, column) if t == top), Fraction(0))
        if mass != 1:
            lo, hi = log_bounds(mass)
            lower -= c.weight * hi
            upper -= c.weight * lo
    return lower, upper


def construction_kl(parts: list[tuple[Fraction, Fraction]], a: Fraction) -> tuple[Fraction, Fraction]:
    """``Σ μ0 (a log(a/m) + (1 − a) log((1 − a)/(1 − m)))`` over ``(μ0(s), m_s)`` with ``0 < m_s < 1``."""
    lower = upper = Fraction(0)
    for weight, m in parts:
        up_lo, up_hi = log_bounds(a / m)
        down_lo, down_hi = log_bounds((1 - a) / (1 - m))
        lower += weight * (a * up_lo + (1 - a) * down_lo)
        upper += weight * (a * up_hi + (1 - a) * down_hi)
    return max(lower, Fraction(0)), upper
