"""The regularised layer (λ > 0): enclosures against mpmath, verdicts against independent
computations, certificates against the standalone checker, and tampering."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from fractions import Fraction as F

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import MDP, uniform_distribution
from rewardcert.symbolic.core.policies import uniform_policy
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.exact.evaluation import expected_return
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.paper.regularised import (
    proposition_4_1,
    reference_is_soft_optimal,
    theorem_4_2,
)
from rewardcert.symbolic.regularised.verdicts import (
    regularised_certify,
    regularised_threshold,
)
from rewardcert.symbolic.rigorous import enclosures as rg
from rewardcert.symbolic.rigorous.soft import soft_optimum

from rewardcert.certificates import check_certificate_document, regularised_certificate

from .conftest import EXAMPLES, ROOT
from .regularised_reference import mp
from .regularised_reference import regret as ref_regret
from .regularised_reference import soft_optimum as ref_soft_optimum
from .strategies import mdps, stochastic_policies

FIG4 = load_model(EXAMPLES / "figure4.toml").mdp
CHATBOT = load_model(EXAMPLES / "chatbot.toml")
TOL = mpmath.mpf(10) ** -50


# -- rigorous exp and log: the checker's series and the toolkit's arb, both against mpmath -----

rationals = st.builds(F, st.integers(-10 ** 6, 10 ** 6), st.integers(1, 10 ** 4))


@given(rationals)
def test_checker_exp_encloses_mpmath(x):
    x = -abs(x)
    lo, hi = checker.exp_bounds(x)
    with mpmath.workdps(80):
        value = mpmath.exp(mp(x))
        assert mp(lo) <= value <= mp(hi)
        if x > -1000:
            assert (mp(hi) - mp(lo)) <= value * mpmath.mpf(2) ** -140


@given(rationals.filter(lambda q: q != 0))
def test_checker_log_encloses_mpmath(x):
    x = abs(x)
    lo, hi = checker.log_bounds(x)
    with mpmath.workdps(80):
        value = mpmath.log(mp(x))
        assert mp(lo) <= value <= mp(hi)
        assert mp(hi) - mp(lo) <= mpmath.mpf(2) ** -130 * (1 + abs(value))


@given(rationals)
def test_toolkit_enclosures_contain_mpmath(x):
    with mpmath.workdps(80):
        e = rg.exp_enclosure(x / 1000)
        assert mp(e.lower) <= mpmath.exp(mp(x / 1000)) <= mp(e.upper)
        if x:
            l = rg.log_enclosure(abs(x))
            assert mp(l.lower) <= mpmath.log(mp(abs(x))) <= mp(l.upper)


def test_rounding_is_directed():
    q = F(1, 3)
    assert checker._down(q) < q < checker._up(q)
    assert checker._down(-q) < -q < checker._up(-q)
    assert checker._up(q) - checker._down(q) <= q * F(1, 2 ** 158)


# -- the soft optimum against 70-digit soft value iteration --------------------------------

@settings(max_examples=25)
@given(st.data())
def test_soft_optimum_encloses_high_precision_value_iteration(data):
    mdp = data.draw(mdps(max_states=3, max_actions=3))
    reference = data.draw(stochastic_policies(mdp, allow_zeros=False))
    lam = data.draw(st.sampled_from([F(1, 10), F(1, 2), F(2), F(7, 3)]))
    optimum = soft_optimum(mdp, mdp.reward, lam, reference)
    _, pi = ref_soft_optimum(mdp, mdp.reward, lam, reference)
    with mpmath.workdps(70):
        for s in range(mdp.n_states):
            for a in range(mdp.n_actions):
                x = s * mdp.n_actions + a
                # The reference is accurate to about 60 digits; the enclosure is rigorous.
                assert mp(optimum.policy_lower[x]) - TOL <= pi[s][a] <= mp(optimum.policy_upper[x]) + TOL
                assert optimum.policy_upper[x] - optimum.policy_lower[x] < F(1, 10 ** 20)
        from .regularised_reference import true_return
        j = true_return(mdp, pi)
        assert mp(optimum.true_return.lower) - TOL <= j <= mp(optimum.true_return.upper) + TOL


def test_bandit_soft_optimum_is_eq_76_by_hand():
    # One prompt, two answers, R = (1, 0), uniform reference, lambda = 1: pi(a0) = e / (e + 1).
    from rewardcert.symbolic.core.model import MDP
    mdp = MDP(("q",), ("a0", "a1"), F(0), (F(1),), (F(1), F(0)), None)
    optimum = soft_optimum(mdp, mdp.reward, F(1), uniform_policy(mdp))
    with mpmath.workdps(60):
        expected = mpmath.e / (mpmath.e + 1)
        assert mp(optimum.policy_lower[0]) <= expected <= mp(optimum.policy_upper[0])


def test_reference_soft_optimality_is_decided_exactly():
    from rewardcert.symbolic.core.model import MDP
    constant = MDP(("q",), ("a0", "a1"), F(0), (F(1),), (F(2), F(2)), None)
    assert reference_is_soft_optimal(constant, uniform_policy(constant))
    assert not reference_is_soft_optimal(FIG4, uniform_policy(FIG4))
    # A "potential-shaped" MDP: R(s,a) = W(s) - gamma tau(.|s,a) W for W = (1, 3): pi_ref is optimal.
    loops = ((0, F(1)),), ((1, F(1)),)
    g = F(1, 2)
    reward = (1 - g * 1, 1 - g * 3, 3 - g * 3, 3 - g * 1)
    shaped = MDP(("s", "t"), ("stay", "move"), g, (F(1), F(0)), reward,
                 (loops[0], loops[1], loops[1], loops[0]))
    assert reference_is_soft_optimal(shaped, uniform_policy(shaped))


# -- verdicts against independent computations ------------------------------------------------

def _independent_regret(mdp, reward, lam, reference):
    bounds = return_bounds(mdp)
    _, pi = ref_soft_optimum(mdp, reward, lam, reference)
    return ref_regret(mdp, pi, bounds.optimal_return, bounds.pessimal_return)


@pytest.mark.parametrize("lam", [F(1, 2), F(1, 20)])
def test_figure4_interval_and_witness(lam):
    D = uniform_distribution(FIG4)
    result = regularised_threshold(FIG4, D, F(4, 5), lam, timeout=3)
    assert result.upper is not None and 0 < result.lower <= result.upper
    # The witness, recomputed independently at 70 digits, really has regret >= L.
    assert _independent_regret(FIG4, result.witness.reward, lam, result.reference) >= mpmath.mpf(4) / 5
    # Random reward models strictly inside the proved-safe ball have regret < L (spot check).
    rng = random.Random(7)
    for _ in range(10):
        weights = [rng.random() for _ in range(FIG4.n_pairs)]
        budget = result.lower * FIG4.range_reward * F(rng.randint(1, 99), 100)
        total = sum(weights)
        reward = tuple(r + (1 if rng.random() < 0.5 else -1) * budget * F(w / total).limit_denominator(1000) / d
                       for r, w, d in zip(FIG4.reward, weights, D))
        assert _independent_regret(FIG4, reward, lam, result.reference) < mpmath.mpf(4) / 5
    status, message, _ = check_certificate_document(regularised_certificate(FIG4, D, F(4, 5), result))
    assert status == "verified", message


def test_small_lambda_approaches_the_exact_threshold():
    """λ → 0: ε*_λ(D) → ε*(D) = 1/3 here, because the minimising policy a3 has regret 1 > L
    (docs/regularised.md).  Both ends of the verified interval close in on 1/3."""
    D = uniform_distribution(FIG4)
    widths = []
    for lam in (F(1, 10), F(1, 100), F(1, 1000)):
        # Stops as soon as the interval is 1% wide: the outcome does not depend on machine load.
        result = regularised_threshold(FIG4, D, F(4, 5), lam, timeout=300, relative_width=F(1, 100))
        assert result.complete and result.lower <= result.upper
        widths.append(max(abs(result.upper - F(1, 3)), abs(result.lower - F(1, 3))))
    assert widths[-1] < F(1, 100)
    assert widths[-1] < widths[0]


def test_chatbot_rare_harmful_answer_breaks_safety_under_kl():
    """Appendix B.4 with KL: raising one rarely seen harmful answer still forces regret >= 1/2."""
    D = CHATBOT.data
    for lam in (F(1, 10), F(1, 2), F(2)):
        result = regularised_certify(CHATBOT.mdp, D, F(1, 10), F(1, 2), lam, timeout=60)
        assert result.verdict(F(1, 10)) is Verdict.UNSAFE
        changed = [x for x, (a, b) in enumerate(zip(result.witness.reward, CHATBOT.mdp.reward)) if a != b]
        assert changed and all(CHATBOT.mdp.pair_name(x)[0] == "q_uns" for x in changed)
        assert _independent_regret(CHATBOT.mdp, result.witness.reward, lam, result.reference) >= mpmath.mpf(1) / 2


def test_zero_data_is_decided_by_a_witness_or_left_unknown():
    # Figure 4 with no data on a3: raising a3 is free, so D is unsafe for every eps.
    D = (F(1, 2), F(1, 2), F(0))
    result = regularised_certify(FIG4, D, F(1, 100), F(4, 5), F(1, 2), timeout=60)
    assert result.verdict(F(1, 100)) is Verdict.UNSAFE and result.witness.error == 0


def test_prop_4_1_certifies_an_explicit_epsilon_on_figure4():
    D = uniform_distribution(FIG4)
    reference = uniform_policy(FIG4)
    p = proposition_4_1(FIG4, D, F(1, 2), reference, timeout=240)
    bounds = return_bounds(FIG4)
    assert p.hypothesis_holds
    assert p.regret_bound == bounds.regret_of_return(expected_return(FIG4, reference)) == F(33, 59)
    assert p.epsilon is not None and p.epsilon > 0
    cert = regularised_certificate(FIG4, D, p.regret_bound, p.result, p.epsilon)
    assert cert["verdict"] == "regularised-safe"
    assert check_certificate_document(cert)[0] == "verified"


def test_theorem_4_2_constants_by_hand_on_figure4():
    """One state, so t0 = 0 and C(δ) = δ μ0(s) = δ; ω(π*) = d(s) log 3 = (5/3) log 3;
    δ = (1−γ)(1−L) range J / (√3 ‖R‖) as printed, and (1−γ) times that corrected."""
    D = (F(1, 2), F(1, 2) - F(1, 1000), F(1, 1000))
    eps, L, lam = F(1, 10), F(4, 5), F(1, 2)
    th = theorem_4_2(FIG4, D, eps, L, lam, uniform_policy(FIG4), timeout=6)
    with mpmath.workdps(100):
        norm = mpmath.sqrt(sum(mp(r) ** 2 for r in FIG4.reward))
        range_j = (mpmath.mpf("2.78") - mpmath.mpf("1.6")) / (1 - mpmath.mpf("0.4"))
        printed = mpmath.mpf("0.6") * mpmath.mpf("0.2") * range_j / (mpmath.sqrt(3) * norm)
        omega = mpmath.mpf(5) / 3 * mpmath.log(3)
        assert mp(th.omega.lower) <= omega <= mp(th.omega.upper)
        assert th.t0 == 0 and th.support_mass == F(1, 1000)
        for variant, delta in zip(th.variants, (printed, printed * mpmath.mpf("0.6"))):
            assert mp(variant.delta.lower) <= delta <= mp(variant.delta.upper)
            assert mp(variant.inner.lower) <= delta <= mp(variant.inner.upper)
            c = mp(lam) * omega / (mpmath.mpf("1.18") * delta)
            assert mp(variant.outer.lower) <= c <= mp(variant.outer.upper)
            assert variant.hypothesis == (mpmath.mpf(1) / 1000 <= mp(eps) / (1 + c))
    # The engine's own verdict at eps is unsafe (the cheapest witness), whatever the theorem says.
    assert th.safe_at_epsilon is False
    assert _independent_regret(FIG4, th.cheapest.reward, lam, uniform_policy(FIG4)) >= mpmath.mpf(4) / 5


# -- certificates: checker replay, bare interpreter, tampering ---------------------------------

@pytest.fixture(scope="module")
def regularised_certificates():
    D = uniform_distribution(FIG4)
    bandit_D = CHATBOT.data
    out = {}
    r = regularised_certify(FIG4, D, F(3, 5), F(4, 5), F(1, 2), timeout=60)
    out["mdp-unsafe"] = regularised_certificate(FIG4, D, F(4, 5), r, F(3, 5))
    r = regularised_certify(CHATBOT.mdp, bandit_D, F(1, 10), F(1, 2), F(1, 2), timeout=60)
    out["bandit-unsafe"] = regularised_certificate(CHATBOT.mdp, bandit_D, F(1, 2), r, F(1, 10))
    r = regularised_certify(FIG4, D, F(1, 5), F(4, 5), F(1, 2), timeout=300)
    out["mdp-safe"] = regularised_certificate(FIG4, D, F(4, 5), r, F(1, 5))
    r = regularised_certify(CHATBOT.mdp, bandit_D, F(1, 200), F(1, 2), F(1, 2), timeout=300)
    out["bandit-safe"] = regularised_certificate(CHATBOT.mdp, bandit_D, F(1, 2), r, F(1, 200))
    r = regularised_threshold(FIG4, D, F(4, 5), F(1, 2), timeout=3)
    out["mdp-interval"] = regularised_certificate(FIG4, D, F(4, 5), r)
    return out


def test_every_regularised_certificate_verifies(regularised_certificates, tmp_path):
    for name, cert in regularised_certificates.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(cert))
        run = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "proofs" / "checker.py"), str(path)],
                             capture_output=True, text=True)
        assert run.returncode == 0 and run.stdout.startswith("VERIFIED"), (name, run.stdout)


def _status(cert):
    return checker.check_document(json.loads(json.dumps(cert)))[0]


def _witness_pair(cert):
    """The most-raised witness pair (state, action)."""
    reward = cert["evidence"]["witness"]["reward"]
    model = cert["instance"]["model"]["reward"]
    return max(((s, a) for s in reward for a in reward[s]),
               key=lambda sa: F(reward[sa[0]][sa[1]]) - F(model[sa[0]][sa[1]]))


@pytest.mark.parametrize("name", ["mdp-unsafe", "bandit-unsafe"])
def test_tampered_unsafe_certificates_are_rejected(regularised_certificates, name):
    cert = regularised_certificates[name]
    assert _status(cert) == "verified"
    s, a = _witness_pair(cert)
    mutants = []
    lowered = copy.deepcopy(cert)
    raised = F(cert["evidence"]["witness"]["reward"][s][a])
    true = F(cert["instance"]["model"]["reward"][s][a])
    lowered["evidence"]["witness"]["reward"][s][a] = str(true + (raised - true) / 2)
    mutants.append(lowered)
    eps = copy.deepcopy(cert)
    eps["instance"]["epsilon"] = str(F(cert["instance"]["epsilon"]) / 100)
    mutants.append(eps)
    lam = copy.deepcopy(cert)
    lam["instance"]["regularisation"]["lambda"] = str(F(cert["instance"]["regularisation"]["lambda"]) * 20)
    mutants.append(lam)
    if "soft_box" in cert["evidence"]:
        shrunk = copy.deepcopy(cert)
        shrunk["evidence"]["soft_box"]["radius"] = str(F(cert["evidence"]["soft_box"]["radius"]) / 10 ** 9)
        mutants.append(shrunk)
        moved = copy.deepcopy(cert)
        state = next(iter(moved["evidence"]["soft_box"]["values"]))
        moved["evidence"]["soft_box"]["values"][state] = str(F(moved["evidence"]["soft_box"]["values"][state])
                                                            + F(1, 1000))
        mutants.append(moved)
    regret = copy.deepcopy(cert)
    regret["instance"]["regret_bound"] = "99/100"
    mutants.append(regret)
    for mutant in mutants:
        assert _status(mutant) == "rejected"


@pytest.mark.parametrize("name", ["mdp-safe", "bandit-safe"])
def test_tampered_safe_certificates_are_rejected_or_true(regularised_certificates, name):
    cert = regularised_certificates[name]
    assert _status(cert) == "verified"
    mdp = FIG4 if name.startswith("mdp") else CHATBOT.mdp
    D = uniform_distribution(FIG4) if name.startswith("mdp") else CHATBOT.data
    lam = F(cert["instance"]["regularisation"]["lambda"])
    L = F(cert["instance"]["regret_bound"])
    for factor in (F(3), F(10)):
        bigger = copy.deepcopy(cert)
        eps = F(cert["instance"]["epsilon"]) * factor
        bigger["instance"]["epsilon"] = str(eps)
        if _status(bigger) == "verified":      # then the claim must be true: no witness below eps
            found = regularised_certify(mdp, D, eps, L, lam, timeout=4)
            assert found.verdict(eps) is not Verdict.UNSAFE
    smaller_lambda = copy.deepcopy(cert)
    smaller_lambda["instance"]["regularisation"]["lambda"] = str(lam / 50)
    if _status(smaller_lambda) == "verified":
        found = regularised_certify(mdp, D, F(cert["instance"]["epsilon"]), L, lam / 50, timeout=4)
        assert found.verdict(F(cert["instance"]["epsilon"])) is not Verdict.UNSAFE
    # A bound leaf turned into a far leaf is rejected (the box touches the ball).
    far = copy.deepcopy(cert)
    node = far["evidence"]["box_tree"]
    while "split" in node:
        node = node["children"][0]
    if node["close"] == "bound":
        node.clear()
        node["close"] = "far"
        assert _status(far) == "rejected"
    wrong_reg = copy.deepcopy(cert)
    wrong_reg["instance"]["regularisation"]["regulariser"] = "entropy"
    assert _status(wrong_reg) == "rejected"


def test_interval_certificate_tampering(regularised_certificates):
    cert = regularised_certificates["mdp-interval"]
    assert _status(cert) == "verified"
    lower = F(cert["instance"]["critical_error"]["lower"])
    upper = F(cert["instance"]["critical_error"]["upper"])
    raised = copy.deepcopy(cert)
    raised["instance"]["critical_error"]["lower"] = str(upper)
    assert _status(raised) == "rejected"
    lowered = copy.deepcopy(cert)
    lowered["instance"]["critical_error"]["upper"] = str(lower)
    assert _status(lowered) == "rejected"
    swapped = copy.deepcopy(cert)
    swapped["verdict"] = "threshold"
    assert _status(swapped) == "rejected"


def test_reference_with_a_zero_is_rejected(regularised_certificates):
    cert = copy.deepcopy(regularised_certificates["bandit-unsafe"])
    row = cert["instance"]["regularisation"]["reference"]["q_safe"]
    actions = list(row)
    row[actions[0]] = str(F(row[actions[0]]) + F(row[actions[1]]))
    row[actions[1]] = "0"
    assert _status(cert) == "rejected"


# -- the command line: policy files, options, JSON -------------------------------------------

POLICY = """\
format = "rewardcert/policy-1"

[policy.s]
a1 = "1/2"
a2 = "1/4"
a3 = "1/4"
"""


@pytest.mark.parametrize("text, where, fragment", [
    (POLICY.replace('a3 = "1/4"', 'a3 = "1/5"'), "[policy.s]", "sum to 19/20"),
    (POLICY.replace('a3 = "1/4"', 'a3 = 0.25'), "[policy.s] a3", "floating-point"),
    (POLICY.replace('a3 = "1/4"', 'a4 = "1/4"'), "[policy.s] a4", "unknown action"),
    (POLICY.replace('[policy.s]', '[policy.t]'), "[policy] t", "unknown state"),
    (POLICY.replace('rewardcert/policy-1', 'rewardcert/data-1'), "format", "expected 'rewardcert/policy-1'"),
    (POLICY.replace('a1 = "1/2"', 'a1 = "3/4"').replace('a3 = "1/4"', 'a3 = "0"'), "[policy.s] a3",
     "positive probability"),
    (POLICY + 'extra = 1\n', "[policy.s] extra", "unknown action"),
])
def test_bad_policy_files_exit_2_naming_the_entry(tmp_path, capsys, text, where, fragment):
    from rewardcert.cli import main
    path = tmp_path / "ref.toml"
    path.write_text(text)
    code = main(["certify", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--epsilon", "1/5",
                 "--regret", "4/5", "--lambda", "1/2", "--reference", str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(path) in err and where in err and fragment in err and "Traceback" not in err


@pytest.mark.parametrize("argv, fragment", [
    (["--lambda", "0"], "lambda = 0 must be > 0"),
    (["--lambda", "1/2", "--reference", "missing.toml"], "cannot read file"),
    (["--reference", "uniform"], "--reference needs --lambda"),
])
def test_bad_regularisation_options_exit_2(capsys, argv, fragment):
    from rewardcert.cli import main
    code = main(["certify", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--epsilon", "1/5",
                 "--regret", "4/5", *argv])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err, err


def test_certify_and_threshold_json(tmp_path, capsys):
    from rewardcert.cli import main
    policy = tmp_path / "ref.toml"
    policy.write_text(POLICY)
    out = tmp_path / "c.json"
    code = main(["certify", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--epsilon", "7/10",
                 "--regret", "4/5", "--lambda", "1/2", "--reference", str(policy), "--timeout", "4",
                 "--json", "--out", str(out)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["verdict"] == "unsafe"
    assert set(doc["critical_error"]) == {"lower", "upper"} and "/" in doc["critical_error"]["upper"]
    reward = doc["witness"]["reward"]
    assert set(reward["s"]) == {"a1", "a2", "a3"}
    assert F(doc["critical_error"]["upper"]) <= F(7, 10)
    assert checker.check_file(str(out))[0] == "verified"
    # The witness's regret, recomputed at 70 digits with this reference policy, is >= L.
    witness = tuple(F(reward["s"][a]) for a in ("a1", "a2", "a3"))
    assert _independent_regret(FIG4, witness, F(1, 2), ((F(1, 2), F(1, 4), F(1, 4)),)) >= mpmath.mpf(4) / 5
    code = main(["threshold", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--regret", "4/5",
                 "--lambda", "1/2", "--timeout", "2", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code in (0, 3) and doc["complete"] is (code == 0)
    assert F(doc["critical_error"]["lower"]) <= F(doc["critical_error"]["upper"])


# -- the Python API refuses what the command line refuses (found by the audit campaign) -----------

def test_api_validates_its_arguments():
    from rewardcert.symbolic.core.errors import RewardcertError
    from rewardcert.symbolic.regularised.preference import rlhf_certify
    b = MDP(("s0",), ("a0", "a1"), F(0), (F(1),), (F(0), F(1)), None)
    D = (F(1, 2), F(1, 2))
    bad = [
        lambda: regularised_certify(b, D, F(1, 10), F(1, 2), F(1, 2), ((F(1),),), timeout=1),   # short row
        lambda: regularised_certify(b, (F(1),), F(1, 10), F(1, 2), F(1, 2), timeout=1),          # short D
        lambda: regularised_certify(b, (F(3, 2), F(-1, 2)), F(1, 10), F(1, 2), F(1, 2), timeout=1),
        lambda: regularised_certify(b, (F(1), F(1)), F(1, 10), F(1, 2), F(1, 2), timeout=1),
        lambda: regularised_certify(b, D, F(-1, 10), F(1, 2), F(1, 2), timeout=1),
        lambda: regularised_certify(b, D, F(0), F(1, 2), F(1, 2), timeout=1),
        lambda: regularised_certify(b, D, F(1, 10), F(0), F(1, 2), timeout=1),
        lambda: regularised_certify(b, D, F(1, 10), F(3, 2), F(1, 2), timeout=1),
        lambda: regularised_certify(b, D, 0.1, F(1, 2), F(1, 2), timeout=1),                    # a float
        lambda: rlhf_certify(b, F(-1, 10), F(1, 2), F(1, 2), timeout=1),
        lambda: regularised_threshold(b, D, F(1, 2), F(0), timeout=1),
    ]
    for call in bad:
        with pytest.raises(RewardcertError):
            call()
    # Strings are read like the command line reads them.
    result = regularised_certify(b, ("1/2", "1/2"), "1/10", "1/2", "1/2", timeout=5)
    assert result.verdict(F(1, 10)) in (Verdict.SAFE, Verdict.UNSAFE, Verdict.UNKNOWN)


def test_degenerate_bandit_is_safe_in_both_layers():
    from rewardcert.symbolic.regularised.preference import rlhf_certify
    flat = MDP(("s0",), ("a0", "a1", "a2"), F(0), (F(1),), (F(2),) * 3, None)
    assert rlhf_certify(flat, F(1, 10), F(1, 2), F(1, 2)).verdict(F(1, 10)) is Verdict.SAFE
    assert regularised_certify(flat, uniform_distribution(flat), F(1, 10), F(1, 2), F(1, 2)).verdict(F(1, 10)) \
        is Verdict.SAFE


def test_a_theorem_4_2_counterexample_exits_4(monkeypatch, capsys):
    """The reporting path: a hypothesis that holds with D proved safe at eps is a counterexample to
    the theorem as read, and `theorems` exits 4 (forced here: no real instance is known)."""
    import dataclasses

    import rewardcert.symbolic.paper.regularised as paper

    from rewardcert.cli import main
    real = paper.theorem_4_2

    def forced(*args, **kwargs):
        th = real(*args, **kwargs)
        variants = tuple(dataclasses.replace(v, hypothesis=True, witness=None) for v in th.variants)
        return dataclasses.replace(th, variants=variants, safe_at_epsilon=True)
    monkeypatch.setattr(paper, "theorem_4_2", forced)
    import rewardcert.theorem_checks.regularised as rows
    monkeypatch.setattr(rows, "theorem_4_2", forced)
    code = main(["theorems", str(EXAMPLES / "figure4.toml"), "--data", "uniform", "--epsilon", "1/5",
                 "--regret", "4/5", "--lambda", "1/2"])
    out = capsys.readouterr().out
    assert code == 4 and "COUNTEREXAMPLE" in out


def test_a_zero_error_witness_behind_a_non_monotone_return_is_found():
    # Found by an independent audit: raising R^(s1, a1), a pair D never sees, brings the regularised
    # optimum's regret to L only for R^(s1, a1) in about [5.96, 13]; the witness search's old
    # doubling scan stepped over that window, and eps*_lambda = 0 was reported as [0, 9.6e-4].
    mdp = MDP(states=("s0", "s1"), actions=("a0", "a1"), gamma=F(9, 10), initial=(F(1), F(0)),
              reward=(F(7, 4), F(1, 4), F(3, 4), F(-5, 4)),
              transitions=(((1, F(1)),), ((0, F(1, 7)), (1, F(6, 7))), ((0, F(1)),), ((0, F(3, 5)), (1, F(2, 5)))))
    D = (F(3, 13), F(4, 13), F(6, 13), F(0))
    reference = ((F(5, 9), F(4, 9)), (F(1, 4), F(3, 4)))
    L, lam = F(3, 4), F(2)
    result = regularised_threshold(mdp, D, L, lam, reference, timeout=10)
    assert result.upper == 0 and result.witness.error == 0
    changed = [x for x, (r, rhat) in enumerate(zip(mdp.reward, result.witness.reward)) if r != rhat]
    assert changed and all(D[x] == 0 for x in changed)
    # The regret, independently: mpmath soft value iteration (tests/regularised_reference.py).
    assert _independent_regret(mdp, result.witness.reward, lam, reference) >= mp(L)
    status, message, _ = check_certificate_document(regularised_certificate(mdp, D, L, result))
    assert status == "verified", message
