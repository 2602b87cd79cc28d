"""Exact safety decisions without regularisation (docs/theory.md §2–§3, §6 family certificates).

``critical_epsilon`` computes ``ε*(D) = min_{π ∈ Π_L} f_π(D) / range R`` by a
depth-first branch and bound over product families of deterministic policies
(per state: forced action or free).  A family is closed, without looking at
its members, by one of two exact arguments:

* **regret**: a uniformly pessimal policy of the family (exact policy
  iteration restricted to the family's actions) has return above
  ``J* − L · range J``, so every member has regret ``< L``;
* **dual**: a ``y`` feasible for every member (``y ≥ 0`` on every pair whose
  action the family does not force) with ``y · R`` at least the final
  critical error; weak duality bounds every member's ``f_π`` below by it.

Both arguments are sound for every member at once, so the closed leaves prove
``f_π(D) ≥ ε*(D) · range R`` for every ``π ∈ Π_L``; the incumbent's exact
witness proves the matching upper bound.  By Theorem E, ``D`` is safe for
``ε`` exactly when ``ε < ε*(D)``.

The search is the class ``BranchAndBound``, asked what to do by a ``SearchOptions``
(``options.py``); ``critical_epsilon`` builds both from its keywords.  The class is built in
layers, one module each (``bounding.py`` lists them); this one holds the depth-first visit, the
run, and the tuning constants the visit reads.
"""

from __future__ import annotations

import time
from dataclasses import fields, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Callable, Sequence

from ..core.model import MDP
from ..core.policies import check_deterministic
from ..exact.evaluation import Progress, ReturnBounds
from .bounding import OutOfBudget
from .families import family_size
from .finish import Finishing
from .nodes import round_ties
from .occupancy import OccupancyBounds
from .options import MAX_CLOSURE_BYTES, SearchOptions
from .regret import Horizon
from .results import SearchStats, ThresholdResult

if TYPE_CHECKING:
    from ..guidance.floatlp import FloatState


NODE_OCCUPANCY_DEPTHS = frozenset((4, 8))
"""The depths at which a family's regret-aware bound first lowers ``H`` for the family's own members
(format §3.7a; ``occupancy.py``'s ``FamilyOccupancy``); the subtree inherits it."""

FIXED_TOP_LEVELS = 0
"""How many levels dynamic branching splits in the fixed order first.  Near the root the family LPs
are degenerate (with every state free, y = 0 is the only feasible point), so 2 looked natural; it
was measured and is not better overall (docs/engine.md §2), so every level is dynamic."""

REGRET_TRIAL = 200

REGRET_MIN_SUCCESS = 0.01
"""The in-search regret-aware bound is tried at ``REGRET_TRIAL`` nodes first, and then only while at
least ``REGRET_MIN_SUCCESS`` of its tries have closed a family: on random 12×4 MDPs it closes nothing
and costs 10–20 %, on the 8×8 lake it closed 2 of 1,168 at half the nodes per second; on the 4×4
grid models it closes 5–15 % of the families it is tried on.  Each new incumbent starts the trial
again: on the 4x4 lake at L = 3/4 a poor first incumbent switched it off for good, and the search
needed 322,025 nodes instead of about 204,000.  Only speed depends on this; every closure is exact
either way."""


class BranchAndBound(Finishing):
    """The exact branch and bound for ``ε*(D)`` (docs/engine.md §2): ``BranchAndBound(mdp, data, L,
    options).run()``.  Its state is named in ``Bounding.__init__`` (``bounding.py``, which also lists
    the layers); this layer walks the tree."""

    def run(self) -> ThresholdResult:
        """Search (once: the instance keeps what it found), then finish a stopped search."""
        if self.bounds.degenerate:
            stats = SearchStats(0, 0, 0, 0, 0, 0, time.monotonic() - self.started)
            return ThresholdResult(None, None, (), self.bounds, stats)
        for candidate in self.options.seed_policies:
            candidate = self.duplicates.reduce(check_deterministic(self.mdp, candidate))
            if self.try_incumbent(candidate):
                self.polish(candidate)
        self.count.nodes += 1
        complete = self.search()
        if self.decide_value is not None:
            complete = False    # ε was decided; ε*(D) itself was not computed
        self.search_stats = self.count.stats(time.monotonic() - self.started)
        if complete:
            value, witness = self.incumbent_witness()
            return self.result(value, witness, self.closures, stop_reason=self.stop_reason)
        # Incomplete: ε* lies between the smallest bound still open and the incumbent.
        return self.finish()

    def search(self) -> bool:
        """The tree below the root family; False if a budget (or a decided answer) stopped it."""
        root = self.root
        try:
            root_pess = self.reduced_pessimal
            if self.depth0:
                start = [a if a is not None else p for a, p in zip(root, self.reduced_pessimal)]
                root_pess, values, j_min = self.pessimal(root, start)
                if j_min > self.threshold:
                    self.close_regret(root, root_pess, values, j_min)
                    return True
            root_state = self.bound(root, None, root_pess)
            if self.decided():
                self.open_leaves.append((tuple(root), root_state, root_pess))
                return False      # a seed already decides "unsafe at that ε"
            self.visit(root, self.depth0, root_state, root_pess)
        except OutOfBudget:
            return False
        return True

    def visit(self, family: list[int | None], depth: int, state: FloatState, pess_policy, regret_parent=None,
              horizon: Horizon | None = None) -> None:
        """``family`` passed the regret test; ``state`` is its float LP (possibly stopped early);
        ``regret_parent``: the parent's regret-aware LP (a warm start for this family's);
        ``horizon``: the occupancy bounds in force above it (None: the global ones).  Raises
        ``OutOfBudget`` after recording what it leaves open."""
        try:
            self.check_budget()
        except OutOfBudget:
            self.open_leaves.append((tuple(family), state, pess_policy))
            raise
        size = family_size(self.enabled, family)
        incumbent, decide_value = self.incumbent, self.decide_value
        exact = None
        if incumbent.value is not None:
            exact = self.prove(state, family, incumbent.value)
        if exact is None and decide_value is not None:
            exact = self.prove(state, family, decide_value, strict=True)
        if exact is not None:
            self.close_dual(family, exact)
            self.report(size)
            return
        found = None
        if depth < self.n:
            closed, found, horizon = self.try_regret_dual(family, depth, regret_parent, horizon)
            if closed:
                self.report(size)
                return
        if depth == self.n:
            exact = self.exact_optimum(state, family)
            if not exact.optimal:
                # Its LP was cut short by the budget: its value is only a bound, so it stays open.
                self.open_leaves.append((tuple(family), state, pess_policy))
                raise OutOfBudget
            # A single policy of Π_L: its exact f_π may lower the incumbent.
            self.take_leaf(family, exact)
            self.report(size)
            if self.decided():
                raise OutOfBudget
            return
        s = self.split_state(family, state, depth, FIXED_TOP_LEVELS)
        # Bound every surviving child (warm-started from this node), then visit the most promising first.
        children = [(self.bound(child, state, cp), a, child, cp)
                    for a, child, cp in self.split_children(family, s, pess_policy)]
        children.sort(key=lambda item: (round_ties(item[0].value), item[1]))
        for index, (child_state, _, child, child_pess) in enumerate(children):
            try:
                self.visit(child, depth + 1, child_state, child_pess, found, horizon)
            except OutOfBudget:
                self.open_leaves.extend((tuple(rest), rest_state, rest_pess)
                                        for rest_state, _, rest, rest_pess in children[index + 1:])
                raise

    def try_regret_dual(self, family, depth: int, regret_parent, horizon: Horizon | None):
        """The regret-aware bound of a family the plain dual left open, where it is worth trying: at
        every node when deciding one ε (against ``ε·range R``), else against the incumbent while
        its trial lasts (``REGRET_TRIAL``).  Returns ``(closed, its float LP for the children, the
        H in force below)``; a closure is recorded here."""
        incumbent, decide_value, trial = self.incumbent, self.decide_value, self.trial
        if decide_value is not None:
            horizon = self.node_horizon(family, depth, horizon)
            found = self.regret_dual(family, stop_at=decide_value, parent=regret_parent, horizon=horizon)
            proven = found and self.regret_exact(found, decide_value, strict=True)
        elif incumbent.value is not None and self.options.regret_aware and (
                trial.tries < REGRET_TRIAL or trial.closed >= REGRET_MIN_SUCCESS * trial.tries):
            self.count.regret_tries += 1
            trial.tries += 1
            horizon = self.node_horizon(family, depth, horizon)
            found = self.regret_dual(family, stop_at=incumbent.value, parent=regret_parent, horizon=horizon)
            proven = found and self.regret_exact(found, incumbent.value)
            if proven:
                trial.closed += 1
        else:
            return False, None, horizon
        if proven:
            self.count.regret_dual += 1
            self.mark_used(horizon, family, proven)
            self.closures.append(self.regret_closure(family, proven))
            return True, found, horizon
        return False, found, horizon

    def node_horizon(self, family, depth: int, above: Horizon | None) -> Horizon | None:
        """The ``H`` in force for ``family``: lowered for its members at ``NODE_OCCUPANCY_DEPTHS``
        (certified, format §3.7a), else inherited (None: the global one)."""
        return self.family_horizon(family, above) if depth in NODE_OCCUPANCY_DEPTHS else above



_KNOBS = frozenset(f.name for f in fields(SearchOptions))


def critical_epsilon(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, *,
                     options: SearchOptions | None = None,
                     bounds: ReturnBounds | None = None, progress: Progress | None = None,
                     max_seconds: float | None = None, max_nodes: int | None = None,
                     stop_below: Fraction | None = None, stop=None,
                     should_stop: Callable[[], bool] | None = None,
                     seed_policies: Sequence[Sequence[int]] = (),
                     regret_aware: bool = True,
                     decide_epsilon: Fraction | None = None,
                     root: Sequence[int | None] | None = None,
                     branch_order: Sequence[int] | None = None,
                     incumbent_bound: Fraction | None = None,
                     finish_seconds: float | None = None,
                     occupancy: OccupancyBounds | None = None,
                     branching: str = "dynamic",
                     max_closure_bytes: int | None = MAX_CLOSURE_BYTES,
                     refine: bool = False, merge_duplicates: bool = True,
                     polish_incumbents: bool = True,
                     family_occupancy: bool = True) -> ThresholdResult:
    """Exact ``ε*(D)`` by branch and bound, with the closures that certify it (``BranchAndBound``).

    Every keyword but ``options`` and ``stop`` is the ``SearchOptions`` field of that name, and is
    documented there.  ``options`` passes them as one object instead; a keyword given as well
    (one not at its default here) overrides its field.  ``stop``: a callable polled with the budget,
    like ``should_stop`` (the CLI's interrupts; both may be given): once it returns true the search
    ends as if ``max_seconds`` had run out (an interrupt keeps the interval known so far).

    Raises ``ModelError`` for a bad ``data`` or ``L`` and ``ValueError`` for a bad ``branching``,
    ``branch_order`` or ``root``.
    """
    arguments = dict(locals())
    knobs = {name: value for name, value in arguments.items() if name in _KNOBS}
    if options is None:
        options = SearchOptions(**knobs)
    else:
        defaults = critical_epsilon.__kwdefaults__
        options = replace(options, **{name: value for name, value in knobs.items() if value is not defaults[name]})
    if stop is not None:          # ``stop`` (the CLI's interrupts) and ``should_stop`` are one mechanism
        polled = options.should_stop
        options = replace(options, should_stop=stop if polled is None else (lambda a=stop, b=polled: a() or b()))
    return BranchAndBound(mdp, data, regret_bound, options).run()
