"""App. D.3 on an instance: Proposition D.15 and Lemma D.17, safe optimisation through choice
probabilities over trajectories of a finite horizon ``T`` (docs/theory.md §7).

Trajectories are ``ξ = s0 a0 … s_{T−1} a_{T−1}`` with ``μ0(s0) > 0`` and positive transitions (the
feasible ones: a distribution on every sequence would give the others probability 0 and the
proposition's ``ε`` would vanish), ``G(ξ) = Σ_{t<T} γ^t R(s_t, a_t)``.  The paper leaves the policy
class of App. D.3 open, and its proofs use only ``J(π) = E_{ξ∼π} G(ξ)``, so they hold for any
class; rewardcert takes the Markov policies of horizon ``T`` (``π_t(a|s)``), whose optimal and
pessimal returns, and the worst regret over the optimal policies of ``R̂``, are exact backward
inductions.

* **Lemma D.17**: with ``σ(U) = range J · U / 2``, if some ``c`` has ``max_ξ |Ĝ(ξ) − G(ξ) − c| < σ(U)``
  (equivalently ``spread = max_ξ (Ĝ − G) − min_ξ (Ĝ − G) < range J · U``), every optimal policy of
  ``R̂`` has regret ``< U``.  Exact.  For every ``U`` at once it says ``worst regret ≤ spread/range J``
  when ``spread < range J``, which is checked too.
* **Proposition D.15**, with the proof's explicit constants: ``σ = σ(U)``,
  ``δ = min_{ξ1,ξ2} δ(P_R(1|ξ1,ξ2), σ)`` (Lemma D.18), ``μ = 2δ²`` (D.19), ``ε = μ min_{ξ1,ξ2}
  D(ξ1)D(ξ2)`` (D.20), with ``D`` the law of trajectories under a data policy ``π``; if the choice
  distance ``d_KL^D(R, R̂)`` (the left side of Prop 5.2) is ``< ε``, every optimal policy of ``R̂``
  has regret ``< U``.  ``ε`` and the distance are enclosures.

``δ(q, σ)`` depends on ``q = σ(G(ξ1) − G(ξ2))`` only through ``|G(ξ1) − G(ξ2)|`` (it is symmetric in
``q ↔ 1 − q``) and decreases in it: for ``q ≤ 1/2`` it is ``(e^σ − 1) q(1−q)/(q + e^σ(1−q))``, whose
derivative in ``q`` has the sign of ``(1−2q)(q + e^σ(1−q)) + (e^σ − 1)q(1−q) ≥ 0``.  So the minimum
over pairs is at ``|G(ξ1) − G(ξ2)| = max G − min G``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..core.errors import ModelError, ResourceLimit
from ..core.model import MDP, require_all_actions
from ..core.policies import StochasticPolicy, check_stochastic
from ..rigorous import enclosures as rg
from .measures import MAX_HORIZON, error_measures

MAX_STEPS = 2_000_000
"""Most ``T · |S×A|`` the backward inductions take (each step is a few exact operations)."""


def _check(mdp: MDP, horizon: int) -> None:
    require_all_actions(mdp, "App. D.3 (Prop D.15, Lemma D.17)")
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise ModelError("the horizon T must be a whole number >= 1", entry="--horizon")
    if horizon > MAX_HORIZON or horizon * mdp.n_pairs > MAX_STEPS:
        raise ResourceLimit(f"horizon {horizon} on {mdp.n_pairs} pairs is above the limit of "
                            f"T <= {MAX_HORIZON} and T |S x A| <= {MAX_STEPS}", entry="--horizon")


def _backward(mdp: MDP, horizon: int, reward: Sequence[Fraction], choose) -> list[Fraction]:
    """``V_0`` of the backward induction ``V_t(s) = choose(Q_t(s, ·))``, ``Q_t = R + γ τ V_{t+1}``."""
    m = mdp.n_actions
    values = [Fraction(0)] * mdp.n_states
    for _ in range(horizon):
        q = [reward[x] + (mdp.gamma * sum((p * values[t] for t, p in mdp.successors(x)), Fraction(0))
                          if mdp.gamma else 0) for x in range(mdp.n_pairs)]
        values = [choose(q[s * m:(s + 1) * m]) for s in range(mdp.n_states)]
    return values


def _worst_optimal(mdp: MDP, horizon: int, estimate: Sequence[Fraction]) -> Fraction:
    """The least ``J_R`` over the Markov policies optimal for ``R̂``: at every step and state the
    actions of largest ``Q̂_t``, among them the one of least ``R``-value to go (states a policy does
    not reach do not change its return, so restricting every state loses nothing)."""
    m = mdp.n_actions
    v_hat = [Fraction(0)] * mdp.n_states
    v_true = [Fraction(0)] * mdp.n_states
    for _ in range(horizon):
        def future(values, x):
            return mdp.gamma * sum((p * values[t] for t, p in mdp.successors(x)), Fraction(0)) if mdp.gamma else 0
        q_hat = [estimate[x] + future(v_hat, x) for x in range(mdp.n_pairs)]
        q_true = [mdp.reward[x] + future(v_true, x) for x in range(mdp.n_pairs)]
        new_hat, new_true = [], []
        for s in range(mdp.n_states):
            row = q_hat[s * m:(s + 1) * m]
            best = max(row)
            new_hat.append(best)
            new_true.append(min(q_true[s * m + a] for a in range(m) if row[a] == best))
        v_hat, v_true = new_hat, new_true
    return sum((p * v for p, v in zip(mdp.initial, v_true) if p), Fraction(0))


def _extremes(mdp: MDP, horizon: int, reward: Sequence[Fraction]) -> tuple[Fraction, Fraction]:
    """``max`` and ``min`` of ``Σ_{t<T} γ^t reward(s_t, a_t)`` over feasible trajectories."""
    hi = _backward(mdp, horizon, reward, max)
    lo = _backward(mdp, horizon, reward, min)
    starts = [s for s, p in enumerate(mdp.initial) if p]
    return max(hi[s] for s in starts), min(lo[s] for s in starts)


def least_trajectory_probability(mdp: MDP, policy: StochasticPolicy, horizon: int) -> Fraction:
    """``min_ξ D(ξ)`` over feasible trajectories, ``D`` the law of ``ξ`` under ``policy`` (0 when the
    policy never takes some action a feasible trajectory takes)."""
    m = mdp.n_actions
    least = {s: p for s, p in enumerate(mdp.initial) if p}
    for t in range(horizon):
        pairs = {s * m + a: p * policy[s][a] for s, p in least.items() for a in range(m)}
        if t == horizon - 1:
            return min(pairs.values())
        nxt: dict[int, Fraction] = {}
        for x, p in pairs.items():
            for s2, q in mdp.successors(x):
                value = p * q
                if s2 not in nxt or value < nxt[s2]:
                    nxt[s2] = value
        least = nxt
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class LemmaD17:
    regret_bound: Fraction             # U
    sigma: Fraction                    # σ(U) = range J · U / 2
    spread: Fraction                   # max_ξ (Ĝ − G) − min_ξ (Ĝ − G); the best c gives max|Ĝ − G − c| = spread/2
    range_return: Fraction             # range J over Markov policies of horizon T
    worst_regret: Fraction             # the largest regret of an optimal policy of R̂
    hypothesis: bool                   # spread/2 < σ(U)
    holds: bool | None                 # the conclusion Reg < U (None: the hypothesis fails)
    every_u_holds: bool                # worst regret <= spread / range J whenever spread < range J


def lemma_d17(mdp: MDP, estimate: Sequence[Fraction], horizon: int, regret_bound: Fraction) -> LemmaD17 | None:
    """Lemma D.17 exactly; ``None`` when ``range J = 0`` (the lemma assumes ``max J ≠ min J``)."""
    _check(mdp, horizon)
    best = sum((p * v for p, v in zip(mdp.initial, _backward(mdp, horizon, mdp.reward, max)) if p), Fraction(0))
    worst = sum((p * v for p, v in zip(mdp.initial, _backward(mdp, horizon, mdp.reward, min)) if p), Fraction(0))
    if best == worst:
        return None
    range_j = best - worst
    diff = [rh - r for rh, r in zip(estimate, mdp.reward)]
    hi, lo = _extremes(mdp, horizon, diff)
    spread = hi - lo
    regret = (best - _worst_optimal(mdp, horizon, estimate)) / range_j
    sigma = range_j * regret_bound / 2
    hypothesis = spread / 2 < sigma
    every_u = spread >= range_j or regret <= spread / range_j
    return LemmaD17(regret_bound, sigma, spread, range_j, regret, hypothesis,
                    (regret < regret_bound) if hypothesis else None, every_u)


@dataclass(frozen=True)
class PropositionD15:
    lemma: LemmaD17
    delta: rg.Enclosure                # δ = min over pairs of δ(q, σ), Lemma D.18
    least_probability: Fraction        # min_ξ D(ξ)
    epsilon: rg.Enclosure              # ε = 2δ² (min D)², Lemmas D.19, D.20
    distance: rg.Enclosure             # d_KL^D(R, R̂), the left side of Prop 5.2
    hypothesis: bool | None            # distance < ε, rigorously
    holds: bool | None                 # the conclusion Reg < U (None: the hypothesis fails or is undecided)
    chain_holds: bool | None           # Cor D.21's step: distance < ε gives spread/2 < σ


def proposition_d15(mdp: MDP, policy: StochasticPolicy, estimate: Sequence[Fraction], horizon: int,
                    regret_bound: Fraction) -> PropositionD15 | None:
    """Prop D.15 with the proof's own ``ε(U)``; ``None`` when ``range J = 0``."""
    lemma = lemma_d17(mdp, estimate, horizon, regret_bound)
    if lemma is None:
        return None
    policy = check_stochastic(mdp, policy)
    g_max, g_min = _extremes(mdp, horizon, mdp.reward)
    least = least_trajectory_probability(mdp, policy, horizon)
    with rg.Precision():
        k = rg.ball(lemma.sigma).exp()
        q = 1 / (1 + rg.ball(g_max - g_min).exp())           # σ(−(max G − min G)) ≤ 1/2
        first = 1 / (1 / q + k / (1 - q))
        second = 1 / (1 / (1 - q) + k / q)
        delta = (k - 1) * first.min(second)
        epsilon = 2 * delta * delta * rg.ball(least * least)
        delta_enc, eps_enc = rg.bounds(delta), rg.bounds(epsilon)
    distance = error_measures(mdp, policy, estimate, horizon).prop_5_2.left
    hypothesis = True if distance.upper < eps_enc.lower else False if distance.lower >= eps_enc.upper else None
    holds = (lemma.worst_regret < regret_bound) if hypothesis else None
    chain = lemma.hypothesis if hypothesis else None
    return PropositionD15(lemma, delta_enc, least, eps_enc, distance, hypothesis, holds, chain)


__all__ = ["LemmaD17", "PropositionD15", "lemma_d17", "least_trajectory_probability", "proposition_d15"]
