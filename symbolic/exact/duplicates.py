"""Duplicate actions: pairs of one state that no policy, reward model or data can tell apart.

Two enabled actions ``a`` and ``b`` of a state ``s`` are duplicates when
``τ(·|s,a) = τ(·|s,b)``, ``R(s,a) = R(s,b)`` and ``D(s,a) = D(s,b)``, exactly.
A policy that picks ``b`` then has the same return and the same ``f_π(D)`` as
the one that picks ``a`` instead (swap ``R̂(s,a)`` and ``R̂(s,b)`` in any
witness; docs/certificate-format.md §3.8), so the exact search needs only the
*reduced* policies, which pick the first action of every group of duplicates.
This reduction is the toolkit's own, not the paper's.

Grid models are full of duplicates: in a corner two moves bump into the wall,
and every action of an absorbing goal or hole is the same self-loop. On the
4×4 slippery FrozenLake-style map (three corners with two equal moves, and the
goal) it leaves ``4^12 · 3^3`` of the ``4^16`` policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..core.model import MDP


@dataclass(frozen=True)
class Duplicates:
    """``actions[s]``: the enabled actions of ``s`` kept (the first of each group of duplicates);
    ``cover``: every dropped pair (flat index ``s·m + b``) mapped to its kept duplicate ``s·m + a``."""

    n_actions: int
    actions: tuple[tuple[int, ...], ...]
    cover: dict[int, int]

    def reduce(self, policy: Sequence[int]) -> tuple[int, ...]:
        """The reduced policy with the same return and the same ``f_π(D)``."""
        m = self.n_actions
        return tuple(self.cover.get(s * m + a, s * m + a) - s * m for s, a in enumerate(policy))


def duplicate_actions(mdp: MDP, data: Sequence[Fraction], *, merge: bool = True) -> Duplicates:
    """The duplicates of ``mdp`` under ``data`` (none with ``merge=False``)."""
    m = mdp.n_actions
    kept, cover = [], {}
    for s in range(mdp.n_states):
        first: dict = {}
        actions = []
        for a in mdp.enabled_actions(s):
            x = s * m + a
            key = (tuple(sorted(mdp.successors(x))), mdp.reward[x], data[x]) if merge else x
            if key in first:
                cover[x] = first[key]
            else:
                first[key] = x
                actions.append(a)
        kept.append(tuple(actions))
    return Duplicates(m, tuple(kept), cover)
