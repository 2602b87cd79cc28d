"""The members of the heavy-tail families, regenerated from the family's name and parameters
(docs/certificate-format.md §9.2), exactly, independently of the toolkit's generator."""

from __future__ import annotations

from fractions import Fraction

from .reading import Reject, exact_keys, obj, rational, require, show

MAX_LEVELS = 100_000
SUBGAUSS_MAX = 58
MAX_ALPHA = 16
NAMES = {"power": ("power",), "subgauss": ("subgauss",), "product": ("power", "subgauss"), "pareto": ("power",)}


def read_family(value) -> tuple[str, str, Fraction | None]:
    """Rule ``ht-family``: ``(name, tail, α)`` of ``instance.family``."""
    family = obj(value, "ht-family", "instance.family")
    name, tail = family.get("name"), family.get("tail")
    require(isinstance(name, str) and name in NAMES, "ht-family", f"unknown family {show(name)}")
    require(isinstance(tail, str) and tail in NAMES[name], "ht-family", f"the family {name} has no tail {show(tail)}")
    if tail == "subgauss":
        exact_keys(family, {"name", "tail"}, "ht-family", "instance.family")
        return name, tail, None
    exact_keys(family, {"name", "tail", "alpha"}, "ht-family", "instance.family")
    alpha = rational(family["alpha"], "ht-family", "instance.family.alpha")
    require(0 < alpha <= MAX_ALPHA and alpha.denominator <= MAX_ALPHA, "ht-family",
            "alpha must be p/q with 0 < alpha <= 16 and q <= 16")
    return name, tail, alpha


def read_sizes(value, tail: str) -> list[int]:
    require(isinstance(value, list) and value, "ht-family", "instance.sizes must be a non-empty list")
    top = SUBGAUSS_MAX if tail == "subgauss" else MAX_LEVELS
    for n in value:
        if type(n) is not int or not 1 <= n <= top:
            raise Reject("ht-family", f"a size must be an integer between 1 and {top}, got {show(n)}")
    require(len(set(value)) == len(value), "ht-family", "the sizes must be distinct")
    return value


def _ceil_root(value: int, degree: int) -> int:
    """The smallest ``r ≥ 0`` with ``r^degree ≥ value``: integer Newton from above, then the defining
    inequalities ``r^degree ≥ value > (r − 1)^degree`` checked, so only they need trusting."""
    if value <= 1 or degree == 1:
        return max(value, 0)
    r = 1 << -(-value.bit_length() // degree)
    while True:
        s = ((degree - 1) * r + value // r ** (degree - 1)) // degree
        if s >= r:
            break
        r = s
    while r ** degree < value:
        r += 1
    while r > 0 and (r - 1) ** degree >= value:
        r -= 1
    require(r ** degree >= value and (r == 0 or (r - 1) ** degree < value), "internal", "integer root")
    return r


def _survival(tail: str, alpha: Fraction | None, k: int) -> Fraction:
    if tail == "subgauss":
        return Fraction(1, 1 << ((k - 1) ** 2))
    p, q = alpha.numerator, alpha.denominator
    e = 64 + -(-p * k.bit_length() // q)
    return Fraction(_ceil_root(-(-(1 << (e * q)) // k ** p), q), 1 << e)


def levels(tail: str, alpha: Fraction | None, size: int) -> list[Fraction]:
    """``q_1..q_N``, each required ``> 0``."""
    s = [_survival(tail, alpha, k) for k in range(1, size + 1)]
    masses = [s[k] - s[k + 1] for k in range(size - 1)] + [s[-1]]
    for k, q in enumerate(masses, start=1):
        if q <= 0:
            raise Reject("ht-family", f"level {k} of the member of size {size} has mass {q}")
    return masses


def member(name: str, tail: str, alpha: Fraction | None, size: int) -> list[tuple[Fraction, Fraction, Fraction]]:
    """The outputs ``(V, U, Q)`` of the one context of the member of size ``N``, in order."""
    masses = levels(tail, alpha, size)
    half = Fraction(1, 2)
    if name in ("power", "subgauss"):
        tail_outputs = [(half, half + k, q / 10) for k, q in enumerate(masses, start=1)]
        return [(Fraction(0), Fraction(0), Fraction(9, 20)), (Fraction(1), Fraction(1), Fraction(9, 20))] + tail_outputs
    if name == "product":
        return [(Fraction(v), Fraction(v + k), q / 2) for v in (0, 1) for k, q in enumerate(masses, start=1)]
    return [(Fraction(-k), Fraction(0), q) for k, q in enumerate(masses, start=1)]
