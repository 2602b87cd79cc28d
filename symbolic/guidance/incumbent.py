"""A better first incumbent: float local search over the policies of regret ``≥ L``.

The exact search (``symbolic/search/engine.py``) prunes a family once its bound reaches the incumbent
``U``, the least ``f_π(D)`` verified so far, so the tree it must walk shrinks as ``U`` approaches
``ε*(D)·range R``.  The floating HiGHS MILP's policy, after its time limit, is often well above
that: on the slippery FrozenLake-style 4×4 map at ``L = 3/4`` its 10-second policy has
``f_π/range R = 0.00775`` against ``ε* = 0.00554``, and the search then took 336,666 nodes
instead of about 200,000 with the optimal incumbent.

``LocalSearch.improve`` walks from a policy to a better one.  It changes one state's action at a
time (the best change each round), and then two at a time, among the members whose float return
is clearly ``≤ thr``; each ``f_π`` is the float twin of the policy's exact LP
(``symbolic/guidance/floatlp.py``).  This is a toolkit heuristic, not the paper's.  It only proposes: the
caller verifies the proposal exactly (its exact return ``≤ thr`` and its exact ``f_π``) before it
becomes an incumbent, and keeps the old one otherwise, so a float error can only cost time.

Random restarts were measured and not kept: 30 restarts, each changing three states at random and
descending again, found the optimum from one of five MILP policies on that map, at 8 s each.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

from .floatlp import FloatFamilyLP, FloatPessimal, to_float

RELATIVE_GAIN = 1e-9          # a change must lower the float f_π by this fraction to count
MAX_ROUNDS = 200              # improvements per descent, at most (each lowers f_π, so it ends anyway)


class LocalSearch:
    """Float local search over deterministic policies of regret ``≥ L`` (see the module docstring).

    ``flp``: the float twin of the exact family LP; ``pessimal``: float policy evaluation (both
    shared with the search); ``enabled[s]``: the actions to try at ``s``; ``threshold``: the exact
    ``thr``."""

    def __init__(self, flp: FloatFamilyLP, pessimal: FloatPessimal, enabled: Sequence[Sequence[int]],
                 threshold) -> None:
        self.flp, self.pessimal, self.enabled = flp, pessimal, [tuple(a) for a in enabled]
        self.m = flp.lp.m
        self.threshold = to_float(threshold)
        self.evaluations = 0

    def error(self, policy: Sequence[int]) -> float | None:
        """The float ``f_π(D)`` of a member clearly of regret ``≥ L``; None if it is not, or if the
        floats cannot say."""
        if not self.flp.usable or not self.pessimal.usable:
            return None
        if self.pessimal.evaluate(policy) > self.threshold - self.pessimal.margin:
            return None
        self.evaluations += 1
        family = list(policy)
        state = self.flp.start([s * self.m + a for s, a in enumerate(policy)], None,
                               flower=self.flp.family_lower(family))
        self.flp.solve(state)
        return state.value if state.optimal and not state.failed else None

    def improve(self, policy: Sequence[int], *, deadline: float | None = None) -> tuple[int, ...]:
        """A policy whose float ``f_π`` is lower than ``policy``'s, or ``policy`` itself.  Stops at a
        local minimum of the one- and two-state changes, after ``MAX_ROUNDS`` improvements, or at
        ``deadline`` (``time.monotonic()``)."""
        current = tuple(policy)
        value = self.error(current)
        if value is None:
            return current
        n = len(current)
        late = (lambda: False) if deadline is None else (lambda: time.monotonic() > deadline)
        for _ in range(MAX_ROUNDS):
            best = None
            for s in range(n):
                for a in self.enabled[s]:
                    if a != current[s]:
                        candidate = current[:s] + (a,) + current[s + 1:]
                        found = self.error(candidate)
                        if found is not None and found < value * (1 - RELATIVE_GAIN) and (
                                best is None or found < best[0]):
                            best = (found, candidate)
                if late():
                    return current if best is None else best[1]
            if best is None:
                best = self._pair_move(current, value, late)
            if best is None:
                return current
            value, current = best
        return current

    def _pair_move(self, current: tuple[int, ...], value: float, late) -> tuple[float, tuple] | None:
        """The first two-state change that lowers the float ``f_π``, if any."""
        for s, t in itertools.combinations(range(len(current)), 2):
            for a in self.enabled[s]:
                if a == current[s]:
                    continue
                for b in self.enabled[t]:
                    if b == current[t]:
                        continue
                    candidate = list(current)
                    candidate[s], candidate[t] = a, b
                    found = self.error(candidate)
                    if found is not None and found < value * (1 - RELATIVE_GAIN):
                        return found, tuple(candidate)
            if late():
                return None
        return None


def local_search_for(mdp, data: Sequence, threshold, enabled: Sequence[Sequence[int]]) -> LocalSearch:
    """A ``LocalSearch`` with its own float twins, for callers outside ``critical_epsilon``
    (``symbolic/search/parallel.py`` polishes the seeds before it hands out subtrees)."""
    from ..exact.familylp import FamilyLP
    from ..exact.linalg import dynamics, to_fmpq
    dyn = dynamics(mdp)
    reward = [to_fmpq(r) for r in mdp.reward]
    flp = FloatFamilyLP(FamilyLP(dyn, reward, [to_fmpq(d) for d in data]))
    return LocalSearch(flp, FloatPessimal(dyn, reward, enabled), enabled, threshold)
