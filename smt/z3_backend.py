"""The fence around z3: the only module of rewardcert that imports it.

Everything that crosses between the toolkit and z3 goes through here:

* ``load_z3()`` hands the z3 module to the rest of ``smt/``, turning a
  missing or broken installation into ``BackendUnavailable`` with an install
  hint;
* ``rational`` writes a ``Fraction`` into z3 as the exact numeral ``n/d``
  (never through a float), and ``to_fraction`` reads a model value back
  through its numerator and denominator;
* ``status`` maps z3's three check results onto a plain string, so callers
  never compare z3 objects (``unknown`` stays ``unknown``: it is never
  read as "no solution").

Each query runs in a fresh ``z3.Context`` (see ``new_context``) so that no
state is shared between calls and time-outs do not leak into later queries.
"""

from __future__ import annotations

from fractions import Fraction
from types import ModuleType

from rewardcert.symbolic.core.errors import BackendUnavailable, RewardcertError

INSTALL_HINT = "pip install z3-solver"

SAT, UNSAT, UNKNOWN = "sat", "unsat", "unknown"


def load_z3() -> ModuleType:
    """The z3 module, or ``BackendUnavailable`` saying how to install it."""
    try:
        import z3
    except ImportError as exc:
        raise BackendUnavailable(f"the SMT backend needs z3 ({exc}); install it with: {INSTALL_HINT}") from None
    except OSError as exc:  # the bindings are there but libz3 cannot be loaded
        raise BackendUnavailable(f"z3 is installed but its library cannot be loaded ({exc}); "
                                 f"reinstall it with: {INSTALL_HINT}") from None
    return z3


def new_context():
    """A fresh z3 context: one per query, so nothing is shared between calls."""
    return load_z3().Context()


def rational(value: Fraction | int, ctx):
    """The exact z3 real numeral ``n/d`` of a rational (floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, (Fraction, int)):
        raise RewardcertError(f"internal error: only exact rationals go into z3, got {type(value).__name__} "
                              f"{value!r}")
    value = Fraction(value)
    return load_z3().RealVal(f"{value.numerator}/{value.denominator}", ctx)


def is_numeral(value) -> bool:
    """Is this z3 term an exact rational (or integer) numeral?"""
    z3 = load_z3()
    return z3.is_rational_value(value) or z3.is_int_value(value)


def to_fraction(value) -> Fraction:
    """A z3 rational numeral as a ``Fraction`` (anything else is an internal error)."""
    # Optimize reports integral objective values as Int numerals; both are exact.
    if not is_numeral(value):
        raise RewardcertError(f"internal error: z3 returned {value!r}, which is not a rational numeral")
    if load_z3().is_int_value(value):
        return Fraction(value.as_long())
    return Fraction(value.numerator_as_long(), value.denominator_as_long())


def model_value(model, term) -> Fraction:
    """The exact value of an arithmetic term in a model (unconstrained terms read as 0)."""
    return to_fraction(model.eval(term, model_completion=True))


def model_flag(model, term) -> bool:
    """The truth value of a Boolean term in a model (unconstrained terms read as false)."""
    z3 = load_z3()
    value = model.eval(term, model_completion=True)
    if z3.is_true(value):
        return True
    if z3.is_false(value):
        return False
    raise RewardcertError(f"internal error: z3 returned {value!r} for a Boolean")


def status(result) -> str:
    """``"sat"``, ``"unsat"`` or ``"unknown"`` for a z3 check result."""
    z3 = load_z3()
    if result == z3.sat:
        return SAT
    if result == z3.unsat:
        return UNSAT
    return UNKNOWN


def set_timeout(solver, timeout_ms: int | None) -> None:
    """Give a ``Solver`` or ``Optimize`` a wall-clock budget in milliseconds."""
    if timeout_ms is not None:
        solver.set("timeout", max(1, int(timeout_ms)))
