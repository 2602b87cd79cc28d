"""All layers on the same random instances: the exact engine, z3, HiGHS and the checker must agree.

Issue 3's differential test: random MDPs with at most 3 states and 3 actions,
random D (with zeros), random ε and L.  The exact engine gives ε*(D); the SMT
search must reach the same verdict at ε and the same exact minimum; the LP
layer's MILP must agree within its stated tolerance (judged by feasibility and
complementarity inside ``lp.cross_check``); every certificate must verify in
the standalone checker; and every witness must pass an independent stdlib
recomputation of P1, P2 and not P3.
"""

from fractions import Fraction as F

from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.search.engine import critical_epsilon

from rewardcert import lp, smt
from rewardcert.certificates import (
    safety_certificate,
    threshold_certificate,
    unsafe_certificate,
)
from tests import reference as ref
from tests.strategies import distributions, mdps

epsilons = st.sampled_from([F(1, 50), F(1, 10), F(1, 4), F(1, 2), F(3, 4)])
regret_bounds = st.integers(1, 10).map(lambda k: F(k, 10))


@settings(max_examples=40)
@given(st.data())
def test_exact_smt_and_lp_layers_agree_and_every_certificate_verifies(data):
    mdp = data.draw(mdps(max_states=3, max_actions=3))
    D = data.draw(distributions(mdp, allow_zeros=True))
    L = data.draw(regret_bounds)
    eps = data.draw(epsilons)

    exact = critical_epsilon(mdp, D, L)
    verdict = exact.verdict(eps)
    star = exact.critical_epsilon

    # SMT: the same verdict at eps, and the same exact minimum
    search = smt.find_witness(mdp, D, eps, L)
    assert search.verdict is verdict
    minimum = smt.minimise_error(mdp, D, L)
    assert minimum.critical_epsilon == star

    # LP: the MILP agrees within tolerance, judged by the layer's optimality conditions
    cross = lp.cross_check(mdp, D, L, exact)
    assert cross.agree, cross.failures

    # certificates: threshold and verdict, both replayed by the standalone checker
    for document in (threshold_certificate(mdp, D, L, exact), safety_certificate(mdp, D, eps, L, exact)):
        status, message, _ = checker.check_document(document)
        assert status == "verified", message

    # witnesses from both the engine and z3 pass an independent recomputation
    if star is not None:
        assert star <= ref.constant_model_bound(mdp, D)
        w = exact.witness
        assert ref.is_witness(mdp, D, star, L, w.reward, w.policy)
    if search.verdict is Verdict.UNSAFE:
        w = search.witness
        assert ref.is_witness(mdp, D, eps, L, w.reward, w.policy)
        status, message, _ = checker.check_document(unsafe_certificate(mdp, D, eps, L, w, exact.bounds))
        assert status == "verified", message


@settings(max_examples=25)
@given(st.data())
def test_the_verdict_flips_exactly_at_the_critical_error_in_every_layer(data):
    mdp = data.draw(mdps(max_states=3, max_actions=3))
    D = data.draw(distributions(mdp, allow_zeros=True))
    L = data.draw(regret_bounds)
    exact = critical_epsilon(mdp, D, L)
    star = exact.critical_epsilon
    if star is None or star == 0:
        return
    below = star * F(999, 1000)
    assert smt.find_witness(mdp, D, star, L).verdict is Verdict.UNSAFE
    assert smt.find_witness(mdp, D, below, L).verdict is Verdict.SAFE
    for eps, expected in ((star, "unsafe"), (below, "safe")):
        document = safety_certificate(mdp, D, eps, L, exact)
        assert document["verdict"] == expected
        assert checker.check_document(document)[0] == "verified"


def test_cross_check_option_reports_agreement(capsys):
    import json

    from rewardcert.cli import main
    from tests.conftest import EXAMPLES
    code = main(["certify", str(EXAMPLES / "chatbot.toml"), "--epsilon", "1/50", "--regret", "1/2",
                 "--cross-check", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["critical_epsilon"] == "2/99"
    assert report["cross_check"]["smt"] == {"critical_epsilon": "2/99", "agrees": True}
    assert report["cross_check"]["lp"]["agrees"] is True
    assert abs(report["cross_check"]["lp"]["milp_epsilon"] - 2 / 99) < 1e-7


def test_a_disagreeing_layer_is_a_loud_failure(monkeypatch, capsys):
    from dataclasses import replace

    from rewardcert.cli import main
    from tests.conftest import EXAMPLES
    real = smt.minimise_error
    monkeypatch.setattr(smt, "minimise_error",
                        lambda *a, **k: replace(real(*a, **k), critical_epsilon=F(1, 7)))
    code = main(["threshold", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--regret", "4/5",
                 "--cross-check"])
    assert code == 4
    assert "cross-check z3 (exact): DISAGREES" in capsys.readouterr().out
