"""Rigorous ``exp`` and ``log`` over ``Fraction`` for the regularised rules (docs/certificate-format.md
§6.4).  Intervals are (lower, upper) pairs of Fractions rounded outward to PRECISION significant bits
after every operation."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

from .reading import require

PRECISION = 160


def _round(q: Fraction, up: bool) -> Fraction:
    """``q`` rounded to PRECISION significant bits, towards +inf if ``up`` else -inf."""
    if q == 0:
        return q
    num, den = q.numerator, q.denominator
    shift = PRECISION - (abs(num).bit_length() - den.bit_length())
    if shift >= 0:
        scaled_num, rem = divmod(num << shift, den)
        result = Fraction(scaled_num + (1 if up and rem else 0), 1 << shift)
    else:
        scaled_num, rem = divmod(num, den << -shift)
        result = Fraction((scaled_num + (1 if up and rem else 0)) << -shift)
    return result


def down(q: Fraction) -> Fraction:
    return _round(q, False)


def up(q: Fraction) -> Fraction:
    return _round(q, True)


def _exp_small(y: Fraction) -> tuple[Fraction, Fraction]:
    """Enclosure of exp(y) for 0 <= y <= 1/2, in fixed point with F = PRECISION + 16 fractional
    bits: the Taylor terms are floored for the lower sum and ceiled for the upper one, and the
    tail after a term t is at most 2t (the ratio of successive terms is <= 1/2)."""
    bits = PRECISION + 16
    one = 1 << bits
    y_lo = y.numerator * one // y.denominator
    y_hi = -(-y.numerator * one // y.denominator)
    lo_sum = hi_sum = 0
    t_lo = t_hi = one
    i = 0
    while t_hi > 1:
        lo_sum += t_lo
        hi_sum += t_hi
        i += 1
        t_lo = t_lo * y_lo // (i * one)
        t_hi = -(-t_hi * y_hi // (i * one))
    # i >= 1 terms were summed; the remaining tail is <= 2 * t_hi (+ 1 for the last rounding)
    return down(Fraction(lo_sum, one)), up(Fraction(hi_sum + 2 * t_hi + 2, one))


EXP_FLOOR = 10_000  # exp(x) for x < -EXP_FLOOR is enclosed by [0, exp(-EXP_FLOOR)]


@lru_cache(maxsize=1 << 16)
def exp_bounds(x: Fraction) -> tuple[Fraction, Fraction]:
    """Rigorous enclosure of exp(x) for a rational x <= 0 (the only kind the rules need)."""
    require(x <= 0, "internal", "exp of a positive argument")
    if x < -EXP_FLOOR:
        return Fraction(0), exp_bounds(Fraction(-EXP_FLOOR))[1]
    y, k = -x, 0
    while y > Fraction(1, 2) * (1 << k):
        k += 1
    lo, _ = _exp_small(down(y / (1 << k)))
    _, hi = _exp_small(up(y / (1 << k)))
    for _ in range(k):
        lo, hi = down(lo * lo), up(hi * hi)
    # exp(x) = 1 / exp(y)
    return down(1 / hi), up(1 / lo)


def _atanh_bounds(z: Fraction) -> tuple[Fraction, Fraction]:
    """Enclosure of atanh(z) for a dyadic |z| <= 1/3: the series sum |z|^(2i+1)/(2i+1) with
    remainder |z|^(2n+1)/((2n+1)(1 - z^2)), then the sign of z (atanh is odd)."""
    a = abs(z)
    a2 = a * a
    lo_sum = hi_sum = Fraction(0)
    p_lo = p_hi = a
    eps = Fraction(1, 1 << (PRECISION + 10))
    i = 0
    while p_hi > eps:
        lo_sum += down(p_lo / (2 * i + 1))
        hi_sum += up(p_hi / (2 * i + 1))
        i += 1
        p_lo, p_hi = down(p_lo * a2), up(p_hi * a2)
    hi_sum += up(p_hi / ((2 * i + 1) * (1 - a2)))
    lo, hi = down(lo_sum), up(hi_sum)
    return (lo, hi) if z >= 0 else (-hi, -lo)


@lru_cache(maxsize=1 << 16)
def log_bounds(x: Fraction) -> tuple[Fraction, Fraction]:
    """Rigorous enclosure of log(x) for a rational x > 0."""
    require(x > 0, "internal", "log of a non-positive number")
    k = x.numerator.bit_length() - x.denominator.bit_length()
    m = x / Fraction(2) ** k
    while m > Fraction(4, 3):
        m, k = m / 2, k + 1
    while m < Fraction(2, 3):
        m, k = m * 2, k - 1
    m_lo, m_hi = down(m), up(m)
    lo, _ = _atanh_bounds(down((m_lo - 1) / (m_lo + 1)))
    _, hi = _atanh_bounds(up((m_hi - 1) / (m_hi + 1)))
    lo, hi = 2 * lo, 2 * hi
    if k:
        l2_lo, l2_hi = _atanh_bounds(Fraction(1, 3))
        l2_lo, l2_hi = 2 * l2_lo, 2 * l2_hi
        lo, hi = (lo + k * l2_lo, hi + k * l2_hi) if k > 0 else (lo + k * l2_hi, hi + k * l2_lo)
    return down(lo), up(hi)


def exp_upper(x: Fraction) -> Fraction | None:
    """An upper bound on exp(x) for a rational of either sign; ``None`` stands for +inf (x huge)."""
    if x <= 0:
        return exp_bounds(x)[1]
    if x > EXP_FLOOR:
        return None
    return up(1 / exp_bounds(-x)[0])


def exp_lower(x: Fraction) -> Fraction:
    """A lower bound on exp(x) for a rational of either sign (exp is increasing)."""
    if x <= 0:
        return exp_bounds(x)[0]
    return down(1 / exp_bounds(-min(x, Fraction(EXP_FLOOR)))[1])
