"""The search for cheap unsafety witnesses at λ > 0: floats propose, ``problem.verify`` decides.

Three searches (docs/regularised.md): one pair moved at a time, the support of each high-regret
policy raised to one level, then a pattern search over all of ``R̂`` from the best so far.  Each
candidate is rationalised and counts only once its regularised optimum is proved to have regret
``≥ L``.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Callable

import numpy as np

from ..exact.evaluation import support
from .problem import RegularisedProblem
from .results import Progress, RegularisedWitness

SCAN_RATIO = 1.25
"""``_boundary`` scans ``t`` geometrically by this ratio.  The return need not fall monotonically in
``t``: on a 2-state MDP (λ = 2) raising one zero-weight pair's reward put ``J ≤ thr`` only for
rewards in about [5.96, 13], a window that doubling stepped over, so a zero-error witness was
missed (found by an independent audit)."""


def _boundary(problem: RegularisedProblem, make: Callable[[float], np.ndarray], hi_limit: float) -> float | None:
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


def _rationalise(problem: RegularisedProblem, reward: np.ndarray, kind: str, fixed: dict[int, Fraction] | None = None
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


def _single_pair_witnesses(problem: RegularisedProblem, deadline: float) -> list[RegularisedWitness]:
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


def _support_witnesses(problem: RegularisedProblem, deadline: float) -> list[RegularisedWitness]:
    """Raise ``supp D^π`` of each high-regret deterministic ``π`` to one common level."""
    mdp = problem.mdp
    found = []
    if mdp.n_deterministic_policies <= 4096:
        from ..exact.evaluation import expected_return
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


def _local_search(problem: RegularisedProblem, start: np.ndarray, deadline: float) -> np.ndarray:
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


def find_witness(problem: RegularisedProblem, *, seconds: float = 10.0, progress: Progress | None = None,
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
