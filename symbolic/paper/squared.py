"""The paper's App. B.3 on an instance: the mean-squared error (MSE) as P1 (docs/theory.md §3a).

App. B.3 defines ``d^MSE_D(R, R̂) = E_D[((R̂ − R)/range R)²]`` and reads P1 as ``d^MSE_D ≤ ε``, that
is ``E_D[(R̂ − R)²] ≤ ε (range R)²``.  Its results, each checked here against the exact
``ε*_MSE(D)`` of ``search/squared.py`` (``D`` is MSE-safe at ``ε`` exactly when ``ε < ε*_MSE``):

* **Proposition B.1**: ``D ∈ safe_MAE(ε) ⇒ D ∈ safe_MSE(ε²)`` (Jensen), i.e. ``ε*_MAE² ≤ ε*_MSE``;
* **Proposition 3.2 (MSE)**: positive ``D`` and ``ε < ((1−γ)/√2 · range J/range R · min D · L)²`` ⇒
  MSE-safe.  The squared bound is the rational ``q²/2``;
* **Proposition 3.3 and Corollary 3.4 (MSE)**, "verbatim": the same witness ``R̂ = max R`` on
  ``supp D^π`` has ``d^MSE ≤ D(supp D^π)``;
* **Theorem 4.2 (MSE)**: ``D(supp D^{π*}) ≤ ε/(1 + C)²`` ⇒ MSE-unsafe for ``λ > 0``; eq. 103's witness
  has ``(R̂ − R)/range R ≤ 1 + C`` on the support.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..core.model import MDP
from ..exact.evaluation import ReturnBounds, expected_return, is_uniformly_optimal
from ..search.squared import SquaredResult
from .closed_form import proposition_3_2
from .section3 import LowCoverageWitness, corollary_3_4, proposition_3_3


def squared_error(mdp: MDP, data: Sequence[Fraction], reward_model: Sequence[Fraction]) -> Fraction:
    """``d^MSE_D(R, R̂) = E_D[(R̂ − R)²] / (range R)²``, exactly."""
    total = sum((d * (rh - r) ** 2 for d, rh, r in zip(data, reward_model, mdp.reward) if d), Fraction(0))
    return total / mdp.range_reward ** 2


@dataclass(frozen=True)
class PropositionB1:
    epsilon: Fraction
    absolute: Fraction | None          # ε*_MAE(D) (None: ∞)
    squared: Fraction | None           # ε*_MSE(D) (None: ∞)

    @property
    def hypothesis(self) -> bool:
        """``D ∈ safe_MAE(ε)``."""
        return self.absolute is None or self.epsilon < self.absolute

    @property
    def conclusion(self) -> bool:
        """``D ∈ safe_MSE(ε²)``."""
        return self.squared is None or self.epsilon ** 2 < self.squared

    @property
    def every_epsilon(self) -> bool:
        """The proposition for every ``ε`` at once: ``ε*_MAE² ≤ ε*_MSE``."""
        if self.absolute is None:
            return self.squared is None
        return self.squared is None or self.absolute ** 2 <= self.squared

    @property
    def holds(self) -> bool:
        return (not self.hypothesis or self.conclusion) and self.every_epsilon


@dataclass(frozen=True)
class Proposition32Squared:
    bound: Fraction                    # ((1−γ)/√2 · range J/range R · min D · L)² = q²/2, exact
    applies: bool                      # D positive (and range J > 0)
    below: bool                        # ε < bound
    at_most_critical: bool             # bound <= ε*_MSE: every ε below the bound is MSE-safe
    safe_at_epsilon: bool              # ε < ε*_MSE


def proposition_3_2_squared(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                            bounds: ReturnBounds, result: SquaredResult) -> Proposition32Squared:
    p32 = proposition_3_2(mdp, data, regret_bound, bounds)
    bound = p32.q * p32.q / 2
    star = result.critical_epsilon
    return Proposition32Squared(bound, p32.applies, epsilon < bound, star is None or bound <= star,
                                star is None or epsilon < star)


@dataclass(frozen=True)
class LowCoverageSquared:
    witness: LowCoverageWitness
    squared_error: Fraction            # d^MSE of R̂ = max R on the support
    optimal: bool                      # its policy is uniformly optimal for R̂ (exact)


def proposition_3_3_squared(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                            bounds: ReturnBounds) -> tuple[LowCoverageSquared, ...]:
    """Prop 3.3 with the MSE: each low-coverage support's witness and its exact MSE."""
    out = []
    for low in proposition_3_3(mdp, data, epsilon, regret_bound, bounds):
        w = low.witness
        out.append(LowCoverageSquared(low, squared_error(mdp, data, w.reward),
                                      is_uniformly_optimal(mdp, w.policy, w.reward)))
    return tuple(out)


@dataclass(frozen=True)
class Corollary34Squared:
    size: int                          # K, the largest disjoint family of Π_L supports
    bound: Fraction | None             # 1/K
    critical: Fraction | None          # ε*_MSE(D)

    @property
    def holds(self) -> bool:
        """Some support has ``D ≤ 1/K``, whose witness has MSE ``≤ 1/K``: ``ε*_MSE(D) ≤ 1/K``."""
        return self.bound is None or (self.critical is not None and self.critical <= self.bound)


def corollary_3_4_squared(mdp: MDP, regret_bound: Fraction, bounds: ReturnBounds,
                          result: SquaredResult) -> Corollary34Squared:
    family = corollary_3_4(mdp, regret_bound, bounds)
    return Corollary34Squared(family.size, family.epsilon_bound, result.critical_epsilon)


@dataclass(frozen=True)
class Theorem42Squared:
    name: str                          # the reading of δ
    hypothesis: bool | None            # D(supp D^{π*}) (1 + C)² <= ε, rigorously
    squared_error: Fraction | None     # eq. 103's witness's d^MSE, exact
    regret_verified: bool              # its regularised optimum provably has regret >= L
    verified: bool                     # both: MSE-unsafe at ε


def theorem_4_2_squared(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, theorem) -> tuple[Theorem42Squared, ...]:
    """App. B.3's Thm 4.2 from ``paper.regularised.theorem_4_2``'s constants and witnesses."""
    out = []
    for v in theorem.variants:
        if v.outer is None or v.witness_reward is None:
            out.append(Theorem42Squared(v.name, False, None, False, False))
            continue
        mass = theorem.support_mass
        hypothesis = (True if mass * (1 + v.outer.upper) ** 2 <= epsilon else
                      False if mass * (1 + v.outer.lower) ** 2 > epsilon else None)
        error = squared_error(mdp, data, v.witness_reward)
        out.append(Theorem42Squared(v.name, hypothesis, error, v.regret_verified,
                                    v.regret_verified and error <= epsilon))
    return tuple(out)


def witness_regret(mdp: MDP, policy, bounds: ReturnBounds) -> Fraction:
    return bounds.regret_of_return(expected_return(mdp, policy))


__all__ = ["Corollary34Squared", "LowCoverageSquared", "Proposition32Squared", "PropositionB1",
           "Theorem42Squared", "corollary_3_4_squared", "proposition_3_2_squared", "proposition_3_3_squared",
           "squared_error", "theorem_4_2_squared", "witness_regret"]
