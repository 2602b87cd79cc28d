"""The two heavy-tail verdicts and their claims (docs/certificate-format.md §9.4): Thm 1's
construction, Thm 3 corrected and as printed, the finite analogues of Thm 4 and Thms 5-6.  Each
status but ``undecided`` must be what the (already verified) evidence proves; rule ``ht-claim``."""

from __future__ import annotations

from fractions import Fraction

from .heavy_tails import (OPTIONS, check_budget, check_bracket, check_ceiling, check_condition, check_construction,
                          check_soft_optimum, read_bandit, read_options)
from .reading import Reject, exact_keys, keys_within, obj, rational, require, show
from .tail_families import member, read_family, read_sizes
from .tilts import make_context

STATUSES = ("holds", "fails", "undecided", "not applicable")
THM1_STATUSES = ("reached", "not reached", "undecided", "not applicable")


def independent(ctx) -> bool:
    """``X = U − V`` and ``V`` independent under ``Q(·|s)``: the joint law is the product of the marginals."""
    joint, px, pv = {}, {}, {}
    for q, u, v in zip(ctx.reference, ctx.proxy, ctx.true):
        x = u - v
        joint[(x, v)] = joint.get((x, v), Fraction(0)) + q
        px[x] = px.get(x, Fraction(0)) + q
        pv[v] = pv.get(v, Fraction(0)) + q
    return len(joint) == len(px) * len(pv) and all(p == px[x] * pv[v] for (x, v), p in joint.items())


def _status(table: dict, allowed, where: str) -> str:
    status = table.get("status")
    if not (isinstance(status, str) and status in allowed):
        raise Reject("ht-claim", f"{where}.status: unknown status {show(status)}")
    return status


def _prove(condition: bool, status: str, where: str) -> None:
    require(condition, "ht-claim", f"{where}: the evidence does not show '{status}'")


def expected_claims(options: dict, built: bool) -> list[tuple[str, str | None]]:
    """``(theorem, policy)`` of the claims the instance asks for, in order."""
    out = [("thm1", "construction")] if options["target"] is not None else []
    out.append(("thm3", "soft_optimum"))
    if built:
        out.append(("thm3", "construction"))
    out.append(("thm4", None))
    if options["condition"] is not None:
        out.append(("thm5-6", None))
    return out


def check_claims(contexts, options: dict, soft: dict, built: dict | None, value, where: str) -> dict:
    """Every claim; returns how many have each status."""
    require(isinstance(value, list), "ht-claim", f"{where} must be a list")
    expected = expected_claims(options, built is not None)
    require(len(value) == len(expected), "ht-claim", f"{where} must hold {len(expected)} claims")
    counts: dict[str, int] = {}
    for i, (claim, (theorem, policy)) in enumerate(zip(value, expected)):
        here = f"{where}[{i}]"
        claim = obj(claim, "ht-claim", here)
        require(claim.get("theorem") == theorem and claim.get("policy") == policy, "ht-claim",
                f"{here} must be the claim {theorem}" + (f" on {policy}" if policy else ""))
        if theorem == "thm1":
            statuses = [_thm1(claim, options, built, here)]
        elif theorem == "thm3":
            gain, kl = (soft["true_gain"], soft["kl"]) if policy == "soft_optimum" else \
                ((built["true_gain"], built["true_gain"]), built["kl"])
            statuses = _thm3(contexts, options, policy, gain, kl, claim, here)
        elif theorem == "thm4":
            statuses = [_thm4(contexts, soft, claim, here)]
        else:
            statuses = [_thm56(contexts, options["condition"], claim, here)]
        for status in statuses:
            counts[status] = counts.get(status, 0) + 1
    return counts


def _thm1(claim: dict, options: dict, built: dict | None, where: str) -> str:
    exact_keys(claim, {"theorem", "policy", "status"}, "ht-claim", where)
    status = _status(claim, THM1_STATUSES, where)
    m, eps = options["target"]
    if status == "not applicable":
        _prove(built is None, status, where)
    elif status == "reached":
        _prove(built is not None and built["proxy_gain"] > m and built["kl"][1] < eps, status, where)
    elif status == "not reached":
        _prove(built is not None and (built["proxy_gain"] <= m or built["kl"][0] >= eps), status, where)
    return status


def _thm3(contexts, options, policy: str, gain: tuple, kl: tuple, claim: dict, where: str) -> list[str]:
    exact_keys(claim, {"theorem", "policy", "bracket", "one_sided", "two_sided"}, "ht-claim", where)
    bracket = check_bracket(contexts, "true", kl[0], kl[1], claim["bracket"], f"{where}.bracket")
    best = bracket["best"]
    one = obj(claim["one_sided"], "ht-claim", f"{where}.one_sided")
    one_status = _status(one, STATUSES, f"{where}.one_sided")
    if one_status == "holds":
        if "equality" in one:
            exact_keys(one, {"status", "equality"}, "ht-claim", f"{where}.one_sided")
            table = obj(one["equality"], "ht-claim", f"{where}.one_sided.equality")
            exact_keys(table, {"slope"}, "ht-claim", f"{where}.one_sided.equality")
            slope = rational(table["slope"], "ht-claim", f"{where}.one_sided.equality.slope")
            _prove(policy == "soft_optimum" and slope > 0 and _affine(contexts, slope), "holds", where)
        elif "donsker_varadhan" in one:
            exact_keys(one, {"status", "donsker_varadhan"}, "ht-claim", f"{where}.one_sided")
            ceiling = check_ceiling(contexts, kl[1], one["donsker_varadhan"], f"{where}.one_sided.donsker_varadhan")
            _prove(gain[1] <= ceiling, "holds", f"{where}.one_sided")
        else:
            exact_keys(one, {"status"}, "ht-claim", f"{where}.one_sided")
            _prove(bracket["saturated"] and gain[1] <= bracket["largest"], "holds", f"{where}.one_sided")
    else:
        exact_keys(one, {"status"}, "ht-claim", f"{where}.one_sided")
        if one_status == "fails":
            _prove(gain[0] > best[1], "fails", f"{where}.one_sided")
        else:
            _prove(one_status == "undecided", one_status, f"{where}.one_sided")
    two = obj(claim["two_sided"], "ht-claim", f"{where}.two_sided")
    exact_keys(two, {"status"}, "ht-claim", f"{where}.two_sided")
    two_status = _status(two, STATUSES, f"{where}.two_sided")
    if two_status == "holds":
        _prove(-gain[0] <= max(Fraction(0), best[0]), "holds", f"{where}.two_sided")
    elif two_status == "fails":
        _prove(-gain[1] > best[1], "fails", f"{where}.two_sided")
    else:
        _prove(two_status == "undecided", two_status, f"{where}.two_sided")
    return [one_status, two_status]


def _affine(contexts, slope: Fraction) -> bool:
    """``U = slope · V + b_s`` in every context where ``V`` is not constant; ``U`` constant where it is."""
    for ctx in contexts:
        v0, u0 = ctx.true[0], ctx.proxy[0]
        if ctx.flat("true"):
            if not ctx.flat("proxy"):
                return False
        elif any(u - u0 != slope * (v - v0) for v, u in zip(ctx.true, ctx.proxy)):
            return False
    return True


def _thm4(contexts, soft: dict, claim: dict, where: str) -> str:
    exact_keys(claim, {"theorem", "status"}, "ht-claim", where)
    status = _status(claim, STATUSES, where)
    together = all(independent(c) for c in contexts)
    flat = all(c.flat("true") for c in contexts)
    if status == "not applicable":
        _prove(not together, status, where)
    elif status == "holds":
        _prove(together and (flat or soft["true_gain"][0] > 0), status, where)
    elif status == "fails":
        _prove(together and not flat and soft["true_gain"][1] <= 0, status, where)
    return status


def _thm56(contexts, threshold: Fraction, claim: dict, where: str) -> str:
    exact_keys(claim, {"theorem", "status"}, "ht-claim", where)
    status = _status(claim, STATUSES, where)
    if status == "undecided":
        return status
    together = all(independent(c) for c in contexts)
    seen, broken = False, False
    for ctx in contexts:
        mass = total = Fraction(0)
        for q, u, v in zip(ctx.reference, ctx.proxy, ctx.true):
            if u >= threshold:
                mass += q
                total += q * v
        if mass:
            seen = True
            broken = broken or total < mass * ctx.means["true"]
    if status == "not applicable":
        _prove(not together or not seen, status, where)
    elif status == "holds":
        _prove(together and seen and not broken, status, where)
    else:
        _prove(together and broken, status, where)
    return status


# -- the verdicts ----------------------------------------------------------------------------------

def check_evidence(contexts, options: dict, evidence: dict, where: str) -> dict:
    """Every section of one bandit's evidence, in order; the claims' status counts."""
    allowed = {"soft_optimum", "claims"}
    for key, option in (("kl_budget", "kl_budget"), ("construction", "construct"), ("condition", "condition")):
        if options[option] is not None:
            allowed.add(key)
    exact_keys(evidence, allowed, "evidence", where)
    soft = check_soft_optimum(contexts, options["beta"], evidence["soft_optimum"], f"{where}.soft_optimum")
    if options["kl_budget"] is not None:
        check_budget(contexts, options["kl_budget"], evidence["kl_budget"], f"{where}.kl_budget")
    built = None
    if options["construct"] is not None:
        built = check_construction(contexts, *options["construct"], evidence["construction"], f"{where}.construction")
    if options["condition"] is not None:
        check_condition(contexts, options["condition"], evidence["condition"], f"{where}.condition")
    return check_claims(contexts, options, soft, built, evidence["claims"], f"{where}.claims")


def check_heavy_tails(instance: dict, evidence: dict) -> dict:
    """The verdict ``heavy-tails``: one bandit."""
    contexts = read_bandit(instance)
    options = read_options(instance)
    counts = check_evidence(contexts, options, obj(evidence, "evidence", "evidence"), "evidence")
    name = instance["model"].get("name", "")
    return {"verdict": "heavy-tails", "model": name, "claims": counts}


def check_heavy_tails_family(instance: dict, evidence: dict) -> dict:
    """The verdict ``heavy-tails-family``: each row on a member the checker regenerates."""
    keys_within(instance, {"family", "sizes"} | OPTIONS, "ht-instance", "instance")
    name, tail, alpha = read_family(instance.get("family"))
    sizes = read_sizes(instance.get("sizes"), tail)
    options = read_options(instance)
    evidence = obj(evidence, "evidence", "evidence")
    exact_keys(evidence, {"rows"}, "evidence", "evidence")
    rows = evidence["rows"]
    require(isinstance(rows, list) and len(rows) == len(sizes), "ht-family", "evidence.rows: one row per size")
    counts: dict[str, int] = {}
    for i, (row, size) in enumerate(zip(rows, sizes)):
        row = obj(row, "ht-family", f"evidence.rows[{i}]")
        require(row.get("size") == size and type(row.get("size")) is int, "ht-family",
                f"evidence.rows[{i}].size must be {size}")
        outputs = member(name, tail, alpha, size)
        contexts = [make_context(Fraction(1), [o[0] for o in outputs], [o[1] for o in outputs],
                                 [o[2] for o in outputs])]
        part = {k: v for k, v in row.items() if k != "size"}
        for status, n in check_evidence(contexts, options, part, f"evidence.rows[{i}]").items():
            counts[status] = counts.get(status, 0) + n
    label = name if name == "subgauss" else f"{name}:{alpha if tail == 'power' else 'subgauss'}"
    return {"verdict": "heavy-tails-family", "family": label, "members": len(sizes), "claims": counts}
