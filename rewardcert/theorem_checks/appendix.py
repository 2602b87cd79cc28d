"""Theorem instances for the paper's appendix results checked on their own: Thm D.11's three claims,
Lemmas C.29, C.34, C.36, C.37 (``--lambda``) and Prop D.15 / Lemma D.17 (``--horizon``).

A lemma whose conclusion fails on the instance is a counterexample to that lemma (``agrees`` False,
exit 4), reported with the convention it was read in; the theorems it serves are checked separately
(``theorem_checks/regularised.py``), never through it."""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.numbers import approximate, format_rational
from rewardcert.symbolic.core.policies import StochasticPolicy
from rewardcert.symbolic.guidance.floatvi import return_bounds

from .exact import TheoremCheck


def theorem_d11_check(mdp: MDP, data: Sequence[Fraction], regret_bound: Fraction) -> TheoremCheck:
    """Thm D.11's three claims on the exact engine's λ = 0 witness, each decided exactly by squaring."""
    from rewardcert.symbolic.exact.evaluation import expected_return
    from rewardcert.symbolic.paper.closed_form import theorem_d11
    from rewardcert.symbolic.search.engine import critical_epsilon
    bounds = return_bounds(mdp)
    result = critical_epsilon(mdp, data, regret_bound, bounds=bounds)
    statement = ("an optimal policy of R^ has Reg <= sqrt2 ||R - R^|| / ((1-gamma) range J); if R.R^ >= 0, "
                 "Reg <= sqrt2 ||R - proj_R^ R|| / ((1-gamma) range J); for positive D, "
                 "Reg <= sqrt2 E_D|R - R^| / ((1-gamma) range J min D)")
    if result.witness is None:
        return TheoremCheck("Theorem D.11", statement, "no witness (no policy has regret >= L)", False,
                            "no conclusion", "-", None)
    regret = bounds.regret_of_return(expected_return(mdp, result.witness.policy))
    d11 = theorem_d11(mdp, result.witness.reward, regret, bounds, data)
    mark = {True: "holds", False: "FAILS", None: "n/a"}
    parts = (("pi^ optimal for R^", True), ("R.R^ >= 0", d11.projection_right is not None),
             ("D positive", d11.data_left is not None))
    truth = [f"claim 1: Reg^2 (1-g)^2 range J^2 = {approximate(d11.left)} "
             f"{'<=' if d11.holds else '>'} 2||R - R^||^2 = {approximate(d11.right)} ({mark[d11.holds]})"]
    if d11.projection_right is not None:
        truth.append(f"claim 2 (projection): {'<=' if d11.projection_holds else '>'} "
                     f"2||R - proj R||^2 = 2(||R||^2 - (R.R^)^2/||R^||^2) = {approximate(d11.projection_right)} "
                     f"({mark[d11.projection_holds]})")
    else:
        truth.append(f"claim 2: R.R^ = {approximate(d11.inner_product)} < 0, no conclusion")
    if d11.data_left is not None:
        truth.append(f"claim 3: times min D^2 = {approximate(d11.data_left)} "
                     f"{'<=' if d11.data_holds else '>'} 2 (E_D|R - R^|)^2 = {approximate(d11.data_right)} "
                     f"({mark[d11.data_holds]})")
    return TheoremCheck(
        "Theorem D.11", statement, "the exact engine's witness at eps*(D): its policy is optimal for R^", True,
        "the three regret bounds, squared (exact rationals)", "; ".join(truth) + " (exact)", d11.all_hold,
        hypothesis_parts=parts)


def _c37_label(check) -> str:
    from rewardcert.symbolic.paper.soft_lemmas import NORMALISED
    convention = "normalised J = D.R, App. C.5" if check.convention == NORMALISED else "unnormalised J = E[G]"
    delta = "delta as printed" if check.delta_name == "as printed" else "delta corrected"
    return f"Lemma C.37 ({convention}, {delta})"


def soft_lemma_checks(mdp: MDP, regret_bound: Fraction, lam: Fraction,
                      reference: StochasticPolicy) -> tuple[list[TheoremCheck], dict]:
    """Lemmas C.29, C.34 (both conventions), C.36 and C.37 (both conventions) on the instance."""
    from rewardcert.symbolic.paper.soft_lemmas import NORMALISED, lemma_c29, lemma_c34, soft_lemmas
    checks: list[TheoremCheck] = []
    constants: dict = {}
    c29 = lemma_c29(mdp, lam, reference)
    checks.append(TheoremCheck(
        "Lemma C.29", "J_R(pi^rlhf_{R,lambda}) >= J_R(pi_ref) (stated for bandits; its proof holds in an MDP "
        "with the occupancy-weighted KL, which is what is checked when gamma > 0)",
        "lambda > 0, pi_ref of full support", True, "the soft optimum of R is no worse than pi_ref",
        f"J_R(pi^) in {c29.optimum_return.text()} vs J_R(pi_ref) = {approximate(c29.reference_return)}"
        + (" (pi^ = pi_ref exactly: equality)" if c29.equal else ""), c29.holds))
    constants["lemma_c29"] = {"optimum_return": c29.optimum_return.as_json(),
                              "reference_return": format_rational(c29.reference_return), "holds": c29.holds}
    c34 = lemma_c34(mdp, regret_bound)
    for item in c34 or ():
        convention = "normalised J = D.R, App. C.5" if item.convention == NORMALISED else "unnormalised J = E[G]"
        truth = (f"every deterministic policy (of {item.policies}) within C of D^pi* has regret >= L" if item.holds
                 else f"COUNTEREXAMPLE: {' '.join(f'{s}={a}' for s, a in mdp.policy_to_mapping(item.counterexample).items())}"
                      f" has ||D^pi - D^pi*||^2 = "
                      f"{approximate(item.distance_squared)} <= C^2 but regret {approximate(item.regret)} < L")
        checks.append(TheoremCheck(
            f"Lemma C.34 ({convention})", "||D^pi - D^pi*|| <= C(L, R) = (1 - L) range J / ||R|| => Reg(pi) >= L",
            f"C^2 = {approximate(item.bound_squared)} (exact)", True,
            "every policy that close to pi* has regret >= L (checked on every deterministic policy, exactly)",
            truth, item.holds))
    lemmas = soft_lemmas(mdp, regret_bound, lam, reference)
    if lemmas is None:
        return checks, constants
    c36_ok = [c.lemma_c36.holds for c in lemmas.checks if c.lemma_c36 is not None]
    worst = max((c.lemma_c36.delta for c in lemmas.checks if c.lemma_c36 is not None), default=None)
    failed = [c.lemma_c36.failed for c in lemmas.checks if c.lemma_c36 is not None and c.lemma_c36.holds is not True]
    for check in lemmas.checks:
        checks.append(_lemma_c37_row(mdp, check))
    holds = True if all(v is True for v in c36_ok) else False if any(v is False for v in c36_ok) else None
    checks.append(TheoremCheck(
        "Lemma C.36", "pi(a|s) >= 1 - delta on supp D^pi* => (97) D* - delta(1-g) d/dg(g/(1-g) D*) <= D^pi <= "
        "D* + delta/(1-g), (98) D^pi(supp) >= 1 - delta/(1-g) and ||D^pi - D*|| <= sqrt|SxA| delta/(1-g)",
        "on each soft optimum of the Lemma C.37 rows, with the least delta its enclosure allows", True,
        "(97) and (98) hold", f"decided with exact occupancy bounds; largest delta used {approximate(worst)}"
        + (f"; not shown: {', '.join(failed)}" if failed else ""), holds))
    constants["lemma_c37"] = [{"convention": c.convention, "delta": c.delta_name, "delta_value": c.delta.as_json(),
                               "inner_C": None if c.inner is None else c.inner.as_json(),
                               "omega": c.omega.as_json(), "level": None if c.level is None else c.level.as_json(),
                               "holds": c.holds, "lemma_c36": None if c.lemma_c36 is None else c.lemma_c36.holds}
                              for c in lemmas.checks]
    return checks, constants


def _lemma_c37_row(mdp: MDP, check) -> TheoremCheck:
    statement = ("eq. 103's R^ (max R + lambda omega(pi*)/C(delta) on supp D^pi*) has a regularised optimum with "
                 "pi^(a|s) >= 1 - delta on supp D^pi*")
    if check.level is None:
        return TheoremCheck(_c37_label(check), statement, f"C(delta) = 0 (delta {check.delta.text()})", False,
                            "no conclusion", "-", None)
    x = check.worst_pair
    state, action = mdp.pair_name(x)
    pi = f"pi^({action}|{state}) in [{approximate(check.policy_lower[x], 6)}, {approximate(check.policy_upper[x], 6)}]"
    target = f"1 - delta in [{approximate(1 - check.delta.upper, 6)}, {approximate(1 - check.delta.lower, 6)}]"
    verdict = {True: f"holds: the least, {pi}, is >= {target}",
               False: f"COUNTEREXAMPLE to the lemma in this convention: {pi} < {target}",
               None: f"undecided: {pi} against {target}"}[check.holds]
    hypothesis = (f"delta = {check.delta.text()}, C(delta) = {check.inner.text()}, omega(pi*) = {check.omega.text()}, "
                  f"level = {check.level.text()}")
    if check.regret is not None:
        verdict += (f"; Thm C.38's conclusion for this R^, checked separately: Reg(pi^) in {check.regret.text()}")
    return TheoremCheck(_c37_label(check), statement, hypothesis, True, "pi^ puts mass >= 1 - delta on pi*",
                        verdict, check.holds)


def choice_checks(mdp: MDP, policy: StochasticPolicy, estimate: Sequence[Fraction], horizon: int,
                  regret_bound: Fraction) -> tuple[list[TheoremCheck], dict]:
    """Lemma D.17 and Prop D.15 (App. D.3) at ``U = L`` over horizon ``T``, Markov policies."""
    from rewardcert.symbolic.paper.choice import proposition_d15
    p = proposition_d15(mdp, policy, estimate, horizon, regret_bound)
    if p is None:
        row = TheoremCheck("Lemma D.17", "max_xi |G^ - G - c| < sigma(U) => Reg < U", "range J = 0 at this horizon",
                           False, "no conclusion", "-", None)
        return [row, TheoremCheck("Proposition D.15", "d_KL^D(R, R^) < eps(U) => Reg < U", "range J = 0", False,
                                  "no conclusion", "-", None)], {}
    lemma = p.lemma
    spread = f"spread of G^ - G = {approximate(lemma.spread)}, so the best c gives max|G^ - G - c| = " \
             f"{approximate(lemma.spread / 2)}"
    regret = f"worst regret of an optimal policy of R^ = {approximate(lemma.worst_regret)}"
    d17_truth = regret + (f" {'<' if lemma.holds else '>='} U" if lemma.hypothesis else "") + (
        "; for every U at once: worst regret <= spread / range J "
        + ("holds" if lemma.every_u_holds else "FAILS"))
    d17 = TheoremCheck(
        "Lemma D.17", "some c with max_xi |G^(xi) - G(xi) - c| < sigma(U) = range J U / 2 => every optimal policy of "
        "R^ has Reg < U (Markov policies of horizon T, exact)",
        f"{spread} {'<' if lemma.hypothesis else '>='} sigma(U) = {approximate(lemma.sigma)}", lemma.hypothesis,
        "Reg < U" if lemma.hypothesis else "no conclusion at this U", d17_truth,
        (lemma.holds is not False) and lemma.every_u_holds)
    hyp = (f"d_KL^D(R, R^) in {p.distance.text()} {'<' if p.hypothesis else '>=' if p.hypothesis is False else '?'} "
           f"eps(U) in {p.epsilon.text()} (delta = {p.delta.text()}, min_xi D(xi) = {approximate(p.least_probability)})")
    d15 = TheoremCheck(
        "Proposition D.15", "d_KL^D(R, R^) < eps(U) (the proof's constants, Lemmas D.17-D.20) => every optimal policy "
        "of R^ has Reg < U", hyp, p.hypothesis, "Reg < U" if p.hypothesis else "no conclusion",
        regret + ("" if p.chain_holds is None else
                  f"; Cor D.21's step (spread/2 < sigma) {'holds' if p.chain_holds else 'FAILS'}"),
        None if not p.hypothesis else bool(p.holds and p.chain_holds))
    constants = {"horizon": horizon, "sigma": format_rational(lemma.sigma), "spread": format_rational(lemma.spread),
                 "range_return": format_rational(lemma.range_return),
                 "worst_regret": format_rational(lemma.worst_regret), "epsilon": p.epsilon.as_json(),
                 "distance": p.distance.as_json(), "delta": p.delta.as_json(),
                 "least_probability": format_rational(p.least_probability)}
    return [d17, d15], constants


__all__ = ["choice_checks", "soft_lemma_checks", "theorem_d11_check"]
