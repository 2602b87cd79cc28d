"""The paper's §5 error measures on an instance: Props 5.1–5.3 (App. C.4.1–C.4.2, docs/theory.md §7).

Finite horizon ``T``: trajectories ``ξ = s0 a0 … s_{T−1} a_{T−1}`` under a policy ``π``,
returns ``G_R(ξ) = Σ_{t<T} γ^t R(s_t, a_t)``.  Instead of enumerating the ``(|S||A|)^T``
trajectories, a dynamic programme carries the exact joint distribution of
``(s_t, G_R, G_R̂)`` (equal keys merge), which is far smaller when rewards repeat.

* Prop 5.1: ``E_ξ|G_R − G_R̂| ≤ (1−γ^T)/(1−γ) · E_{D^π}|R − R̂|`` with
  ``D^π = (1−γ)/(1−γ^T) η_T`` — both sides exact rationals.
* Prop 5.2: ``E_{ξ1,ξ2} KL(σ(G_R(ξ1) − G_R(ξ2)) ‖ σ(G_R̂(ξ1) − G_R̂(ξ2))) ≤ 2 E_ξ|G_R − G_R̂|``.
* Prop 5.3: the same KL with ``ξ1, ξ2`` sharing ``s0 ∼ μ0`` is at most Prop 5.2's left side
  divided by ``min_{μ0(s) > 0} μ0(s)``.

The KL sides are ``arb`` enclosures; an inequality ``holds`` only when the enclosures decide it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..core.errors import ModelError, ResourceLimit
from ..core.model import MDP, require_all_actions
from ..core.policies import StochasticPolicy, check_stochastic
from ..rigorous import enclosures as rg

MAX_SUPPORT = 400_000
"""Most distinct ``(state, G_R, G_R̂)`` entries the dynamic programme holds at one step."""
MAX_KL_PAIRS = 1_000_000
"""Most unordered pairs of return values whose KL Props 5.2 and 5.3 enclose one by one."""
MAX_HORIZON = 1_000


@dataclass(frozen=True)
class Inequality:
    left: Fraction | rg.Enclosure
    right: Fraction | rg.Enclosure
    holds: bool | None                 # None: the enclosures straddle

    def as_json(self) -> dict:
        from ..core.numbers import format_rational

        def side(v):
            return v.as_json() if isinstance(v, rg.Enclosure) else format_rational(v)
        return {"left": side(self.left), "right": side(self.right), "holds": self.holds}


@dataclass(frozen=True)
class ProofStep:
    """Step (65) ≤ (66) of Prop C.25's proof (Prop 5.2 in the main text) on one pair of trajectories
    with ``x = G_R(ξ1) − G_R(ξ2)`` and ``y = G_R̂(ξ1) − G_R̂(ξ2)``: (65) is ``KL(Bern σ(x) ‖ Bern σ(y))``,
    (66) is ``log σ(x)/σ(y) + log σ(−x)/σ(−y)``.  The step uses ``σ · log ≤ log``, false when the
    log is negative (docs/errata.md); the proposition's statement is checked on its own."""

    x: Fraction
    y: Fraction
    step_65: rg.Enclosure
    step_66: rg.Enclosure
    pairs: int                         # pairs of return values searched

    @property
    def fails(self) -> bool:
        return self.step_65.lower > self.step_66.upper


@dataclass(frozen=True)
class MeasuresReport:
    horizon: int
    support: int                       # distinct (G_R, G_R̂) values of the final distribution
    prop_5_1: Inequality
    prop_5_2: Inequality
    prop_5_3: Inequality
    proof_step: ProofStep | None = None  # Prop C.25's step (65) <= (66) at its worst pair, when asked

    @property
    def contradicted(self) -> bool:
        return any(p.holds is False for p in (self.prop_5_1, self.prop_5_2, self.prop_5_3))


def check_estimate(mdp: MDP, estimate: MDP) -> None:
    """``R̂``'s model must have the same states, actions, γ, μ0 and dynamics as ``mdp``."""
    require_all_actions(mdp, "the error measures of section 5")
    for what, a, b in (("states", mdp.states, estimate.states), ("actions", mdp.actions, estimate.actions),
                       ("gamma", mdp.gamma, estimate.gamma), ("initial", mdp.initial, estimate.initial)):
        if a != b:
            raise ModelError(f"the estimate's {what} differ from the model's; only the reward may differ",
                             entry=what)
    if mdp.gamma and any(mdp.successors(x) != estimate.successors(x) for x in range(mdp.n_pairs)):
        raise ModelError("the estimate's transitions differ from the model's; only the reward may differ",
                         entry="transitions")


def return_distribution(mdp: MDP, policy: StochasticPolicy, estimate: Sequence[Fraction], horizon: int,
                        start: dict[int, Fraction]) -> dict[tuple[Fraction, Fraction], Fraction]:
    """The exact law of ``(G_R, G_R̂)`` over ``horizon`` steps from the start distribution ``start``."""
    m = mdp.n_actions
    layer: dict[tuple, Fraction] = {(s, Fraction(0), Fraction(0)): p for s, p in start.items() if p}
    discount = Fraction(1)
    final: dict[tuple[Fraction, Fraction], Fraction] = defaultdict(Fraction)
    for t in range(horizon):
        last = t == horizon - 1
        nxt: dict[tuple, Fraction] = defaultdict(Fraction)
        for (s, g, gh), p in layer.items():
            for a, q in enumerate(policy[s]):
                if not q:
                    continue
                x = s * m + a
                g2, gh2 = g + discount * mdp.reward[x], gh + discount * estimate[x]
                if last:
                    final[(g2, gh2)] += p * q
                else:
                    for s2, r in mdp.successors(x):
                        nxt[(s2, g2, gh2)] += p * q * r
        if not last:
            if len(nxt) > MAX_SUPPORT:
                raise ResourceLimit(f"the joint law of (state, G_R, G_R^) has more than {MAX_SUPPORT} values at "
                                    f"step {t + 1}; use a shorter --horizon (at most about "
                                    f"{t} here)", entry="--horizon")
            layer = nxt
        discount *= mdp.gamma
    return dict(final)


def truncated_occupancy(mdp: MDP, policy: StochasticPolicy, horizon: int) -> list[Fraction]:
    """``η_T(s,a) = Σ_{t<T} γ^t P(s_t = s, a_t = a)``, exactly, by forward propagation."""
    m = mdp.n_actions
    state = list(mdp.initial)
    eta = [Fraction(0)] * mdp.n_pairs
    discount = Fraction(1)
    for t in range(horizon):
        nxt = [Fraction(0)] * mdp.n_states
        for s, p in enumerate(state):
            if not p:
                continue
            for a, q in enumerate(policy[s]):
                if q:
                    eta[s * m + a] += discount * p * q
                    if t < horizon - 1:
                        for s2, r in mdp.successors(s * m + a):
                            nxt[s2] += p * q * r
        state = nxt
        discount *= mdp.gamma
    return eta


BINS = 1_200
"""Props 5.2/5.3 group a law with more values than this into grid cells (see ``_binned``)."""


def _binned(law: dict) -> tuple[dict, Fraction]:
    """The law's mass gathered at the centres of a square grid of side ``w`` over ``(G_R, G_R̂)``
    with at most about ``BINS`` occupied cells, and ``w``.  Every value lies within ``w/2`` of its
    cell's centre in each coordinate."""
    gs = [g for g, _ in law]
    hs = [h for _, h in law]
    span = max(max(gs) - min(gs), max(hs) - min(hs), Fraction(1, 10 ** 6))
    cells = BINS
    while True:
        w = span / cells
        grouped: dict = defaultdict(Fraction)
        for (g, h), p in law.items():
            grouped[(g // w, h // w)] += p
        if len(grouped) <= BINS or cells <= 2:
            break
        cells = cells * 3 // 4
    centred = {((i + Fraction(1, 2)) * w, (j + Fraction(1, 2)) * w): p for (i, j), p in grouped.items()}
    return centred, w


def _kl_expectation(law: dict) -> rg.Ball:
    """``E KL(σ(g1 − g2) ‖ σ(ĝ1 − ĝ2))`` for two independent draws from ``law``.

    Exactly pair by pair when there are at most ``MAX_KL_PAIRS`` pairs of values; otherwise on a
    grid: with both draws within ``w/2`` of their cells' centres, ``u = g1 − g2`` and ``v = ĝ1 − ĝ2``
    are within ``δ = w`` of the centres' ``(u0, v0)``, and since ``∂KL/∂v = σ(v) − σ(u) ∈ [−1, 1]``
    and ``∂KL/∂u = σ'(u)(u − v)`` with ``σ' ≤ 1/4``, ``|KL(u, v) − KL(u0, v0)| ≤ δ (1 + (|u0 − v0| + 2δ)/4)``.
    """
    k = len(law)
    if k * (k - 1) // 2 <= MAX_KL_PAIRS:
        return _kl_pairs(law, None)
    binned, w = _binned(law)
    return _kl_pairs(binned, w)


def _kl_pairs(law: dict, w: Fraction | None) -> rg.Ball:
    """``E KL(σ(g1 − g2) ‖ σ(ĝ1 − ĝ2))`` for two independent draws from ``law``.  The returns are
    turned into balls once; each unordered pair is enclosed once (KL is symmetric under swapping
    the trajectories) and counted twice."""
    items = [(rg.ball(g), rg.ball(h), rg.ball(p)) for (g, h), p in law.items()]
    delta = None if w is None else rg.ball(w)
    total = rg.ball(0)
    for i, (g1, h1, p1) in enumerate(items):
        row = rg.ball(0)
        for g2, h2, p2 in items[i + 1:]:
            u, v = g1 - g2, h1 - h2
            kl = rg.bernoulli_kl(u, v)
            if delta is not None:
                slack = delta * (1 + (abs(u - v) + 2 * delta) / 4)
                kl = (kl - slack).union(kl + slack)
            row += p2 * kl
        total += 2 * p1 * row
    if delta is not None:
        # Pairs in the same cell: u, v both within δ of 0, so KL ≤ δ (1 + 3δ/4) (the same bound at (0, 0)).
        diagonal = sum((p * p for _, _, p in items), rg.ball(0))
        total += rg.ball(0).union(diagonal * delta * (1 + 3 * delta / 4))
    return total


def _decide(left: rg.Enclosure | Fraction, right: rg.Enclosure | Fraction) -> bool | None:
    lo = left.lower if isinstance(left, rg.Enclosure) else left
    hi = left.upper if isinstance(left, rg.Enclosure) else left
    r_lo = right.lower if isinstance(right, rg.Enclosure) else right
    r_hi = right.upper if isinstance(right, rg.Enclosure) else right
    if hi <= r_lo:
        return True
    if lo > r_hi:
        return False
    return None


MAX_STEP_PAIRS = 200_000
"""Most pairs of return values the search for Prop C.25's failing proof step looks at (in floats;
the pair it keeps is then enclosed)."""


def proof_step_c25(law: dict) -> ProofStep | None:
    """The pair of return values where (65) − (66) is largest (floats pick it; enclosures decide),
    or ``None`` when the law has one value."""
    import math

    values = list(law)[:int(MAX_STEP_PAIRS ** 0.5) + 1]
    if len(values) < 2:
        return None

    def sp(t: float) -> float:
        return max(t, 0.0) + math.log1p(math.exp(-abs(t)))

    def gap(x: float, y: float) -> float:
        p = 1 / (1 + math.exp(-x))
        kl = p * (sp(-y) - sp(-x)) + (1 - p) * (sp(y) - sp(x))
        return kl - (sp(y) + sp(-y) - sp(x) - sp(-x))
    best, pairs = None, 0
    for i, (g1, h1) in enumerate(values):
        for g2, h2 in values[i + 1:]:
            pairs += 1
            x, y = g1 - g2, h1 - h2
            score = gap(float(x), float(y))
            if best is None or score > best[0]:
                best = (score, x, y)
    _, x, y = best
    with rg.Precision():
        bx, by = rg.ball(x), rg.ball(y)
        step_65 = rg.bounds(rg.bernoulli_kl(bx, by))
        step_66 = rg.bounds(rg.softplus(by) + rg.softplus(-by) - rg.softplus(bx) - rg.softplus(-bx))
    return ProofStep(x, y, step_65, step_66, pairs)


def error_measures(mdp: MDP, policy: StochasticPolicy, estimate: Sequence[Fraction], horizon: int, *,
                   proof_step: bool = False) -> MeasuresReport:
    """Both sides of Props 5.1–5.3 for ``π``, ``R̂`` and horizon ``T``; with ``proof_step``, also
    Prop C.25's step (65) ≤ (66) at its worst pair of trajectories."""
    require_all_actions(mdp, "the error measures of section 5")
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise ModelError("the horizon T must be a whole number >= 1", entry="--horizon")
    if horizon > MAX_HORIZON:
        raise ResourceLimit(f"horizon {horizon} is above the limit {MAX_HORIZON}", entry="--horizon")
    policy = check_stochastic(mdp, policy)
    joint = return_distribution(mdp, policy, estimate, horizon, dict(enumerate(mdp.initial)))
    left_51 = sum((p * abs(a - b) for (a, b), p in joint.items()), Fraction(0))
    eta = truncated_occupancy(mdp, policy, horizon)
    # (1−γ^T)/(1−γ) · E_{D^π}|R − R̂| with D^π = (1−γ)/(1−γ^T) η_T is Σ_x η_T(x)|R − R̂|(x).
    right_51 = sum((e * abs(r - rh) for e, r, rh in zip(eta, mdp.reward, estimate)), Fraction(0))
    with rg.Precision():
        left_52 = rg.bounds(_kl_expectation(joint))
        starts = [s for s, p in enumerate(mdp.initial) if p]
        if len(starts) == 1:
            left_53 = left_52          # one start state: the two sides are the same expectation
        else:
            shared = rg.ball(0)
            for s in starts:
                law = return_distribution(mdp, policy, estimate, horizon, {s: Fraction(1)})
                shared += rg.ball(mdp.initial[s]) * _kl_expectation(law)
            left_53 = rg.bounds(shared)
    left_52 = rg.Enclosure(max(left_52.lower, Fraction(0)), left_52.upper)
    left_53 = rg.Enclosure(max(left_53.lower, Fraction(0)), left_53.upper)
    right_52 = 2 * left_51
    least = min(p for p in mdp.initial if p)
    right_53 = rg.Enclosure(left_52.lower / least, left_52.upper / least)
    # With a single start state the two sides of Prop 5.3 are one and the same number: it holds
    # with equality, which intervals alone could not decide.
    holds_53 = True if least == 1 else _decide(left_53, right_53)
    return MeasuresReport(horizon, len(joint),
                          Inequality(left_51, right_51, left_51 <= right_51),
                          Inequality(left_52, right_52, _decide(left_52, right_52)),
                          Inequality(left_53, right_53, holds_53),
                          proof_step_c25(joint) if proof_step else None)
