"""Theorem instances for the paper's §4 and §6 (``rewardcert theorems --lambda``): Prop 4.1, Thm 4.2, and
on bandits Thm 6.1 with Props C.31 and C.33."""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.numbers import approximate, format_rational
from rewardcert.symbolic.core.policies import StochasticPolicy
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.paper.regularised import proposition_4_1, theorem_4_2
from rewardcert.symbolic.rigorous.enclosures import Enclosure

from ..certificates import regularised_certificate
from .exact import TheoremCheck, verified_certificate


def _interval(value: Enclosure | None) -> dict | None:
    return None if value is None else value.as_json()


def regularised_checks(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                       lam: Fraction, reference: StochasticPolicy, certificates: dict, *,
                       timeout: float = 30.0, squared: bool = False) -> tuple[list[TheoremCheck], dict]:
    """The §4 rows and their constants (every constant an interval ``{"lower", "upper"}``); with
    ``squared``, App. B.3's Thm 4.2 rows too."""
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
        ok = p41.epsilon is not None and verified_certificate(
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
                f"; cheapest witness found: error {approximate(th.cheapest.error)} ({th.cheapest.kind})")
    for v in th.variants:
        c_text = "inf (C(delta) = 0)" if v.outer is None else v.outer.text()
        hyp = (f"delta {v.name} = {v.delta.text()}, C(delta) = {v.inner.text() if v.inner else 0}, C = {c_text}; "
               f"D(supp D^pi*) = {format_rational(th.support_mass)} "
               f"{'<=' if v.hypothesis else '>' if v.hypothesis is False else '?'} eps/(1+C)")
        if v.hypothesis:
            if v.witness is not None:
                agrees = True
                conclusion = f"unsafe at eps; eq. 103's witness verified (error {approximate(v.witness_error)})"
            elif th.counterexample(v):
                agrees = False
                conclusion = "unsafe at eps, but D is proved safe there: a COUNTEREXAMPLE to the theorem as read"
            else:
                agrees = True if th.safe_at_epsilon is False else None
                conclusion = ("unsafe at eps; eq. 103's witness does not verify "
                              f"(error {approximate(v.witness_error)}, regret {v.witness_regret.text()})")
        else:
            agrees, conclusion = None, "no conclusion"
        checks.append(TheoremCheck(f"Theorem 4.2 (delta {v.name})",
                                   "D(supp D^pi*) <= eps/(1 + C) => D unsafe for (eps, L, lambda, omega)",
                                   hyp, v.hypothesis, conclusion, f"engine at eps: {truth}{cheapest}", agrees))
    if squared:
        from .squared import theorem_4_2_squared_checks
        checks += theorem_4_2_squared_checks(mdp, data, epsilon, th)
    return checks, constants


def rlhf_checks(mdp: MDP, epsilon: Fraction, regret_bound: Fraction, lam: Fraction,
                reference: StochasticPolicy, mu: Sequence[Fraction] | None = None) -> tuple[list[TheoremCheck], dict]:
    """Thm 6.1 (C.32) and Props C.31, C.33 on a bandit, with ``D = D^ref_μ`` (``μ``: ``μ0`` unless given)."""
    from rewardcert.symbolic.paper.rlhf import rlhf_theorem
    checks, constants = [], {}
    for variant in ("Theorem 6.1", "Proposition C.31", "Proposition C.33"):
        th = rlhf_theorem(mdp, epsilon, regret_bound, lam, reference, variant=variant, mu=mu, search_seconds=5.0)
        measure = "mean absolute error" if variant == "Proposition C.33" else "preference KL"
        per_state = "; ".join(
            f"{mdp.states[c.state]}: " + ("constant row (no a_s)" if c.constant_row else
                                         "no action below R_L" if c.action is None else
                                         f"a_s = {mdp.actions[c.action]}, bound {c.bound.text()}, "
                                         f"{'holds' if c.holds else 'fails' if c.holds is False else 'undecided'}")
            for c in th.conditions)
        parts = (("as printed (every state)", th.hypothesis is True),
                 ("the toolkit's reading (states with mu0(s) > 0, non-constant rows)", th.hypothesis_relaxed is True))
        if th.hypothesis or th.hypothesis_relaxed:
            agrees = True if th.conclusion_verified else None
            reading = "" if th.hypothesis else " (by the toolkit's reading only)"
            conclusion = (f"D^ref_mu unsafe{reading}; Lemma C.30's witness verified" if th.conclusion_verified else
                          f"D^ref_mu unsafe{reading}; Lemma C.30's witness does not verify (not a counterexample)")
        else:
            agrees, conclusion = None, "no conclusion"
        cheapest = "-" if th.cheapest is None else (
            f"cheapest witness found: {measure} / range R = {approximate(th.cheapest.error)} ({th.cheapest.kind})")
        truth = (f"witness {measure} / range R in {th.witness_error.text()} against eps = {format_rational(epsilon)}, "
                 f"regret in {th.witness_regret.text()}; " if th.witness_error else "") + cheapest
        checks.append(TheoremCheck(variant, f"{measure} on D^ref_mu: small pi_ref(a_s|s) => D^ref_mu unsafe",
                                   per_state, th.hypothesis, conclusion, truth, agrees, hypothesis_parts=parts))
        constants[variant] = {
            "mu": {mdp.states[s]: format_rational(p) for s, p in enumerate(th.mu)},
            "hypothesis": th.hypothesis, "hypothesis_relaxed": th.hypothesis_relaxed,
            "states": [{"state": mdp.states[c.state], "constant_row": c.constant_row,
                        "action": None if c.action is None else mdp.actions[c.action],
                        "R_L": format_rational(c.threshold), "bound": _interval(c.bound), "holds": c.holds,
                        "c_s": None if c.level is None else format_rational(c.level),
                        "lemma_c30_bound": _interval(c.lemma_bound)} for c in th.conditions],
            "witness_error": _interval(th.witness_error), "witness_regret": _interval(th.witness_regret),
            "conclusion_verified": th.conclusion_verified,
            "cheapest_witness_error": None if th.cheapest is None else format_rational(th.cheapest.error)}
    return checks, constants
