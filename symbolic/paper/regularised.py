"""The paper's §4 on an instance: Proposition 4.1 (Thm D.22) and Theorem 4.2 (Thm C.38).

Constants with ``√`` and ``log`` are ``rigorous.Enclosure`` intervals.  No step
of the paper's proof chain is trusted (docs/errata.md: Lemma C.34 misses a factor
``1/(1−γ)``, which feeds ``δ``): each conclusion is verified on the instance by
the regularised engine, and a verified contradiction is a counterexample.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..core.model import MDP, require_all_actions
from ..core.policies import StochasticPolicy, deterministic_as_stochastic
from ..core.results import Verdict
from ..exact.evaluation import ReturnBounds, expected_return, state_values, support
from ..guidance.floatvi import return_bounds
from ..regularised.problem import regularised_problem
from ..regularised.results import RegularisedResult, RegularisedWitness
from ..regularised.verdicts import regularised_certify
from ..regularised.witness import find_witness
from ..rigorous import enclosures as rg
from ..rigorous.soft import kl_regulariser, soft_optimum

# -- Proposition 4.1 --------------------------------------------------------------------


def reference_is_soft_optimal(mdp: MDP, reference: StochasticPolicy) -> bool:
    """Exactly: ``π̂_R = π_ref`` iff some ``W`` has ``R(s,a) + γτ(·|s,a)·W = W(s)`` for every pair
    (then ``Q(s,·) = W(s)`` is constant and ``W = T(W)``; conversely, by uniqueness).  The reference
    does not matter beyond its support, which is full."""
    del reference
    w = state_values(mdp, (0,) * mdp.n_states)
    m = mdp.n_actions
    for x in range(mdp.n_pairs):
        future = mdp.gamma * sum((p * w[t] for t, p in mdp.successors(x)), Fraction(0)) if mdp.gamma else 0
        if mdp.reward[x] + future != w[x // m]:
            return False
    return True


@dataclass(frozen=True)
class Proposition41:
    positive_data: bool
    reference_optimal: bool            # π_ref is (λ, ω)-optimal for R (the hypothesis then fails)
    regret_bound: Fraction             # L = Reg^R(π_ref)
    epsilon: Fraction | None           # an explicit ε certified safe, if found
    result: RegularisedResult | None

    @property
    def hypothesis_holds(self) -> bool:
        return self.positive_data and not self.reference_optimal


def proposition_4_1(mdp: MDP, data: Sequence[Fraction], lam: Fraction, reference: StochasticPolicy,
                    *, bounds: ReturnBounds | None = None, timeout: float = 30.0) -> Proposition41:
    """Check the hypothesis and certify an explicit rational ``ε > 0`` (the paper proves existence)."""
    require_all_actions(mdp, "Proposition 4.1")
    bounds = bounds or return_bounds(mdp)
    positive = all(d > 0 for d in data)
    optimal = reference_is_soft_optimal(mdp, reference)
    L = bounds.regret_of_return(expected_return(mdp, reference))
    if not positive or optimal or L <= 0:
        return Proposition41(positive, optimal, L, None, None)
    epsilon = Fraction(1, 2)
    deadline_share = timeout / 8
    for _ in range(8):
        result = regularised_certify(mdp, data, epsilon, L, lam, reference, timeout=deadline_share, bounds=bounds)
        if result.verdict(epsilon) is Verdict.SAFE:
            return Proposition41(positive, optimal, L, epsilon, result)
        epsilon /= 4
    return Proposition41(positive, optimal, L, None, None)


# -- Theorem 4.2 ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Theorem42Variant:
    """The constants and the verdicts for one reading of ``δ`` (as printed, or corrected)."""

    name: str
    delta: rg.Enclosure
    inner: rg.Enclosure | None         # C(δ), eq. 102 (None: it is 0, so C = ∞)
    outer: rg.Enclosure | None         # C, eq. 106
    hypothesis: bool | None            # eq. 107 decided rigorously (None: the enclosure straddles)
    witness_level: Fraction | None     # the rational level of eq. 103's R̂ on supp D^{π*}
    witness: RegularisedWitness | None  # eq. 103's R̂, if it verified (P1 at ε and regret ≥ L)
    witness_error: Fraction | None
    witness_regret: rg.Enclosure | None
    regret_verified: bool = False      # eq. 103's R̂ provably has regret >= L (whatever its error)
    witness_reward: tuple | None = None  # eq. 103's R̂ (rational level on supp D^{π*})


@dataclass(frozen=True)
class Theorem42:
    pessimal_policy: tuple[int, ...]
    support_mass: Fraction             # D(supp D^{π*})
    omega: rg.Enclosure                # ω(π*)
    t0: int
    variants: tuple[Theorem42Variant, ...]
    cheapest: RegularisedWitness | None
    safe_at_epsilon: bool | None       # the engine's verdict at ε: True safe, False unsafe, None unknown

    def counterexample(self, variant: Theorem42Variant) -> bool:
        """The hypothesis holds and ``D`` is proved safe at ``ε``: the theorem as read fails."""
        return variant.hypothesis is True and self.safe_at_epsilon is True


def min_path_probabilities(mdp: MDP, policy: Sequence[int]) -> tuple[list[Fraction], int]:
    """``p_t = min`` over π*-compatible positive paths of length ``t ≤ t0`` of ``μ0(s0) Π τ``, and ``t0``."""
    m = mdp.n_actions
    current = {s: p for s, p in enumerate(mdp.initial) if p}
    reached = set(current)
    mins = [min(current.values())]
    t0 = 0
    while True:
        nxt: dict[int, Fraction] = {}
        for s, p in current.items():
            for t, q in mdp.successors(s * m + policy[s]):
                value = p * q
                if t not in nxt or value < nxt[t]:
                    nxt[t] = value
        if set(nxt) <= reached:
            break
        reached |= set(nxt)
        t0 += 1
        mins.append(min(nxt.values()))
        current = nxt
    return mins, t0


def inner_constant(mdp: MDP, delta: rg.Ball, path_mins: Sequence[Fraction]) -> rg.Ball:
    """Eq. 102's ``C(δ) = min_{t ≤ t0} γ^t p_t (1−δ)^t δ`` as a ball (call inside ``rg.Precision``)."""
    terms = []
    for t, p in enumerate(path_mins):
        weight = rg.ball(mdp.gamma ** t * p) if t == 0 or mdp.gamma else rg.ball(0)
        terms.append(weight * (1 - delta) ** t * delta)
    inner = terms[0]
    for term in terms[1:]:
        inner = inner.min(term)
    return inner


def printed_delta(mdp: MDP, regret_bound: Fraction, range_return: Fraction) -> rg.Ball:
    """Thm C.38's ``δ = (1−γ)(1−L) range J / (√|S×A| ‖R‖₂)`` as printed, for the given ``range J``
    (call inside ``rg.Precision``)."""
    norm = rg.ball(sum(r * r for r in mdp.reward)).sqrt()
    return rg.ball((1 - mdp.gamma) * (1 - regret_bound) * range_return) / (rg.ball(mdp.n_pairs).sqrt() * norm)


def _theorem_variant(name: str, mdp: MDP, data, epsilon, regret_bound, lam, reference, bounds, policy,
                     supp, support_mass, omega: rg.Enclosure, delta: rg.Ball, path_mins) -> Theorem42Variant:
    with rg.Precision():
        inner = inner_constant(mdp, delta, path_mins)
        delta_enc = rg.bounds(delta)
        if not (inner > 0):
            return Theorem42Variant(name, delta_enc, None, None, False, None, None, None, None)
        omega_b = rg.ball(omega.lower).union(rg.ball(omega.upper))
        outer = rg.ball(lam) * omega_b / (rg.ball(mdp.range_reward) * inner)
        level = rg.ball(max(mdp.reward)) + rg.ball(lam) * omega_b / inner
        inner_enc, outer_enc, level_enc = rg.bounds(inner), rg.bounds(outer), rg.bounds(level)
    hypothesis = (True if support_mass * (1 + outer_enc.upper) <= epsilon else
                  False if support_mass * (1 + outer_enc.lower) > epsilon else None)
    level_q = rg.round_up(level_enc.upper, 40)
    reward = tuple(level_q if x in supp else r for x, r in enumerate(mdp.reward))
    problem = regularised_problem(mdp, data, regret_bound, lam, reference, bounds)
    error = problem.error(reward)
    optimum = soft_optimum(mdp, reward, problem.lam, problem.reference)
    regret = rg.Enclosure((bounds.optimal_return - optimum.true_return.upper) / bounds.range,
                          (bounds.optimal_return - optimum.true_return.lower) / bounds.range)
    verified = problem.verify(reward, "Theorem 4.2's eq. 103")
    witness = verified if verified is not None and error <= epsilon else None
    return Theorem42Variant(name, delta_enc, inner_enc, outer_enc, hypothesis, level_q, witness, error, regret,
                            verified is not None, reward)


def theorem_4_2(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction, lam: Fraction,
                reference: StochasticPolicy, *, bounds: ReturnBounds | None = None,
                timeout: float = 30.0) -> Theorem42 | None:
    """Thm 4.2's constants as printed and as corrected (docs/errata.md), its witness verified, the cheapest
    witness found, and the engine's own verdict at ``ε``.  ``None`` when ``range J = 0`` or ``L = 1``."""
    require_all_actions(mdp, "Theorem 4.2")
    bounds = bounds or return_bounds(mdp)
    if bounds.degenerate or not (0 < regret_bound < 1):
        return None
    policy = bounds.pessimal_policy
    supp = support(mdp, policy)
    support_mass = sum((data[x] for x in supp), Fraction(0))
    omega = kl_regulariser(mdp, deterministic_as_stochastic(mdp, policy), reference)
    path_mins, t0 = min_path_probabilities(mdp, policy)
    with rg.Precision():
        base = printed_delta(mdp, regret_bound, bounds.range)
        printed, corrected = base, base * rg.ball(1 - mdp.gamma)
    variants = tuple(_theorem_variant(name, mdp, data, epsilon, regret_bound, lam, reference, bounds, policy,
                                      supp, support_mass, omega, delta, path_mins)
                     for name, delta in (("as printed", printed), ("corrected (docs/errata.md)", corrected)))
    problem = regularised_problem(mdp, data, regret_bound, lam, reference, bounds)
    cheapest = find_witness(problem, seconds=max(1.0, timeout / 4))
    for variant in variants:
        if variant.witness is not None and (cheapest is None or variant.witness.error < cheapest.error):
            cheapest = variant.witness
    if cheapest is not None and cheapest.error <= epsilon:
        safe = False
    else:
        verdict = regularised_certify(mdp, data, epsilon, regret_bound, lam, reference, timeout=timeout,
                                      bounds=bounds).verdict(epsilon)
        safe = {Verdict.SAFE: True, Verdict.UNSAFE: False, Verdict.UNKNOWN: None}[verdict]
    return Theorem42(policy, support_mass, omega, t0, variants, cheapest, safe)
