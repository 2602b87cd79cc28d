"""Rigorous enclosures: the fence around FLINT's ``arb`` (the only module that imports it).

Every transcendental quantity (``exp``, ``log``, softplus, the Bradley–Terry KL) is computed in
``arb`` ball arithmetic at ``PRECISION`` bits, which rounds outward, and leaves this module as an
``Enclosure``: a pair of exact ``Fraction`` bounds read off the ball's midpoint and radius, rounded
outward into ``2^±MAGNITUDE_BITS``.  Other modules make balls with ``ball`` and compute with their
operators; ``clears`` asks a bound to beat its threshold by a margin the checker's own 160-bit
series also reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from flint import arb, ctx, fmpq

from ..core.errors import ModelError

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
        from ..core.numbers import format_rational
        return {"lower": format_rational(self.lower), "upper": format_rational(self.upper)}

    def text(self, digits: int = 6) -> str:
        from ..core.numbers import approximate
        return f"[{approximate(self.lower, digits)}, {approximate(self.upper, digits)}]"


class Precision:
    """Scoped ``arb`` precision (FLINT's context is process-wide; restore it on exit)."""

    def __enter__(self):
        self.saved = ctx.prec
        ctx.prec = PRECISION

    def __exit__(self, *exc):
        ctx.prec = self.saved


Ball = arb
"""The ball type (FLINT's ``arb``).  Other modules make balls with ``ball`` and compute with their
operators and methods; only this module imports the binding."""


def ball(value: Fraction | int) -> Ball:
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
    with Precision():
        return bounds(ball(value).exp())


def log_enclosure(value: Fraction) -> Enclosure:
    if value <= 0:
        raise ModelError(f"log of a non-positive number {value}")
    with Precision():
        return bounds(ball(value).log())


def clears(value: Fraction, threshold: Fraction, *, above: bool) -> bool:
    """``value`` is beyond ``threshold`` by the safety margin (see MARGIN)."""
    slack = MARGIN * (1 + abs(threshold))
    return value > threshold + slack if above else value < threshold - slack


def round_up(value: Fraction, bits: int = 64) -> Fraction:
    """``value`` rounded up to ``bits`` significant bits (keeps radii short in certificates)."""
    if value <= 0:
        return Fraction(0)
    shift = bits - (value.numerator.bit_length() - value.denominator.bit_length())
    scaled = value * Fraction(2) ** shift
    return Fraction(-(-scaled.numerator // scaled.denominator)) / Fraction(2) ** shift


def round_dyadic(value: Fraction, bits: int) -> Fraction:
    return Fraction(round(value * 2 ** bits), 2 ** bits)


def round_dyadic_down(value: Fraction, bits: int = 200) -> Fraction:
    return Fraction(value.numerator * 2 ** bits // value.denominator, 2 ** bits)



# -- the Bradley-Terry pair KL (preference error, error measures) ---------------------------

def softplus(x: Ball) -> Ball:
    """``log(1 + e^x)`` with only ``exp`` of non-positive numbers."""
    return x.max(arb(0)) + (1 + (-abs(x)).exp()).log()


def sigmoid(x: Ball) -> Ball:
    """``σ(x) = 1/(1 + e^-x)``, with ``exp`` of a non-positive midpoint only."""
    if x.mid() >= 0:
        return 1 / (1 + (-x).exp())
    return x.exp() / (1 + x.exp())


def bernoulli_kl(u: Ball, v: Ball) -> Ball:
    """``KL(Bern(σ(u)) ‖ Bern(σ(v)))`` of two balls (``u``: the true difference, ``v``: the model's):
    ``σ(u)(sp(−v) − sp(−u)) + σ(−u)(sp(v) − sp(u))`` with ``sp`` the softplus above."""
    p = sigmoid(u)
    return p * (softplus(-v) - softplus(-u)) + (1 - p) * (softplus(v) - softplus(u))


def pair_kl(u: Fraction, v: Fraction) -> Ball:
    """``bernoulli_kl`` of two exact differences."""
    return bernoulli_kl(ball(u), ball(v))
