"""Structured benchmark environments: FrozenLake-style lakes, slip gridworlds and chains (exact MDPs).

These are the toolkit's own benchmark instances (not from the paper), all
deterministic functions of their arguments:

* ``frozen_lake(size, seed, slippery=True)``: an ``size×size`` map, start top
  left, goal bottom right, holes drawn from ``random.Random(seed)`` with
  probability ``hole_density`` (never on the start or the goal, and redrawn
  until the goal is reachable).  A move goes in the intended direction, or
  (``slippery``) in either perpendicular direction, each with probability
  1/3, as in Gymnasium's FrozenLake; a move into a wall stays put.  Holes and
  the goal are absorbing.  ``R(s, a)`` is the probability of stepping onto the
  goal, so the return counts reaching it (discounted).
* ``slip_grid(size)``: ``examples/make_gridworld.py``'s gridworld at any size
  (moves succeed with 9/10 and stay put with 1/10).
* ``chain(n)``: ``n`` states in a line, ``forward`` and ``stay``; reward 1 in
  the last state.

    >>> lake = frozen_lake(4, 0)
    >>> lake.n_states, lake.n_actions, lake.n_deterministic_policies == 4 ** 16
    (16, 4, True)
    >>> all(sum(p for _, p in row) == 1 for row in lake.transitions)
    True
"""

from __future__ import annotations

import random
import sys
from fractions import Fraction
from pathlib import Path

from rewardcert.symbolic.core.model import MDP

MOVES = {"left": (0, -1), "down": (1, 0), "right": (0, 1), "up": (-1, 0)}
PERPENDICULAR = {"left": ("up", "down"), "right": ("up", "down"), "up": ("left", "right"),
                 "down": ("left", "right")}


def lake_map(size: int, seed: int, hole_density: float = 0.15) -> list[str]:
    """Rows of ``S``, ``F``, ``H``, ``G``; the goal is reachable from the start."""
    rng = random.Random(seed)
    while True:
        grid = [["H" if rng.random() < hole_density else "F" for _ in range(size)] for _ in range(size)]
        grid[0][0], grid[size - 1][size - 1] = "S", "G"
        seen, todo = {(0, 0)}, [(0, 0)]
        while todo:
            r, c = todo.pop()
            for dr, dc in MOVES.values():
                nr, nc = r + dr, c + dc
                if 0 <= nr < size and 0 <= nc < size and (nr, nc) not in seen and grid[nr][nc] != "H":
                    seen.add((nr, nc))
                    todo.append((nr, nc))
        if (size - 1, size - 1) in seen:
            return ["".join(row) for row in grid]


def frozen_lake(size: int, seed: int, *, slippery: bool = True, gamma: Fraction = Fraction(9, 10),
                hole_density: float = 0.15) -> MDP:
    rows = lake_map(size, seed, hole_density)
    n = size * size
    names = tuple(f"r{r}c{c}" for r in range(size) for c in range(size))
    goal = n - 1

    def step(r: int, c: int, move: str) -> int:
        dr, dc = MOVES[move]
        nr, nc = r + dr, c + dc
        return nr * size + nc if 0 <= nr < size and 0 <= nc < size else r * size + c

    transitions, reward = [], []
    for r in range(size):
        for c in range(size):
            s = r * size + c
            for move in MOVES:
                if rows[r][c] in "HG":
                    transitions.append(((s, Fraction(1)),))
                    reward.append(Fraction(0))
                    continue
                outcomes = [move, *PERPENDICULAR[move]] if slippery else [move]
                dist: dict[int, Fraction] = {}
                for o in outcomes:
                    t = step(r, c, o)
                    dist[t] = dist.get(t, Fraction(0)) + Fraction(1, len(outcomes))
                transitions.append(tuple(sorted(dist.items())))
                reward.append(dist.get(goal, Fraction(0)))
    initial = (Fraction(1),) + (Fraction(0),) * (n - 1)
    return MDP(names, tuple(MOVES), gamma, initial, tuple(reward), tuple(transitions),
               name=f"frozenlake-{size}x{size}-seed{seed}" + ("" if slippery else "-deterministic"))


def slip_grid(size: int) -> MDP:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    try:
        from make_gridworld import render
    finally:
        sys.path.pop(0)
    import tomllib

    from rewardcert.symbolic.core.io import model_from_document
    return model_from_document(tomllib.loads(render(size)))[0]


def chain(n: int, gamma: Fraction = Fraction(9, 10)) -> MDP:
    transitions, reward = [], []
    for s in range(n):
        transitions.append(((min(s + 1, n - 1), Fraction(1)),))
        transitions.append(((s, Fraction(1)),))
        reward += [Fraction(int(s == n - 1))] * 2
    initial = (Fraction(1),) + (Fraction(0),) * (n - 1)
    return MDP(tuple(f"s{i}" for i in range(n)), ("forward", "stay"), gamma, initial, tuple(reward),
               tuple(transitions), name=f"chain-{n}")
