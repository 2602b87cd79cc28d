"""RLHF (paper §6, SPEC §8): preference-based error, Theorem 6.1 and Props C.31/C.33 on an instance.

A contextual bandit (``γ = 0``), a full-support ``π_ref``, ``λ > 0``.  The data are
triples ``s ∼ μ``, ``a1, a2 ∼ π_ref(·|s)``, so on pairs ``D^ref(s,a) = μ(s)π_ref(a|s)``.
The **preference error** (Def C.27, with its typo ``a2, a2`` read as ``a1, a2``) is

    E_{s, a1, a2} KL(p_R(·|s,a1,a2) ‖ p_R̂(·|s,a1,a2)),   p_R(a1 ≻ a2|s) = σ(R(s,a1) − R(s,a2)),

compared with ``ε · range R``.  Every KL is enclosed with ``arb``; floats only guide.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

import numpy as np
from flint import arb

from . import rigorous as rg
from .errors import ModelError
from .evaluation import ReturnBounds, StochasticPolicy, return_bounds
from .model import MDP, Vector, require_all_actions
from .regularised import RegularisedResult, RegularisedWitness, _Problem, _problem, find_witness

ERROR_MEASURES = ("absolute", "preference")


def reference_data(mdp: MDP, reference: StochasticPolicy) -> Vector:
    """``D^ref_μ(s,a) = μ(s) π_ref(a|s)`` with ``μ`` the model's initial distribution."""
    m = mdp.n_actions
    return tuple(mdp.initial[x // m] * reference[x // m][x % m] for x in range(mdp.n_pairs))


def check_bandit(mdp: MDP) -> None:
    require_all_actions(mdp, "RLHF (section 6)")
    if mdp.gamma != 0:
        raise ModelError("the preference error (Def C.27) and Theorem 6.1 are for contextual bandits: "
                         f"gamma must be 0, not {mdp.gamma}", entry="gamma")


def _softplus(x: arb) -> arb:
    """``log(1 + e^x)`` with only ``exp`` of non-positive numbers."""
    return x.max(arb(0)) + (1 + (-abs(x)).exp()).log()


def _pair_kl(u: Fraction, v: Fraction) -> arb:
    """``KL(Bern(σ(u)) ‖ Bern(σ(v)))`` as a ball (``u``: true difference, ``v``: the model's)."""
    bu, bv = rg.ball(u), rg.ball(v)
    p = 1 / (1 + (-bu).exp()) if u >= 0 else bu.exp() / (1 + bu.exp())
    return p * (_softplus(-bv) - _softplus(-bu)) + (1 - p) * (_softplus(bv) - _softplus(bu))


def _ordered_pairs(mdp: MDP):
    """``(s, x1, x2)`` for every state with ``μ(s) > 0`` and ordered pair of distinct actions."""
    m = mdp.n_actions
    for s in range(mdp.n_states):
        if mdp.initial[s]:
            for a1 in range(m):
                for a2 in range(m):
                    if a1 != a2:
                        yield s, s * m + a1, s * m + a2


def _weight(mdp: MDP, reference: StochasticPolicy, s: int, x1: int, x2: int) -> arb:
    m = mdp.n_actions
    return rg.ball(mdp.initial[s] * reference[s][x1 % m] * reference[s][x2 % m])


def preference_error(mdp: MDP, reference: StochasticPolicy, reward_model: Sequence[Fraction]) -> rg.Enclosure:
    """``E_{s∼μ, a1,a2∼π_ref} KL(p_R ‖ p_R̂)``, enclosed (not divided by ``range R``)."""
    with rg._Precision():
        total = arb(0)
        for s, x1, x2 in _ordered_pairs(mdp):
            u = mdp.reward[x1] - mdp.reward[x2]
            v = reward_model[x1] - reward_model[x2]
            if u != v:
                total += _weight(mdp, reference, s, x1, x2) * _pair_kl(u, v)
        enc = rg.bounds(total)
    return rg.Enclosure(max(enc.lower, Fraction(0)), enc.upper)


def _float_preference_error(mdp: MDP, reference: np.ndarray, reward: np.ndarray, R: np.ndarray) -> float:
    n, m = mdp.n_states, mdp.n_actions
    total = 0.0
    mu = [float(p) for p in mdp.initial]
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


class PreferenceProblem(_Problem):
    """The regularised problem with P1 measured by the preference error on ``D^ref``."""

    def __post_init__(self):
        super().__post_init__()
        self.ref_float = np.array([[float(p) for p in row] for row in self.reference])

    def float_cost(self, reward: np.ndarray) -> float:
        return _float_preference_error(self.mdp, self.ref_float, reward, self.R) / self.range_r

    def error(self, reward: Sequence[Fraction]) -> Fraction:
        """The *upper* end of the enclosure, divided by ``range R``: P1 holds at this ε."""
        return rg._round_up(preference_error(self.mdp, self.reference, reward).upper / self.mdp.range_reward, 64)

    # -- the safe side ---------------------------------------------------------------------
    # π̂(·|s) and every KL term depend on R̂(s,·) only through its differences, so each reward model
    # has a twin with R̂(s, a0) = R(s, a0) (a0 the first action) and the same error and optimum;
    # rows with μ(s) = 0 affect neither and are fixed at R.  The box search runs over these twins.
    def radius(self, s: int, a: int, target: Fraction) -> Fraction:
        """A short rational ρ with 2 w KL(u, u ± ρ) > target, w = μ(s)π_ref(a|s)π_ref(a0|s)."""
        m = self.mdp.n_actions
        u = self.mdp.reward[s * m + a] - self.mdp.reward[s * m]
        weight = 2 * self.mdp.initial[s] * self.reference[s][a] * self.reference[s][0]
        rho = Fraction(1, 64)
        while True:
            with rg._Precision():
                low = min(_pair_kl(u, u + rho), _pair_kl(u, u - rho), key=lambda b: rg.bounds(b).lower)
                value = rg.bounds(rg.ball(weight) * low).lower
            if value > target * (1 + rg.MARGIN):
                return rho
            rho *= 2

    def root_box(self, epsilon: Fraction) -> tuple[Vector, Vector]:
        mdp, m = self.mdp, self.mdp.n_actions
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
        with rg._Precision():
            total = arb(0)
            for s, x1, x2 in _ordered_pairs(mdp):
                u = mdp.reward[x1] - mdp.reward[x2]
                v = min(max(u, lo[x1] - hi[x2]), hi[x1] - lo[x2])
                if v != u:
                    total += _weight(mdp, self.reference, s, x1, x2) * _pair_kl(u, v)
            return max(rg.bounds(total).lower, Fraction(0))


def preference_problem(mdp: MDP, regret_bound: Fraction, lam: Fraction, reference: StochasticPolicy | None,
                       bounds: ReturnBounds | None = None, stop=None) -> PreferenceProblem:
    check_bandit(mdp)
    reference = rg.uniform_policy(mdp) if reference is None else rg.check_reference(mdp, reference)
    base = _problem(mdp, reference_data(mdp, reference), regret_bound, lam, reference, bounds)
    return PreferenceProblem(base.mdp, base.data, base.regret_bound, base.lam, base.reference, base.bounds, stop)


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
    from .regularised import BoxTree, box_search
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
    from .regularised import BoxTree, _epsilon
    epsilon = _epsilon(epsilon)
    problem = preference_problem(mdp, regret_bound, lam, reference, bounds, stop)
    if problem.bounds.degenerate:
        # Every policy has the same return: regret 0 < L whatever R^ is.
        return RegularisedResult(problem.lam, problem.reference, problem.bounds, epsilon, None, None,
                                 BoxTree(epsilon, None), True, {"degenerate": True}, "preference")
    import time
    from .regularised import box_search
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


# -- Theorem 6.1 (Thm C.32), Props C.31 and C.33 --------------------------------------------------

@dataclass(frozen=True)
class StateCondition:
    state: int
    constant_row: bool                 # R(s,·) constant: no a_s is needed (or possible)
    action: int | None                 # a_s (the action with the smallest reward below R_L(s))
    threshold: Fraction                # R_L(s)
    bound: rg.Enclosure | None         # the bound on π_ref(a_s|s) in the hypothesis
    holds: bool | None                 # π_ref(a_s|s) <= bound, decided rigorously
    level: Fraction | None             # the rational c_s of the Lemma C.30 witness
    lemma_bound: rg.Enclosure | None   # Lemma C.30's lower bound on c_s


@dataclass(frozen=True)
class RLHFTheorem:
    name: str                          # "Theorem 6.1", "Proposition C.31" or "Proposition C.33"
    conditions: tuple[StateCondition, ...]
    hypothesis: bool | None            # as printed: every state has a suitable a_s
    hypothesis_without_constant_rows: bool | None
    witness: Vector | None             # Lemma C.30's R̂
    witness_error: rg.Enclosure | None  # its P1 value (KL or mean absolute error), over range R
    witness_regret: rg.Enclosure | None
    conclusion_verified: bool          # P1 <= ε and regret >= L, both rigorous
    cheapest: RegularisedWitness | None


def _threshold(row: Sequence[Fraction], L: Fraction) -> Fraction:
    return (1 - L) * max(row) + L * min(row)


def _lemma_c30_bound(mdp: MDP, s: int, a_s: int, L: Fraction, lam: Fraction, reference) -> rg.Enclosure | None:
    """``λ log[Σ_{a≠a_s} (R(s,a) − R_L(s)) π_ref(a|s) e^{R(s,a)/λ} / ((R_L(s) − R(s,a_s)) π_ref(a_s|s))]``;
    ``None`` when the sum is ``≤ 0`` (then every ``c_s`` works)."""
    m = mdp.n_actions
    row = mdp.reward[s * m:(s + 1) * m]
    r_l = _threshold(row, L)
    top = max(row)
    with rg._Precision():
        lam_b = rg.ball(lam)
        total = arb(0)
        for a in range(m):
            if a != a_s:
                total += rg.ball((row[a] - r_l) * reference[s][a]) * (rg.ball(row[a] - top) / lam_b).exp()
        if not (total > 0):
            return None
        value = rg.ball(top) + lam_b * (total / rg.ball((r_l - row[a_s]) * reference[s][a_s])).log()
        return rg.bounds(value)


def rlhf_theorem(mdp: MDP, epsilon: Fraction, regret_bound: Fraction, lam: Fraction,
                 reference: StochasticPolicy, *, variant: str = "Theorem 6.1",
                 bounds: ReturnBounds | None = None, search_seconds: float = 10.0) -> RLHFTheorem:
    """Check the hypothesis rigorously, build Lemma C.30's witness with rational ``c_s`` strictly
    above the lemma's bound, verify P1 and regret rigorously, and search for the cheapest witness.

    ``variant``: ``"Theorem 6.1"`` (preference error, ``ε²/(4λ²)``), ``"Proposition C.33"`` (mean
    absolute error, ``ε²/λ²``, with ``range R`` in the numerator as printed), or
    ``"Proposition C.31"`` (preference error, eq. 84)."""
    check_bandit(mdp)
    bounds = bounds or return_bounds(mdp)
    m = mdp.n_actions
    L = Fraction(regret_bound)
    range_r = mdp.range_reward
    conditions = []
    with rg._Precision():
        for s in range(mdp.n_states):
            row = mdp.reward[s * m:(s + 1) * m]
            r_l = _threshold(row, L)
            if max(row) == min(row):
                conditions.append(StateCondition(s, True, None, r_l, None, None, None, None))
                continue
            candidates = [a for a in range(m) if row[a] < r_l]
            if not candidates:
                conditions.append(StateCondition(s, False, None, r_l, None, False, None, None))
                continue
            best = None
            for a in candidates:
                gap = rg.ball(r_l - row[a])
                if variant == "Proposition C.31":
                    # eq. 84: log[Σ_{a'≠a} π_ref e^{(R(a')−R(a))/λ} (R(a') − R_L)/(R_L − R(a))] <= ε range R/(2λπ_ref(a)) + log π_ref(a)
                    total = arb(0)
                    for b in range(m):
                        if b != a:
                            total += (rg.ball(reference[s][b]) * (rg.ball(row[b] - row[a]) / rg.ball(lam)).exp()
                                      * rg.ball(row[b] - r_l) / gap)
                    p = rg.ball(reference[s][a])
                    lhs = total.log() if total > 0 else None
                    rhs = rg.ball(epsilon * range_r) / (2 * rg.ball(lam) * p) + p.log()
                    holds = True if lhs is None else (True if lhs < rhs else False if lhs > rhs else None)
                    enc = rg.bounds(rhs)
                else:
                    power = 4 if variant == "Theorem 6.1" else 1
                    value = (gap * rg.ball(range_r) / (rg.ball(L) * (rg.ball(range_r) / rg.ball(lam)).exp())
                             * rg.ball(epsilon * epsilon) / (power * rg.ball(lam) ** 2))
                    enc = rg.bounds(value)
                    p = reference[s][a]
                    holds = True if p <= enc.lower else False if p > enc.upper else None
                if best is None or (holds is True and best[1] is not True):
                    best = (a, holds, enc)
            a_s, holds, enc = best
            lemma = _lemma_c30_bound(mdp, s, a_s, L, lam, reference)
            # Strictly above the lemma's bound: at the bound the regret is exactly L (SPEC §8).
            level = (rg._round_up(lemma.upper + lam / 1000, 40) if lemma is not None
                     else row[a_s])
            conditions.append(StateCondition(s, False, a_s, r_l, enc, holds, level, lemma))
    relevant = [c for c in conditions if mdp.initial[c.state]]
    def all_hold(items):
        values = [c.holds for c in items]
        return True if all(v is True for v in values) else False if any(v is False for v in values) else None
    printed = all_hold(relevant) if not any(c.constant_row for c in relevant) else False
    relaxed = all_hold([c for c in relevant if not c.constant_row])
    witness = None
    error = regret = None
    verified = False
    if all(c.constant_row or c.action is not None for c in relevant):
        reward = list(mdp.reward)
        for c in conditions:
            if c.action is not None and mdp.initial[c.state]:
                reward[c.state * m + c.action] = c.level
        witness = tuple(reward)
        if variant == "Proposition C.33":
            data = reference_data(mdp, reference)
            exact = sum((d * abs(a - b) for d, a, b in zip(data, witness, mdp.reward)), Fraction(0)) / range_r
            error = rg.Enclosure(exact, exact)
        else:
            kl = preference_error(mdp, reference, witness)
            error = rg.Enclosure(kl.lower / range_r, kl.upper / range_r)
        optimum = rg.soft_optimum(mdp, witness, lam, reference)
        regret = rg.Enclosure((bounds.optimal_return - optimum.true_return.upper) / bounds.range,
                              (bounds.optimal_return - optimum.true_return.lower) / bounds.range)
        verified = error.upper <= epsilon and rg.clears(optimum.true_return.upper,
                                                        bounds.regret_threshold(L), above=False)
    if variant == "Proposition C.33":
        problem = _problem(mdp, reference_data(mdp, reference), L, lam, reference, bounds)
    else:
        problem = preference_problem(mdp, L, lam, reference, bounds)
    cheapest = find_witness(problem, seconds=search_seconds)
    return RLHFTheorem(variant, tuple(conditions), printed, relaxed, witness, error, regret, verified, cheapest)


__all__ = ["ERROR_MEASURES", "PreferenceProblem", "RLHFTheorem", "StateCondition", "check_bandit",
           "preference_error", "preference_problem", "reference_data", "rlhf_certify", "rlhf_theorem",
           "rlhf_threshold"]
