"""RLHF (paper §6) and the error measures (paper §5) against independent computations:
mpmath at 60+ digits for every KL and soft optimum, brute-force trajectory enumeration for
Props 5.1-5.3, the standalone checker for the preference certificates, and tampering."""

from __future__ import annotations

import copy
import itertools
import json
from fractions import Fraction as F

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.policies import uniform_policy
from rewardcert.symbolic.core.policyfile import load_policy
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.paper.measures import error_measures
from rewardcert.symbolic.paper.rlhf import rlhf_theorem
from rewardcert.symbolic.regularised.preference import (
    preference_error,
    reference_data,
    rlhf_certify,
)
from rewardcert.symbolic.rigorous.soft import soft_optimum

from rewardcert.certificates import regularised_certificate
from rewardcert.cli import main

from .conftest import EXAMPLES
from .regularised_reference import mp
from .regularised_reference import regret as ref_regret
from .regularised_reference import soft_optimum as ref_soft_optimum
from .strategies import mdps, stochastic_policies

BANDIT = load_model(EXAMPLES / "rlhf-bandit.toml").mdp
BANDIT_REF = load_policy(EXAMPLES / "rlhf-reference.toml", BANDIT)
CHATBOT = load_model(EXAMPLES / "chatbot.toml").mdp


def mp_sigma(x):
    return 1 / (1 + mpmath.exp(-x))


def mp_log_sigma(x):
    """log σ(x) without cancellation (the naive log(1 − σ(v)) loses |v|/ln 10 digits)."""
    return -mpmath.log1p(mpmath.exp(-x)) if x >= 0 else x - mpmath.log1p(mpmath.exp(x))


def mp_bernoulli_kl(u, v):
    """KL(Bern(σ(u)) ‖ Bern(σ(v))) from its definition, with 1 − σ(x) = σ(−x)."""
    p = mp_sigma(u)
    return p * (mp_log_sigma(u) - mp_log_sigma(v)) + (1 - p) * (mp_log_sigma(-u) - mp_log_sigma(-v))


def mp_preference_error(mdp, reference, reward_model):
    """Def C.27 by its definition: E_{s, a1, a2} KL(Bern(σ(R1 − R2)) ‖ Bern(σ(R̂1 − R̂2)))."""
    with mpmath.workdps(80):
        m = mdp.n_actions
        total = mpmath.mpf(0)
        for s in range(mdp.n_states):
            for a1 in range(m):
                for a2 in range(m):
                    x1, x2 = s * m + a1, s * m + a2
                    kl = mp_bernoulli_kl(mp(mdp.reward[x1]) - mp(mdp.reward[x2]),
                                         mp(reward_model[x1]) - mp(reward_model[x2]))
                    total += mp(mdp.initial[s]) * mp(reference[s][a1]) * mp(reference[s][a2]) * kl
        return total


def independent_regret(mdp, reward, lam, reference):
    b = return_bounds(mdp)
    _, pi = ref_soft_optimum(mdp, reward, lam, reference)
    return ref_regret(mdp, pi, b.optimal_return, b.pessimal_return)


# -- the preference KL -------------------------------------------------------------------

@settings(max_examples=30)
@given(st.data())
def test_preference_error_encloses_mpmath(data):
    mdp = data.draw(mdps(max_states=2, max_actions=3, bandit=True))
    reference = data.draw(stochastic_policies(mdp, allow_zeros=False))
    shifts = data.draw(st.lists(st.integers(-8, 8), min_size=mdp.n_pairs, max_size=mdp.n_pairs))
    reward_model = tuple(r + F(k, 3) for r, k in zip(mdp.reward, shifts))
    enc = preference_error(mdp, reference, reward_model)
    with mpmath.workdps(80):
        value = mp_preference_error(mdp, reference, reward_model)
        tol = mpmath.mpf(10) ** -60
        assert mp(enc.lower) - tol <= value <= mp(enc.upper) + tol
        assert enc.upper - enc.lower < F(1, 10 ** 50)


@given(st.builds(F, st.integers(-3000, 3000), st.integers(1, 100)),
       st.builds(F, st.integers(-3000, 3000), st.integers(1, 100)))
def test_checker_pair_kl_is_an_upper_bound(u, v):
    with mpmath.workdps(100):
        kl = mp_bernoulli_kl(mp(u), mp(v))
        upper = checker._pair_kl_upper(u, v)
        assert kl <= mp(upper) <= kl + mpmath.mpf(2) ** -120 * (1 + abs(mp(u)) + abs(mp(v)))


@settings(max_examples=20)
@given(st.data())
def test_rlhf_policy_is_eq_76(data):
    mdp = data.draw(mdps(max_states=2, max_actions=4, bandit=True))
    reference = data.draw(stochastic_policies(mdp, allow_zeros=False))
    lam = data.draw(st.sampled_from([F(1, 5), F(1), F(3)]))
    optimum = soft_optimum(mdp, mdp.reward, lam, reference)
    m = mdp.n_actions
    with mpmath.workdps(100):
        tol = mpmath.mpf(10) ** -90            # the reference's own rounding; the enclosure is rigorous
        for s in range(mdp.n_states):
            weights = [mp(reference[s][a]) * mpmath.exp(mp(mdp.reward[s * m + a]) / mp(lam)) for a in range(m)]
            for a in range(m):
                value = weights[a] / sum(weights)
                assert mp(optimum.policy_lower[s * m + a]) - tol <= value <= mp(optimum.policy_upper[s * m + a]) + tol


# -- Theorem 6.1 on three bandits -----------------------------------------------------------------

def _check_conclusion(mdp, reference, witness, eps, L, lam):
    with mpmath.workdps(80):
        assert mp_preference_error(mdp, reference, witness) <= mp(eps) * mp(mdp.range_reward)
    assert independent_regret(mdp, witness, lam, reference) >= mp(L)


def test_theorem_6_1_hypothesis_holds_and_its_witness_verifies():
    eps, L, lam = F(1, 10), F(1, 2), F(1)
    th = rlhf_theorem(BANDIT, eps, L, lam, BANDIT_REF, search_seconds=3)
    assert th.hypothesis is True and th.conclusion_verified
    # Hand check of the hypothesis at 'risky': R_L = (1 - L) 1 + L (-4) = -3/2; a_s = harmful (R = -4);
    # bound = (R_L - R(a_s)) range R / (L e^{range R / lambda}) eps^2 / (4 lambda^2), range R = 5.
    with mpmath.workdps(50):
        bound = mpmath.mpf(5) / 2 * 5 / (mpmath.mpf(1) / 2 * mpmath.exp(5)) * mpmath.mpf(1) / 100 / 4
        c = th.conditions[1]
        assert c.action == BANDIT.actions.index("harmful") and c.threshold == F(-3, 2)
        assert mp(c.bound.lower) <= bound <= mp(c.bound.upper)
    _check_conclusion(BANDIT, BANDIT_REF, th.witness, eps, L, lam)
    # The theorem is very conservative: its witness's KL error is far below eps * range R.
    assert th.witness_error.upper < eps / 10 ** 6
    assert th.cheapest.error <= th.witness_error.upper


def test_theorem_6_1_hypothesis_fails_but_a_cheaper_witness_exists():
    reference = uniform_policy(CHATBOT)
    eps, L, lam = F(1, 2), F(1, 2), F(1, 2)
    th = rlhf_theorem(CHATBOT, eps, L, lam, reference, search_seconds=3)
    assert th.hypothesis is False
    assert th.cheapest is not None and th.cheapest.error <= eps
    _check_conclusion(CHATBOT, reference, th.cheapest.reward, eps, L, lam)


def test_constant_rows_need_no_action():
    # A third prompt whose responses are all equally good: the printed hypothesis fails there,
    # yet the other prompts' witness still breaks safety.
    m = BANDIT.n_actions
    mdp = MDP(BANDIT.states + ("chat",), BANDIT.actions, F(0), (F(3, 5), F(1, 5), F(1, 5)),
              BANDIT.reward + (F(1, 2),) * m, None, name="rlhf-bandit with a constant row")
    reference = BANDIT_REF + (tuple([F(1, m)] * m),)
    eps, L, lam = F(1, 10), F(1, 2), F(1)
    th = rlhf_theorem(mdp, eps, L, lam, reference, search_seconds=3)
    assert th.hypothesis is False and th.hypothesis_without_constant_rows is True
    assert th.conditions[2].constant_row and th.conclusion_verified
    _check_conclusion(mdp, reference, th.witness, eps, L, lam)


# -- preference certificates -----------------------------------------------------------------

@pytest.fixture(scope="module")
def preference_certificate():
    eps, L, lam = F(1, 10), F(1, 2), F(1)
    result = rlhf_certify(BANDIT, eps, L, lam, BANDIT_REF, timeout=30)
    return regularised_certificate(BANDIT, reference_data(BANDIT, BANDIT_REF), L, result, eps)


def _status(cert):
    return checker.check_document(json.loads(json.dumps(cert)))[0]


def test_preference_certificate_verifies_and_resists_tampering(preference_certificate):
    cert = preference_certificate
    assert cert["instance"]["error"] == "preference" and _status(cert) == "verified"
    reward = cert["evidence"]["witness"]["reward"]
    raised = max(((s, a) for s in reward for a in reward[s]),
                 key=lambda sa: F(reward[sa[0]][sa[1]]) - F(cert["instance"]["model"]["reward"][sa[0]][sa[1]]))
    s, a = raised
    true = F(cert["instance"]["model"]["reward"][s][a])
    lowered = copy.deepcopy(cert)
    lowered["evidence"]["witness"]["reward"][s][a] = str(true + (F(reward[s][a]) - true) / 3)
    assert _status(lowered) == "rejected"
    tiny = copy.deepcopy(cert)
    tiny["instance"]["epsilon"] = "1/10000000000000"
    assert _status(tiny) == "rejected"
    moved = copy.deepcopy(cert)
    row = moved["instance"]["data"]["benign"]
    row["helpful"], row["terse"] = str(F(row["helpful"]) + F(1, 100)), str(F(row["terse"]) - F(1, 100))
    assert _status(moved) == "rejected"
    safe = copy.deepcopy(cert)
    safe["verdict"] = "regularised-safe"
    assert _status(safe) == "rejected"
    absolute = copy.deepcopy(cert)
    del absolute["instance"]["error"]
    if _status(absolute) == "verified":       # then the absolute-error claim must be true too
        witness = [F(absolute["evidence"]["witness"]["reward"][st][ac]) for st in BANDIT.states
                   for ac in BANDIT.actions]
        data = reference_data(BANDIT, BANDIT_REF)
        error = sum(d * abs(w - r) for d, w, r in zip(data, witness, BANDIT.reward)) / BANDIT.range_reward
        assert error <= F(1, 10)


# -- the command line -------------------------------------------------------------------------

def test_cli_preference_json(tmp_path, capsys):
    out = tmp_path / "p.json"
    code = main(["certify", str(EXAMPLES / "rlhf-bandit.toml"), "--epsilon", "1/10", "--regret", "1/2",
                 "--lambda", "1", "--reference", str(EXAMPLES / "rlhf-reference.toml"), "--error", "preference",
                 "--data", "reference", "--json", "--out", str(out)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["verdict"] == "unsafe" and checker.check_file(str(out))[0] == "verified"
    witness = tuple(F(doc["witness"]["reward"][s][a]) for s in BANDIT.states for a in BANDIT.actions)
    _check_conclusion(BANDIT, BANDIT_REF, witness, F(1, 10), F(1, 2), F(1))


@pytest.mark.parametrize("argv, fragment", [
    (["--error", "preference", "--lambda", "1"], "pass --data reference"),
    (["--error", "preference", "--data", "reference"], "needs --lambda"),
    (["--data", "reference"], "needs --lambda"),
])
def test_cli_preference_refusals(capsys, argv, fragment):
    code = main(["certify", str(EXAMPLES / "rlhf-bandit.toml"), "--epsilon", "1/10", "--regret", "1/2", *argv])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err, err


def test_cli_preference_refuses_an_mdp(capsys):
    code = main(["threshold", str(EXAMPLES / "chain3.toml"), "--regret", "1/2", "--lambda", "1",
                 "--error", "preference", "--data", "reference"])
    err = capsys.readouterr().err
    assert code == 2 and "chain3.toml" in err and "gamma must be 0" in err


# -- Props 5.1-5.3 against brute-force trajectory enumeration ---------------------------------------

def brute_force(mdp, policy, estimate, horizon):
    """Every trajectory of length T with its probability and both returns (no dynamic programme)."""
    m = mdp.n_actions
    out = []

    def successors(x):
        return [(x // m, F(1))] if mdp.transitions is None else list(mdp.transitions[x])

    def walk(s, t, p, g, gh, s0):
        for a in range(m):
            q = policy[s][a]
            if not q:
                continue
            x = s * m + a
            g2, gh2 = g + mdp.gamma ** t * mdp.reward[x], gh + mdp.gamma ** t * estimate[x]
            if t == horizon - 1:
                out.append((p * q, g2, gh2, s0))
            else:
                for s2, r in successors(x):
                    walk(s2, t + 1, p * q * r, g2, gh2, s0)
    for s0, p in enumerate(mdp.initial):
        if p:
            walk(s0, 0, p, F(0), F(0), s0)
    return out


def mp_kl(u, v):
    return mp_bernoulli_kl(mp(u), mp(v))


@settings(max_examples=12)
@given(st.data())
def test_measures_against_brute_force(data):
    mdp = data.draw(mdps(max_states=2, max_actions=2))
    policy = data.draw(stochastic_policies(mdp))
    shifts = data.draw(st.lists(st.integers(-3, 3), min_size=mdp.n_pairs, max_size=mdp.n_pairs))
    estimate = tuple(r + F(k, 2) for r, k in zip(mdp.reward, shifts))
    horizon = data.draw(st.integers(1, 3))
    report = error_measures(mdp, policy, estimate, horizon)
    trajectories = brute_force(mdp, policy, estimate, horizon)
    left = sum(p * abs(g - gh) for p, g, gh, _ in trajectories)
    assert report.prop_5_1.left == left
    # The right side from its definition: (1 - g^T)/(1 - g) E_{D^pi}|R - R^|, D^pi = (1-g)/(1-g^T) eta_T.
    m = mdp.n_actions
    eta = [F(0)] * mdp.n_pairs

    def occ(s, t, p):
        for a in range(m):
            if policy[s][a]:
                eta[s * m + a] += mdp.gamma ** t * p * policy[s][a]
                if t < horizon - 1:
                    succ = [(s, F(1))] if mdp.transitions is None else mdp.transitions[s * m + a]
                    for s2, r in succ:
                        occ(s2, t + 1, p * policy[s][a] * r)
    for s0, p in enumerate(mdp.initial):
        if p:
            occ(s0, 0, p)
    if mdp.gamma:
        d_pi = [(1 - mdp.gamma) / (1 - mdp.gamma ** horizon) * e for e in eta]
        right = (1 - mdp.gamma ** horizon) / (1 - mdp.gamma) * sum(
            d * abs(r - rh) for d, r, rh in zip(d_pi, mdp.reward, estimate))
    else:
        right = sum(e * abs(r - rh) for e, r, rh in zip(eta, mdp.reward, estimate))
    assert report.prop_5_1.right == right and report.prop_5_1.holds is (left <= right)
    with mpmath.workdps(60):
        kl_all = sum(mp(p1 * p2) * mp_kl(g1 - g2, h1 - h2)
                     for (p1, g1, h1, _), (p2, g2, h2, _) in itertools.product(trajectories, repeat=2)
                     if (g1 - g2) != (h1 - h2))
        tol = mpmath.mpf(10) ** -40
        assert mp(report.prop_5_2.left.lower) - tol <= kl_all <= mp(report.prop_5_2.left.upper) + tol
        shared = mpmath.mpf(0)
        for s0, q in enumerate(mdp.initial):
            if q:
                group = [(p / q, g, h) for p, g, h, s in trajectories if s == s0]
                shared += mp(q) * sum(mp(p1 * p2) * mp_kl(g1 - g2, h1 - h2)
                                      for (p1, g1, h1), (p2, g2, h2) in itertools.product(group, repeat=2)
                                      if (g1 - g2) != (h1 - h2))
        assert mp(report.prop_5_3.left.lower) - tol <= shared <= mp(report.prop_5_3.left.upper) + tol
    assert report.prop_5_2.right == 2 * left
    assert report.prop_5_2.holds is not False and report.prop_5_3.holds is not False


def test_measures_command_json_and_refusals(tmp_path, capsys):
    args = ["measures", str(EXAMPLES / "chain3.toml"), "--policy", str(EXAMPLES / "chain3-policy.toml"),
            "--estimate", str(EXAMPLES / "chain3-estimate.toml")]
    assert main(args + ["--horizon", "3", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["prop_5_1"]) == {"left", "right", "holds"} and "/" in doc["prop_5_1"]["left"]
    assert set(doc["prop_5_2"]["left"]) == {"lower", "upper"} and doc["prop_5_3"]["holds"] is True
    assert main(args + ["--horizon", "0"]) == 2
    assert "--horizon" in capsys.readouterr().err
    wrong = tmp_path / "wrong.toml"
    wrong.write_text((EXAMPLES / "chain3-estimate.toml").read_text().replace('gamma = "9/10"', 'gamma = "1/2"'))
    assert main(["measures", str(EXAMPLES / "chain3.toml"), "--policy", str(EXAMPLES / "chain3-policy.toml"),
                 "--estimate", str(wrong), "--horizon", "2"]) == 2
    err = capsys.readouterr().err
    assert str(wrong) in err and "gamma" in err
    assert main(args + ["--horizon", "5000"]) == 2
    assert "above the limit" in capsys.readouterr().err


def test_binned_kl_enclosure_contains_the_exact_value(monkeypatch):
    """Past MAX_KL_PAIRS the KL sums are taken on a grid with a Lipschitz allowance: the result
    must still enclose the pair-by-pair value."""
    import rewardcert.symbolic.paper.measures as measures
    mdp = load_model(EXAMPLES / "chain3.toml").mdp
    policy = load_policy(EXAMPLES / "chain3-policy.toml", mdp)
    estimate = load_model(EXAMPLES / "chain3-estimate.toml").mdp.reward
    exact = error_measures(mdp, policy, estimate, 4)
    monkeypatch.setattr(measures, "MAX_KL_PAIRS", 10)
    monkeypatch.setattr(measures, "BINS", 20)
    binned = error_measures(mdp, policy, estimate, 4)
    assert binned.prop_5_1 == exact.prop_5_1
    left, wide = exact.prop_5_2.left, binned.prop_5_2.left
    assert wide.lower <= left.lower and left.upper <= wide.upper and wide.width > left.width


def test_preference_safe_side_against_sampling():
    """A proved lower end of the RLHF interval: random reward models whose (independently
    computed) preference error is below it all have regret < L at 70 digits."""
    import random

    from rewardcert.symbolic.regularised.preference import rlhf_threshold
    eps_L, lam = F(1, 2), F(1)
    result = rlhf_threshold(BANDIT, eps_L, lam, BANDIT_REF, timeout=120)
    assert result.complete and 0 < result.lower <= result.upper
    cert = regularised_certificate(BANDIT, reference_data(BANDIT, BANDIT_REF), eps_L, result)
    assert cert["verdict"] == "regularised-interval" and "box_radii" in cert["evidence"]
    assert _status(cert) == "verified"
    rng = random.Random(3)
    budget = mp(result.lower) * mp(BANDIT.range_reward)
    checked = 0
    for _ in range(300):
        x = rng.randrange(BANDIT.n_pairs)
        reward = list(BANDIT.reward)
        reward[x] += F(rng.randint(-4000, 4000), 100)
        if mp_preference_error(BANDIT, BANDIT_REF, reward) <= budget:
            checked += 1
            assert independent_regret(BANDIT, reward, lam, BANDIT_REF) < mp(eps_L)
    assert checked > 20
    # A radius too small for the root box is rejected.
    small = copy.deepcopy(cert)
    state = next(iter(small["evidence"]["box_radii"]))
    action = next(iter(small["evidence"]["box_radii"][state]))
    small["evidence"]["box_radii"][state][action] = "1/1000000"
    assert _status(small) == "rejected"


def test_chatbot_rlhf_interval_with_huge_boxes_verifies():
    """Regression: boxes thousands wide (pairs that D^ref barely weighs) once made the checker's
    policy box trivial (every exponent clamped), rejecting a correct certificate."""
    from rewardcert.symbolic.regularised.preference import rlhf_threshold
    reference = uniform_policy(CHATBOT)
    result = rlhf_threshold(CHATBOT, F(1, 2), F(1, 2), reference, timeout=6)
    cert = regularised_certificate(CHATBOT, reference_data(CHATBOT, reference), F(1, 2), result)
    assert _status(cert) == "verified"


def test_a_contradicted_measure_exits_4(monkeypatch, capsys):
    import dataclasses

    import rewardcert.symbolic.paper.measures as command  # the command imports it when it runs
    real = command.error_measures

    def forced(*args, **kwargs):
        report = real(*args, **kwargs)
        return dataclasses.replace(report, prop_5_2=dataclasses.replace(report.prop_5_2, holds=False))
    monkeypatch.setattr(command, "error_measures", forced)
    code = main(["measures", str(EXAMPLES / "chain3.toml"), "--policy", str(EXAMPLES / "chain3-policy.toml"),
                 "--estimate", str(EXAMPLES / "chain3-estimate.toml"), "--horizon", "2"])
    assert code == 4 and "CONTRADICTED" in capsys.readouterr().out
