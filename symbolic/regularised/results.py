"""What the regularised searches return: frozen witnesses, box trees and the three-valued result.

These types import no float library, so a certificate writer or a report can read them without
loading the searches (and numpy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

from ..core.model import Vector
from ..core.policies import StochasticPolicy
from ..core.results import Verdict
from ..exact.evaluation import ReturnBounds
from ..rigorous.enclosures import Enclosure
from ..rigorous.soft import SoftBox, SoftOptimum

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RegularisedWitness:
    """A rational ``R̂`` within error ``error`` whose regularised optimum has regret ``≥ L``."""

    reward: Vector
    error: Fraction                   # E_D|R̂ − R| / range R, exact
    optimum: SoftOptimum
    regret: Enclosure              # Reg^R(π̂)
    kind: str                         # which search found it


@dataclass(frozen=True)
class BoxLeaf:
    lower: Vector
    upper: Vector
    kind: str                         # "far", "bound" or "open"
    distance: Fraction                # Σ D(x) dist(R(x), box), exact
    soft_low: SoftBox | None = None
    soft_high: SoftBox | None = None
    comparison: StochasticPolicy | None = None


@dataclass(frozen=True)
class BoxTree:
    """A binary partition of the root box: ``("split", x, at, low, high)`` or a ``BoxLeaf``."""

    root_epsilon: Fraction
    node: object
    radii: dict = field(default_factory=dict)   # preference error: the root box's half-widths by pair


@dataclass(frozen=True)
class BoxSearch:
    tree: object
    lower: Fraction
    finished: bool
    reason: str         # why it stopped: "finished" (or narrow enough), "budget" or "depth" (MAX_BOX_DEPTH)


@dataclass(frozen=True)
class RegularisedResult:
    """``lower ≤ ε*_λ(D) ≤ upper`` (``upper is None``: no witness found, ``+∞`` possible)."""

    lam: Fraction
    reference: StochasticPolicy
    bounds: ReturnBounds
    lower: Fraction
    upper: Fraction | None
    witness: RegularisedWitness | None
    tree: BoxTree | None              # proves the lower end (when lower > 0)
    complete: bool                    # the interval reached the requested width
    stats: dict = field(default_factory=dict)
    error_measure: str = "absolute"   # P1: "absolute" (E_D|R^ - R|) or "preference" (Def C.27, D = D^ref)

    def verdict(self, epsilon: Fraction) -> Verdict:
        if self.upper is not None and epsilon >= self.upper:
            return Verdict.UNSAFE
        if self.tree is not None and epsilon <= self.lower:
            return Verdict.SAFE
        return Verdict.UNKNOWN

    @property
    def interval(self) -> Enclosure | None:
        return None if self.upper is None else Enclosure(self.lower, self.upper)
