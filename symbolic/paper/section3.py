"""The paper's §3 results that construct something, on an instance: Prop. 3.3 and Cor. 3.4.

* ``proposition_3_3``: the policies ``π ∈ Π_L`` with ``D(supp D^π) < ε``, each with
  the paper's witness ``R̂ = R`` off ``supp D^π`` and ``max R`` on it.
* ``corollary_3_4``: a largest family of ``Π_L`` policies with pairwise disjoint
  supports (exact, by branch and bound over the distinct supports). If it has
  ``K`` members, every ``D`` is unsafe for ``ε ≥ 1/K``, so ``ε** ≤ 1/K``.

The safest distribution, the toolkit's own question built on Theorem 3.5's M, is in ``safest.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..core.errors import ResourceLimit
from ..core.model import MDP, DeterministicPolicy
from ..core.results import Witness
from ..exact.evaluation import (
    Progress,
    ReturnBounds,
    enumerate_policies,
    expected_return,
    policy_iteration,
    support,
)
from ..exact.linalg import to_fmpq
from ..guidance.floatvi import return_bounds

MAX_CUTS = 10_000


@dataclass(frozen=True)
class LowCoverageWitness:
    """Proposition 3.3's attack on a high-regret policy the data barely covers."""

    support: frozenset[int]        # supp D^π
    coverage: Fraction             # D(supp D^π)
    regret: Fraction
    witness: Witness               # R̂ = max R on the support, R elsewhere; its policy is uniformly optimal


def proposition_3_3_witness(mdp: MDP, data: Sequence[Fraction], policy: DeterministicPolicy,
                            bounds: ReturnBounds) -> LowCoverageWitness:
    """The paper's witness for ``policy``.  On states the policy never reaches its
    actions are replaced by optimal ones for ``R̂`` (Lemma A): occupancy, support
    and regret are unchanged, and the policy becomes uniformly optimal."""
    reached = support(mdp, policy)
    top = mdp.max_reward
    reward_model = tuple(top if x in reached else r for x, r in enumerate(mdp.reward))
    m = mdp.n_actions
    visited = {x // m for x in reached}
    allowed = [(a,) if s in visited else mdp.enabled_actions(s) for s, a in enumerate(policy)]
    completed, _ = policy_iteration(mdp, [to_fmpq(r) for r in reward_model], allowed=allowed, start=policy)
    error = sum((data[x] * (top - mdp.reward[x]) for x in reached), Fraction(0))
    coverage = sum((data[x] for x in reached), Fraction(0))
    regret = bounds.regret_of_return(expected_return(mdp, completed))
    return LowCoverageWitness(frozenset(reached), coverage, regret,
                              Witness(reward_model, completed, error / mdp.range_reward))


def proposition_3_3(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                    bounds: ReturnBounds | None = None, progress: Progress | None = None
                    ) -> tuple[LowCoverageWitness, ...]:
    """Every support of a ``Π_L`` policy with ``D(supp D^π) < ε``, one witness per support."""
    bounds = bounds or return_bounds(mdp)
    if bounds.degenerate:
        return ()
    found: dict[frozenset[int], LowCoverageWitness] = {}
    for evaluation in enumerate_policies(mdp, bounds, progress=progress):
        if evaluation.regret < regret_bound:
            continue
        reached = support(mdp, evaluation.policy)
        if reached in found:
            continue
        if sum((data[x] for x in reached), Fraction(0)) < epsilon:
            found[reached] = proposition_3_3_witness(mdp, data, evaluation.policy, bounds)
    return tuple(sorted(found.values(), key=lambda w: (w.coverage, sorted(w.support))))


@dataclass(frozen=True)
class DisjointFamily:
    """A largest set of ``Π_L`` policies with pairwise disjoint ``supp D^π``."""

    policies: tuple[DeterministicPolicy, ...]
    supports: tuple[frozenset[int], ...]

    @property
    def size(self) -> int:
        return len(self.policies)

    @property
    def epsilon_bound(self) -> Fraction | None:
        """Cor. 3.4: every ``D`` is unsafe for ``ε ≥ 1/K``; ``None`` if the family is empty."""
        return Fraction(1, self.size) if self.policies else None


MAX_SUPPORTS = 5_000


def corollary_3_4(mdp: MDP, regret_bound: Fraction, bounds: ReturnBounds | None = None,
                  progress: Progress | None = None) -> DisjointFamily:
    """Exact maximum packing of pairwise disjoint supports among ``Π_L`` policies."""
    bounds = bounds or return_bounds(mdp)
    if bounds.degenerate:
        return DisjointFamily((), ())
    representative: dict[int, DeterministicPolicy] = {}
    for evaluation in enumerate_policies(mdp, bounds, progress=progress):
        if evaluation.regret >= regret_bound:
            mask = sum(1 << x for x in support(mdp, evaluation.policy))
            representative.setdefault(mask, evaluation.policy)
            if len(representative) > MAX_SUPPORTS:
                raise ResourceLimit(f"more than {MAX_SUPPORTS} distinct supports in Π_L")
    masks = sorted(representative, key=lambda b: (bin(b).count("1"), b))
    best: list[int] = []

    def extend(chosen: list[int], candidates: list[int]) -> None:
        nonlocal best
        if len(chosen) > len(best):
            best = list(chosen)
        for i, mask in enumerate(candidates):
            if len(chosen) + len(candidates) - i <= len(best):
                return  # even taking every remaining candidate cannot beat the best
            rest = [c for c in candidates[i + 1:] if not c & mask]
            chosen.append(mask)
            extend(chosen, rest)
            chosen.pop()

    extend([], masks)
    policies = tuple(representative[b] for b in best)
    supports = tuple(frozenset(x for x in range(mdp.n_pairs) if (b >> x) & 1) for b in best)
    return DisjointFamily(policies, supports)


SUPPORT_TOLERANCE = 1e-9
"""A float ``D_x`` or mixture weight above this is in the support the exact solve is tried on."""
