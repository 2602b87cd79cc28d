"""Lemmas of the paper's App. C.4.4 and C.5 on an instance: C.29, C.36 and C.37 (docs/theory.md §5).

Each lemma is checked on the instance's soft optimum with rigorous enclosures, never trusted:

* **Lemma C.29**: ``J_R(π̂_R) ≥ J_R(π_ref)`` for the soft optimum ``π̂_R`` of the true reward.
* **Lemma C.37**: the regularised optimum ``π̂`` of eq. 103's ``R̂`` (``R`` off ``supp D^{π*}``,
  ``max R + λ ω(π*)/C(δ)`` on it) puts ``π̂(a|s) ≥ 1 − δ`` on every ``(s, a) ∈ supp D^{π*}``.  It is
  checked in two conventions: the toolkit's unnormalised ``J = E[G]`` with ``ω(π) = Σ_s d^π(s) KL``
  (``d^π`` of mass ``1/(1−γ)``), and App. C.5's normalised ``J = D^π·R`` with ``ω(π) = Σ_s D^π(s) KL``
  (mass 1).  Both objectives have the same maximiser (one is ``1−γ`` times the other), but ``ω(π*)``,
  hence eq. 103's level, and ``range J``, hence the printed ``δ``, differ by ``1−γ``
  (docs/errata.md).  The level is transcendental: the optimum is enclosed over the whole interval
  of levels that contains it (the fixed point is monotone in ``R̂``), so the check is rigorous.
* **Lemma C.36**: for each such ``π̂``, with the smallest ``δ`` its hypothesis provably allows
  (``δ = max_{supp} (1 − π̂(a|s))``, an upper bound), the occupancy bounds (97) and (98).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from ..core.model import MDP, Vector, require_all_actions
from ..core.policies import StochasticPolicy, deterministic_as_stochastic
from ..exact.evaluation import ReturnBounds, expected_return, state_occupancy, support
from ..exact.linalg import bellman_solve, dynamics, to_fraction
from ..guidance.floatvi import return_bounds
from ..rigorous import enclosures as rg
from ..rigorous.soft import (
    comparison_policy,
    kl_regulariser,
    policy_box,
    return_enclosure,
    soft_box,
    soft_optimum,
)
from .regularised import inner_constant, min_path_probabilities, printed_delta, reference_is_soft_optimal

UNNORMALISED = "unnormalised J = E[G] (the toolkit's)"
NORMALISED = "normalised J = D^pi . R (App. C.5)"


# -- Lemma C.29 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LemmaC29:
    optimum_return: rg.Enclosure       # J_R(π̂_R)
    reference_return: Fraction         # J_R(π_ref), exact
    equal: bool                        # π̂_R = π_ref exactly (decided by a rational linear system)
    holds: bool | None                 # J_R(π̂_R) >= J_R(π_ref), rigorously (None: undecided)


def lemma_c29(mdp: MDP, lam: Fraction, reference: StochasticPolicy) -> LemmaC29:
    """``J_R(π^rlhf_{R,λ}) ≥ J_R(π_ref)``: stated for bandits; in an MDP its two-line proof holds
    for the occupancy-weighted KL as well (``ω ≥ 0``, ``ω(π_ref) = 0``), which is what is checked."""
    require_all_actions(mdp, "Lemma C.29")
    reference_return = expected_return(mdp, reference)
    equal = reference_is_soft_optimal(mdp, reference)
    optimum = soft_optimum(mdp, mdp.reward, lam, reference).true_return
    if equal:
        holds = True                    # the two policies are the same: equality
    elif optimum.lower >= reference_return:
        holds = True
    elif optimum.upper < reference_return:
        holds = False
    else:
        holds = None
    return LemmaC29(optimum, reference_return, equal, holds)


# -- Lemma C.34 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class LemmaC34:
    convention: str                    # UNNORMALISED or NORMALISED: which range J enters C(L, R)
    bound_squared: Fraction            # C(L, R)² = (1 − L)² range J² / ‖R‖²
    policies: int                      # deterministic policies checked
    counterexample: tuple[int, ...] | None   # a policy with ‖D^π − D^{π*}‖² ≤ C² and regret < L
    distance_squared: Fraction | None  # its ‖D^π − D^{π*}‖²
    regret: Fraction | None

    @property
    def holds(self) -> bool:
        return self.counterexample is None


def lemma_c34(mdp: MDP, regret_bound: Fraction, *, bounds: ReturnBounds | None = None,
              limit: int = 4096) -> tuple[LemmaC34, ...] | None:
    """Lemma C.34 (``‖D^π − D^{π*}‖ ≤ (1−L) range J/‖R‖ ⇒ Reg(π) ≥ L``) on every deterministic policy,
    decided exactly by squaring, with ``range J`` unnormalised and normalised (``J = D^π·R``, App. C.5).
    ``None`` when ``range J = 0``, ``R = 0`` or there are more than ``limit`` policies."""
    from ..exact.evaluation import enumerate_policies, policy_distribution
    bounds = bounds or return_bounds(mdp)
    norm = sum((r * r for r in mdp.reward), Fraction(0))
    if bounds.degenerate or not norm or mdp.n_deterministic_policies > limit:
        return None
    star = policy_distribution(mdp, bounds.pessimal_policy)
    rows = []
    for evaluation in enumerate_policies(mdp, bounds):
        dist = policy_distribution(mdp, evaluation.policy)
        rows.append((evaluation, sum(((a - b) ** 2 for a, b in zip(dist, star)), Fraction(0))))
    out = []
    for convention, range_j in ((UNNORMALISED, bounds.range), (NORMALISED, (1 - mdp.gamma) * bounds.range)):
        bound = (1 - regret_bound) ** 2 * range_j ** 2 / norm
        bad = next(((e, d) for e, d in rows if d <= bound and e.regret < regret_bound), None)
        out.append(LemmaC34(convention, bound, len(rows), None if bad is None else tuple(bad[0].policy),
                            None if bad is None else bad[1], None if bad is None else bad[0].regret))
    return tuple(out)


# -- occupancies of a policy box --------------------------------------------------------------

def occupancy_box(mdp: MDP, lower: Sequence[Fraction], upper: Sequence[Fraction]
                  ) -> tuple[list[Fraction], list[Fraction]]:
    """Bounds on the normalised ``D^π(s,a) = (1−γ) d^π(s) π(a|s)`` for every ``π`` in the box.

    ``d^π = Σ_k (γP_π^T)^k μ0`` is monotone in the entries of ``P_π``, so the sub-stochastic rows of
    ``lower`` give ``d_lo ≤ d^π``, and the rows of ``upper`` give ``d^π ≤ d_hi`` when ``γ·max_s Σ_a
    upper(s,a) < 1``.  A second bound, with a rational ``π̃`` in the box and its exact ``d̃``:
    ``d^π − d̃ = γP_π^T(d^π − d̃) + γ(P_π − P_π̃)^T d̃`` gives ``‖d^π − d̃‖₁ ≤ γ/(1−γ) Σ_s d̃(s) ‖π(·|s) − π̃(·|s)‖₁``.
    Each end keeps the tighter of the two."""
    m, n = mdp.n_actions, mdp.n_states
    comparison = _midpoint_policy(mdp, lower, upper)
    d = state_occupancy(mdp, comparison)
    drift = Fraction(0)
    if mdp.gamma:
        for s in range(n):
            width = sum((max(upper[s * m + a] - comparison[s][a], comparison[s][a] - lower[s * m + a])
                         for a in range(m)), Fraction(0))
            drift += d[s] * width
        drift *= mdp.gamma / (1 - mdp.gamma)
    d_lo = [max(Fraction(0), v - drift) for v in d]
    d_hi = [v + drift for v in d]
    if mdp.gamma:
        dyn = dynamics(mdp)
        rows = [lower[s * m:(s + 1) * m] for s in range(n)]
        d_lo = [max(a, to_fraction(b)) for a, b in zip(d_lo, bellman_solve(dyn, rows, dyn.mu0, transpose=True))]
        rows = [upper[s * m:(s + 1) * m] for s in range(n)]
        if mdp.gamma * max(sum(row) for row in rows) < 1:
            d_hi = [min(a, to_fraction(b)) for a, b in zip(d_hi, bellman_solve(dyn, rows, dyn.mu0, transpose=True))]
    scale = 1 - mdp.gamma
    lo = [scale * d_lo[x // m] * lower[x] for x in range(mdp.n_pairs)]
    hi = [scale * d_hi[x // m] * upper[x] for x in range(mdp.n_pairs)]
    return lo, hi


def _midpoint_policy(mdp: MDP, lower: Sequence[Fraction], upper: Sequence[Fraction]) -> StochasticPolicy:
    """The box's midpoints, exactly, with each row's largest entry moved to make it sum to 1 (the
    certificates' ``comparison_policy`` shortens its numbers, which would cost width here)."""
    m = mdp.n_actions
    rows = []
    for s in range(mdp.n_states):
        mids = [(lower[s * m + a] + upper[s * m + a]) / 2 for a in range(m)]
        big = max(range(m), key=lambda a: mids[a])
        mids[big] = 1 - sum((p for a, p in enumerate(mids) if a != big), Fraction(0))
        rows.append(tuple(mids))
    return tuple(rows)


# -- Lemma C.36 -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LemmaC36:
    delta: Fraction                    # the smallest δ the hypothesis provably allows for this π
    holds: bool | None
    failed: str | None                 # the first inequality that fails (or is undecided)


def _discounted_time(mdp: MDP, policy: Sequence[int]) -> list[Fraction]:
    """``g(s,a) = Σ_t (t+1) γ^t P(s_t = s, a_t = a | π*) = ∂/∂γ (γ/(1−γ) D^{π*}(s,a))`` (eq. 101), i.e. the
    state vector ``μ0 (I − γP)^{-2}`` on the pairs ``π*`` picks."""
    dyn = dynamics(mdp)
    d = bellman_solve(dyn, policy, dyn.mu0, transpose=True)
    g = bellman_solve(dyn, policy, d, transpose=True)
    m = mdp.n_actions
    out = [Fraction(0)] * mdp.n_pairs
    for s, a in enumerate(policy):
        out[s * m + a] = to_fraction(g[s])
    return out


def lemma_c36(mdp: MDP, policy: Sequence[int], lower: Sequence[Fraction], upper: Sequence[Fraction]) -> LemmaC36:
    """Lemma C.36 for every ``π`` in the policy box ``[lower, upper]`` and the deterministic ``π* = policy``:
    with ``δ`` just above ``max_{(s,a) ∈ supp D^{π*}} (1 − lower(s,a))`` the hypothesis ``π(a|s) ≥ 1 − δ`` holds, and
    (97) ``D* − δ(1−γ)g ≤ D^π ≤ D* + δ/(1−γ)``, (98) ``D^π(supp) ≥ 1 − δ/(1−γ)`` and
    ``‖D^π − D*‖₂ ≤ √|S×A| δ/(1−γ)`` are decided with the occupancy box (exact rationals)."""
    gamma = mdp.gamma
    supp = support(mdp, policy)
    # The smallest δ the box allows, raised by a relative 2^-50: at t = 0 the lower bound of (97) is
    # an equality (D^π(s0, a) = (1−γ)μ0(s0)π(a|s0)), which enclosures could never decide.
    delta = min(Fraction(1), rg.round_up(max(1 - lower[x] for x in supp) * (1 + Fraction(1, 2 ** 50)), 64))
    star = [(1 - gamma) * e for e in _occupancy_of(mdp, policy)]
    g = _discounted_time(mdp, policy)
    lo, hi = occupancy_box(mdp, lower, upper)
    slack = delta / (1 - gamma)
    checks = [
        ("(97) lower", all(lo[x] >= star[x] - delta * (1 - gamma) * g[x] for x in range(mdp.n_pairs)),
         any(hi[x] < star[x] - delta * (1 - gamma) * g[x] for x in range(mdp.n_pairs))),
        ("(97) upper", all(hi[x] <= star[x] + slack for x in range(mdp.n_pairs)),
         any(lo[x] > star[x] + slack for x in range(mdp.n_pairs))),
        ("(98) support mass", sum(lo[x] for x in supp) >= 1 - slack, sum(hi[x] for x in supp) < 1 - slack),
        ("(98) norm", sum(max(abs(hi[x] - star[x]), abs(lo[x] - star[x])) ** 2 for x in range(mdp.n_pairs))
         <= mdp.n_pairs * slack ** 2,
         sum(_gap(lo[x], hi[x], star[x]) ** 2 for x in range(mdp.n_pairs)) > mdp.n_pairs * slack ** 2),
    ]
    for name, proved, refuted in checks:
        if refuted:
            return LemmaC36(delta, False, name)
        if not proved:
            return LemmaC36(delta, None, name)
    return LemmaC36(delta, True, None)


def _gap(lo: Fraction, hi: Fraction, value: Fraction) -> Fraction:
    """The least ``|y − value|`` over ``y ∈ [lo, hi]``."""
    return lo - value if value < lo else value - hi if value > hi else Fraction(0)


def _occupancy_of(mdp: MDP, policy: Sequence[int]) -> list[Fraction]:
    d = state_occupancy(mdp, policy)
    m = mdp.n_actions
    eta = [Fraction(0)] * mdp.n_pairs
    for s, a in enumerate(policy):
        eta[s * m + a] = d[s]
    return eta


# -- Lemma C.37 -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LemmaC37:
    convention: str                    # UNNORMALISED or NORMALISED
    delta_name: str                    # "as printed" or "corrected (docs/errata.md)"
    delta: rg.Enclosure
    inner: rg.Enclosure | None         # C(δ), eq. 102 (None: it is 0, so the lemma's R̂ is undefined)
    omega: rg.Enclosure                # ω(π*) in this convention
    level: rg.Enclosure | None         # eq. 103's level max R + λ ω(π*)/C(δ)
    policy_lower: Vector               # π̂(a|s) for every level in ``level``
    policy_upper: Vector
    worst_pair: int | None             # the pair of supp D^{π*} where π̂ is least
    holds: bool | None                 # π̂(a|s) >= 1 − δ on supp D^{π*}, rigorously
    lemma_c36: LemmaC36 | None         # Lemma C.36 on this π̂
    regret: rg.Enclosure | None = None  # Reg^R(π̂): Thm C.38's conclusion for this R̂, checked separately


@dataclass(frozen=True)
class SoftLemmas:
    pessimal_policy: tuple[int, ...]   # π*, a deterministic policy of regret 1
    checks: tuple[LemmaC37, ...]


def _level_optimum(mdp: MDP, lam: Fraction, reference: StochasticPolicy, supp, level: rg.Enclosure):
    """A policy box containing ``π̂`` of every ``R̂`` equal to ``R`` off ``supp`` and to some level in
    ``level`` on it: soft boxes at the two corners bound ``W*`` (monotone in ``R̂``)."""
    lo = rg.round_dyadic_down(level.lower, 200)
    hi = -rg.round_dyadic_down(-level.upper, 200)
    r_lo = tuple(lo if x in supp else r for x, r in enumerate(mdp.reward))
    r_hi = tuple(hi if x in supp else r for x, r in enumerate(mdp.reward))
    w_lo = w_hi = None
    if mdp.gamma:
        box_lo, box_hi = soft_box(mdp, r_lo, lam, reference), soft_box(mdp, r_hi, lam, reference)
        w_lo = [w - box_lo.radius for w in box_lo.values]
        w_hi = [w + box_hi.radius for w in box_hi.values]
    return policy_box(mdp, lam, reference, r_lo, r_hi, w_lo, w_hi)


def _lemma_c37_check(mdp, lam, reference, bounds, policy, supp, path_mins, convention, delta_name,
                     delta: rg.Ball, omega: rg.Enclosure) -> LemmaC37:
    with rg.Precision():
        inner = inner_constant(mdp, delta, path_mins)
        delta_enc = rg.bounds(delta)
        if not (inner > 0):
            return LemmaC37(convention, delta_name, delta_enc, None, omega, None, (), (), None, None, None)
        omega_b = rg.ball(omega.lower).union(rg.ball(omega.upper))
        level = rg.bounds(rg.ball(max(mdp.reward)) + rg.ball(lam) * omega_b / inner)
        inner_enc = rg.bounds(inner)
    lower, upper = _level_optimum(mdp, lam, reference, supp, level)
    worst = min(supp, key=lambda x: lower[x])
    if all(lower[x] >= 1 - delta_enc.lower for x in supp):
        holds = True
    elif any(upper[x] < 1 - delta_enc.upper for x in supp):
        holds = False
        worst = min(supp, key=lambda x: upper[x] - (1 - delta_enc.upper))
    else:
        holds = None
    c36 = lemma_c36(mdp, policy, lower, upper)
    returns = return_enclosure(mdp, lower, upper, comparison_policy(mdp, lower, upper) if mdp.gamma else reference)
    regret = rg.Enclosure((bounds.optimal_return - returns.upper) / bounds.range,
                          (bounds.optimal_return - returns.lower) / bounds.range)
    return LemmaC37(convention, delta_name, delta_enc, inner_enc, omega, level, tuple(lower), tuple(upper),
                    worst, holds, c36, regret)


def soft_lemmas(mdp: MDP, regret_bound: Fraction, lam: Fraction, reference: StochasticPolicy, *,
                bounds: ReturnBounds | None = None) -> SoftLemmas | None:
    """Lemmas C.37 and C.36 on eq. 103's ``R̂`` in both conventions, with the ``δ`` Thm C.38 uses:
    unnormalised as printed and as corrected, normalised as printed (numerically the corrected
    unnormalised one).  ``None`` when ``range J = 0`` or ``L`` is not in ``(0, 1)``."""
    require_all_actions(mdp, "Lemma C.37")
    bounds = bounds or return_bounds(mdp)
    if bounds.degenerate or not (0 < regret_bound < 1):
        return None
    policy = bounds.pessimal_policy
    supp = support(mdp, policy)
    omega = kl_regulariser(mdp, deterministic_as_stochastic(mdp, policy), reference)
    scale = 1 - mdp.gamma
    omega_normalised = rg.Enclosure(omega.lower * scale, omega.upper * scale)
    path_mins, _ = min_path_probabilities(mdp, policy)
    with rg.Precision():
        printed = printed_delta(mdp, regret_bound, bounds.range)
        corrected = printed * rg.ball(scale)
        normalised = printed_delta(mdp, regret_bound, scale * bounds.range)
    cases = ((UNNORMALISED, "as printed", printed, omega),
             (UNNORMALISED, "corrected (docs/errata.md)", corrected, omega),
             (NORMALISED, "as printed", normalised, omega_normalised))
    checks = tuple(_lemma_c37_check(mdp, lam, reference, bounds, policy, supp, path_mins, *case) for case in cases)
    return SoftLemmas(tuple(policy), checks)


__all__ = ["LemmaC29", "LemmaC34", "LemmaC36", "lemma_c34", "LemmaC37", "NORMALISED", "SoftLemmas", "UNNORMALISED", "lemma_c29",
           "lemma_c36", "occupancy_box", "soft_lemmas"]
