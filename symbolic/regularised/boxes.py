"""The safe side at λ > 0: a best-first branch and bound over boxes of reward models.

The P1 ball lies in a root box.  A box is closed when it misses the ball (``far``) or when a
rigorous lower bound on ``J_R(π̂)`` over the whole box clears ``J* − L range J`` (``bound``).
Open boxes bound the certified lower end by their distance from ``R``.  A box lies under at most
``MAX_BOX_DEPTH`` nested splits, and the tree is assembled without recursion.
"""

from __future__ import annotations

import heapq
import itertools
import time
from fractions import Fraction
from typing import Sequence

from ..core.model import Vector
from ..rigorous import enclosures as rg
from ..rigorous.soft import (
    comparison_policy,
    policy_box,
    return_enclosure,
    soft_box,
)
from .problem import RegularisedProblem
from .results import BoxLeaf, BoxSearch, Progress

MAX_BOX_DEPTH = 200
"""A box is split at most this deep.  The nearest open box at this depth ends the search, and the
lower end is its distance.  A tiny data weight ``D(x)`` makes the root box ``ε range R / D(x)``
wide in ``x``; halving it without a bound gave a chain of thousands of splits in two seconds,
deeper than Python's recursion and JSON's nesting allow.  Certificates nest two JSON levels per
split, so this keeps them under 500."""


def _bound_box(problem: RegularisedProblem, lo: Vector, hi: Vector, weights: list | None = None) -> BoxLeaf | None:
    """A ``bound`` leaf if the rigorous lower bound on ``J_R(π̂)`` over the box clears ``thr``.
    ``weights``, if given, receives the upper ends of the policy box (they guide the split)."""
    mdp = problem.mdp
    if mdp.gamma:
        soft_low = soft_box(mdp, lo, problem.lam, problem.reference)
        soft_high = soft_box(mdp, hi, problem.lam, problem.reference)
        w_lo = [w - soft_low.radius for w in soft_low.values]
        w_hi = [w + soft_high.radius for w in soft_high.values]
    else:
        soft_low = soft_high = w_lo = w_hi = None
    lower, upper = policy_box(mdp, problem.lam, problem.reference, lo, hi, w_lo, w_hi)
    if weights is not None:
        weights[:] = [float(u) for u in upper]
    if sum(lower) > mdp.n_states or any(l > u for l, u in zip(lower, upper)):
        return None
    comparison = comparison_policy(mdp, lower, upper) if mdp.gamma else problem.reference
    j = return_enclosure(mdp, lower, upper, comparison)
    if not rg.clears(j.lower, problem.threshold, above=True):
        return None
    return BoxLeaf(lo, hi, "bound", problem.distance(lo, hi), soft_low, soft_high,
                   comparison if mdp.gamma else None)


def _split_coordinate(problem: RegularisedProblem, lo: Vector, hi: Vector, weights: Sequence[float]) -> int:
    """The coordinate whose width matters most: width times the largest probability the
    regularised optimum may give the pair (a pair it never plays barely moves ``J``)."""
    if not weights:
        return max(range(len(lo)), key=lambda x: hi[x] - lo[x])
    return max(range(len(lo)), key=lambda x: float(hi[x] - lo[x]) * (weights[x] + 1e-6))


def box_search(problem: RegularisedProblem, root_epsilon: Fraction, target: Fraction | None, *, deadline: float,
               max_boxes: int = 200_000, stop_at: Fraction | None = None,
               progress: Progress | None = None) -> BoxSearch:
    """Best-first branch and bound over the root box at ``root_epsilon``.

    Returns ``BoxSearch(tree, lower, finished, reason)``: ``lower`` is the certified lower end (every open box lies
    strictly farther than ``lower · range R`` from ``R``).  With ``target`` (a fixed ε), boxes farther
    than ``target · range R`` are closed as ``far`` at once and the search stops when every box is
    closed (``finished``) or the budget runs out."""
    range_r = problem.mdp.range_reward
    lo, hi = problem.root_box(root_epsilon)
    counter = itertools.count()
    nodes: dict[int, list] = {}
    root_id = next(counter)
    heap = [(problem.distance(lo, hi), root_id, lo, hi)]
    depth = {root_id: 0}
    far_limit = (target if target is not None else root_epsilon) * range_r
    boxes = 0
    reason = "finished"
    last_report = time.monotonic()
    while heap:
        distance, node_id, lo, hi = heap[0]
        if distance > far_limit:
            break                                      # every remaining box is far
        if problem.expired(deadline) or boxes >= max_boxes:
            reason = "budget"
            break
        if stop_at is not None and distance > stop_at * range_r:
            break                                      # the interval is as narrow as asked
        boxes += 1
        weights: list = []
        leaf = _bound_box(problem, lo, hi, weights)
        if leaf is None and depth[node_id] >= MAX_BOX_DEPTH:
            reason = "depth"                           # the nearest box stays open: the lower end is its distance
            break
        heapq.heappop(heap)
        if leaf is not None:
            nodes[node_id] = ["leaf", leaf]
            continue
        x = _split_coordinate(problem, lo, hi, weights)
        at = (lo[x] + hi[x]) / 2
        r = problem.mdp.reward[x]
        if abs(at - r) < (hi[x] - lo[x]) / 16:
            # Never cut through R itself: both halves would touch R (distance 0) and the search would
            # have to close all 2^d orthants around it before the lower end could rise.
            at = r + (hi[x] - lo[x]) / 8
        at = _short_between(lo[x], hi[x], at, avoid=r)
        low_hi = hi[:x] + (at,) + hi[x + 1:]
        high_lo = lo[:x] + (at,) + lo[x + 1:]
        low_id, high_id = next(counter), next(counter)
        nodes[node_id] = ["split", x, at, low_id, high_id]
        depth[low_id] = depth[high_id] = depth[node_id] + 1
        heapq.heappush(heap, (problem.distance(lo, low_hi), low_id, lo, low_hi))
        heapq.heappush(heap, (problem.distance(high_lo, hi), high_id, high_lo, hi))
        if progress and time.monotonic() - last_report > 1.0:
            last_report = time.monotonic()
            progress(f"boxes {boxes}, open {len(heap)}, lower end {float(heap[0][0] / range_r):.6g}")
    open_boxes = {node_id: (distance, lo, hi) for distance, node_id, lo, hi in heap}
    if open_boxes:
        nearest = min(d for d, _, _ in open_boxes.values())
        lower = min(nearest / range_r, root_epsilon)
        if target is None or nearest <= far_limit:
            # Strictly below the nearest open box, so that every open box is 'far' for the claim.
            lower = lower * (1 - Fraction(1, 2 ** 32))
    else:
        lower = root_epsilon
    lower = _short_below(lower)
    finished = all(d > far_limit for d, _, _ in open_boxes.values())
    for node_id, (distance, lo, hi) in open_boxes.items():
        nodes[node_id] = ["leaf", BoxLeaf(lo, hi, "far", distance)]
    return BoxSearch(_assemble(nodes, root_id), max(lower, Fraction(0)), finished, reason)


def _short_below(value: Fraction, bits: int = 48) -> Fraction:
    """``value`` rounded down to ``bits`` significant bits (a lower end stays valid when lowered)."""
    if value <= 0:
        return Fraction(0)
    shift = bits - (value.numerator.bit_length() - value.denominator.bit_length())
    scaled = value * Fraction(2) ** shift
    return Fraction(scaled.numerator // scaled.denominator) / Fraction(2) ** shift


def _short_between(lo: Fraction, hi: Fraction, mid: Fraction, avoid: Fraction | None = None) -> Fraction:
    """A rational with a short denominator strictly between ``lo`` and ``hi``, near ``mid``
    (and not equal to ``avoid``)."""
    width = hi - lo
    for bits in (8, 16, 32, 64):
        candidate = Fraction(round(mid * 2 ** bits), 2 ** bits)
        if lo + width / 4 < candidate < hi - width / 4 and candidate != avoid:
            return candidate
    return mid


def _assemble(nodes: dict[int, list], root_id: int):
    """The nested tree of ``nodes`` (ids to ``["leaf", BoxLeaf]`` or ``["split", x, at, low, high]``),
    built bottom-up without recursion."""
    built: dict[int, object] = {}
    stack = [root_id]
    while stack:
        node_id = stack[-1]
        entry = nodes[node_id]
        if entry[0] == "leaf":
            built[node_id] = entry[1]
            stack.pop()
            continue
        _, x, at, low_id, high_id = entry
        waiting = [child for child in (low_id, high_id) if child not in built]
        if waiting:
            stack.extend(waiting)
            continue
        built[node_id] = ("split", x, at, built.pop(low_id), built.pop(high_id))
        stack.pop()
    return built[root_id]
