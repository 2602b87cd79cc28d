"""Exact numbers at the door: parse rationals exactly, refuse floats, print "p/q"."""

from __future__ import annotations

import math
import re
from fractions import Fraction

from .errors import ModelError

# Longest number literal accepted; a longer one is a size error, not a parse.
MAX_NUMBER_CHARS = 2000

# ASCII only: Python's int() and Fraction() would also read other scripts' digits ("١٢").
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_FRACTION = re.compile(r"([+-]?\d+)\s*/\s*(\d+)", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?", re.ASCII)


def parse_rational(value: object, *, what: str = "number") -> Fraction:
    """Read an exact rational from an integer or a string.

    Accepted: ``int`` (not ``bool``), ``Fraction``, and strings holding an
    integer (``"3"``), a fraction (``"2/5"``) or a finite decimal
    (``"2.78"``, ``"1e-3"``).  Floats are refused because they are already
    rounded: the message says to quote the number instead.
    """
    if isinstance(value, bool):
        raise ModelError(f"expected a {what}, got the boolean {str(value).lower()}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Fraction):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ModelError(f"{value!r} is not a finite number; write an exact {what} such as "
                             '"2/5" or "0.4"')
        raise ModelError(
            f"{value!r} is a floating-point number, which is inexact; "
            f'quote it instead, e.g. "{value!r}" or a fraction "p/q"')
    if not isinstance(value, str):
        raise ModelError(f"expected a {what} (an integer or a quoted rational such as \"2/5\"), "
                         f"got {type(value).__name__}")
    text = value.strip()
    if len(text) > MAX_NUMBER_CHARS:
        raise ModelError(f"{what} has {len(text)} characters; at most {MAX_NUMBER_CHARS} are accepted")
    try:
        if _INTEGER.fullmatch(text):
            return Fraction(int(text))
        match = _FRACTION.fullmatch(text)
        if match:
            numerator, denominator = int(match.group(1)), int(match.group(2))
            if denominator == 0:
                raise ModelError(f"{value!r} has a zero denominator")
            return Fraction(numerator, denominator)
        if _DECIMAL.fullmatch(text):
            exponent = re.search(r"[eE]([+-]?\d+)$", text)
            if exponent and abs(int(exponent.group(1))) > MAX_NUMBER_CHARS:
                raise ModelError(f"{value!r} has an exponent beyond ±{MAX_NUMBER_CHARS}")
            return Fraction(text)
    except ValueError as exc:  # e.g. Python's digit limit for int()
        raise ModelError(f"{value!r} cannot be read as an exact {what}: {exc}") from None
    raise ModelError(f"{value!r} is not an exact {what}; write an integer, a fraction such as "
                     f'"2/5", or a decimal such as "0.4"')


def format_rational(value: Fraction | int) -> str:
    """Canonical text of a rational: ``"3"`` or ``"-2/5"`` (always reduced)."""
    value = Fraction(value)
    if value.denominator == 1:
        return _digits(value.numerator)
    return f"{_digits(value.numerator)}/{_digits(value.denominator)}"


def _digits(n: int) -> str:
    """Decimal text of any integer: exact answers of large models pass Python's 4300-digit ``str`` limit,
    which guards parsing, not printing; FLINT converts without it (and in quasi-linear time)."""
    try:
        return str(n)
    except ValueError:
        from flint import fmpz
        return str(fmpz(n))


def format_epsilon(value: Fraction | None) -> str:
    """A critical error as text; ``None`` stands for +infinity."""
    return "inf" if value is None else format_rational(value)


def as_fraction_arg(text: str, *, name: str) -> Fraction:
    """Parse a command-line rational, naming the option on failure."""
    try:
        return parse_rational(text, what=name)
    except ModelError as exc:
        raise ModelError(exc.message, entry=name) from None
