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
    with rg.Precision():
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
                    total = rg.ball(0)
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
            # Strictly above the lemma's bound: at the bound the regret is exactly L (docs/theory.md §6).
            level = (rg.round_up(lemma.upper + lam / 1000, 40) if lemma is not None
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
        optimum = soft_optimum(mdp, witness, lam, reference)
        regret = rg.Enclosure((bounds.optimal_return - optimum.true_return.upper) / bounds.range,
                              (bounds.optimal_return - optimum.true_return.lower) / bounds.range)
        verified = error.upper <= epsilon and rg.clears(optimum.true_return.upper,
                                                        bounds.regret_threshold(L), above=False)
    if variant == "Proposition C.33":
        problem = regularised_problem(mdp, reference_data(mdp, reference), L, lam, reference, bounds)
    else:
        problem = preference_problem(mdp, L, lam, reference, bounds)
    cheapest = find_witness(problem, seconds=search_seconds)
    return RLHFTheorem(variant, tuple(conditions), printed, relaxed, witness, error, regret, verified, cheapest)


__all__ = ["ERROR_MEASURES", "PreferenceProblem", "RLHFTheorem", "StateCondition", "check_bandit",
           "preference_error", "preference_problem", "reference_data", "rlhf_certify", "rlhf_theorem",
           "rlhf_threshold"]
