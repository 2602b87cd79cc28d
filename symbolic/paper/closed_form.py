"""Proposition 3.2's closed-form bound, kept exact: ``(1−γ)/√2 · range J/range R · min D · L``.

The bound is ``q/√2`` for a rational ``q``.  Comparisons with a rational
``r ≥ 0`` are exact (``q/√2 ≤ r ⇔ q² ≤ 2r²``), and ratios are reported as
rigorous rational intervals from integer square roots, never as floats.
sympy carries the symbolic expression (for display and LaTeX); it is imported
only when an expression is asked for, because importing it costs about 0.2 s,
which every command would otherwise pay at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import isqrt
from typing import TYPE_CHECKING, Sequence

from ..core.model import MDP
from ..exact.evaluation import ReturnBounds
from ..guidance.floatvi import return_bounds

if TYPE_CHECKING:
    import sympy

SQRT2_DIGITS = 30


def sqrt2_interval(digits: int = SQRT2_DIGITS) -> tuple[Fraction, Fraction]:
    """Rationals ``lo < √2 < hi`` with ``hi − lo = 10^-digits`` (``lo² < 2 < hi²`` exactly)."""
    scale = 10 ** digits
    lo = isqrt(2 * scale * scale)
    return Fraction(lo, scale), Fraction(lo + 1, scale)


@dataclass(frozen=True)
class Proposition32:
    """The bound ``q/√2`` of Proposition 3.2 for one instance (``q`` exact)."""

    q: Fraction                    # (1−γ) · range J / range R · min D · L
    gamma: Fraction
    range_return: Fraction
    range_reward: Fraction
    min_data: Fraction
    regret_bound: Fraction

    @property
    def applies(self) -> bool:
        """The hypothesis: ``D`` is positive (and the reward is non-trivial)."""
        return self.min_data > 0 and self.range_reward > 0 and self.range_return > 0

    @property
    def expression(self) -> "sympy.Expr":
        """The bound as an exact sympy number (``q·√2/2``)."""
        import sympy
        return sympy.Rational(self.q.numerator, self.q.denominator) / sympy.sqrt(2)

    def general_expression(self) -> "sympy.Expr":
        import sympy
        gamma, range_j, range_r, min_d, L = sympy.symbols(
            r"\gamma \operatorname{range}J_R \operatorname{range}R \min_{x}D(x) L")
        return (1 - gamma) / sympy.sqrt(2) * range_j / range_r * min_d * L

    def latex(self) -> str:
        import sympy
        return (sympy.latex(self.general_expression()) + " = "
                + sympy.latex(self.expression))

    def interval(self) -> tuple[Fraction, Fraction]:
        """Rational ``lo ≤ bound ≤ hi``."""
        lo2, hi2 = sqrt2_interval()
        return self.q / hi2, self.q / lo2

    def at_most(self, value: Fraction) -> bool:
        """``bound ≤ value``, exactly."""
        if value < 0:
            return False
        return self.q * self.q <= 2 * value * value

    def below(self, value: Fraction) -> bool:
        """``value < bound``, exactly (Prop. 3.2's hypothesis on ε)."""
        if value < 0:
            return True
        return 2 * value * value < self.q * self.q

    def ratio_interval(self, critical: Fraction) -> tuple[Fraction, Fraction]:
        """``ε*(D) / bound = ε*·√2/q`` as a rigorous interval."""
        lo2, hi2 = sqrt2_interval()
        return critical * lo2 / self.q, critical * hi2 / self.q

    def ratio_is_sqrt2(self, critical: Fraction) -> bool:
        """``ε*(D) / bound == √2`` exactly, i.e. ``ε* = q`` (the tight case of Example D.14)."""
        return critical == self.q

    def safe_epsilon(self) -> Fraction:
        """A rational ``ε`` strictly below the bound (``q/hi`` with ``hi > √2``), for Prop. 3.1."""
        return self.q / sqrt2_interval(6)[1]


def proposition_3_2(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction,
                    bounds: ReturnBounds | None = None) -> Proposition32:
    bounds = bounds or return_bounds(mdp)
    range_r = mdp.range_reward
    min_d = min(data[x] for x in mdp.enabled_pairs)   # "positive D": on every enabled pair
    q = Fraction(0) if range_r == 0 else (1 - mdp.gamma) * bounds.range / range_r * min_d * regret_bound
    return Proposition32(q, mdp.gamma, bounds.range, range_r, min_d, regret_bound)


@dataclass(frozen=True)
class TheoremD11:
    """Thm D.11's three claims for an optimal policy of ``R̂`` with regret ``Reg``, each squared so
    that it is decided exactly over the rationals (all sums over the enabled pairs):

    1. ``Reg² (1−γ)² range J² ≤ 2 ‖R − R̂‖²``;
    2. if ``R·R̂ ≥ 0``: ``Reg² (1−γ)² range J² ≤ 2 ‖R − proj_R̂ R‖²``, where
       ``‖R − proj_R̂ R‖² = ‖R‖² − (R·R̂)²/‖R̂‖²`` (``proj_0 R = 0``);
    3. if ``D`` is positive: ``Reg² (1−γ)² range J² min D² ≤ 2 (E_D|R − R̂|)²``."""

    left: Fraction                      # Reg² (1−γ)² range J²
    right: Fraction                     # 2‖R − R̂‖²
    inner_product: Fraction             # R·R̂
    projection_right: Fraction | None   # 2‖R − proj_R̂ R‖², when R·R̂ ≥ 0
    min_data: Fraction | None           # min D (None: no data given)
    data_left: Fraction | None          # Reg² (1−γ)² range J² min D², when D is positive
    data_right: Fraction | None         # 2 (E_D|R − R̂|)²

    @property
    def holds(self) -> bool:
        """The first claim."""
        return self.left <= self.right

    @property
    def projection_holds(self) -> bool | None:
        """The second claim (None: its hypothesis R·R̂ ≥ 0 fails)."""
        return None if self.projection_right is None else self.left <= self.projection_right

    @property
    def data_holds(self) -> bool | None:
        """The third claim (None: D is not positive, or not given)."""
        return None if self.data_left is None else self.data_left <= self.data_right

    @property
    def all_hold(self) -> bool:
        return self.holds and self.projection_holds is not False and self.data_holds is not False


def theorem_d11(mdp: MDP, reward_model: Sequence[Fraction], regret: Fraction, bounds: ReturnBounds,
                data: Sequence[Fraction] | None = None) -> TheoremD11:
    """Decide Thm D.11's claims exactly for an optimal policy of ``reward_model`` with regret ``regret``."""
    pairs = mdp.enabled_pairs
    left = regret ** 2 * (1 - mdp.gamma) ** 2 * bounds.range ** 2
    right = 2 * sum(((mdp.reward[x] - reward_model[x]) ** 2 for x in pairs), Fraction(0))
    dot = sum((mdp.reward[x] * reward_model[x] for x in pairs), Fraction(0))
    projection = None
    if dot >= 0:
        norm_r = sum((mdp.reward[x] ** 2 for x in pairs), Fraction(0))
        norm_rh = sum((reward_model[x] ** 2 for x in pairs), Fraction(0))
        projection = 2 * (norm_r - (dot * dot / norm_rh if norm_rh else 0))
    min_d = data_left = data_right = None
    if data is not None:
        min_d = min(data[x] for x in pairs)
        if min_d > 0:
            data_left = left * min_d ** 2
            error = sum((data[x] * abs(mdp.reward[x] - reward_model[x]) for x in pairs), Fraction(0))
            data_right = 2 * error ** 2
    return TheoremD11(left, right, dot, projection, min_d, data_left, data_right)
