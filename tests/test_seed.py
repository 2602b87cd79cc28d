"""Seeding the exact search with outside candidates (the floating MILP's policy): never changes the answer."""

import json
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.io import model_to_document
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.exact.evaluation import enumerate_policies
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.policy_error import policy_error

from benchmarks.common import random_distribution, random_mdp
from rewardcert.certificates import safety_certificate, threshold_certificate
from rewardcert.cli import main
from tests.strategies import distributions, mdps


def brute_force(mdp, D, L):
    """min f_π / range R over Π_L by listing every policy (None: Π_L empty or regret degenerate)."""
    bounds = return_bounds(mdp)
    if bounds.degenerate:
        return None, []
    values = [(policy_error(mdp, D, e.policy).value, e.policy) for e in enumerate_policies(mdp, bounds)
              if e.regret >= L]
    if not values:
        return None, []
    best = min(v for v, _ in values)
    return best / mdp.range_reward, [p for _, p in values]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_seed_gives_the_brute_force_answer_and_a_valid_certificate(data):
    mdp = data.draw(mdps(min_states=2, max_states=3, max_actions=3))
    D = data.draw(distributions(mdp))
    L = data.draw(st.sampled_from([F(1, 4), F(1, 2), F(1)]))
    star, members = brute_force(mdp, D, L)
    # seeds: a member of Π_L (any), and a policy of low regret (must be ignored)
    seeds = [data.draw(st.sampled_from(members))] if members else []
    seeds.append(return_bounds(mdp).optimal_policy)
    result = critical_epsilon(mdp, D, L, seed_policies=seeds)
    assert result.complete and result.critical_epsilon == star
    doc = threshold_certificate(mdp, D, L, result)
    assert checker.check_document(doc)[0] == "verified"
    if result.witness is not None:
        assert result.witness.policy in members


def test_a_low_regret_seed_is_ignored():
    mdp = random_mdp(11, 4, 3)
    D = random_distribution(1, mdp)
    plain = critical_epsilon(mdp, D, F(1, 2))
    seeded = critical_epsilon(mdp, D, F(1, 2), seed_policies=[return_bounds(mdp).optimal_policy])
    assert seeded.critical_epsilon == plain.critical_epsilon
    assert seeded.stats.lp_solves == plain.stats.lp_solves    # not even its LP was solved


def test_the_minimiser_as_seed_prunes_at_least_as_much():
    mdp = random_mdp(12, 5, 3)
    D = random_distribution(2, mdp)
    plain = critical_epsilon(mdp, D, F(1, 2))
    seeded = critical_epsilon(mdp, D, F(1, 2), seed_policies=[plain.witness.policy])
    assert seeded.critical_epsilon == plain.critical_epsilon
    assert seeded.stats.nodes <= plain.stats.nodes


def test_a_seed_below_epsilon_decides_unsafe_at_once():
    mdp = random_mdp(13, 5, 3)
    D = random_distribution(3, mdp)
    star = critical_epsilon(mdp, D, F(1, 2))
    eps = star.critical_epsilon * 2
    result = critical_epsilon(mdp, D, F(1, 2), stop_below=eps, seed_policies=[star.witness.policy])
    assert not result.complete and result.stats.nodes == 1 and result.verdict(eps) is Verdict.UNSAFE
    assert checker.check_document(safety_certificate(mdp, D, eps, F(1, 2), result))[0] == "verified"


def test_cli_milp_seed_and_no_seed_agree(tmp_path, capsys):
    pytest.importorskip("pulp")
    mdp = random_mdp(7001, 7, 4)             # 4^7 policies: above the seeding threshold
    path = tmp_path / "m.json"
    path.write_text(json.dumps(model_to_document(mdp)))
    answers = []
    for extra in ([], ["--no-milp-seed"]):
        assert main(["threshold", str(path), "--data", "uniform", "--regret", "1/2", "--json", *extra]) == 0
        answers.append(json.loads(capsys.readouterr().out)["critical_epsilon"])
    assert answers[0] == answers[1]
