"""Safety under KL-regularised optimisation (λ > 0; paper §4): three-valued verdicts.

``ε*_λ(D) = inf{ε : D unsafe}`` is bracketed by a verified interval:

* **upper** — the error of a rational reward model ``R̂`` whose regularised
  optimum provably has ``Reg^R(π̂) ≥ L`` (``witness.py``, verified by ``problem.verify``);
* **lower** — a proof that every ``R̂`` in the weighted ℓ1 ball
  ``Σ D(x)|R̂(x) − R(x)| ≤ lower · range R`` has ``Reg^R(π̂) < L`` (``boxes.py``).

Unlike ``λ = 0``, the optimum is unique and continuous in ``R̂``, so ties are
not adversarial: that is why ``ε*_λ(D)`` is an infimum approached from inside,
and why ``λ → 0`` approaches the exact ``ε*(D)`` only from above in general.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Sequence

from ..core.model import MDP, require_all_actions
from ..core.parameters import check_epsilon
from ..core.policies import StochasticPolicy
from ..exact.evaluation import ReturnBounds
from .boxes import box_search
from .problem import regularised_problem
from .results import BoxTree, Progress, RegularisedResult
from .witness import find_witness


def regularised_threshold(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, lam: Fraction,
                          reference: StochasticPolicy | None = None, *, timeout: float = 60.0,
                          relative_width: Fraction = Fraction(1, 100), bounds: ReturnBounds | None = None,
                          progress: Progress | None = None, stop=None) -> RegularisedResult:
    """A verified interval ``[lower, upper] ∋ ε*_λ(D)``; ``complete`` when
    ``(upper − lower)/upper ≤ relative_width``.  Respects ``timeout`` (seconds) and reports what it
    knows when time runs out."""
    require_all_actions(mdp, "regularised safety (lambda > 0)")
    start = time.monotonic()
    problem = regularised_problem(mdp, data, regret_bound, lam, reference, bounds, stop)
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
    epsilon = check_epsilon(epsilon)
    problem = regularised_problem(mdp, data, regret_bound, lam, reference, bounds, stop)
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
