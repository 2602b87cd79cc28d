"""Theorem instances for the paper's §4 (``rewardcert theorems --lambda``): Prop 4.1 and Thm 4.2."""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from symbolic.evaluation import StochasticPolicy, return_bounds
from symbolic.model import MDP
from symbolic.numbers import format_rational
from symbolic.regularised_paper import proposition_4_1, theorem_4_2
from symbolic.rigorous import Enclosure

from .regularised_certificates import regularised_certificate
from .theorems import TheoremCheck, _verified


def _interval(value: Enclosure | None) -> dict | None:
    return None if value is None else value.as_json()


def regularised_checks(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                       lam: Fraction, reference: StochasticPolicy, certificates: dict, *,
                       timeout: float = 30.0) -> tuple[list[TheoremCheck], dict]:
    """The §4 rows and their constants (every constant an interval ``{"lower", "upper"}``)."""
    bounds = return_bounds(mdp)
    checks: list[TheoremCheck] = []
    constants: dict = {"lambda": format_rational(lam)}

    # -- Proposition 4.1 (Thm D.22)
    p41 = proposition_4_1(mdp, data, lam, reference, bounds=bounds, timeout=timeout)
    hypothesis = (f"D positive: {'yes' if p41.positive_data else 'no'}; the soft optimum of R "
                  f"{'equals' if p41.reference_optimal else 'differs from'} pi_ref (decided exactly); "
                  f"L = Reg(pi_ref) = {format_rational(p41.regret_bound)}")
    constants["proposition_4_1"] = {"regret_bound": format_rational(p41.regret_bound),
                                    "epsilon": None if p41.epsilon is None else format_rational(p41.epsilon)}
    if p41.hypothesis_holds and p41.regret_bound > 0:
        ok = p41.epsilon is not None and _verified(
            certificates, "proposition-4.1-safe.json",
            regularised_certificate(mdp, data, p41.regret_bound, p41.result, p41.epsilon))
        checks.append(TheoremCheck(
            "Proposition 4.1", "positive D, pi_ref not (lambda, omega)-optimal, L = Reg(pi_ref) => some eps > 0 is safe",
            hypothesis, True,
            "some eps > 0 is safe" + (f"; certified eps = {format_rational(p41.epsilon)}" if p41.epsilon else ""),
            "a regularised-safe certificate replayed by the checker" if ok else
            "no eps was certified within the time budget (unknown, not a counterexample)",
            True if ok else None, ("proposition-4.1-safe.json",) if ok else ()))
    elif p41.hypothesis_holds:
        checks.append(TheoremCheck(
            "Proposition 4.1", "positive D, pi_ref not (lambda, omega)-optimal, L = Reg(pi_ref) => some eps > 0 is safe",
            hypothesis, True, "some eps > 0 is safe with L = 0",
            "L = Reg(pi_ref) = 0, so 'regret < L' is impossible: the conclusion fails (Definition 2.1 needs L > 0)",
            False))
    else:
        checks.append(TheoremCheck("Proposition 4.1", "positive D, pi_ref not (lambda, omega)-optimal => safe eps",
                                   hypothesis, False, "no conclusion", "-", None))

    # -- Theorem 4.2 (Thm C.38)
    th = theorem_4_2(mdp, data, epsilon, regret_bound, lam, reference, bounds=bounds, timeout=timeout)
    if th is None:
        checks.append(TheoremCheck("Theorem 4.2", "D(supp D^pi*) <= eps/(1 + C) => unsafe",
                                   "needs range J > 0 and 0 < L < 1", False, "no conclusion", "-", None))
        return checks, constants
    constants["theorem_4_2"] = {
        "support_mass": format_rational(th.support_mass), "omega": _interval(th.omega), "t0": th.t0,
        "pessimal_policy": mdp.policy_to_mapping(th.pessimal_policy),
        "variants": [{"delta": v.name, "delta_value": _interval(v.delta), "inner_C": _interval(v.inner),
                      "outer_C": _interval(v.outer), "hypothesis": v.hypothesis,
                      "witness_level": None if v.witness_level is None else format_rational(v.witness_level),
                      "witness_error": None if v.witness_error is None else format_rational(v.witness_error),
                      "witness_regret": _interval(v.witness_regret), "witness_verified": v.witness is not None}
                     for v in th.variants],
        "cheapest_witness": None if th.cheapest is None else {
            "reward": mdp.pair_table(th.cheapest.reward), "error": format_rational(th.cheapest.error),
            "regret": th.cheapest.regret.as_json(), "found_by": th.cheapest.kind},
        "engine_verdict_at_epsilon": {True: "safe", False: "unsafe", None: "unknown"}[th.safe_at_epsilon]}
    truth = {True: "safe", False: "unsafe", None: "unknown"}[th.safe_at_epsilon]
    cheapest = ("" if th.cheapest is None else
                f"; cheapest witness found: error {float(th.cheapest.error):.6g} ({th.cheapest.kind})")
    for v in th.variants:
        c_text = "inf (C(delta) = 0)" if v.outer is None else v.outer.text()
        hyp = (f"delta {v.name} = {v.delta.text()}, C(delta) = {v.inner.text() if v.inner else 0}, C = {c_text}; "
               f"D(supp D^pi*) = {format_rational(th.support_mass)} "
               f"{'<=' if v.hypothesis else '>' if v.hypothesis is False else '?'} eps/(1+C)")
        if v.hypothesis:
            if v.witness is not None:
                agrees = True
                conclusion = f"unsafe at eps; eq. 103's witness verified (error {float(v.witness_error):.6g})"
            elif th.counterexample(v):
                agrees = False
                conclusion = "unsafe at eps, but D is proved safe there: a COUNTEREXAMPLE to the theorem as read"
            else:
                agrees = True if th.safe_at_epsilon is False else None
                conclusion = ("unsafe at eps; eq. 103's witness does not verify "
                              f"(error {float(v.witness_error):.6g}, regret {v.witness_regret.text()})")
        else:
            agrees, conclusion = None, "no conclusion"
        checks.append(TheoremCheck(f"Theorem 4.2 (delta {v.name})",
                                   "D(supp D^pi*) <= eps/(1 + C) => D unsafe for (eps, L, lambda, omega)",
                                   hyp, v.hypothesis, conclusion, f"engine at eps: {truth}{cheapest}", agrees))
    return checks, constants
