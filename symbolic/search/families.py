"""Small facts about the search's product families, shared by the serial search and its workers.

A *family* fixes an action in some states and leaves the others free (``None``); its members are
the deterministic policies that agree with it (``docs/engine.md`` §2).  ``BranchAndBound``
(``engine.py``) and ``parallel_critical_epsilon`` (``parallel.py``) both need how many members a
family holds, the fixed branch order, and the certified lower end of a stopped search.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from ..core.model import MDP
from ..exact.evaluation import ReturnBounds, state_occupancy
from .results import Closure


def family_size(enabled: Sequence[Sequence[int]], family: Sequence[int | None]) -> int:
    """How many deterministic policies ``family`` holds (``enabled``: each state's allowed actions)."""
    size = 1
    for s, a in enumerate(family):
        if a is None:
            size *= len(enabled[s])
    return size


def lower_end(leaves: Sequence[Closure], value: Fraction | None, range_r: Fraction) -> Fraction:
    """The certified lower end of a stopped search: the weakest bound among its dual-type leaves
    (closed ones count too: in a decided search they are only known to exceed ε·range R; otherwise
    they are at least the final incumbent and change nothing), or the incumbent's error."""
    lows = [c.bound / range_r for c in leaves if c.kind != "regret"] + ([value] if value is not None else [])
    return min(lows) if lows else Fraction(0)


def fixed_branch_order(mdp: MDP, bounds: ReturnBounds) -> tuple[int, ...]:
    """The fixed branch order: first the states the optimal and pessimal policies visit most, since
    forcing them early lets the family duals use the pairs that matter.  Dynamic branching falls
    back on it, ``branching="fixed"`` follows it everywhere, and parallel subtrees split along it."""
    weight = [a + b for a, b in zip(state_occupancy(mdp, bounds.optimal_policy),
                                    state_occupancy(mdp, bounds.pessimal_policy))]
    return tuple(sorted(range(mdp.n_states), key=lambda s: (-weight[s], s)))
