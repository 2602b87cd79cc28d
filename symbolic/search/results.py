"""What the λ = 0 search returns: frozen closures, statistics and the threshold result."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from ..core.model import DeterministicPolicy, Vector
from ..core.results import Family, Verdict, Witness
from ..exact.duplicates import Duplicates
from ..exact.evaluation import ReturnBounds
from .occupancy import OccupancyBounds

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class Closure:
    """A closed leaf of the search tree: why no member of ``family`` beats the answer."""

    family: Family
    kind: str                                # "regret" or "dual"
    policy: DeterministicPolicy | None = None  # regret: a uniformly pessimal member
    values: Vector | None = None             # regret: that policy's state values
    dual: Vector | None = None               # dual: the y
    bound: Fraction | None = None            # dual: y · R; regret: the pessimal return; regret-dual: w·R − t·thr
    t: Fraction | None = None                # regret-dual: the weight of the occupancy term
    w: Vector | None = None                  # regret-dual: the w (flow t·μ0)


@dataclass(frozen=True)
class SearchStats:
    nodes: int
    regret_closures: int
    dual_closures: int
    leaf_policies: int
    lp_solves: int               # float LPs (symbolic/guidance/floatlp.py); every closure is then made exact
    pivots: int
    seconds: float
    regret_dual_closures: int = 0
    exact_vertices: int = 0      # float bases rebuilt and checked exactly
    exact_solves: int = 0        # exact simplex runs (leaves, seeds, and where the floats were wrong)


@dataclass(frozen=True)
class ThresholdResult:
    """``ε*(D)`` for regret bound ``L`` with everything needed to certify it.

    ``critical_epsilon is None`` means ``+∞`` (no policy has regret ≥ L) when
    ``complete``; an incomplete search (budget exhausted) only brackets it:
    ``lower_bound ≤ ε*(D) ≤ upper_bound``.
    """

    critical_epsilon: Fraction | None
    witness: Witness | None
    closures: tuple[Closure, ...]
    bounds: ReturnBounds
    stats: SearchStats
    complete: bool = True
    open_leaves: tuple[Closure, ...] = ()      # families a budget left unexplored, with their duals
    lower_bound: Fraction | None = None
    upper_bound: Fraction | None = None
    branch_order: tuple[int, ...] = field(default=())
    occupancy: OccupancyBounds | None = None      # the H(s) regret-dual leaves used (format §3.7)
    splits: dict | None = None       # internal family -> the state split there (dynamic branching only)
    stop_reason: str | None = None   # "memory": the closures' memory budget stopped the search
    closure_bytes: int = 0           # the estimated memory of the closures kept
    duplicates: Duplicates | None = None   # the actions the tree leaves out (format §3.8)
    node_occupancy: dict | None = None     # family -> {s: U_s}: the tree nodes' own H (format §3.7a)

    def verdict(self, epsilon: Fraction) -> Verdict:
        """Safe iff ``ε < ε*(D)`` (the toolkit's Theorem E); UNKNOWN if the bracket does not decide.
        ``epsilon`` is read like the CLI reads it: a float is refused."""
        from ..core.numbers import exact_number
        epsilon = exact_number(epsilon, "epsilon")
        if self.complete:
            return Verdict.SAFE if self.critical_epsilon is None or epsilon < self.critical_epsilon \
                else Verdict.UNSAFE
        if self.upper_bound is not None and epsilon >= self.upper_bound:
            return Verdict.UNSAFE
        if self.lower_bound is not None and epsilon < self.lower_bound:
            return Verdict.SAFE
        return Verdict.UNKNOWN
