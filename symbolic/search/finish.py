"""A stopped λ = 0 search's open families, their bounds and refinement; the search's result.

When a budget stops the search, ``ε*(D)`` lies between the smallest bound still open and the
incumbent.  The open families' regret-aware bounds are computed after the search's own budget ran
out, so they get their own (``finish_seconds``); an LP cut short by it still holds a feasible
``w``, a valid bound.  With ``refine``, what is left of that budget splits the weakest open family
again and again, best first; the splits go into the certificate tree like any other, so the
interval stays certified (docs/engine.md §2, "Family occupancy bounds" and "Budgets").
``Finishing`` is that layer of ``BranchAndBound`` (``bounding.py`` lists the layers).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import replace
from fractions import Fraction
from typing import TYPE_CHECKING, NamedTuple

from ..core.results import Family, Witness
from ..exact.linalg import to_fraction
from .families import lower_end
from .nodes import Nodes
from .policy_error import witness_reward
from .results import Closure, ThresholdResult

if TYPE_CHECKING:
    from ..guidance.floatlp import FloatState


FINISH_SECONDS = 2.0

FINISH_FRACTION = 0.1
"""A stopped search then spends up to max(FINISH_SECONDS, FINISH_FRACTION × its time budget) on the
regret-aware bounds of the families it left open (before, they were cut short at once)."""


class OpenFamily(NamedTuple):
    """A family a stopped search leaves open, in the refinement's queue (weakest ``bound`` first,
    ties in the order the families were opened)."""

    bound: Fraction
    tie: int
    family: Family
    state: FloatState
    pessimal: tuple                   # a member the floats found pessimal (see ``split_children``)
    closure: Closure                  # its bound, as the open leaf the certificate gets
    found: tuple | None               # its regret-aware float LP: the children's warm start
    marks: tuple | None               # what ``mark_used`` needs for its §3.7a vectors, if any


class Finishing(Nodes):
    """The result of a search, complete or stopped, and the work a stopped one does first."""

    def incumbent_witness(self) -> tuple[Fraction | None, Witness | None]:
        """The incumbent's normalised error and exact witness (none for a bound found elsewhere)."""
        if self.incumbent.found is None:
            return None, None
        policy, state = self.incumbent.found
        value = to_fraction(self.incumbent.value) / self.range_r
        return value, Witness(witness_reward(self.lp, state, policy, self.mdp.reward), policy, value)

    def result(self, value, witness, leaves, **rest) -> ThresholdResult:
        """The answer, with what every outcome carries (the tree's shape, ``H``, duplicates, memory)."""
        return ThresholdResult(value, witness, tuple(leaves), self.bounds, self.search_stats,
                               branch_order=self.order, occupancy=self.occupancy,
                               splits=self.splits if self.options.branching != "fixed" else None,
                               closure_bytes=self.held, node_occupancy=dict(self.node_bounds),
                               duplicates=self.duplicates, **rest)

    def finish(self) -> ThresholdResult:
        """The result of a stopped search: an interval, certified by the open families' bounds (or,
        if the refinement closed the gap, the exact answer after all)."""
        options = self.options
        seconds = options.finish_seconds
        if seconds is None:
            seconds = max(FINISH_SECONDS, FINISH_FRACTION * (options.max_seconds or 0))
        self.finish_seconds = seconds
        self.finish_deadline = time.monotonic() + seconds
        refine = options.refine
        if options.should_stop is not None and options.should_stop():
            refine = False                 # an interrupt asked to stop: report, do not keep searching
        queue = []
        for family, state, pess in self.open_leaves:
            closure, found, marks = self.open_closure(family, state)
            queue.append(OpenFamily(closure.bound, len(queue), family, state, pess, closure, found, marks))
        heapq.heapify(queue)
        if refine:
            self.refine_open(queue)
        for entry in queue:
            if entry.marks is not None:
                self.mark_used(*entry.marks)
        opened = tuple(entry.closure for entry in sorted(queue, key=lambda e: e.tie))
        value, witness = self.incumbent_witness()
        if refine and self.decide_value is None and self.incumbent.value is not None and \
                all(c.bound >= to_fraction(self.incumbent.value) for c in opened):
            # The refinement closed the gap: every open family is bounded by the incumbent, so each is
            # a closure like any other and the search is complete after all.
            return self.result(value, witness, tuple(self.closures) + opened)
        lower = lower_end(tuple(self.closures) + opened, value, self.range_r)
        return self.result(None, witness, self.closures, complete=False, open_leaves=opened, lower_bound=lower,
                           upper_bound=value, stop_reason=self.stop_reason)

    def finishing(self) -> bool:
        """The finishing budget is spent."""
        return time.monotonic() > self.finish_deadline

    def root_fallback(self) -> Closure | None:
        """The search root's regret-aware closure (computed once, with a moment beyond the finishing
        budget: a single LP): a family's members are members of the root, so its ``w`` bounds every
        open family, however many there are when the finishing budget runs out."""
        if not self.fallback_tried:
            self.fallback_tried = True
            # a second, or less where the whole finishing budget is less (a sub-second --timeout)
            grace = time.monotonic() + max(min(1.0, 2 * self.finish_seconds), 0.1 * self.finish_seconds)
            found = self.regret_dual(self.root, horizon=None)
            proven = found and self.regret_exact(found, should_stop=lambda: time.monotonic() > grace)
            self.fallback = self.regret_closure(self.root, proven) if proven else None
        return self.fallback

    def open_closure(self, family, state: FloatState, parent=None) -> tuple[Closure, tuple | None, tuple | None]:
        """The stronger of the two bounds an open family has (the regret-aware one is computed now),
        with its regret-aware float LP, which warm-starts the children's (``parent``: the parent's),
        and what ``mark_used`` needs for its §3.7a vectors (None if none), applied only if the
        closure is still open at the end: a family split again needs none of its own.
        Both bounds are exact, the plain one from the float basis's exact vertex (or y = 0)."""
        plain = self.exact_start(state, family)
        if self.finishing():
            # The finishing budget is spent: the plain bound (one exact vertex, cached), or the search
            # root's regret-aware closure, which holds for every family below the root.
            fallback = self.root_fallback()
            if fallback is not None and fallback.bound > to_fraction(plain.objective):
                return replace(fallback, family=tuple(family)), None, None
            return self.dual_closure(family, plain), None, None
        # The family's own H (format §3.7a): an open family's bound is the interval's lower end.
        horizon = self.family_horizon(family, None) if sum(a is not None for a in family) < self.n else None
        found = self.regret_dual(family, parent=parent, horizon=horizon)
        proven = found and self.regret_exact(found, should_stop=self.finishing)
        if proven and proven[0] > plain.objective:
            return self.regret_closure(family, proven), found, (horizon, family, proven)
        return self.dual_closure(family, plain), found, None

    def refine_open(self, queue: list[OpenFamily]) -> None:
        """Best-first refinement while the finishing budget lasts: split the weakest open family once
        more (children closed by regret drop out), in place on the heap ``queue``."""
        ties = len(queue)
        while queue and not self.finishing():
            weakest = queue[0]
            family = weakest.family
            if all(a is not None for a in family):
                exact = self.exact_optimum(weakest.state, family, should_stop=self.finishing)
                if not exact.optimal:
                    break                  # a single policy whose LP was cut short: nothing left to split
                heapq.heappop(queue)
                self.take_leaf(family, exact)   # a single policy of Π_L (it passed the regret test), as in visit
                continue
            heapq.heappop(queue)
            split = self.split_state(family, weakest.state, sum(a is not None for a in family))
            for _, child, child_pess in self.split_children(family, split, weakest.pessimal):
                child_state = self.bound(child, weakest.state, child_pess)
                own, found, marks = self.open_closure(tuple(child), child_state, weakest.found)
                # The parent's dual (plain or regret-aware) is feasible for every member of a child too,
                # so a child is never bounded below its parent (and then needs the parent's vectors: its
                # pairs are some of the parent's, and the parent's node carries them).
                if own.bound < weakest.closure.bound:
                    own, marks = replace(weakest.closure, family=tuple(child)), weakest.marks
                ties += 1
                heapq.heappush(queue, OpenFamily(own.bound, ties, tuple(child), child_state, child_pess, own,
                                                 found, marks))
