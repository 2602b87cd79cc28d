"""The question's parameters, checked once for every layer: ``0 < L ≤ 1``, ``ε > 0``, ``λ > 0``.

Each check reads the number as the command line does (``exact_number``: a float is refused) and
returns it as a ``Fraction``; a value out of range is a ``ModelError`` naming the option, with one
message whichever layer is asked (the command line, the λ = 0 search, the regularised searches,
the matrix, the LP and SMT layers).
"""

from __future__ import annotations

from fractions import Fraction

from .errors import ModelError
from .numbers import exact_number, format_rational


def check_regret_bound(value) -> Fraction:
    """``L`` with ``0 < L ≤ 1`` (``L = 0`` would count every policy as high-regret)."""
    bound = exact_number(value, "--regret")
    if not 0 < bound <= 1:
        raise ModelError(f"the regret bound L = {format_rational(bound)} must satisfy 0 < L <= 1",
                         entry="--regret")
    return bound


def check_epsilon(value) -> Fraction:
    """``ε > 0`` (Definition 2.1)."""
    epsilon = exact_number(value, "--epsilon")
    if epsilon <= 0:
        raise ModelError(f"epsilon must be > 0, got {format_rational(epsilon)}", entry="--epsilon")
    return epsilon


def check_lambda(value) -> Fraction:
    """``λ > 0``: the strength of the KL regulariser."""
    lam = exact_number(value, "--lambda")
    if lam <= 0:
        raise ModelError(f"lambda = {format_rational(lam)} must be > 0", entry="--lambda")
    return lam
