"""Heavy-tail certificates (docs/certificate-format.md §9): ``heavy-tails`` for one bandit and
``heavy-tails-family`` for members of a family, written from ``GoodhartReport``s."""

from __future__ import annotations

from fractions import Fraction

from rewardcert.symbolic.core.numbers import format_rational

from .common import FORMAT


def _r(value: Fraction) -> str:
    return format_rational(value)


def _interval(enclosure) -> dict:
    return {"lower": _r(enclosure.lower), "upper": _r(enclosure.upper)}


def bracket_document(bracket) -> dict:
    """A tilt bracket (§9.3)."""
    if bracket.saturated:
        return {"saturated": {"limit_kl": _interval(bracket.limit)}, "best": _interval(bracket.best)}
    document = {"lambda_low": _r(bracket.lambda_low),
                "lambda_high": "inf" if bracket.lambda_high is None else _r(bracket.lambda_high),
                "kl_low": _interval(bracket.low.kl), "gain_low": _interval(bracket.gain(bracket.low))}
    if bracket.high is not None:
        document["kl_high"] = _interval(bracket.high.kl)
        document["gain_high"] = _interval(bracket.gain(bracket.high))
    document["best"] = _interval(bracket.best)
    return document


def _ceiling(dv) -> dict:
    return {"lambda": _r(dv.lam), "ceiling": _r(dv.ceiling)}


def claims_document(report) -> list[dict]:
    """The claims of §9.4, in order; Thm 3's two readings of one policy share one object."""
    out = []
    by_policy: dict[str, dict] = {}
    for claim in report.claims:
        if claim.key == "thm1":
            out.append({"theorem": "thm1", "policy": "construction", "status": claim.status})
        elif claim.key == "thm3-one-sided":
            one = {"status": claim.status}
            if claim.status == "holds" and claim.slope is not None:
                one["equality"] = {"slope": _r(claim.slope)}
            elif claim.status == "holds" and claim.ceiling is not None:
                one["donsker_varadhan"] = _ceiling(claim.ceiling)
            entry = {"theorem": "thm3", "policy": claim.policy, "one_sided": one}
            by_policy[claim.policy] = entry
            out.append(entry)
        elif claim.key == "thm3-two-sided":
            entry = by_policy[claim.policy]
            entry["bracket"] = bracket_document(claim.bracket)
            entry["two_sided"] = {"status": claim.status}
        else:
            out.append({"theorem": claim.key, "status": claim.status})
    return [{"theorem": e["theorem"], "policy": e["policy"], "bracket": e["bracket"], "one_sided": e["one_sided"],
             "two_sided": e["two_sided"]} if e["theorem"] == "thm3" else e for e in out]


def evidence_document(report) -> dict:
    """One bandit's evidence (§9.3)."""
    soft = report.soft_optimum
    evidence: dict = {"soft_optimum": {"true_gain": _interval(soft.true_gain),
                                       "proxy_gain": _interval(soft.proxy_gain), "kl": _interval(soft.kl)}}
    if report.kl_budget is not None:
        budget = report.kl_budget
        evidence["kl_budget"] = {"proxy": bracket_document(budget.proxy), "true": bracket_document(budget.true),
                                 "donsker_varadhan": _ceiling(budget.donsker_varadhan)}
    options = report.options
    if options.construct is not None:
        built = report.construction
        evidence["construction"] = None if built is None else {
            "proxy_gain": _r(built.proxy_gain), "true_gain": _r(built.true_gain), "kl": _interval(built.kl)}
    if options.condition is not None:
        mean = report.condition.true_mean
        evidence["condition"] = {"true_mean": None if mean is None else _r(mean)}
    evidence["claims"] = claims_document(report)
    return evidence


def options_document(options) -> dict:
    document: dict = {"beta": _r(options.beta)}
    if options.kl_budget is not None:
        document["kl_budget"] = _r(options.kl_budget)
    if options.construct is not None:
        document["construct"] = {"t": _r(options.construct[0]), "c": _r(options.construct[1])}
    if options.target is not None:
        document["target"] = {"m": _r(options.target[0]), "epsilon": _r(options.target[1])}
    if options.condition is not None:
        document["condition"] = _r(options.condition)
    return document


def heavy_tails_certificate(mdp, estimate, reference, report) -> dict:
    """``heavy-tails``: the bandit (its reward is ``V``), ``U``, ``Q`` and the report's evidence."""
    from rewardcert.symbolic.core.io import model_to_document
    model = model_to_document(mdp)
    model.pop("transitions", None)
    instance = {"model": model, "estimate": mdp.pair_table(estimate),
                "reference": {s: {a: _r(p) for a, p in zip(mdp.actions, row)} for s, row in zip(mdp.states, reference)}}
    instance.update(options_document(report.options))
    return {"format": FORMAT, "instance": instance, "verdict": "heavy-tails", "evidence": evidence_document(report)}


def family_certificate(family_report) -> dict:
    """``heavy-tails-family``: the generator's name and parameters, the sizes of the rows computed, and
    one row of evidence per member (the checker regenerates each member)."""
    family = family_report.family
    generator: dict = {"name": family.name, "tail": "subgauss" if family.alpha is None else "power"}
    if family.alpha is not None:
        generator["alpha"] = _r(family.alpha)
    rows = [{"size": size, **evidence_document(report)} for size, report in family_report.rows]
    options = family_report.rows[0][1].options if family_report.rows else None
    instance = {"family": generator, "sizes": [size for size, _ in family_report.rows]}
    if options is not None:
        instance.update(options_document(options))
    return {"format": FORMAT, "instance": instance, "verdict": "heavy-tails-family", "evidence": {"rows": rows}}
