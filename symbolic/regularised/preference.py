"""The preference error of RLHF (paper §6, Def C.27), and the regularised search under it.

A contextual bandit (``γ = 0``), a full-support ``π_ref``, ``λ > 0``.  The data are
triples ``s ∼ μ``, ``a1, a2 ∼ π_ref(·|s)``, so on pairs ``D^ref(s,a) = μ(s)π_ref(a|s)``.
The **preference error** (Def C.27, with its typo ``a2, a2`` read as ``a1, a2``) is

    E_{s, a1, a2} KL(p_R(·|s,a1,a2) ‖ p_R̂(·|s,a1,a2)),   p_R(a1 ≻ a2|s) = σ(R(s,a1) − R(s,a2)),

compared with ``ε · range R``.  Every KL is enclosed with ``arb`` (``rigorous/enclosures.py``);
floats only guide.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np

from ..core.errors import ModelError
from ..core.model import MDP, Vector, require_all_actions
from ..core.parameters import check_epsilon
from ..core.policies import StochasticPolicy, check_reference, uniform_policy
from ..exact.evaluation import ReturnBounds
from ..rigorous import enclosures as rg
from ..rigorous.enclosures import pair_kl
from .problem import RegularisedProblem, regularised_problem
from .results import RegularisedResult
from .witness import find_witness

ERROR_MEASURES = ("absolute", "preference")


def reference_data(mdp: MDP, reference: StochasticPolicy, mu: Sequence[Fraction] | None = None) -> Vector:
    """``D^ref_μ(s,a) = μ(s) π_ref(a|s)``, with ``μ`` the model's initial distribution unless given
    (Thm 6.1 and Props C.31, C.33 allow any ``μ ∈ Δ(S)``; the regret is still taken from ``μ0``)."""
    m = mdp.n_actions
    mu = mdp.initial if mu is None else mu
    return tuple(mu[x // m] * reference[x // m][x % m] for x in range(mdp.n_pairs))


def check_bandit(mdp: MDP) -> None:
    require_all_actions(mdp, "RLHF (section 6)")
    if mdp.gamma != 0:
        raise ModelError("the preference error (Def C.27) and Theorem 6.1 are for contextual bandits: "
                         f"gamma must be 0, not {mdp.gamma}", entry="gamma")


def _ordered_pairs(mdp: MDP, mu: Sequence[Fraction]):
    """``(s, x1, x2)`` for every state with ``μ(s) > 0`` and ordered pair of distinct actions."""
    m = mdp.n_actions
    for s in range(mdp.n_states):
        if mu[s]:
            for a1 in range(m):
                for a2 in range(m):
                    if a1 != a2:
                        yield s, s * m + a1, s * m + a2


def _weight(mdp: MDP, reference: StochasticPolicy, s: int, x1: int, x2: int, mu: Sequence[Fraction]) -> rg.Ball:
    m = mdp.n_actions
    return rg.ball(mu[s] * reference[s][x1 % m] * reference[s][x2 % m])


def preference_error(mdp: MDP, reference: StochasticPolicy, reward_model: Sequence[Fraction],
                     mu: Sequence[Fraction] | None = None) -> rg.Enclosure:
    """``E_{s∼μ, a1,a2∼π_ref} KL(p_R ‖ p_R̂)``, enclosed (not divided by ``range R``); ``μ`` is the
    model's initial distribution unless given."""
    mu = mdp.initial if mu is None else mu
    with rg.Precision():
        total = rg.ball(0)
        for s, x1, x2 in _ordered_pairs(mdp, mu):
            u = mdp.reward[x1] - mdp.reward[x2]
            v = reward_model[x1] - reward_model[x2]
            if u != v:
                total += _weight(mdp, reference, s, x1, x2, mu) * pair_kl(u, v)
        enc = rg.bounds(total)
    return rg.Enclosure(max(enc.lower, Fraction(0)), enc.upper)


def _float_preference_error(mdp: MDP, reference: np.ndarray, reward: np.ndarray, R: np.ndarray,
                            mu: Sequence[Fraction]) -> float:
    n, m = mdp.n_states, mdp.n_actions
    total = 0.0
    mu = [float(p) for p in mu]
    for s in range(n):
        if not mu[s]:
            continue
        r, rh = R[s * m:(s + 1) * m], reward[s * m:(s + 1) * m]
        u = r[:, None] - r[None, :]
        v = rh[:, None] - rh[None, :]
        p = 1 / (1 + np.exp(-u))
        sp = lambda z: np.logaddexp(0, z)
        kl = p * (sp(-v) - sp(-u)) + (1 - p) * (sp(v) - sp(u))
        w = reference[s][:, None] * reference[s][None, :]
        np.fill_diagonal(kl, 0.0)
        total += mu[s] * float((w * kl).sum())
    return total


@dataclass
class PreferenceProblem(RegularisedProblem):
    """The regularised problem with P1 measured by the preference error on ``D^ref_μ``; ``mu`` is the
    contexts' distribution ``μ`` of the data (``None``: the model's ``μ0``, which also weights the regret)."""

    mu: Vector | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.mu is None:
            self.mu = self.mdp.initial
        self.ref_float = np.array([[float(p) for p in row] for row in self.reference])

    def float_cost(self, reward: np.ndarray) -> float:
        return _float_preference_error(self.mdp, self.ref_float, reward, self.R, self.mu) / self.range_r

    def error(self, reward: Sequence[Fraction]) -> Fraction:
        """The *upper* end of the enclosure, divided by ``range R``: P1 holds at this ε."""
        enclosure = preference_error(self.mdp, self.reference, reward, self.mu)
        return rg.round_up(enclosure.upper / self.mdp.range_reward, 64)

    # -- the safe side ---------------------------------------------------------------------
    # π̂(·|s) and every KL term depend on R̂(s,·) only through its differences, so each reward model
    # has a twin with R̂(s, a0) = R(s, a0) (a0 the first action) and the same error and optimum;
    # rows with μ(s) = 0 affect neither and are fixed at R.  The box search runs over these twins.
    def radius(self, s: int, a: int, target: Fraction) -> Fraction:
        """A short rational ρ with 2 w KL(u, u ± ρ) > target, w = μ(s)π_ref(a|s)π_ref(a0|s)."""
        m = self.mdp.n_actions
        u = self.mdp.reward[s * m + a] - self.mdp.reward[s * m]
        weight = 2 * self.mu[s] * self.reference[s][a] * self.reference[s][0]
        rho = Fraction(1, 64)
        while True:
            with rg.Precision():
                low = min(pair_kl(u, u + rho), pair_kl(u, u - rho), key=lambda b: rg.bounds(b).lower)
                value = rg.bounds(rg.ball(weight) * low).lower
            if value > target * (1 + rg.MARGIN):
                return rho
            rho *= 2

    def root_box(self, epsilon: Fraction) -> tuple[Vector, Vector]:
        mdp, m = self.mdp, self.mdp.n_actions
        if tuple(self.mu) != tuple(mdp.initial):
            # Rows with μ(s) = 0 are fixed at R below; that is sound only when they carry no regret.
            raise ModelError("the safe side of the preference error is for the data's contexts mu = mu0 only")
        target = epsilon * mdp.range_reward
        lo, hi = list(mdp.reward), list(mdp.reward)
        self.radii = {}
        for s in range(mdp.n_states):
            if not mdp.initial[s]:
                continue
            for a in range(1, m):
                rho = self.radius(s, a, target)
                self.radii[s * m + a] = rho
                lo[s * m + a] -= rho
                hi[s * m + a] += rho
        return tuple(lo), tuple(hi)

    def distance(self, lo: Sequence[Fraction], hi: Sequence[Fraction]) -> Fraction:
        """A rigorous lower bound on the preference error over the box: each ordered pair's KL at
        the point of its difference interval nearest the true difference (KL is convex in it)."""
        mdp = self.mdp
        with rg.Precision():
            total = rg.ball(0)
            for s, x1, x2 in _ordered_pairs(mdp, self.mu):
                u = mdp.reward[x1] - mdp.reward[x2]
                v = min(max(u, lo[x1] - hi[x2]), hi[x1] - lo[x2])
                if v != u:
                    total += _weight(mdp, self.reference, s, x1, x2, self.mu) * pair_kl(u, v)
            return max(rg.bounds(total).lower, Fraction(0))


def preference_problem(mdp: MDP, regret_bound: Fraction, lam: Fraction, reference: StochasticPolicy | None,
                       bounds: ReturnBounds | None = None, stop=None, mu: Sequence[Fraction] | None = None
                       ) -> PreferenceProblem:
    check_bandit(mdp)
    reference = uniform_policy(mdp) if reference is None else check_reference(mdp, reference)
    base = regularised_problem(mdp, reference_data(mdp, reference, mu), regret_bound, lam, reference, bounds)
    return PreferenceProblem(base.mdp, base.data, base.regret_bound, base.lam, base.reference, base.bounds, stop,
                             None if mu is None else tuple(mu))


def rlhf_threshold(mdp: MDP, regret_bound: Fraction, lam: Fraction, reference: StochasticPolicy | None = None,
                   *, timeout: float = 60.0, relative_width: Fraction = Fraction(1, 100),
                   bounds: ReturnBounds | None = None, progress=None, stop=None) -> RegularisedResult:
    """The RLHF critical error as a verified interval: the upper end is a verified witness's
    (enclosed) preference error, the lower end a box search over shift-normalised reward models."""
    problem = preference_problem(mdp, regret_bound, lam, reference, bounds, stop)
    if problem.bounds.degenerate:
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, Fraction(0), None, None, None,
                                 True, {"degenerate": True}, "preference")
    import time

    from .boxes import box_search
    from .results import BoxTree
    start = time.monotonic()
    witness = find_witness(problem, seconds=max(1.0, timeout * 0.25), progress=progress)
    upper = None if witness is None else witness.error
    if upper == 0:
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, Fraction(0), upper, witness, None,
                                 True, {}, "preference")
    root = upper if upper is not None else Fraction(1)
    stop_at = None if upper is None else upper * (1 - relative_width)
    search = box_search(problem, root, None, deadline=start + timeout, stop_at=stop_at, progress=progress)
    lower = search.lower
    complete = upper is not None and upper - lower <= relative_width * upper
    return RegularisedResult(problem.lam, problem.reference, problem.bounds, lower, upper, witness,
                             BoxTree(root, search.tree, dict(problem.radii)) if lower > 0 else None, complete,
                             {"stop_reason": search.reason}, "preference")


def rlhf_certify(mdp: MDP, epsilon: Fraction, regret_bound: Fraction, lam: Fraction,
                 reference: StochasticPolicy | None = None, *, timeout: float = 60.0,
                 bounds: ReturnBounds | None = None, progress=None, stop=None) -> RegularisedResult:
    from .results import BoxTree
    epsilon = check_epsilon(epsilon)
    problem = preference_problem(mdp, regret_bound, lam, reference, bounds, stop)
    if problem.bounds.degenerate:
        # Every policy has the same return: regret 0 < L whatever R^ is.
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, epsilon, None, None,
                                 BoxTree(epsilon, None), True, {"degenerate": True}, "preference")
    import time

    from .boxes import box_search
    start = time.monotonic()
    witness = find_witness(problem, seconds=max(1.0, timeout * 0.25), progress=progress, good_enough=epsilon)
    upper = None if witness is None else witness.error
    if upper is not None and upper <= epsilon:
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, Fraction(0), upper, witness, None,
                                 True, {}, "preference")
    search = box_search(problem, epsilon, epsilon, deadline=start + timeout, progress=progress)
    if search.finished:
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, epsilon, upper, witness,
                                 BoxTree(epsilon, search.tree, dict(problem.radii)), True, {}, "preference")
    return RegularisedResult(problem.lam, problem.reference, problem.bounds, min(search.lower, epsilon), upper,
                             witness, None, False, {"stop_reason": search.reason}, "preference")
