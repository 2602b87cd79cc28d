"""Theorem instances: run each unregularised result of the paper (§3, and App. C.1's Prop C.7 and
App. C.5's Cor C.39) on one instance.

Rows labelled "the toolkit's" (Theorem E, the safest D) are this toolkit's own
results and additions (docs/theory.md §3), not the paper's; each names the paper's
closest statement.

For every result the report gives the hypothesis as instantiated, whether it
holds, what the theorem then concludes, and the exact truth computed
independently (the branch-and-bound engine, the matrix M, or the standalone
certificate checker).  A conclusion that contradicts the truth is a
*disagreement*: a bug here, or in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import comb
from typing import Sequence

from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.numbers import (
    equals_count,
    format_epsilon,
    format_rational,
    power_text,
)
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.exact.evaluation import MAX_ENUMERATION
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.paper.closed_form import proposition_3_2
from rewardcert.symbolic.paper.matrix import MAX_BASES, safety_matrix
from rewardcert.symbolic.paper.safest import safest_distribution
from rewardcert.symbolic.paper.section3 import corollary_3_4, proposition_3_3
from rewardcert.symbolic.search.engine import critical_epsilon

from ..certificates import (
    check_certificate_document,
    safest_certificate,
    safety_certificate,
    threshold_certificate,
    unsafe_certificate,
)

THEOREM_E = "Theorem E (the toolkit's; exact threshold)"
SAFEST_D = "Safest data distribution (the toolkit's addition)"

# Enumerating Π_L for Prop. 3.3 / Cor. 3.4 is skipped beyond this many policies.
ENUMERATION_LIMIT = 200_000
MATRIX_BASES_LIMIT = 50_000


@dataclass(frozen=True)
class TheoremCheck:
    result: str
    statement: str
    hypothesis: str
    hypothesis_holds: bool | None      # None: not evaluated (instance too large)
    conclusion: str
    truth: str
    agrees: bool | None                 # None: nothing to compare (hypothesis fails or skipped)
    certificates: tuple[str, ...] = ()
    latex: str | None = None
    hypothesis_parts: tuple[tuple[str, bool], ...] = ()   # (part, holds) when the hypothesis has parts

    @property
    def hypothesis_mark(self) -> str:
        """``yes``/``no``/``-``, or ``partly: ...`` naming the parts that hold."""
        if self.hypothesis_parts and not all(ok for _, ok in self.hypothesis_parts) \
                and any(ok for _, ok in self.hypothesis_parts):
            return "partly (" + "; ".join(f"{part}: {'yes' if ok else 'no'}"
                                          for part, ok in self.hypothesis_parts) + ")"
        return {True: "yes", False: "no", None: "-"}[self.hypothesis_holds]


@dataclass(frozen=True)
class TheoremReport:
    model: str
    epsilon: Fraction
    regret_bound: Fraction
    critical_epsilon: Fraction | None
    checks: tuple[TheoremCheck, ...]
    certificates: dict = field(default_factory=dict)   # file name -> certificate document

    @property
    def disagreements(self) -> tuple[TheoremCheck, ...]:
        return tuple(c for c in self.checks if c.agrees is False)


def verified_certificate(certificates: dict, name: str, document: dict) -> bool:
    status, message, _ = check_certificate_document(document)
    if status == "verified":
        certificates[name] = document
        return True
    return False


def theorem_instances(mdp: MDP, data: Sequence[Fraction], epsilon: Fraction, regret_bound: Fraction,
                      *, name: str = "") -> TheoremReport:
    bounds = return_bounds(mdp)
    certs: dict[str, dict] = {}
    checks: list[TheoremCheck] = []
    eps_text = format_rational(epsilon)
    result = critical_epsilon(mdp, data, regret_bound, bounds=bounds)
    star = result.critical_epsilon
    star_text = format_epsilon(star)
    verdict = result.verdict(epsilon)
    positive = min(data[x] for x in mdp.enabled_pairs) > 0   # "positive D": every enabled pair
    enumerable = mdp.n_deterministic_policies <= min(ENUMERATION_LIMIT, MAX_ENUMERATION)

    # -- Theorem E (the toolkit's own): the exact threshold, replayed by the standalone checker
    ok_threshold = verified_certificate(certs, "threshold.json", threshold_certificate(mdp, data, regret_bound, result))
    ok_verdict = verified_certificate(certs, f"{verdict.value}.json",
                           safety_certificate(mdp, data, epsilon, regret_bound, result))
    checks.append(TheoremCheck(
        THEOREM_E,
        "D is safe for eps iff eps < eps*(D) = min over regret>=L policies of f_pi(D) / range R "
        "(the toolkit's own statement, docs/theory.md §3; the paper's closest are Lemma C.15, unsafety as a "
        "solvable linear system per high-regret vertex, and Theorem C.16, D safe iff M D > eps range R)",
        "none", True,
        f"eps*(D) = {star_text}, so D is {verdict.value} at eps = {eps_text}",
        "the standalone checker replays both certificates"
        + ("" if ok_threshold and ok_verdict else " and REJECTS one"),
        ok_threshold and ok_verdict, ("threshold.json", f"{verdict.value}.json")))

    # -- Theorem 3.5: the matrix M
    N, n = mdp.n_pairs, mdp.n_states
    if comb(N, n) <= min(MATRIX_BASES_LIMIT, MAX_BASES) and enumerable:
        matrix = safety_matrix(mdp, regret_bound, bounds=bounds, mark_redundant=False)
        m_safe = matrix.is_safe(data, epsilon)
        m_star = matrix.critical_epsilon(data)
        agree = (m_safe == (verdict is Verdict.SAFE)) and m_star == star
        checks.append(TheoremCheck(
            "Theorem 3.5 (matrix M)", "D is safe iff M D > eps * range R * 1",
            f"M has {len(matrix.rows)} rows", True,
            f"M D {'>' if m_safe else 'is not >'} eps range R, so D is {'safe' if m_safe else 'unsafe'}; "
            f"min(M D)/range R = {format_epsilon(m_star)}",
            f"exact engine: {verdict.value}, eps*(D) = {star_text}", agree))
    else:
        checks.append(TheoremCheck("Theorem 3.5 (matrix M)", "D is safe iff M D > eps * range R * 1",
                                   f"M needs C({N}, {n}) {equals_count(comb(N, n))} bases", None,
                                   "not built (too large; Theorem E above decides the same question)",
                                   "-", None))

    # -- Propositions 3.1 and 3.2
    p32 = proposition_3_2(mdp, data, regret_bound, bounds)
    lo, hi = p32.interval()
    bound_text = f"{p32.expression} (in [{float(lo):.6g}, {float(hi):.6g}])"
    if positive and p32.applies:
        eps0 = p32.safe_epsilon()
        ok = star is None or eps0 < star
        cert_ok = ok and verified_certificate(certs, "proposition-3.1-safe.json",
                                   safety_certificate(mdp, data, eps0, regret_bound, result))
        checks.append(TheoremCheck(
            "Proposition 3.1", "for positive D some eps > 0 is safe",
            f"min D = {format_rational(p32.min_data)} > 0", True,
            f"some eps > 0 is safe; the certified eps0 = {format_rational(eps0)} (just below Prop. 3.2's bound)",
            f"eps*(D) = {star_text} {'>' if ok else '<='} eps0", ok and cert_ok,
            ("proposition-3.1-safe.json",) if cert_ok else ()))
        bound_ok = star is None or p32.at_most(star)
        ratio = "" if star is None else (
            " ; eps*/bound = sqrt 2 exactly (the tight case)" if p32.ratio_is_sqrt2(star) else
            " ; eps*/bound in [%.6g, %.6g]" % tuple(float(v) for v in p32.ratio_interval(star)))
        at_eps = p32.below(epsilon)
        agrees = bound_ok and (not at_eps or verdict is Verdict.SAFE)
        checks.append(TheoremCheck(
            "Proposition 3.2", "positive D, eps < (1-gamma)/sqrt2 * range J/range R * min D * L  =>  safe",
            f"min D > 0 (holds); eps = {eps_text} < bound = {bound_text} "
            f"({'holds' if at_eps else 'fails: eps >= bound'})", at_eps,
            "every eps below the bound is safe (bound <= eps*(D))"
            + (f"; in particular eps = {eps_text} is safe" if at_eps else ""),
            f"eps*(D) = {star_text}; bound {'<=' if bound_ok else '>'} eps*(D){ratio}; "
            f"verdict at eps: {verdict.value}", agrees, latex=p32.latex(),
            hypothesis_parts=(("min D > 0", True), ("eps < bound", at_eps))))
    else:
        reason = "min D = 0" if not positive else "range J = 0"
        for label, statement in (("Proposition 3.1", "for positive D some eps > 0 is safe"),
                                 ("Proposition 3.2", "positive D and eps below the bound => safe")):
            checks.append(TheoremCheck(label, statement, reason, False, "no conclusion",
                                       f"eps*(D) = {star_text}", None))

    checks.append(_corollary_c39(mdp, data, epsilon, regret_bound, bounds, result, verdict, certs))

    # -- Proposition 3.3
    if enumerable:
        low = proposition_3_3(mdp, data, epsilon, regret_bound, bounds)

        if low:
            first = low[0]
            ok_cert = verified_certificate(certs, "proposition-3.3-unsafe.json",
                                unsafe_certificate(mdp, data, epsilon, regret_bound, first.witness, bounds))
            pairs = ", ".join(f"({s},{a})" for s, a in (mdp.pair_name(x) for x in sorted(first.support)))
            checks.append(TheoremCheck(
                "Proposition 3.3", "a policy with regret >= L and D(supp D^pi) < eps makes D unsafe",
                f"{len(low)} support(s) of regret>=L policies have D-mass < eps; e.g. "
                f"D({{{pairs}}}) = {format_rational(first.coverage)}", True,
                f"D is unsafe at eps = {eps_text}, witness R^ = max R on the support",
                f"exact engine: {verdict.value}; the witness certificate is "
                f"{'verified' if ok_cert else 'REJECTED'}",
                verdict is Verdict.UNSAFE and ok_cert, ("proposition-3.3-unsafe.json",) if ok_cert else ()))
        else:
            checks.append(TheoremCheck(
                "Proposition 3.3", "a policy with regret >= L and D(supp D^pi) < eps makes D unsafe",
                "no regret>=L policy has D(supp D^pi) < eps", False, "no conclusion",
                f"exact engine: {verdict.value}", None))

        checks.append(_proposition_c7(positive and p32.applies and p32.below(epsilon), bool(low)))

        # -- Corollary 3.4 and the safest distribution
        family = corollary_3_4(mdp, regret_bound, bounds)
        safest = safest_distribution(mdp, regret_bound, bounds=bounds)
        ok_safest = verified_certificate(certs, "safest.json", safest_certificate(mdp, regret_bound, safest))
        max_eps = safest.max_critical_epsilon
        max_text = format_epsilon(max_eps)
        if family.size:
            holds = family.size * epsilon >= 1
            bound_ok = max_eps is not None and max_eps <= family.epsilon_bound
            all_unsafe = max_eps is not None and epsilon >= max_eps
            checks.append(TheoremCheck(
                "Corollary 3.4", "K >= 1/eps regret>=L policies with disjoint supports => every D unsafe",
                f"largest disjoint family: K = {family.size}; K {'>=' if holds else '<'} 1/eps = "
                f"{format_rational(1 / epsilon)}", holds,
                (f"every D is unsafe at eps = {eps_text}" if holds else "no conclusion at this eps")
                + f"; in general eps** <= 1/K = {format_rational(family.epsilon_bound)}",
                f"eps** = max_D eps*(D) = {max_text}"
                + (f", so every D is {'unsafe' if all_unsafe else 'NOT unsafe'} at eps" if holds else ""),
                bound_ok and ok_safest and (not holds or all_unsafe), ("safest.json",) if ok_safest else ()))
        safest_d = ", ".join(f"{s}:{a}={format_rational(p)}" for (s, a), p in
                             ((mdp.pair_name(x), p) for x, p in enumerate(safest.data)) if p)
        checks.append(TheoremCheck(
            SAFEST_D, "eps** = max over D of eps*(D), and a maximiser (the toolkit's addition, not a "
            "result or a question of the paper; the paper's closest is Corollary 3.4's bound eps** <= 1/K)",
            "none", True, "-",
            f"eps** = {max_text}; a safest D: {safest_d}"
            + (f"; the given D's eps*(D) = {star_text}" if star is not None else ""),
            ok_safest and (max_eps is None or (star is not None and star <= max_eps)),
            ("safest.json",) if ok_safest else ()))
    else:
        for label in ("Proposition 3.3", "Corollary 3.4"):
            checks.append(TheoremCheck(label, "-", f"{power_text(mdp.n_actions, mdp.n_states)} policies to enumerate",
                                       None, "skipped (too many policies)", "-", None))

    return TheoremReport(name or mdp.name, epsilon, regret_bound, star, tuple(checks), certs)


def _proposition_c7(p32_holds: bool, p33_holds: bool) -> TheoremCheck:
    """Prop C.7: Prop 3.2's and Prop 3.3's hypotheses on ``ε`` never hold together."""
    return TheoremCheck("Proposition C.7", "the hypotheses on eps of Prop 3.2 and Prop 3.3 cannot hold together",
                        "none", True, "not both", f"Prop 3.2's: {'holds' if p32_holds else 'fails'}; "
                        f"Prop 3.3's: {'holds' if p33_holds else 'fails'}", not (p32_holds and p33_holds))


def _corollary_c39(mdp, data, epsilon, regret_bound, bounds, result, verdict, certs) -> TheoremCheck:
    """Cor C.39 (Thm C.38 at λ = 0): ``D(supp D^{π*}) ≤ ε`` for the pessimal ``π*`` makes ``D`` unsafe."""
    from rewardcert.symbolic.paper.section3 import proposition_3_3_witness
    statement = "D(supp D^pi*) <= eps for a regret-1 deterministic pi* => D unsafe (R^ = max R on the support)"
    if bounds.degenerate:
        return TheoremCheck("Corollary C.39", statement, "range J = 0", False, "no conclusion", "-", None)
    low = proposition_3_3_witness(mdp, data, bounds.pessimal_policy, bounds)
    holds = low.coverage <= epsilon
    if not holds:
        return TheoremCheck("Corollary C.39", statement, f"D(supp D^pi*) = {format_rational(low.coverage)} > eps",
                            False, "no conclusion", f"exact engine: {verdict.value}", None)
    ok = low.witness.error <= epsilon and verified_certificate(
        certs, "corollary-c39-unsafe.json", unsafe_certificate(mdp, data, epsilon, regret_bound, low.witness, bounds))
    return TheoremCheck(
        "Corollary C.39", statement, f"D(supp D^pi*) = {format_rational(low.coverage)} <= eps", True,
        f"D is unsafe at eps = {format_rational(epsilon)}", f"exact engine: {verdict.value}; the witness certificate "
        f"is {'verified' if ok else 'REJECTED'}", ok and verdict is Verdict.UNSAFE,
        ("corollary-c39-unsafe.json",) if ok else ())


SECTION_ORDER = ("§3", "§4", "§5", "§6", "App. B.3", "App. C.1", "App. C.4.4", "App. C.5", "App. D.2", "App. D.3")


def sections_text(checks: Sequence[TheoremCheck]) -> str:
    """The paper's sections the rows come from, in the paper's order (``§3, App. D.2``)."""
    from rewardcert.symbolic.paper.index import section_of
    found = {section_of(c.result) for c in checks} - {None}
    return ", ".join(sorted(found, key=lambda s: SECTION_ORDER.index(s) if s in SECTION_ORDER else 99))


def markdown_report(report: TheoremReport) -> str:
    lines = [f"# Theorem instances: {report.model}", "",
             f"The paper's results on this instance ({sections_text(report.checks)}); rows marked "
             "\"the toolkit's\" are the toolkit's own results and additions, not the paper's.", "",
             f"epsilon = {format_rational(report.epsilon)}, L = {format_rational(report.regret_bound)}, "
             f"eps*(D) = {format_epsilon(report.critical_epsilon)}", "",
             "| result | hypothesis | holds | conclusion | exact truth | agrees |",
             "|---|---|---|---|---|---|"]
    mark = {True: "yes", False: "no", None: "n/a"}
    for c in report.checks:
        held = c.hypothesis_mark if c.hypothesis_parts else mark[c.hypothesis_holds]
        cells = [c.result, c.hypothesis, held, c.conclusion, c.truth,
                 {True: "yes", False: "**NO**", None: "-"}[c.agrees]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += ["", "Statements:", ""]
    lines += [f"* **{c.result}**: {c.statement}" for c in report.checks]
    if report.certificates:
        lines += ["", "Certificates (check with `python proofs/checker.py FILE` or `rewardcert check FILE`):", ""]
        lines += [f"* `{name}`" for name in sorted(report.certificates)]
    if report.disagreements:
        lines += ["", "**DISAGREEMENT**: a theorem's conclusion contradicts the exact truth. "
                      "This is a bug in rewardcert or a counterexample to the paper."]
    return "\n".join(lines) + "\n"


def latex_report(report: TheoremReport) -> str:
    from sympy import Rational, latex
    rat = lambda v: latex(Rational(v.numerator, v.denominator))
    lines = [r"\begin{tabular}{lll}", r"\hline", r"Result & Hypothesis holds & Agrees \\ \hline"]
    mark = {True: "yes", False: "no", None: "--"}
    for c in report.checks:
        lines.append(f"{c.result} & {mark[c.hypothesis_holds]} & {mark[c.agrees]} \\\\")
    lines += [r"\hline", r"\end{tabular}", "",
              rf"$\epsilon = {rat(report.epsilon)}$, $L = {rat(report.regret_bound)}$, "
              + (rf"$\epsilon^*(D) = {rat(report.critical_epsilon)}$" if report.critical_epsilon is not None
                 else r"$\epsilon^*(D) = \infty$")]
    for c in report.checks:
        if c.latex:
            lines += ["", f"% {c.result}", rf"\[ {c.latex} \]"]
    return "\n".join(lines) + "\n"
