"""Families of growing bandit instances for catastrophic Goodhart, with declared truncation rules.

Every finite instance is light-tailed, so the phenomenon shows only across a family indexed by a
size ``N`` (docs/heavy-tails.md, "Families").  Each family is built from a tail: a survival
sequence ``S(1) = 1 > S(2) > … > S(N)`` on the integer levels ``k = 1..N``, with level masses
``q_k = S(k) − S(k+1)`` for ``k < N`` and the leftover ``q_N = S(N)`` lumped on the last level, so
``Σ q_k = 1`` exactly.

Tails (the members are exact rationals):

* ``power``, ``S(k) = k^{-α}`` rounded **up** to a dyadic ``⌈2^e k^{-α}⌉ / 2^e`` with
  ``e = 64 + ⌈p·bitlen(k)/q⌉`` for ``α = p/q``, i.e. at least 64 significant bits; this keeps every
  exact sum short (a sum of ``k^{-2}`` over ``10^4`` levels has a denominator of about 8,700
  digits, the rounded one about 30);
* ``subgauss``, ``S(k) = 2^{-(k-1)^2}``, exactly (dyadic already); an exact mean of a member has a
  numerator and a denominator of about ``0.3 (N−1)^2`` digits each, so the shared 2000-character
  limit caps ``N`` at ``SUBGAUSS_MAX``.

Families (``NAME:PARAMS``):

* ``power:ALPHA`` and ``subgauss`` (B2): one context; two normal outputs ``n0``, ``n1`` with
  ``Q = 9/20`` each and ``(V, U) = (0, 0)``, ``(1, 1)``; tail outputs ``t1..tN`` with ``V = 1/2``,
  ``U = 1/2 + k`` and ``Q(t_k) = q_k / 10``;
* ``product:ALPHA`` and ``product:subgauss`` (B1, the toolkit's independent product): outputs
  ``v0-k``, ``v1-k`` for ``k = 1..N`` with ``V = v``, ``X = k``, ``U = v + k``, ``Q = q_k / 2``; ``X``
  and ``V`` are independent under ``Q``;
* ``pareto:ALPHA`` (the Thm 3 counterexample): outputs ``x1..xN`` with ``X = k``, ``V = −k``,
  ``U = X + V = 0`` and ``Q = q_k``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..core.errors import ModelError
from ..core.numbers import MAX_NUMBER_CHARS, parse_rational, rational_chars
from .heavy_tails import Context, TailBandit

SIGNIFICANT_BITS = 64
"""The power tail's ``S(k)`` is rounded up to at least this many significant bits."""

SUBGAUSS_MAX = 58
"""The largest sub-Gaussian ``N``: a member's exact means (``E_Q U``, say) are fractions whose
numerator and denominator have about ``0.3 (N−1)^2`` digits each, and they must fit the shared
2000-character limit (at ``N = 58``: 1,961 characters)."""

MAX_LEVELS = 100_000
"""The largest ``N`` of any family (members are built and summed exactly in memory)."""

MAX_ALPHA = 16
"""``α = p/q`` needs ``0 < α ≤ 16`` and ``q ≤ 16``: the rounding takes an integer ``q``-th root of
``2^{eq}/k^p`` per level, whose size grows with ``p`` and ``q``."""

FAMILIES = ("power", "subgauss", "product", "pareto")


@dataclass(frozen=True)
class Family:
    """A family: its ``name`` and its tail, ``alpha`` for the power tail, None for the sub-Gaussian."""

    name: str
    alpha: Fraction | None

    @property
    def label(self) -> str:
        tail = "subgauss" if self.alpha is None else str(self.alpha)
        return "subgauss" if self.name == "subgauss" else f"{self.name}:{tail}"

    @property
    def max_size(self) -> int:
        return SUBGAUSS_MAX if self.alpha is None else MAX_LEVELS

    def outputs(self, size: int) -> int:
        return {"power": size + 2, "subgauss": size + 2, "product": 2 * size, "pareto": size}[self.name]

    def rule(self) -> str:
        """The truncation rule, in words (the output, the docs and the certificate name it)."""
        if self.alpha is None:
            tail = "S(k) = 2^-(k-1)^2 exactly"
        else:
            tail = (f"S(k) = k^-{self.alpha} rounded up to {SIGNIFICANT_BITS}+ significant bits "
                    f"(ceil(2^e k^-alpha)/2^e, e = {SIGNIFICANT_BITS} + ceil(p bitlen(k)/q))")
        levels = "q_k = S(k) - S(k+1) for k < N, the leftover q_N = S(N) on the last level"
        shape = {"power": "B2: n0 (V,U) = (0,0), n1 (1,1), Q = 9/20 each; t_k: V = 1/2, U = 1/2 + k, Q = q_k/10",
                 "subgauss": "B2: n0 (V,U) = (0,0), n1 (1,1), Q = 9/20 each; t_k: V = 1/2, U = 1/2 + k, Q = q_k/10",
                 "product": "B1: V in {0,1} independent of X = k; U = V + k, Q = q_k/2",
                 "pareto": "X = k, V = -X, U = 0, Q = q_k"}[self.name]
        return f"{shape}; {tail}; {levels}"


def parse_family(text: str) -> Family:
    """``power:ALPHA``, ``subgauss``, ``product:ALPHA|subgauss``, ``pareto:ALPHA``."""
    name, _, params = text.partition(":")
    name = name.strip().lower()
    if name not in FAMILIES:
        raise ModelError(f"unknown family {name!r}; the families are power:ALPHA, subgauss, "
                         "product:ALPHA (or product:subgauss) and pareto:ALPHA", entry="--family")
    if name == "subgauss":
        if params:
            raise ModelError("subgauss takes no parameter", entry="--family")
        return Family(name, None)
    if name == "product" and params.strip().lower() == "subgauss":
        return Family(name, None)
    if not params:
        raise ModelError(f"{name} needs its tail exponent: {name}:ALPHA (e.g. {name}:2)", entry="--family")
    try:
        alpha = parse_rational(params.strip(), what="alpha")
    except ModelError as exc:
        raise ModelError(exc.message, entry="--family") from None
    if not 0 < alpha <= MAX_ALPHA or alpha.denominator > MAX_ALPHA:
        raise ModelError(f"alpha must be a rational p/q with 0 < alpha <= {MAX_ALPHA} and q <= {MAX_ALPHA}, "
                         f"got {alpha}", entry="--family")
    return Family(name, alpha)


# -- the tails --------------------------------------------------------------------------------------

def _ceil_root(value: int, degree: int) -> int:
    """The smallest integer ``r ≥ 0`` with ``r^degree ≥ value`` (``value ≥ 0``)."""
    if value <= 1:
        return value
    if degree == 1:
        return value
    r = 1 << -(-value.bit_length() // degree)        # r^degree >= value
    while True:                                        # Newton from above: decreases to the floor root
        s = ((degree - 1) * r + value // r ** (degree - 1)) // degree
        if s >= r:
            break
        r = s
    while r ** degree > value:
        r -= 1
    return r if r ** degree >= value else r + 1


def power_survival(alpha: Fraction, k: int) -> Fraction:
    """``S(k) = ⌈2^e k^{-α}⌉ / 2^e`` with ``e = 64 + ⌈p·bitlen(k)/q⌉`` (``α = p/q``)."""
    p, q = alpha.numerator, alpha.denominator
    e = SIGNIFICANT_BITS + -(-p * k.bit_length() // q)
    # smallest m with m^q k^p >= 2^(e q), i.e. m^q >= ceil(2^(e q) / k^p)
    target = -(-(1 << (e * q)) // k ** p)
    return Fraction(_ceil_root(target, q), 1 << e)


def survival(family: Family, size: int) -> list[Fraction]:
    """``S(1..size)``."""
    if family.alpha is None:
        return [Fraction(1, 1 << ((k - 1) ** 2)) for k in range(1, size + 1)]
    return [power_survival(family.alpha, k) for k in range(1, size + 1)]


def level_masses(family: Family, size: int) -> list[Fraction]:
    """``q_1..q_N``: ``S(k) − S(k+1)``, the leftover ``S(N)`` on the last level; every one ``> 0``."""
    check_size(family, size)
    s = survival(family, size)
    masses = [s[k] - s[k + 1] for k in range(size - 1)] + [s[-1]]
    for k, q in enumerate(masses, start=1):
        if q <= 0:
            raise ModelError(f"{family.label}: the rounded survival S stops decreasing at level {k}, so "
                             f"N = {size} has a level of mass 0; use N < {k}", entry="--sizes")
    return masses


def check_size(family: Family, size: int) -> None:
    if not 1 <= size <= family.max_size:
        why = (" (its exact means are fractions of about 0.6 (N-1)^2 digits; the limit is "
               f"{MAX_NUMBER_CHARS} characters)" if family.alpha is None else "")
        raise ModelError(f"{family.label}: N must be between 1 and {family.max_size}{why}, got {size}",
                         entry="--sizes")


# -- the members -------------------------------------------------------------------------------------

def member(family: Family, size: int) -> TailBandit:
    """The member of size ``N`` (one context, ``s``)."""
    masses = level_masses(family, size)
    half = Fraction(1, 2)
    if family.name in ("power", "subgauss"):
        names = ("n0", "n1", *(f"t{k}" for k in range(1, size + 1)))
        true = (Fraction(0), Fraction(1), *([half] * size))
        proxy = (Fraction(0), Fraction(1), *(half + k for k in range(1, size + 1)))
        reference = (Fraction(9, 20), Fraction(9, 20), *(q / 10 for q in masses))
    elif family.name == "product":
        names = tuple(f"v{v}-{k}" for v in (0, 1) for k in range(1, size + 1))
        true = tuple(Fraction(v) for v in (0, 1) for _ in range(size))
        proxy = tuple(Fraction(v + k) for v in (0, 1) for k in range(1, size + 1))
        reference = tuple(q / 2 for _ in (0, 1) for q in masses)
    else:
        names = tuple(f"x{k}" for k in range(1, size + 1))
        true = tuple(Fraction(-k) for k in range(1, size + 1))
        proxy = (Fraction(0),) * size
        reference = tuple(masses)
    for value in (reference[-1], reference[0]):
        if rational_chars(value) > MAX_NUMBER_CHARS:
            raise ModelError(f"{family.label}, N = {size}: a probability has more than {MAX_NUMBER_CHARS} "
                             "characters", entry="--sizes")
    context = Context("s", Fraction(1), names, true, proxy, reference)
    return TailBandit(f"{family.label} N={size}", (context,))


def member_model(family: Family, size: int):
    """The member as files: ``(model, estimate, reference)`` documents (``rewardcert/mdp-1`` for the
    true reward ``V`` and for the estimate ``U``, ``rewardcert/policy-1`` for ``Q``)."""
    from ..core.io import model_to_document
    from ..core.model import MDP
    from ..core.numbers import format_rational
    from ..core.policyfile import POLICY_FORMAT
    bandit = member(family, size)
    context = bandit.contexts[0]
    model = MDP(("s",), context.outputs, Fraction(0), (Fraction(1),), context.true, None, bandit.name)
    estimate = model.with_reward(context.proxy)
    reference = {"format": POLICY_FORMAT, "name": f"{bandit.name} reference",
                 "policy": {"s": {a: format_rational(q) for a, q in zip(context.outputs, context.reference)}}}
    return model_to_document(model), model_to_document(estimate), reference
