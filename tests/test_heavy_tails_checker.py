"""Heavy-tail certificates (docs/certificate-format.md §9): every kind verified by the standalone
checker, and tampered copies rejected by the right rule, or still verified when the tampered claim is
still true (a wider enclosure, an 'undecided' status)."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from fractions import Fraction as F

import pytest

from rewardcert.certificates.heavy_tails import family_certificate, heavy_tails_certificate
from rewardcert.proofs import checker
from rewardcert.proofs.certcheck import RULES
from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.optimisers import goodhart as gh
from tests.conftest import ROOT


def check(document) -> tuple[str, str | None]:
    status, message, facts = checker.check_document(json.loads(json.dumps(document)))
    return status, facts.get("rule")


def bandit_model():
    """Two contexts: ``s0`` with a heavy-ish error on one output, ``s1`` where ``U = V`` (no error)."""
    V = (F(0), F(1), F(1, 2), F(-3), F(2), F(1), F(0), F(-1))
    U = (F(0), F(1), F(9, 2), F(5), F(2), F(1), F(0), F(-1))
    mdp = MDP(("s0", "s1"), ("a", "b", "c", "d"), F(0), (F(2, 3), F(1, 3)), V, None, "two contexts")
    reference = ((F(2, 5), F(2, 5), F(1, 10), F(1, 10)), (F(1, 4),) * 4)
    return mdp, U, reference


@functools.cache
def instance_certificate() -> str:
    mdp, U, reference = bandit_model()
    report = gh.goodhart_instance(mdp, U, F(1), reference=reference, kl_budget=F(1, 5), construct=(F(3), F(1)),
                                  target=(F(1, 10), F(1)), condition=F(1))
    return json.dumps(heavy_tails_certificate(mdp, U, reference, report))


@functools.cache
def family_certificates() -> dict[str, str]:
    out = {}
    for label, sizes, kwargs in (
            ("power:2", [1, 4, 30], dict(kl_budget=F(1, 10), construct=(F(4), F(2)), condition=F(3))),
            ("subgauss", [2, 9], dict(kl_budget=F(1, 2))),
            ("product:2", [1, 6], dict(condition=F(4), kl_budget=F(1, 3))),
            ("product:subgauss", [3], dict(construct=(F(2), F(1)), target=(F(0), F(1)))),
            ("pareto:3/2", [200], dict(construct=(F(50), F(5)), target=(F(1), F(1, 10))))):
        out[label] = json.dumps(family_certificate(gh.goodhart_family(label, sizes, F(1), **kwargs)))
    return out


def test_every_kind_is_verified():
    assert check(json.loads(instance_certificate())) == ("verified", None)
    for label, text in family_certificates().items():
        assert check(json.loads(text)) == ("verified", None), label


def test_the_certificates_hold_every_kind_of_evidence():
    """Brackets with finite and saturated ends, the three Thm 3 routes, a null construction, a failing claim."""
    texts = [instance_certificate(), *family_certificates().values()]
    joined = "".join(texts)
    for needed in ('"saturated"', '"lambda_high": "inf"', '"equality"', '"donsker_varadhan"', '"construction": null',
                   '"status": "fails"', '"status": "reached"', '"status": "not reached"', '"status": "holds"'):
        assert needed in joined.replace('":"', '": "').replace('":null', '": null'), needed


def test_the_checker_runs_bare_on_a_heavy_tails_certificate(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(family_certificates()["pareto:3/2"])
    done = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "proofs" / "checker.py"), "--json", str(path)],
                          capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["result"] == "verified" and report["members"] == 1
    assert report["claims"]["fails"] == 1                  # the two-sided Thm 3 on P_t


# -- tampering --------------------------------------------------------------------------------------

def _nudge(value: str, by: F) -> str:
    q = F(value) + by
    return f"{q.numerator}/{q.denominator}" if q.denominator != 1 else str(q.numerator)


def _row(document, i=0):
    return document["evidence"]["rows"][i] if "rows" in document["evidence"] else document["evidence"]


def _collapse(bracket: dict) -> None:
    """A self-consistent bracket with ``λ_hi`` just above ``λ_lo``: its enclosures at ``λ_hi`` hold the
    checker's values, but ``KL(λ_hi)`` is not above the budget, so ``best`` could be cut too short."""
    bracket["lambda_high"] = _nudge(bracket["lambda_low"], TINY)
    bracket["kl_high"], bracket["gain_high"] = dict(bracket["kl_low"]), dict(bracket["gain_low"])
    bracket["best"] = {"lower": bracket["gain_low"]["lower"], "upper": bracket["gain_low"]["upper"]}


def _raise_low(bracket: dict) -> None:
    """The mirror of ``_collapse``: ``λ_lo`` moved onto ``λ_hi`` with its own (true) enclosures, whose KL
    exceeds the budget, so the tilt at ``λ_lo`` is not feasible."""
    bracket["lambda_low"] = bracket["lambda_high"]
    bracket["kl_low"], bracket["gain_low"] = dict(bracket["kl_high"]), dict(bracket["gain_high"])
    bracket["lambda_high"] = _nudge(bracket["lambda_high"], TINY)
    bracket["best"] = {"lower": bracket["gain_high"]["lower"], "upper": bracket["gain_high"]["upper"]}


def _first_saturated(document) -> dict:
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if "saturated" in value:
                return value["saturated"]
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    raise AssertionError("no saturated bracket")


def _claim(document, theorem, policy=None, row=0):
    return next(c for c in _row(document, row)["claims"] if c["theorem"] == theorem and c.get("policy") == policy)


TINY = F(1, 10 ** 40)

TAMPERINGS = {
    # an enclosure a claim relies on, widened: the claim is no longer proved
    "the soft optimum's true gain widened under its claims": (
        "instance", lambda d: d["evidence"]["soft_optimum"]["true_gain"].update(lower="-100", upper="100"),
        "ht-claim"),
    # an enclosure's end moved inside the true value
    "soft optimum lower end above the value": (
        "power:2", lambda d: _row(d, 1)["soft_optimum"]["true_gain"].update(
            lower=_nudge(_row(d, 1)["soft_optimum"]["true_gain"]["upper"], -TINY)), "ht-soft-optimum"),
    "soft optimum upper end below the value": (
        "instance", lambda d: d["evidence"]["soft_optimum"]["kl"].update(
            upper=_nudge(d["evidence"]["soft_optimum"]["kl"]["lower"], TINY)), "ht-soft-optimum"),
    "an empty enclosure": (
        "instance", lambda d: d["evidence"]["soft_optimum"]["proxy_gain"].update(lower="10"), "ht-soft-optimum"),
    # bracket ends
    "lambda_low moved onto lambda_high": (
        "power:2", lambda d: _row(d, 1)["kl_budget"]["proxy"].update(
            lambda_low=_row(d, 1)["kl_budget"]["proxy"]["lambda_high"]), "ht-bracket"),
    "kl_low claimed below the budget it exceeds": (
        "instance", lambda d: d["evidence"]["kl_budget"]["true"].update(
            lambda_low=_nudge(d["evidence"]["kl_budget"]["true"]["lambda_high"], 1)), "ht-bracket"),
    "lambda_high moved below the budget's tilt": (
        "instance", lambda d: d["evidence"]["kl_budget"]["true"].update(
            lambda_high=_nudge(d["evidence"]["kl_budget"]["true"]["lambda_low"], TINY)), "ht-bracket"),
    "a high end that is the low end, consistently": (
        "instance", lambda d: _collapse(d["evidence"]["kl_budget"]["true"]), "ht-bracket"),
    "a low end that is the high end, consistently": (
        "instance", lambda d: _raise_low(d["evidence"]["kl_budget"]["proxy"]), "ht-bracket"),
    "best narrowed inside the bracket": (
        "power:2", lambda d: _row(d, 1)["kl_budget"]["true"]["best"].update(
            upper=_row(d, 1)["kl_budget"]["true"]["gain_high"]["lower"]), "ht-bracket"),
    "a saturated limit beyond the budget": (
        "power:2", lambda d: _first_saturated(d)["limit_kl"].update(upper="1000"), "ht-bracket"),
    "a ceiling below Donsker-Varadhan": (
        "instance", lambda d: d["evidence"]["kl_budget"]["donsker_varadhan"].update(ceiling="0"),
        "ht-donsker-varadhan"),
    # generator parameters and members' rows
    "alpha changed": ("power:2", lambda d: d["instance"]["family"].update(alpha="3"), "ht-soft-optimum"),
    "family renamed": ("product:2", lambda d: d["instance"]["family"].update(name="power"), "ht-soft-optimum"),
    "tail changed": ("product:subgauss", lambda d: d["instance"]["family"].update(tail="power", alpha="2"),
                     "ht-soft-optimum"),
    "rows swapped": ("power:2", lambda d: d["evidence"]["rows"].reverse(), "ht-family"),
    "a size changed": ("power:2", lambda d: d["instance"]["sizes"].__setitem__(0, 2), "ht-family"),
    "a subgauss size past the limit": ("subgauss", lambda d: d["instance"]["sizes"].__setitem__(0, 59), "ht-family"),
    "an unknown family": ("power:2", lambda d: d["instance"]["family"].update(name="lognormal"), "ht-family"),
    "beta changed": ("power:2", lambda d: d["instance"].update(beta="2"), "ht-soft-optimum"),
    # the instance's own numbers
    "a true reward changed": ("instance", lambda d: d["instance"]["model"]["reward"]["s0"].update(c="1"),
                              "ht-soft-optimum"),
    "a proxy changed": ("instance", lambda d: d["instance"]["estimate"]["s1"].update(a="1/7"), "ht-soft-optimum"),
    "a reference row off 1": ("instance", lambda d: d["instance"]["reference"]["s1"].update(a="1/3"), "ht-instance"),
    "a reference pair dropped": ("instance", lambda d: d["instance"]["reference"]["s1"].pop("a"), "ht-instance"),
    "gamma not 0": ("instance", lambda d: d["instance"]["model"].update(gamma="1/2"), "ht-instance"),
    # exact values
    "construction's true gain": (
        "instance", lambda d: d["evidence"]["construction"].update(
            true_gain=_nudge(d["evidence"]["construction"]["true_gain"], TINY)), "ht-construction"),
    "a construction made null": ("instance", lambda d: d["evidence"].update(construction=None), "ht-construction"),
    "construction's KL": (
        "pareto:3/2", lambda d: _row(d)["construction"]["kl"].update(
            lower=_nudge(_row(d)["construction"]["kl"]["upper"], -TINY)), "ht-construction"),
    "the conditional mean": ("product:2", lambda d: _row(d, 1)["condition"].update(true_mean="1/2"), "ht-condition"),
    # entries dropped
    "a claim dropped": ("instance", lambda d: d["evidence"]["claims"].pop(), "ht-claim"),
    "the kl_budget section dropped": ("instance", lambda d: d["evidence"].pop("kl_budget"), "evidence"),
    "a bracket's kl_high dropped": ("instance", lambda d: d["evidence"]["kl_budget"]["proxy"].pop("kl_high"),
                                    "ht-bracket"),
    "the claims reordered": ("instance", lambda d: d["evidence"]["claims"].reverse(), "ht-claim"),
    # statuses
    "a failing claim said to hold": (
        "pareto:3/2", lambda d: _claim(d, "thm3", "construction")["two_sided"].update(status="holds"), "ht-claim"),
    "a holding claim said to fail": (
        "instance", lambda d: _claim(d, "thm3", "soft_optimum")["one_sided"].update(status="fails"), "ht-claim"),
    "thm4 said not applicable on a product": (
        "product:2", lambda d: _claim(d, "thm4").update(status="not applicable"), "ht-claim"),
    "thm1 said reached": ("pareto:3/2", lambda d: _claim(d, "thm1", "construction").update(status="reached"),
                          "ht-claim"),
    "an unknown status": ("instance", lambda d: _claim(d, "thm4").update(status="maybe"), "ht-claim"),
    "a false equality slope": (
        "power:2", lambda d: _claim(d, "thm3", "soft_optimum").update(
            one_sided={"status": "holds", "equality": {"slope": "1"}}), "ht-claim"),
}

STILL_TRUE = {
    "an enclosure no claim uses widened": (
        "instance", lambda d: d["evidence"]["soft_optimum"]["proxy_gain"].update(lower="-100", upper="100")),
    "a holding claim said undecided": (
        "instance", lambda d: _claim(d, "thm3", "soft_optimum")["two_sided"].update(status="undecided")),
    "a failing claim said undecided": (
        "pareto:3/2", lambda d: _claim(d, "thm3", "construction")["two_sided"].update(status="undecided")),
    "a weaker ceiling": ("instance", lambda d: d["evidence"]["kl_budget"]["donsker_varadhan"].update(ceiling="100")),
    "best widened": ("power:2", lambda d: _row(d, 2)["kl_budget"]["true"]["best"].update(upper="1000")),
}


def _document(kind: str) -> dict:
    return json.loads(instance_certificate() if kind == "instance" else family_certificates()[kind])


@pytest.mark.parametrize("name", sorted(TAMPERINGS))
def test_a_tampered_certificate_is_rejected_by_the_right_rule(name):
    kind, change, rule = TAMPERINGS[name]
    document = _document(kind)
    original = copy.deepcopy(document)
    change(document)
    assert document != original
    assert rule in RULES
    assert check(document) == ("rejected", rule), name


@pytest.mark.parametrize("name", sorted(STILL_TRUE))
def test_a_tampered_claim_that_is_still_true_is_verified(name):
    kind, change = STILL_TRUE[name]
    document = _document(kind)
    change(document)
    assert check(document) == ("verified", None), name


def test_garbage_in_every_field_is_rejected_by_a_rule_never_internal_error():
    import random
    rng = random.Random(27)
    palette = [None, True, 0, -1, "x", "1/0", [], {}, "1" * 2001, 10 ** 3000, "inf", 0.5, {"lower": "1"}]
    for text in (instance_certificate(), family_certificates()["power:2"], family_certificates()["pareto:3/2"]):
        original = json.loads(text)
        paths = []
        stack = [((), original)]
        while stack:
            path, value = stack.pop()
            if path:
                paths.append(path)
            if isinstance(value, dict):
                stack.extend((path + (k,), v) for k, v in value.items())
            elif isinstance(value, list):
                stack.extend((path + (i,), v) for i, v in enumerate(value))
        for path in rng.sample(paths, min(60, len(paths))):
            document = copy.deepcopy(original)
            here = document
            for key in path[:-1]:
                here = here[key]
            here[path[-1]] = rng.choice(palette)
            status, rule = check(document)
            assert rule != "internal-error", path
            assert status == "rejected" or rule is None, path


def test_the_format_pages_worked_example_is_real_output():
    import re
    text = (ROOT / "docs" / "certificate-format.md").read_text(encoding="utf-8")
    section = text[text.index("### 9.7 Worked example"):]
    shown = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))
    produced = family_certificate(gh.goodhart_family("power:2", [1], F(1)))
    assert shown == produced
    assert check(shown) == ("verified", None)
