"""What the λ = 0 search does at one node: close it, take a leaf, or split it (docs/engine.md §2).

``Nodes`` is the layer of ``BranchAndBound`` (``bounding.py`` lists the layers) that records
closures, keeps the incumbent (verifying seeds and the float local search's proposals exactly),
and splits a family: which children pass the regret test, and which free state to split on.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from flint import fmpq

from ..exact.familylp import LPState
from ..exact.linalg import bellman_solve, to_fraction
from .families import family_size
from .regret import RegretAware
from .results import Closure

if TYPE_CHECKING:
    from ..guidance.floatlp import FloatState


POLISH_SECONDS = 2.0

POLISH_FRACTION = 0.05
"""Each new incumbent (a seed, or a leaf that beats the incumbent) gets a float local search for a
better one (``guidance/incumbent.py``) of at most min(POLISH_SECONDS, POLISH_FRACTION × the time
left); what it proposes is verified exactly.  On the 4x4 lake at L = 3/4 it turns the MILP's
10-second policy (eps 0.00775) into one at 0.00568 in 0.4 s (the optimum is 0.00554)."""


def polish_seconds(left: float | None) -> float:
    """The local search's budget with ``left`` seconds of the search's budget left (None: none)."""
    return POLISH_SECONDS if left is None else min(POLISH_SECONDS, POLISH_FRACTION * max(0.0, left))


def round_ties(value: float) -> float:
    """A float LP value with its last digits dropped, so that exact ties stay ties."""
    return float(f"{value:.9e}") if math.isfinite(value) else value


class Nodes(RegretAware):
    """Closures, leaves, the incumbent, and the children of a split."""

    # -- Closures --------------------------------------------------------------------------------------

    def dual_closure(self, family, state: LPState) -> Closure:
        return Closure(tuple(family), "dual", dual=self.keep(self.lp.dual(state)), bound=to_fraction(state.objective))

    def close_dual(self, family, state: LPState) -> None:
        self.count.dual += 1
        self.closures.append(self.dual_closure(family, state))

    def close_regret(self, family, policy, values, j_min) -> None:
        self.count.regret += 1
        self.closures.append(Closure(tuple(family), "regret", policy=policy, values=self.keep(values),
                                     bound=to_fraction(j_min)))
        self.report(family_size(self.enabled, family))

    # -- Leaves and the incumbent ----------------------------------------------------------------------

    def take_leaf(self, family, state: LPState) -> None:
        """A single policy of Π_L whose LP ran to optimality: its exact f_π may lower the incumbent,
        and then the float local search looks for a better one near it."""
        self.count.leaves += 1
        if self.incumbent.value is None or state.objective < self.incumbent.value:
            self.lower_incumbent(state.objective, (tuple(family), state))
            self.polish(tuple(family))
        self.close_dual(family, state)

    def try_incumbent(self, candidate: tuple[int, ...]) -> bool:
        """Verify a proposed member of Π_L exactly (its exact return ≤ thr, its exact f_π) and make it
        the incumbent if it beats the current one; False if it is not a member."""
        m, reward = self.m, self.reward
        values = bellman_solve(self.dyn, candidate, [reward[s * m + a] for s, a in enumerate(candidate)])
        if sum((p * v for p, v in zip(self.mu0, values) if p), fmpq(0)) > self.threshold:
            return False        # regret < L: not a member of Π_L, so it bounds nothing
        exact = self.exact_optimum(self.bound(list(candidate), None, candidate), candidate,
                                   should_stop=lambda: False)
        if self.incumbent.value is None or exact.objective < self.incumbent.value:
            self.lower_incumbent(exact.objective, (candidate, exact))
        return True

    def lower_incumbent(self, value, found) -> None:
        """A better incumbent, which also starts a new trial of the regret-aware bound: it closes
        more against a lower incumbent, so an early verdict "it closes nothing here" is stale."""
        self.incumbent.value, self.incumbent.found = value, found
        self.trial.tries = self.trial.closed = 0

    def polish(self, policy: tuple[int, ...]) -> None:
        """The float local search from a verified member (``guidance/incumbent.py``); what it
        proposes is verified exactly before it may become the incumbent."""
        if self.local_search is None or self.decided():
            return              # nothing to polish for: the incumbent already decides "unsafe at ε"
        max_seconds = self.options.max_seconds
        left = None if max_seconds is None else max_seconds - (time.monotonic() - self.started)
        proposal = self.local_search.improve(policy, deadline=time.monotonic() + polish_seconds(left))
        if proposal != policy:
            self.try_incumbent(proposal)

    # -- Splitting -------------------------------------------------------------------------------------

    def split_children(self, family, s: int, pess_policy) -> list:
        """The children of ``family`` split on ``s`` that pass the regret test, as ``(action, child,
        a pessimal member)``; the others are recorded as regret closures.  ``pess_policy``: a member
        of ``family`` that the floats found pessimal, with return below ``thr``.  A child holding a
        member whose float return is clearly below ``thr`` is kept without an exact solve (its
        member then has regret ``≥ L``, so no regret closure is possible); any other child gets
        exact policy iteration, and so does every single policy, which is a leaf."""
        count, float_pessimal, threshold = self.count, self.float_pessimal, self.threshold
        keep_below = self.threshold_f - float_pessimal.margin
        out = []
        for a in self.enabled[s]:
            count.nodes += 1
            child = list(family)
            child[s] = a
            start = list(pess_policy)
            start[s] = a
            if None in child:
                if pess_policy[s] == a:
                    # The parent's member is a member of this child too.
                    out.append((a, child, pess_policy))
                    continue
                if float_pessimal.evaluate(start) < keep_below:
                    out.append((a, child, tuple(start)))     # a member of regret >= L, by its float return
                    continue
                proposal, j_float = float_pessimal.pessimal(child, start)
                if j_float < keep_below:
                    out.append((a, child, proposal))
                    continue
                start = list(proposal)
            child_pess, values, j_min = self.pessimal(child, start)
            if j_min > threshold:
                self.close_regret(child, child_pess, values, j_min)
                continue
            out.append((a, child, child_pess))
        return out

    def choose_state(self, family, state: FloatState) -> int:
        """Dynamic branching: the free state whose pairs the LP most wants to push below 0, that is
        the largest sum of ``−d(x)·D(x)`` over its pairs at ``y = 0`` with reduced cost ``d(x) < 0``
        (in the child that fixes ``a``, the pair ``(s, a)`` may go down to ``−D``); the first free
        state of the fixed order when no pair wants to (or when the float LP failed, and so says
        nothing).  Read from the float LP: it only shapes the tree."""
        from ..guidance.floatlp import REDUCED_COST_TOL, TIE  # numpy: not at start-up
        enabled, m, data_f = self.enabled, self.m, self.data_f
        d = None if state.failed else self.flp.reduced_costs(state)
        y = state.y
        best, chosen, fallback = 0.0, None, None
        for s_free in self.order:
            if family[s_free] is not None:
                continue
            if fallback is None:
                fallback = s_free
                if d is None:
                    break
            score = 0.0
            for a in enabled[s_free]:
                x = s_free * m + a
                if y[x] == 0 and d[x] < -REDUCED_COST_TOL:
                    score -= d[x] * data_f[x]
            if score > best * (1 + TIE):
                best, chosen = score, s_free
        return chosen if chosen is not None else fallback

    def split_state(self, family, state: FloatState, depth: int, fixed_levels: int = 0) -> int:
        """The state to split ``family`` (which fixes ``depth`` states) on, recorded for the
        certificate tree: the order's next one under ``branching="fixed"`` and in the first
        ``fixed_levels`` levels, else ``choose_state``'s."""
        if self.options.branching == "fixed" or depth < fixed_levels:
            s = self.order[depth]
        else:
            s = self.choose_state(family, state)
        self.splits[tuple(family)] = s
        return s
