"""Exact numbers at the door: parse rationals exactly, refuse floats, print "p/q"."""

from __future__ import annotations

import math
import re
from fractions import Fraction

from .errors import ModelError

# The one number-size limit, shared with proofs/checker.py (which cannot import it; a test
# keeps the two equal): a number literal, and every number read, written reduced as "p/q",
# has at most this many characters.  Refusing it at input keeps the producer from writing
# a certificate the checker would refuse (docs/model-format.md, "Numbers").
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
        return check_size(Fraction(value), what=what)
    if isinstance(value, Fraction):
        return check_size(value, what=what)
    if isinstance(value, float):
        written = getattr(value, "text", None)      # the literal as a JSON file wrote it (io.parse_json)
        if written is None and not math.isfinite(value):
            raise ModelError(f"{value!r} is not a finite number; write an exact {what} such as "
                             '"2/5" or "0.4"')
        written = written or repr(value)
        raise ModelError(
            f"{written} is a floating-point number, which is inexact; "
            f'quote it instead, e.g. "{written}" or a fraction "p/q"')
    if not isinstance(value, str):
        raise ModelError(f"expected a {what} (an integer or a quoted rational such as \"2/5\"), "
                         f"got {type(value).__name__}")
    text = value.strip()
    if len(text) > MAX_NUMBER_CHARS:
        raise ModelError(f"{what} has {len(text)} characters; at most {MAX_NUMBER_CHARS} are accepted")
    try:
        if _INTEGER.fullmatch(text):
            return check_size(Fraction(int(text)), what=what, text=text)
        match = _FRACTION.fullmatch(text)
        if match:
            numerator, denominator = int(match.group(1)), int(match.group(2))
            if denominator == 0:
                raise ModelError(f"{value!r} has a zero denominator")
            return check_size(Fraction(numerator, denominator), what=what, text=text)
        if _DECIMAL.fullmatch(text):
            exponent = re.search(r"[eE]([+-]?\d+)$", text)
            if exponent and abs(int(exponent.group(1))) > MAX_NUMBER_CHARS:
                raise ModelError(f"{value!r} has an exponent beyond ±{MAX_NUMBER_CHARS}: at most "
                                 f"{MAX_NUMBER_CHARS} characters are accepted as a reduced fraction p/q "
                                 "(the certificate checker's limit)")
            return check_size(Fraction(text), what=what, text=text)
    except ValueError as exc:  # e.g. Python's digit limit for int()
        raise ModelError(f"{value!r} cannot be read as an exact {what}: {exc}") from None
    raise ModelError(f"{value!r} is not an exact {what}; write an integer, a fraction such as "
                     f'"2/5", or a decimal such as "0.4"')


def format_rational(value: Fraction | int) -> str:
    """Canonical text of a rational: ``"3"`` or ``"-2/5"`` (always reduced)."""
    if type(value) is not Fraction:     # a Fraction is reduced already: no copy (certificates write millions)
        value = Fraction(value)
    # The slots, not the properties: a property call costs more than the formatting of a small number.
    return _ratio_text(value._numerator, value._denominator)


def format_ratio(p: int, q: int) -> str:
    """``format_rational(Fraction(p, q))`` for integers ``q > 0``, without building the Fraction."""
    g = math.gcd(p, q)
    return _ratio_text(p // g, q // g)


def _ratio_text(p: int, q: int) -> str:
    try:
        return str(p) if q == 1 else f"{p}/{q}"
    except ValueError:           # past Python's 4300-digit limit for str(int)
        return _digits(p) if q == 1 else f"{_digits(p)}/{_digits(q)}"


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


# -- the shared number-size limit ------------------------------------------------------

_COUNT_BITS = 4 * MAX_NUMBER_CHARS   # past this many bits a number is surely over the limit
_SURELY_SHORT_BITS = int((MAX_NUMBER_CHARS - 4) / 0.30103) - 30   # up to this many, surely within it


def _counted(value: Fraction) -> bool:
    return value.numerator.bit_length() + value.denominator.bit_length() <= _COUNT_BITS


def rational_chars(value: Fraction | int) -> int:
    """Length of ``format_rational(value)``; for huge values (past ``_COUNT_BITS`` bits, far over
    the limit) an estimate from the bit lengths, without building a huge string."""
    value = Fraction(value)
    if not _counted(value):
        return round((value.numerator.bit_length() + value.denominator.bit_length()) * 0.30103)
    return len(format_rational(value))


def size_error(chars: int, what: str, text: str | None = None, *, estimated: bool = False) -> str:
    shown = f"{text[:20]}...{text[-8:]}" if text and len(text) > 40 else text
    return (f"{what}{f' {shown!r}' if shown else ''} written as a reduced fraction p/q has "
            f"{'about ' if estimated else ''}{chars} characters; at most "
            f"{MAX_NUMBER_CHARS} are accepted (the certificate checker's limit)")


def check_size(value: Fraction, *, what: str = "number", text: str | None = None) -> Fraction:
    """``value`` if it is within the shared limit ``MAX_NUMBER_CHARS``, else a ``ModelError``."""
    # Fast path: b bits have at most b·log10(2) + 1 digits, so up to _SURELY_SHORT_BITS bits in
    # all the text has at most 0.30103·6600 + 2 digits, a '/' and a sign: under 2000.
    if value.numerator.bit_length() + value.denominator.bit_length() <= _SURELY_SHORT_BITS:
        return value
    chars = rational_chars(value)
    if chars > MAX_NUMBER_CHARS:
        raise ModelError(size_error(chars, what, text, estimated=not _counted(value)))
    return value


# -- numbers given to the Python API ---------------------------------------------------

def exact_number(value: object, name: str) -> Fraction:
    """A number passed to a public function, read like the CLI reads one: ``Fraction``,
    ``int``, ``"p/q"`` or a decimal string; a float is refused (``RewardcertError``).
    ``Fraction`` and ``int`` are already exact and pass unchanged (derived values may be long);
    text is held to ``MAX_NUMBER_CHARS`` like every other input."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    try:
        return parse_rational(value, what=name)
    except ModelError as exc:
        raise ModelError(exc.message, entry=name) from None


def exact_vector(values: object, name: str) -> tuple[Fraction, ...]:
    """A sequence of numbers (a data distribution, a reward vector) read as ``exact_number``."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ModelError(f"expected a sequence of exact numbers, got {type(values).__name__}", entry=name)
    return tuple(exact_number(v, f"{name}[{i}]") for i, v in enumerate(values))


def exact_arguments(*scalars: str, vectors: tuple[str, ...] = ()):
    """Decorator for public functions: the named parameters go through ``exact_number``
    (``vectors``: ``exact_vector``); ``None`` passes through.  A float is refused with the
    same message as on the command line."""
    import functools
    import inspect

    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            for name in scalars:
                if bound.arguments.get(name) is not None:
                    bound.arguments[name] = exact_number(bound.arguments[name], name)
            for name in vectors:
                if bound.arguments.get(name) is not None:
                    bound.arguments[name] = exact_vector(bound.arguments[name], name)
            return function(*bound.args, **bound.kwargs)

        return wrapper

    return decorate


# -- readable output ---------------------------------------------------------------------

def approximate(value: Fraction | int, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, computed exactly (no float overflow):
    ``"0.0202"``, ``"4.3e9"``."""
    import decimal
    value = Fraction(value)
    context = decimal.Context(prec=digits, rounding=decimal.ROUND_HALF_EVEN, Emax=10**9, Emin=-10**9)
    number = context.divide(decimal.Decimal(value.numerator), decimal.Decimal(value.denominator))
    if number == 0:
        return "0"
    exponent = number.adjusted()
    if -5 <= exponent < 6:
        text = format(number, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa = format(number.scaleb(-exponent, context), "f")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{exponent}"


def with_decimal(value: Fraction | int | None, *, longest: int | None = None) -> str:
    """An exact rational with its decimal beside it: ``"2/99 (≈ 0.0202)"``, ``"1/5 (= 0.2)"``,
    ``"3"``; ``None`` is ``"inf"``.  Past ``longest`` characters only the decimal is shown,
    with the length of the exact value (for summaries of big models; ``--json`` has it)."""
    if value is None:
        return "inf"
    value = Fraction(value)
    if longest is not None and rational_chars(value) > longest:
        chars = rational_chars(value)
        about = "" if _counted(value) else "about "
        return f"≈ {approximate(value)} (exact: a fraction of {about}{chars} characters, in --json)"
    text = format_rational(value)
    if value.denominator == 1:
        return text
    shown = approximate(value)
    exact = Fraction(shown) == value
    return f"{text} ({'=' if exact else '≈'} {shown})"


def power_text(base: int, exponent: int, *, longest: int = 6) -> str:
    """``base ** exponent`` as digits when short, else ``"4^16 ≈ 4.3e9"``."""
    value = base ** exponent if exponent * max(base, 2).bit_length() < 4 * longest else None
    if value is not None and len(str(value)) <= longest:
        return str(value)
    import math
    # log10 of the count, to place the decimal point without computing 390-digit integers
    log = exponent * math.log10(base) if base > 0 else 0
    if log < 300:
        return f"{base}^{exponent} ≈ {approximate(base ** exponent, 2)}"
    mantissa = 10 ** (log - math.floor(log))
    return f"{base}^{exponent} ≈ {mantissa:.1f}e{math.floor(log)}"


def count_text(count: int) -> str:
    """A count as digits when short, else its size: ``"1200"``, ``"≈ 4.3e9"`` (no 390-digit lines)."""
    return str(count) if count < 10 ** 6 else f"≈ {approximate(count, 2)}"


def equals_count(count: int) -> str:
    """``"= 1200"`` or ``"≈ 4.3e9"``, to follow an expression such as ``C(64, 16)``."""
    text = count_text(count)
    return text if text.startswith("≈") else f"= {text}"
