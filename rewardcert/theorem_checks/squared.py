"""Theorem instances for App. B.3, the mean-squared error (``theorems --error squared``): the exact
``ε*_MSE(D)`` (the toolkit's Theorem E read with the MSE), Prop B.1, and the MSE versions of Props
3.2, 3.3, Cor 3.4 and (with ``--lambda``) Thm 4.2."""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from rewardcert.symbolic.core.errors import ResourceLimit
from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.numbers import approximate, format_epsilon, format_rational
from rewardcert.symbolic.guidance.floatvi import return_bounds

from ..certificates import squared_certificate
from .exact import ENUMERATION_LIMIT, TheoremCheck, verified_certificate

THEOREM_E_SQUARED = "Theorem E (the toolkit's; exact threshold with the MSE, App. B.3)"
MSE = " (MSE, App. B.3)"


def squared_checks(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                   absolute_star: Fraction | None, certificates: dict) -> tuple[list[TheoremCheck], object]:
    """The App. B.3 rows at ``λ = 0``, and the ``SquaredResult`` (None past the enumeration limit)."""
    from rewardcert.symbolic.paper.squared import (
        PropositionB1,
        corollary_3_4_squared,
        proposition_3_2_squared,
    )
    from rewardcert.symbolic.search.squared import squared_threshold
    bounds = return_bounds(mdp)
    try:
        result = squared_threshold(mdp, data, regret_bound, bounds=bounds)
    except ResourceLimit as exc:
        return [TheoremCheck(THEOREM_E_SQUARED, "D is MSE-safe for eps iff eps < eps*_MSE(D)", str(exc), None,
                             "skipped", "-", None)], None
    star = result.critical_epsilon
    verdict = result.verdict(epsilon).value
    ok = (verified_certificate(certificates, "squared-threshold.json",
                               squared_certificate(mdp, data, regret_bound, result))
          and verified_certificate(certificates, f"squared-{verdict}.json",
                                   squared_certificate(mdp, data, regret_bound, result, epsilon)))
    checks = [TheoremCheck(
        THEOREM_E_SQUARED,
        "D is safe for eps under E_D[(R^ - R)^2] <= eps range R^2 iff eps < eps*_MSE(D) = min over regret>=L "
        "policies of a convex QP (the toolkit's own statement with App. B.3's error; certified by KKT points)",
        "none", True, f"eps*_MSE(D) = {format_epsilon(star)}, so D is {verdict} at eps = {format_rational(epsilon)}",
        f"{len(result.optima)} KKT points; the standalone checker replays both certificates"
        + ("" if ok else " and REJECTS one"), ok, ("squared-threshold.json", f"squared-{verdict}.json"))]
    b1 = PropositionB1(epsilon, absolute_star, star)
    checks.append(TheoremCheck(
        "Proposition B.1", "D in safe_MAE(eps) => D in safe_MSE(eps^2) (Jensen)",
        f"eps = {format_rational(epsilon)} {'<' if b1.hypothesis else '>='} eps*_MAE(D) = {format_epsilon(absolute_star)}",
        b1.hypothesis, f"D is MSE-safe at eps^2 = {format_rational(epsilon ** 2)}" if b1.hypothesis else "no conclusion",
        f"eps*_MSE(D) = {format_epsilon(star)}; for every eps: eps*_MAE^2 "
        f"{'<=' if b1.every_epsilon else '>'} eps*_MSE (exact)", b1.holds))
    p32 = proposition_3_2_squared(mdp, data, epsilon, regret_bound, bounds, result)
    if p32.applies:
        checks.append(TheoremCheck(
            "Proposition 3.2" + MSE, "positive D, eps < ((1-gamma)/sqrt2 range J/range R min D L)^2 => MSE-safe",
            f"min D > 0; eps {'<' if p32.below else '>='} bound^2 = {format_rational(p32.bound)} (exact)", p32.below,
            "every eps below the squared bound is MSE-safe (bound^2 <= eps*_MSE)",
            f"eps*_MSE(D) = {format_epsilon(star)}; bound^2 {'<=' if p32.at_most_critical else '>'} eps*_MSE",
            p32.at_most_critical and (not p32.below or p32.safe_at_epsilon)))
    else:
        checks.append(TheoremCheck("Proposition 3.2" + MSE, "positive D and eps below the squared bound => MSE-safe",
                                   "min D = 0", False, "no conclusion", f"eps*_MSE(D) = {format_epsilon(star)}", None))
    if mdp.n_deterministic_policies <= ENUMERATION_LIMIT:
        checks.append(_proposition_3_3_row(mdp, data, epsilon, regret_bound, bounds, result, certificates))
        c34 = corollary_3_4_squared(mdp, regret_bound, bounds, result)
        if c34.size:
            holds = c34.size * epsilon >= 1
            checks.append(TheoremCheck(
                "Corollary 3.4" + MSE, "K >= 1/eps regret>=L policies with disjoint supports => every D MSE-unsafe",
                f"K = {c34.size}; K {'>=' if holds else '<'} 1/eps", holds,
                f"this D is MSE-unsafe at every eps >= 1/K = {format_rational(c34.bound)}",
                f"eps*_MSE(D) = {format_epsilon(star)} {'<=' if c34.holds else '>'} 1/K", c34.holds))
    return checks, result


def _proposition_3_3_row(mdp, data, epsilon, regret_bound, bounds, result, certificates) -> TheoremCheck:
    from rewardcert.symbolic.paper.squared import proposition_3_3_squared
    from rewardcert.symbolic.search.squared import SquaredOptimum
    statement = "a policy with regret >= L and D(supp D^pi) < eps makes D MSE-unsafe (the same witness)"
    low = proposition_3_3_squared(mdp, data, epsilon, regret_bound, bounds)
    if not low:
        return TheoremCheck("Proposition 3.3" + MSE, statement, "no regret>=L policy has D(supp D^pi) < eps", False,
                            "no conclusion", f"eps*_MSE(D) = {format_epsilon(result.critical_epsilon)}", None)
    first = low[0]
    w = first.witness.witness
    witness = SquaredOptimum(w.policy, w.reward, (), (), first.squared_error * mdp.range_reward ** 2)
    import dataclasses
    single = dataclasses.replace(result, witness=witness, optima=())
    ok = first.optimal and first.squared_error < epsilon and verified_certificate(
        certificates, "proposition-3.3-squared-unsafe.json",
        squared_certificate(mdp, data, regret_bound, single, epsilon))
    star = result.critical_epsilon
    return TheoremCheck(
        "Proposition 3.3" + MSE, statement,
        f"{len(low)} support(s) with D-mass < eps; e.g. D(supp) = {format_rational(first.witness.coverage)}", True,
        f"D is MSE-unsafe at eps; the witness R^ = max R on the support has d_MSE = "
        f"{approximate(first.squared_error)} <= D(supp) < eps",
        f"eps*_MSE(D) = {format_epsilon(star)}; the witness certificate is {'verified' if ok else 'REJECTED'}",
        ok and star is not None and star <= epsilon, ("proposition-3.3-squared-unsafe.json",) if ok else ())


def theorem_4_2_squared_checks(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, theorem) -> list[TheoremCheck]:
    """App. B.3's Thm 4.2 (``(1 + C)²``) on the constants and witnesses of the §4 row."""
    from rewardcert.symbolic.paper.squared import theorem_4_2_squared
    rows = []
    for v in theorem_4_2_squared(mdp, data, epsilon, theorem):
        mark = {True: "<=", False: ">", None: "?"}[v.hypothesis]
        if v.hypothesis and v.verified:
            agrees, conclusion = True, f"MSE-unsafe at eps; eq. 103's witness verified (d_MSE = {approximate(v.squared_error)})"
        elif v.hypothesis:
            agrees = None
            conclusion = ("MSE-unsafe at eps; eq. 103's witness does not verify "
                          f"(d_MSE = {approximate(v.squared_error) if v.squared_error is not None else '-'}, "
                          f"regret >= L {'proved' if v.regret_verified else 'not proved'})")
        else:
            agrees, conclusion = None, "no conclusion"
        rows.append(TheoremCheck(
            f"Theorem 4.2{MSE[:-1]}, delta {v.name})", "D(supp D^pi*) <= eps/(1 + C)^2 => D MSE-unsafe for (eps, L, lambda, omega)",
            f"D(supp D^pi*) (1 + C)^2 {mark} eps", v.hypothesis, conclusion,
            "no MSE safe-side engine at lambda > 0: only the witness is checked", agrees))
    return rows


__all__ = ["THEOREM_E_SQUARED", "squared_checks", "theorem_4_2_squared_checks"]
