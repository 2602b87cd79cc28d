"""RLHF (paper §6) on an instance: Theorem 6.1 (Thm C.32) and Props C.31/C.33, with Lemma C.30's witness.

A contextual bandit (``γ = 0``), a full-support ``π_ref``, ``λ > 0``, data ``D^ref(s,a) =
μ(s)π_ref(a|s)``.  Each hypothesis is checked rigorously (its bound is transcendental), Lemma
C.30's witness is built with a rational ``c_s`` strictly above the lemma's bound, and its P1 and
its regret are verified with enclosures; the cheapest witness the search finds is reported beside
it.  The preference error itself is in ``regularised/preference.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..core.model import MDP, Vector
from ..core.policies import StochasticPolicy
from ..exact.evaluation import ReturnBounds
from ..guidance.floatvi import return_bounds
from ..regularised.preference import (
    check_bandit,
    preference_error,
    preference_problem,
    reference_data,
)
from ..regularised.problem import regularised_problem
from ..regularised.results import RegularisedWitness
from ..regularised.witness import find_witness
from ..rigorous import enclosures as rg
from ..rigorous.soft import soft_optimum


@dataclass(frozen=True)
class StateCondition:
    state: int
    constant_row: bool                 # R(s,·) constant: no a_s is needed (or possible)
    action: int | None                 # a_s (see ``_choose_action``)
    threshold: Fraction                # R_L(s)
    bound: rg.Enclosure | None         # the bound on π_ref(a_s|s) (C.31: the right side of eq. 84)
    holds: bool | None                 # the condition on π_ref(a_s|s), decided rigorously
    level: Fraction | None             # the rational c_s of the Lemma C.30 witness (>= R(s,a_s), eq. 86)
    lemma_bound: rg.Enclosure | None   # Lemma C.30's lower bound on c_s (None: every c_s works)


@dataclass(frozen=True)
class RLHFTheorem:
    name: str                          # "Theorem 6.1", "Proposition C.31" or "Proposition C.33"
    mu: Vector                         # the contexts' distribution of the data D^ref_mu
    conditions: tuple[StateCondition, ...]
    hypothesis: bool | None            # as printed: every state has a suitable a_s
    hypothesis_relaxed: bool | None    # the toolkit's reading: every state with mu0(s) > 0 and a non-constant row
    witness: Vector | None             # Lemma C.30's R̂
    witness_error: rg.Enclosure | None  # its P1 value (KL or mean absolute error), over range R
    witness_regret: rg.Enclosure | None
    conclusion_verified: bool          # P1 <= ε and regret >= L, both rigorous
    cheapest: RegularisedWitness | None

    @property
    def hypothesis_without_constant_rows(self) -> bool | None:
        return self.hypothesis_relaxed


def _threshold(row: Sequence[Fraction], L: Fraction) -> Fraction:
    return (1 - L) * max(row) + L * min(row)


def _lemma_c30_bound(mdp: MDP, s: int, a_s: int, L: Fraction, lam: Fraction, reference) -> rg.Enclosure | None:
    """``λ log[Σ_{a≠a_s} (R(s,a) − R_L(s)) π_ref(a|s) e^{R(s,a)/λ} / ((R_L(s) − R(s,a_s)) π_ref(a_s|s))]``;
    ``None`` when the sum is ``≤ 0`` (then every ``c_s`` works)."""
    m = mdp.n_actions
    row = mdp.reward[s * m:(s + 1) * m]
    r_l = _threshold(row, L)
    top = max(row)
    with rg.Precision():
        lam_b = rg.ball(lam)
        total = rg.ball(0)
        for a in range(m):
            if a != a_s:
                total += rg.ball((row[a] - r_l) * reference[s][a]) * (rg.ball(row[a] - top) / lam_b).exp()
        if not (total > 0):
            return None
        value = rg.ball(top) + lam_b * (total / rg.ball((r_l - row[a_s]) * reference[s][a_s])).log()
        return rg.bounds(value)


def _action_condition(variant: str, row, a: int, r_l: Fraction, p_row, epsilon, lam, range_r, L):
    """``(enclosure shown, holds, margin)`` of the hypothesis at ``a``: ``margin`` is an enclosure of
    ``bound / π_ref(a|s)`` (6.1, C.33; the condition is ``margin >= 1``) or of the gap between the two
    sides of eq. 84 (C.31; the condition is ``margin >= 0``)."""
    m = len(row)
    gap = rg.ball(r_l - row[a])
    p = rg.ball(p_row[a])
    if variant == "Proposition C.31":
        # eq. 84: log[Σ_{b≠a} π_ref(b) e^{(R(b)−R(a))/λ} (R(b) − R_L)/(R_L − R(a))] <= ε range R/(2λπ_ref(a)) + log π_ref(a)
        total = rg.ball(0)
        for b in range(m):
            if b != a:
                total += (rg.ball(p_row[b]) * (rg.ball(row[b] - row[a]) / rg.ball(lam)).exp()
                          * rg.ball(row[b] - r_l) / gap)
        rhs = rg.ball(epsilon * range_r) / (2 * rg.ball(lam) * p) + p.log()
        if not (total > 0):        # the left side is -inf: the condition holds whatever π_ref(a)
            return rg.bounds(rhs), True, None
        lhs = total.log()
        holds = True if lhs < rhs else False if lhs > rhs else None
        return rg.bounds(rhs), holds, rg.bounds(rhs - lhs)
    power = 4 if variant == "Theorem 6.1" else 1
    value = (gap * rg.ball(range_r) / (rg.ball(L) * (rg.ball(range_r) / rg.ball(lam)).exp())
             * rg.ball(epsilon * epsilon) / (power * rg.ball(lam) ** 2))
    enc = rg.bounds(value)
    holds = True if p_row[a] <= enc.lower else False if p_row[a] > enc.upper else None
    return enc, holds, rg.Enclosure(enc.lower / p_row[a], enc.upper / p_row[a])


def _choose_action(options):
    """``a_s``: among the actions below ``R_L(s)`` whose condition holds, the one that meets it with the
    most room (the largest margin); if none is proved to hold, an undecided one, else the one closest
    to meeting it.  The hypothesis is existential, so a state holds exactly when some action does."""
    def rank(item):
        _, _, holds, margin = item
        level = {True: 2, None: 1, False: 0}[holds]
        return (level, float("inf") if margin is None else float(margin), -item[0])
    return max(options, key=rank)


def _state_condition(mdp, s, variant, epsilon, L, lam, reference, range_r) -> StateCondition:
    m = mdp.n_actions
    row = mdp.reward[s * m:(s + 1) * m]
    r_l = _threshold(row, L)
    if max(row) == min(row):
        return StateCondition(s, True, None, r_l, None, None, None, None)
    candidates = [a for a in range(m) if row[a] < r_l]
    if not candidates:
        return StateCondition(s, False, None, r_l, None, False, None, None)
    with rg.Precision():
        options = [(a, *_action_condition(variant, row, a, r_l, reference[s], epsilon, lam, range_r, L))
                   for a in candidates]
    a_s, enc, holds, _ = _choose_action(options)
    lemma = _lemma_c30_bound(mdp, s, a_s, L, lam, reference)
    # eq. 86: c_s >= max(R(s,a_s), the lemma's bound), strictly above the bound, where the regret
    # would be exactly L, which intervals cannot certify (docs/theory.md §6).
    if lemma is None or lemma.upper < row[a_s]:
        level = row[a_s]
    else:      # rounded up to 40 bits after the point, sign and all (round_up would clamp a negative to 0)
        level = -rg.round_dyadic_down(-(lemma.upper + lam / 1000), 40)
    return StateCondition(s, False, a_s, r_l, enc, holds, level, lemma)


def _all_hold(items) -> bool | None:
    values = [c.holds for c in items]
    return True if all(v is True for v in values) else False if any(v is False for v in values) else None


def rlhf_theorem(mdp: MDP, epsilon: Fraction, regret_bound: Fraction, lam: Fraction,
                 reference: StochasticPolicy, *, variant: str = "Theorem 6.1", mu: Sequence[Fraction] | None = None,
                 bounds: ReturnBounds | None = None, search_seconds: float = 10.0) -> RLHFTheorem:
    """Check the hypothesis rigorously, build Lemma C.30's witness with rational ``c_s`` strictly
    above the lemma's bound, verify P1 and regret rigorously, and search for the cheapest witness.

    ``variant``: ``"Theorem 6.1"`` (preference error, ``ε²/(4λ²)``), ``"Proposition C.33"`` (mean
    absolute error, ``ε²/λ²``, with ``range R`` in the numerator as printed), or
    ``"Proposition C.31"`` (preference error, eq. 84).  ``mu``: the contexts' distribution of the data
    ``D^ref_μ(s,a) = μ(s)π_ref(a|s)`` (default ``μ0``); the regret is always taken from ``μ0``."""
    check_bandit(mdp)
    bounds = bounds or return_bounds(mdp)
    m = mdp.n_actions
    L = Fraction(regret_bound)
    mu = tuple(mdp.initial if mu is None else mu)
    conditions = tuple(_state_condition(mdp, s, variant, epsilon, L, lam, reference, mdp.range_reward)
                       for s in range(mdp.n_states))
    # As printed, every state needs an a_s (a constant row has none); the toolkit's reading asks it
    # only of the states that carry regret (μ0(s) > 0) and whose row is not constant.
    printed = False if any(c.constant_row for c in conditions) else _all_hold(conditions)
    relevant = [c for c in conditions if mdp.initial[c.state] and not c.constant_row]
    relaxed = _all_hold(relevant)
    witness = error = regret = None
    verified = False
    if all(c.action is not None for c in relevant):
        reward = list(mdp.reward)
        for c in relevant:          # R̂ = R where μ0(s) = 0: those states carry no regret (docs/rlhf.md)
            reward[c.state * m + c.action] = c.level
        witness = tuple(reward)
        error = _witness_error(mdp, reference, witness, variant, mu)
        optimum = soft_optimum(mdp, witness, lam, reference)
        regret = rg.Enclosure((bounds.optimal_return - optimum.true_return.upper) / bounds.range,
                              (bounds.optimal_return - optimum.true_return.lower) / bounds.range)
        verified = error.upper <= epsilon and rg.clears(optimum.true_return.upper,
                                                        bounds.regret_threshold(L), above=False)
    if variant == "Proposition C.33":
        problem = regularised_problem(mdp, reference_data(mdp, reference, mu), L, lam, reference, bounds)
    else:
        problem = preference_problem(mdp, L, lam, reference, bounds, mu=mu)
    cheapest = find_witness(problem, seconds=search_seconds)
    return RLHFTheorem(variant, mu, conditions, printed, relaxed, witness, error, regret, verified, cheapest)


def _witness_error(mdp: MDP, reference, witness, variant: str, mu) -> rg.Enclosure:
    """The witness's P1 value over ``range R``: the exact mean absolute error on ``D^ref_μ`` (C.33),
    or the enclosed preference error."""
    range_r = mdp.range_reward
    if variant == "Proposition C.33":
        data = reference_data(mdp, reference, mu)
        exact = sum((d * abs(a - b) for d, a, b in zip(data, witness, mdp.reward)), Fraction(0)) / range_r
        return rg.Enclosure(exact, exact)
    kl = preference_error(mdp, reference, witness, mu)
    return rg.Enclosure(kl.lower / range_r, kl.upper / range_r)


__all__ = ["ERROR_MEASURES", "PreferenceProblem", "RLHFTheorem", "StateCondition", "check_bandit",
           "preference_error", "preference_problem", "reference_data", "rlhf_certify", "rlhf_theorem",
           "rlhf_threshold"]
