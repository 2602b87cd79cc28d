"""Safety under KL-regularised optimisation (λ > 0; SPEC §5, paper §4): three-valued verdicts.

``ε*_λ(D) = inf{ε : D unsafe}`` is bracketed by a verified interval:

* **upper** — the error of a rational reward model ``R̂`` whose regularised
  optimum provably has ``Reg^R(π̂) ≥ L`` (``rigorous.soft_optimum``).  The
  search for cheap witnesses is floating-point and only proposes; each
  candidate counts only once verified.
* **lower** — a proof that every ``R̂`` in the weighted ℓ1 ball
  ``Σ D(x)|R̂(x) − R(x)| ≤ lower · range R`` has ``Reg^R(π̂) < L``: a branch and
  bound over boxes of reward models.  A box is closed when it misses the ball
  (``far``) or when a rigorous lower bound on ``J_R(π̂)`` over the box clears
  ``J* − L range J`` (``bound``).  Open boxes bound the lower end by their
  distance from ``R``.

Unlike ``λ = 0``, the optimum is unique and continuous in ``R̂``, so ties are
not adversarial: that is why ``ε*_λ(D)`` is an infimum approached from inside,
and why ``λ → 0`` approaches the exact ``ε*(D)`` only from above in general.
"""

from __future__ import annotations

import heapq
import itertools
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from . import rigorous as rg
from .errors import ModelError
from .evaluation import ReturnBounds, StochasticPolicy, return_bounds, support
from .model import MDP, Vector, require_all_actions
from .results import Verdict

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RegularisedWitness:
    """A rational ``R̂`` within error ``error`` whose regularised optimum has regret ``≥ L``."""

    reward: Vector
    error: Fraction                   # E_D|R̂ − R| / range R, exact
    optimum: rg.SoftOptimum
    regret: rg.Enclosure              # Reg^R(π̂)
    kind: str                         # which search found it


@dataclass(frozen=True)
class BoxLeaf:
    lower: Vector
    upper: Vector
    kind: str                         # "far", "bound" or "open"
    distance: Fraction                # Σ D(x) dist(R(x), box), exact
    soft_low: rg.SoftBox | None = None
    soft_high: rg.SoftBox | None = None
    comparison: StochasticPolicy | None = None


@dataclass(frozen=True)
class BoxTree:
    """A binary partition of the root box: ``("split", x, at, low, high)`` or a ``BoxLeaf``."""

    root_epsilon: Fraction
    node: object
    radii: dict = field(default_factory=dict)   # preference error: the root box's half-widths by pair


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
    def interval(self) -> rg.Enclosure | None:
        return None if self.upper is None else rg.Enclosure(self.lower, self.upper)


# -- the instance ------------------------------------------------------------------

@dataclass
class _Problem:
    mdp: MDP
    data: Vector
    regret_bound: Fraction
    lam: Fraction
    reference: StochasticPolicy
    bounds: ReturnBounds
    stop: Callable[[], bool] | None = None   # e.g. Ctrl-C: stop like a time-out, keep what is known
    threshold: Fraction = field(init=False)
    log_ref: np.ndarray = field(init=False)
    P: np.ndarray = field(init=False)

    def __post_init__(self):
        self.threshold = self.bounds.regret_threshold(self.regret_bound)
        self.log_ref = np.log(np.array([[float(p) for p in row] for row in self.reference]))
        self.P = rg._float_dynamics(self.mdp)
        self.R = np.array([float(r) for r in self.mdp.reward])
        self.D = np.array([float(d) for d in self.data])
        self.range_r = float(self.mdp.range_reward)
        self.thr = float(self.threshold)
        self.mu0 = np.array([float(p) for p in self.mdp.initial])

    def expired(self, deadline: float) -> bool:
        return time.monotonic() > deadline or (self.stop is not None and self.stop())

    # floating guide ---------------------------------------------------------------
    def float_return(self, reward: np.ndarray) -> float:
        """``J_R(π̂_R̂)`` in floats (guides the search only)."""
        mdp = self.mdp
        n, m = mdp.n_states, mdp.n_actions
        _, pi = rg.soft_values_float(mdp, reward, float(self.lam), self.log_ref, self.P)
        if not mdp.gamma:
            return float(self.mu0 @ (pi * self.R.reshape(n, m)).sum(axis=1))
        P_pi = (pi[:, :, None] * self.P.reshape(n, m, n)).sum(axis=1)
        r_pi = (pi * self.R.reshape(n, m)).sum(axis=1)
        return float(self.mu0 @ np.linalg.solve(np.eye(n) - P_pi, r_pi))

    def float_cost(self, reward: np.ndarray) -> float:
        return float(self.D @ np.abs(reward - self.R)) / self.range_r

    def error(self, reward: Sequence[Fraction]) -> Fraction:
        return sum((d * abs(rh - r) for d, rh, r in zip(self.data, reward, self.mdp.reward) if d),
                   Fraction(0)) / self.mdp.range_reward

    # the safe side: the P1 set's bounding box and a box's distance from R (times range R)
    def root_box(self, epsilon: Fraction) -> tuple[Vector, Vector]:
        return _root_box(self, epsilon)

    def distance(self, lo: Sequence[Fraction], hi: Sequence[Fraction]) -> Fraction:
        return _distance(self, lo, hi)

    # rigorous -------------------------------------------------------------------
    def verify(self, reward: Sequence[Fraction], kind: str) -> RegularisedWitness | None:
        optimum = rg.soft_optimum(self.mdp, reward, self.lam, self.reference)
        if not rg.clears(optimum.true_return.upper, self.threshold, above=False):
            return None
        b = self.bounds
        regret = rg.Enclosure((b.optimal_return - optimum.true_return.upper) / b.range,
                              (b.optimal_return - optimum.true_return.lower) / b.range)
        return RegularisedWitness(tuple(reward), self.error(reward), optimum, regret, kind)


def _problem(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, lam: Fraction,
             reference: StochasticPolicy | None, bounds: ReturnBounds | None, stop=None) -> _Problem:
    from .model import validate_distribution
    from .numbers import exact_number
    lam = exact_number(lam, "lambda")
    if lam <= 0:
        raise ModelError(f"lambda = {lam} must be > 0", entry="--lambda")
    regret_bound = exact_number(regret_bound, "regret_bound")
    if not 0 < regret_bound <= 1:
        raise ModelError(f"L = {regret_bound} must satisfy 0 < L <= 1", entry="--regret")
    data = validate_distribution(mdp, [exact_number(d, "data") for d in data])
    reference = rg.uniform_policy(mdp) if reference is None else rg.check_reference(mdp, reference)
    return _Problem(mdp, tuple(data), regret_bound, lam, reference, bounds or return_bounds(mdp), stop)


def _epsilon(value) -> Fraction:
    from .numbers import exact_number
    epsilon = exact_number(value, "epsilon")
    if epsilon <= 0:
        raise ModelError(f"epsilon must be > 0, got {epsilon}", entry="--epsilon")
    return epsilon


# -- witness search (floating guide, rigorous verification) ----------------------------

SCAN_RATIO = 1.25
"""``_boundary`` scans ``t`` geometrically by this ratio.  The return need not fall monotonically in
``t``: on a 2-state MDP (λ = 2) raising one zero-weight pair's reward put ``J ≤ thr`` only for
rewards in about [5.96, 13], a window that doubling stepped over, so a zero-error witness was
missed (found by an independent audit)."""


def _boundary(problem: _Problem, make: Callable[[float], np.ndarray], hi_limit: float) -> float | None:
    """Smallest ``t`` in ``(0, hi_limit]`` on a geometric scan (``SCAN_RATIO``) with
    ``J(make(t)) ≤ thr``, refined by bisection against the scan point before it."""
    thr = problem.thr
    t = 1e-3
    while problem.float_return(make(t)) > thr:
        t *= SCAN_RATIO
        if t > hi_limit:
            return None
    lo, hi = (t / SCAN_RATIO, t) if t > 1e-3 else (0.0, t)
    for _ in range(60):
        mid = (lo + hi) / 2
        if problem.float_return(make(mid)) <= thr:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-12 * hi:
            break
    return hi


def _rationalise(problem: _Problem, reward: np.ndarray, kind: str, fixed: dict[int, Fraction] | None = None
                 ) -> RegularisedWitness | None:
    """Push a floating candidate slightly past the boundary, make it rational, and verify it."""
    R = problem.R
    for push in (1e-9, 1e-6, 1e-3, 3e-2):
        candidate = R + (reward - R) * (1 + push)
        exact = [Fraction(float(v)).limit_denominator(10 ** 12) if abs(v - r) > 0 else rr
                 for v, r, rr in zip(candidate, R, problem.mdp.reward)]
        found = problem.verify(exact, kind)
        if found is not None:
            return found
    return None


def _single_pair_witnesses(problem: _Problem, deadline: float) -> list[RegularisedWitness]:
    found = []
    scale = problem.range_r + float(problem.lam) * (10 + float(np.max(-problem.log_ref)))
    for x in range(problem.mdp.n_pairs):
        if problem.expired(deadline):
            break
        for sign in (1.0, -1.0):
            direction = np.zeros_like(problem.R)
            direction[x] = sign * scale
            t = _boundary(problem, lambda t: problem.R + t * direction, 2.0 ** 12)
            if t is not None:
                w = _rationalise(problem, problem.R + t * direction, "one pair")
                if w is not None:
                    found.append(w)
    return found


def _support_witnesses(problem: _Problem, deadline: float) -> list[RegularisedWitness]:
    """Raise ``supp D^π`` of each high-regret deterministic ``π`` to one common level."""
    mdp = problem.mdp
    found = []
    if mdp.n_deterministic_policies <= 4096:
        from .evaluation import expected_return
        policies = [p for p in mdp.deterministic_policies()
                    if expected_return(mdp, p) <= problem.threshold]
    else:
        policies = [problem.bounds.pessimal_policy]
    top = float(max(mdp.reward))
    scale = problem.range_r + float(problem.lam) * (10 + float(np.max(-problem.log_ref)))
    for policy in policies:
        if problem.expired(deadline):
            break
        pairs = sorted(support(mdp, policy))
        def make(t, pairs=pairs):
            r = problem.R.copy()
            for x in pairs:
                r[x] = max(r[x], top + t * scale)
            return r
        t = _boundary(problem, make, 2.0 ** 12)
        if t is not None:
            w = _rationalise(problem, make(t), "support of " + " ".join(
                f"{s}={a}" for s, a in mdp.policy_to_mapping(policy).items()))
            if w is not None:
                found.append(w)
    return found


def _local_search(problem: _Problem, start: np.ndarray, deadline: float) -> np.ndarray:
    """Pattern search over all of ``R̂``: perturb one coordinate, slide back to the boundary along
    the ray from ``R``, keep it when it is cheaper."""
    R = problem.R
    best = start.copy()
    best_cost = problem.float_cost(best)
    step = 0.25
    while step > 1e-4 and not problem.expired(deadline):
        improved = False
        for x in range(len(R)):
            for sign in (1.0, -1.0):
                if problem.expired(deadline):
                    return best
                delta = best - R
                scale = max(abs(delta[x]), 0.1 * problem.range_r)
                trial = delta.copy()
                trial[x] += sign * step * scale
                if not np.any(trial):
                    continue
                t = _boundary(problem, lambda t: R + t * trial, 64.0)
                if t is None:
                    continue
                cost = problem.float_cost(R + t * trial)
                if cost < best_cost * (1 - 1e-9):
                    best, best_cost, improved = R + t * trial, cost, True
        if not improved:
            step /= 2
    return best


def find_witness(problem: _Problem, *, seconds: float = 10.0, progress: Progress | None = None,
                 good_enough: Fraction | None = None) -> RegularisedWitness | None:
    """The cheapest verified witness found by the three searches of the issue (one pair, common
    support level, local search); with ``good_enough``, the first with at most that error."""
    deadline = time.monotonic() + seconds
    # The first two searches get half the budget, the local search the rest.
    candidates = _single_pair_witnesses(problem, deadline - seconds / 2)
    if progress:
        progress(f"one-pair witnesses: {len(candidates)}")
    candidates += _support_witnesses(problem, deadline - seconds / 2)
    if progress:
        progress(f"support witnesses: {len(candidates)}")
    if not candidates:
        return None
    best = min(candidates, key=lambda w: w.error)
    if good_enough is not None and best.error <= good_enough:
        return best
    start = np.array([float(r) for r in best.reward])
    polished = _local_search(problem, start, deadline)
    local = _rationalise(problem, polished, "local search")
    if local is not None and local.error < best.error:
        best = local
    return best


# -- the safe side: branch and bound over boxes of reward models ----------------------------

def _distance(problem: _Problem, lo: Sequence[Fraction], hi: Sequence[Fraction]) -> Fraction:
    total = Fraction(0)
    for d, r, l, h in zip(problem.data, problem.mdp.reward, lo, hi):
        if d:
            total += d * (l - r if r < l else r - h if r > h else 0)
    return total


def _bound_box(problem: _Problem, lo: Vector, hi: Vector, weights: list | None = None) -> BoxLeaf | None:
    """A ``bound`` leaf if the rigorous lower bound on ``J_R(π̂)`` over the box clears ``thr``.
    ``weights``, if given, receives the upper ends of the policy box (they guide the split)."""
    mdp = problem.mdp
    if mdp.gamma:
        soft_low = rg.soft_box(mdp, lo, problem.lam, problem.reference)
        soft_high = rg.soft_box(mdp, hi, problem.lam, problem.reference)
        w_lo = [w - soft_low.radius for w in soft_low.values]
        w_hi = [w + soft_high.radius for w in soft_high.values]
    else:
        soft_low = soft_high = w_lo = w_hi = None
    lower, upper = rg.policy_box(mdp, problem.lam, problem.reference, lo, hi, w_lo, w_hi)
    if weights is not None:
        weights[:] = [float(u) for u in upper]
    if sum(lower) > mdp.n_states or any(l > u for l, u in zip(lower, upper)):
        return None
    comparison = rg.comparison_policy(mdp, lower, upper) if mdp.gamma else problem.reference
    j = rg.return_enclosure(mdp, lower, upper, comparison)
    if not rg.clears(j.lower, problem.threshold, above=True):
        return None
    return BoxLeaf(lo, hi, "bound", problem.distance(lo, hi), soft_low, soft_high,
                   comparison if mdp.gamma else None)


def _root_box(problem: _Problem, epsilon: Fraction) -> tuple[Vector, Vector]:
    spread = [epsilon * problem.mdp.range_reward / d for d in problem.data]
    return (tuple(r - w for r, w in zip(problem.mdp.reward, spread)),
            tuple(r + w for r, w in zip(problem.mdp.reward, spread)))


def _split_coordinate(problem: _Problem, lo: Vector, hi: Vector, weights: Sequence[float]) -> int:
    """The coordinate whose width matters most: width times the largest probability the
    regularised optimum may give the pair (a pair it never plays barely moves ``J``)."""
    if not weights:
        return max(range(len(lo)), key=lambda x: hi[x] - lo[x])
    return max(range(len(lo)), key=lambda x: float(hi[x] - lo[x]) * (weights[x] + 1e-6))


@dataclass(frozen=True)
class BoxSearch:
    tree: object
    lower: Fraction
    finished: bool
    reason: str         # why it stopped: "finished" (or narrow enough), "budget" or "depth" (MAX_BOX_DEPTH)


MAX_BOX_DEPTH = 200
"""A box is split at most this deep.  The nearest open box at this depth ends the search, and the
lower end is its distance.  A tiny data weight ``D(x)`` makes the root box ``ε range R / D(x)``
wide in ``x``; halving it without a bound gave a chain of thousands of splits in two seconds,
deeper than Python's recursion and JSON's nesting allow.  Certificates nest two JSON levels per
split, so this keeps them under 500."""


def box_search(problem: _Problem, root_epsilon: Fraction, target: Fraction | None, *, deadline: float,
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


# -- the public questions -------------------------------------------------------------------

def regularised_threshold(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, lam: Fraction,
                          reference: StochasticPolicy | None = None, *, timeout: float = 60.0,
                          relative_width: Fraction = Fraction(1, 100), bounds: ReturnBounds | None = None,
                          progress: Progress | None = None, stop=None) -> RegularisedResult:
    """A verified interval ``[lower, upper] ∋ ε*_λ(D)``; ``complete`` when
    ``(upper − lower)/upper ≤ relative_width``.  Respects ``timeout`` (seconds) and reports what it
    knows when time runs out."""
    require_all_actions(mdp, "regularised safety (lambda > 0)")
    start = time.monotonic()
    problem = _problem(mdp, data, regret_bound, lam, reference, bounds, stop)
    stats: dict = {}
    if problem.bounds.degenerate:
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, Fraction(0), None, None,
                                 None, True, {"degenerate": True})
    witness = find_witness(problem, seconds=max(1.0, timeout * 0.25), progress=progress)
    stats["witness_seconds"] = time.monotonic() - start
    upper = witness.error if witness is not None else None
    if upper == 0 or any(d == 0 for d in problem.data):
        # A zero-error witness settles it; otherwise unbounded free pairs leave the lower end at 0.
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, Fraction(0), upper, witness,
                                 None, upper == 0, stats)
    root = upper if upper is not None else Fraction(1)
    deadline = start + timeout
    stop_at = None if upper is None else upper * (1 - relative_width)
    search = box_search(problem, root, None, deadline=deadline, stop_at=stop_at, progress=progress)
    tree, lower = search.tree, search.lower
    stats["box_seconds"] = time.monotonic() - start - stats["witness_seconds"]
    stats["stop_reason"] = search.reason
    complete = upper is not None and (upper - lower) <= relative_width * upper
    return RegularisedResult(problem.lam, problem.reference, problem.bounds, lower, upper, witness,
                             BoxTree(root, tree) if lower > 0 else None, complete, stats)


def regularised_certify(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                        lam: Fraction, reference: StochasticPolicy | None = None, *, timeout: float = 60.0,
                        bounds: ReturnBounds | None = None, progress: Progress | None = None, stop=None
                        ) -> RegularisedResult:
    """Decide ``D ∈ safe(R, ε, L, λ, ω)``: ``verdict(epsilon)`` is SAFE, UNSAFE or UNKNOWN."""
    require_all_actions(mdp, "regularised safety (lambda > 0)")
    start = time.monotonic()
    epsilon = _epsilon(epsilon)
    problem = _problem(mdp, data, regret_bound, lam, reference, bounds, stop)
    if problem.bounds.degenerate:
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, epsilon, None, None,
                                 BoxTree(epsilon, None), True, {"degenerate": True})
    witness = find_witness(problem, seconds=max(1.0, timeout * 0.25), progress=progress, good_enough=epsilon)
    upper = witness.error if witness is not None else None
    if upper is not None and upper <= epsilon:
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, Fraction(0), upper, witness,
                                 None, True, {})
    if any(d == 0 for d in problem.data):
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, Fraction(0), upper, witness,
                                 None, False, {})
    search = box_search(problem, epsilon, epsilon, deadline=start + timeout, progress=progress)
    if search.finished:
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, epsilon, upper, witness,
                                 BoxTree(epsilon, search.tree), True, {})
    return RegularisedResult(problem.lam, problem.reference, problem.bounds, min(search.lower, epsilon), upper,
                             witness, None, False, {"stop_reason": search.reason})
