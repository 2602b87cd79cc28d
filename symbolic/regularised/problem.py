"""The regularised problem (λ > 0): the instance, its float guide, and the rigorous check of a witness.

``RegularisedProblem`` holds the MDP, ``D``, ``L``, ``λ`` and ``π_ref``, the float copies that
guide the searches (``float_return``, ``float_cost``), the exact error of a reward model, the P1
ball's bounding box and a box's distance from ``R``, and ``verify``: a rational ``R̂`` counts as a
witness only once its soft optimum is enclosed rigorously and its regret is shown to be ``≥ L``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Sequence

import numpy as np

from ..core.model import MDP, Vector
from ..core.parameters import check_lambda, check_regret_bound
from ..core.policies import StochasticPolicy, check_reference, uniform_policy
from ..exact.evaluation import ReturnBounds
from ..guidance.floatvi import return_bounds
from ..guidance.softfloat import float_dynamics, soft_values_float
from ..rigorous import enclosures as rg
from ..rigorous.soft import soft_optimum
from .results import RegularisedWitness


@dataclass
class RegularisedProblem:
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
        self.P = float_dynamics(self.mdp)
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
        _, pi = soft_values_float(mdp, reward, float(self.lam), self.log_ref, self.P)
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
        optimum = soft_optimum(self.mdp, reward, self.lam, self.reference)
        if not rg.clears(optimum.true_return.upper, self.threshold, above=False):
            return None
        b = self.bounds
        regret = rg.Enclosure((b.optimal_return - optimum.true_return.upper) / b.range,
                              (b.optimal_return - optimum.true_return.lower) / b.range)
        return RegularisedWitness(tuple(reward), self.error(reward), optimum, regret, kind)


def regularised_problem(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction, lam: Fraction,
             reference: StochasticPolicy | None, bounds: ReturnBounds | None, stop=None) -> RegularisedProblem:
    from ..core.model import validate_distribution
    from ..core.numbers import exact_number
    lam = check_lambda(lam)
    regret_bound = check_regret_bound(regret_bound)
    data = validate_distribution(mdp, [exact_number(d, "data") for d in data])
    reference = uniform_policy(mdp) if reference is None else check_reference(mdp, reference)
    return RegularisedProblem(mdp, tuple(data), regret_bound, lam, reference, bounds or return_bounds(mdp), stop)


def _distance(problem: RegularisedProblem, lo: Sequence[Fraction], hi: Sequence[Fraction]) -> Fraction:
    total = Fraction(0)
    for d, r, l, h in zip(problem.data, problem.mdp.reward, lo, hi):
        if d:
            total += d * (l - r if r < l else r - h if r > h else 0)
    return total


def _root_box(problem: RegularisedProblem, epsilon: Fraction) -> tuple[Vector, Vector]:
    spread = [epsilon * problem.mdp.range_reward / d for d in problem.data]
    return (tuple(r - w for r, w in zip(problem.mdp.reward, spread)),
            tuple(r + w for r, w in zip(problem.mdp.reward, spread)))
