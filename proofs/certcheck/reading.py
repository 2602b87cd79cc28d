"""Reading a certificate: rule names, ``Reject``, exact rationals, names and tables.  Every value is
checked before use, so a wrong type or shape is a ``Reject`` naming the rule it breaks
(docs/certificate-format.md §5); messages show values only through ``show`` and ``num``."""

from __future__ import annotations

import re
from fractions import Fraction
from math import lcm

FORMAT, MODEL_FORMAT = "rewardcert/certificate-1", "rewardcert/mdp-1"
MAX_BYTES = 256 * 1024 * 1024
MAX_STATES, MAX_ACTIONS, MAX_PAIRS, MAX_TREE_NODES = 10_000, 1_000, 100_000, 10_000_000
MAX_NUMBER_CHARS = 2000   # the toolkit refuses longer numbers at input (symbolic/core/numbers.py; a test keeps them equal)
MAX_DEPTH = 2 * MAX_STATES + 100   # JSON nesting: a λ = 0 tree splits at most once per state, 2 levels a split

# Every rule the checker names: the rule tables of docs/certificate-format.md (tests/test_checker_fuzz.py).
RULES = ("format", "verdict", "model", "data", "epsilon", "regret-bound", "evidence", "optimal-policy",
         "pessimal-policy", "degenerate", "witness-reward", "witness-error", "witness-optimal", "witness-regret",
         "tree-split", "regret-member", "regret-values", "regret-pessimal", "regret-return", "dual-bounds",
         "dual-sign", "dual-flow", "dual-value", "cover-weights", "cover-witness", "cover-bound", "regret-dual-t",
         "regret-dual-bounds", "regret-dual-flow", "regret-dual-value", "occupancy-states", "occupancy-bound",
         "node-occupancy-states", "node-occupancy-bound", "duplicate-actions", "interval", "internal",
         "internal-error", "reg-instance", "reg-witness-error", "reg-fixed-point", "reg-policy-box",
         "reg-comparison", "reg-regret", "reg-positive-data", "reg-split", "reg-far", "reg-bound",
         "reg-preference-data", "reg-preference-error", "reg-preference-box", "reg-interval", "ht-instance",
         "ht-family", "ht-soft-optimum", "ht-bracket", "ht-donsker-varadhan", "ht-construction", "ht-condition",
         "ht-claim", "sq-instance", "sq-witness", "sq-policies", "sq-primal", "sq-stationarity", "sq-flow",
         "sq-dual-sign", "sq-active", "sq-complementarity", "sq-safe-bound", "sq-threshold")


class Reject(Exception):
    """A failed rule: the certificate does not prove its claim."""

    def __init__(self, rule: str, detail: str):
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


def require(condition: bool, rule: str, detail: str) -> None:
    """Raise ``Reject`` unless ``condition``.  The per-pair loops write ``if ...: raise Reject(...)``
    instead, so that their messages are formatted only on failure (formatting them for every pair
    that passed was about a fifth of the lake certificate's check)."""
    if not condition:
        raise Reject(rule, detail)


def show(value) -> str:
    """A certificate value for a message: at most about 60 characters, and never recursive."""
    kind = type(value)
    if kind is str:
        return repr(value) if len(value) <= 40 else f"{value[:40]!r}... ({len(value)} characters)"
    if kind is int:
        return repr(value) if abs(value) < 10 ** 40 else f"an integer of {value.bit_length()} bits"
    if value is None or kind is bool or kind is float:
        return repr(value)
    return {dict: "an object", list: "a list"}.get(kind, f"a {kind.__name__}")


def num(q: Fraction) -> str:
    """An exact rational for a message: exactly when short, else its first 6 digits (truncated,
    computed exactly; ``str`` of a long one can exceed Python's integer-to-text limit)."""
    if abs(q.numerator) < 10 ** 40 and q.denominator < 10 ** 40:
        return str(q)
    a = abs(q)
    e = (a.numerator.bit_length() - a.denominator.bit_length()) * 30103 // 100000   # ~ log10(a)
    while a < _power(e):
        e -= 1
    while a >= _power(e + 1):
        e += 1
    digits = str(int(a / _power(e - 5)))      # 6 digits: a < 10^(e+1)
    return f"~{'-' if q < 0 else ''}{digits[0]}.{digits[1:]}e{e:+d}"


def _power(k: int) -> Fraction:
    return Fraction(10 ** k) if k >= 0 else Fraction(1, 10 ** -k)


# -- exact rationals --------------------------------------------------------------------------

_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
_FRACTION = re.compile(r"([+-]?\d+)/(\d+)", re.ASCII)
_DECIMAL = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE]([+-]?\d+))?", re.ASCII)
_PLAIN = re.compile(r"(-?\d+)(?:/(\d+))?", re.ASCII)
_TOP, _BOTTOM = 10 ** MAX_NUMBER_CHARS, -10 ** (MAX_NUMBER_CHARS - 1)   # JSON integers of at most 2000 characters


def plain_rational(value) -> tuple[int, int] | None:
    """``(p, q)`` with ``q > 0`` and ``p/q`` the value ``rational`` reads, for the forms the toolkit
    writes: a JSON integer, or a string ``"p"`` or ``"p/q"`` (no spaces, no ``+``, ``q ≠ 0``), at most
    ``MAX_NUMBER_CHARS`` long.  None for anything else, which ``rational`` then reads or rejects.
    It lets the per-pair loops skip building a ``Fraction`` and a location string per number."""
    kind = type(value)
    if kind is int:
        return (value, 1) if _BOTTOM < value < _TOP else None
    if kind is str and len(value) <= MAX_NUMBER_CHARS:
        match = _PLAIN.fullmatch(value)
        if match is not None:
            q = match.group(2)
            if q is None:
                return int(match.group(1)), 1
            q = int(q)
            if q:
                return int(match.group(1)), q
    return None


def ratio(value, rule: str, *where: str) -> tuple[int, int]:
    """``(p, q)``, ``q > 0``, of the exact rational ``value`` (read as ``rational`` reads it); the
    location ``".".join(where)`` is built only when the plain form does not apply."""
    plain = plain_rational(value)
    if plain is not None:
        return plain
    q = rational(value, rule, ".".join(where))
    return q.numerator, q.denominator


def rational(value, rule: str, where: str) -> Fraction:
    """An exact rational: a JSON integer or a string "p", "p/q" or a finite decimal, at most
    ``MAX_NUMBER_CHARS`` characters long (docs/certificate-format.md §1)."""
    plain = plain_rational(value)
    if plain is not None:
        return Fraction(*plain)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise Reject(rule, f"{where}: expected an integer or a rational string, got {show(value)}")
    if isinstance(value, int):
        require(_BOTTOM < value < _TOP, rule, f"{where}: number too long")
        return Fraction(value)
    text = value.strip()
    require(len(text) <= MAX_NUMBER_CHARS, rule, f"{where}: number too long")
    if _INTEGER.fullmatch(text):
        return Fraction(int(text))
    match = _FRACTION.fullmatch(text)
    if match:
        require(int(match.group(2)) != 0, rule, f"{where}: zero denominator")
        return Fraction(int(match.group(1)), int(match.group(2)))
    match = _DECIMAL.fullmatch(text)
    if match:
        require(match.group(3) is None or abs(int(match.group(3))) <= MAX_NUMBER_CHARS, rule,
                f"{where}: exponent too large")
        return Fraction(text)
    raise Reject(rule, f"{where}: {show(value)} is not an exact rational")


def scaled(values) -> tuple[list[int], int]:
    """``(v·d for v in values), d`` with ``d`` the common denominator: exact integers whose
    signs and equalities are those of ``values``, for fast inner loops."""
    d = 1
    for v in values:
        d = lcm(d, v.denominator)
    return [v.numerator * (d // v.denominator) for v in values], d


def scaled_ratios(entries) -> tuple[list[int], int]:
    """``scaled`` for ``(p, q)`` pairs (``q > 0``; None counts as 0), as ``ratio`` reads them: ``d``
    is the lcm of the denominators as written, so for unreduced fractions it is a multiple of
    ``scaled``'s; every use of the integers is homogeneous in the two."""
    d = 1
    for e in entries:
        if e is not None and e[1] != 1:
            d = lcm(d, e[1])
    return [0 if e is None else e[0] * (d // e[1]) for e in entries], d


# -- shapes -----------------------------------------------------------------------------------

def obj(value, rule: str, where: str) -> dict:
    if not isinstance(value, dict):
        raise Reject(rule, f"{where}: expected an object, got {show(value)}")
    return value


def exact_keys(table: dict, keys: set, rule: str, what: str) -> None:
    """``table`` (an object) has exactly ``keys``."""
    if set(table) != keys:
        raise Reject(rule, f"{what} has exactly {', '.join(sorted(keys))}")


def name_list(value, rule: str, where: str, limit: int) -> list:
    require(isinstance(value, list) and value, rule, f"{where}: expected a non-empty list of names")
    require(len(value) <= limit, rule, f"{where}: more than {limit} names")
    require(all(isinstance(v, str) and v for v in value), rule, f"{where}: names must be non-empty strings")
    require(len(set(value)) == len(value), rule, f"{where}: duplicate names")
    return value


def keys_within(table: dict, allowed, rule: str, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise Reject(rule, f"{where}: unknown name {show(key)}")


def name_in(value, names: dict, rule: str, what: str) -> int:
    """The index of ``value`` in ``names`` (a name to index table); any other value is a rejection."""
    if not isinstance(value, str):
        raise Reject(rule, f"expected the name of a {what}, got {show(value)}")
    if value not in names:
        raise Reject(rule, f"unknown {what} {show(value)}")
    return names[value]
