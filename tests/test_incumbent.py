"""The float local search for better incumbents (symbolic/guidance/incumbent.py) only proposes.

Its result is checked against exact f_π computed per policy (policy_error, no floats), and the
search's answer against brute force over every policy, also when the proposals are garbage.
"""

from fractions import Fraction as F

import pytest
import rewardcert.symbolic.guidance.incumbent as incumbent
from rewardcert.proofs import checker
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.exact.duplicates import duplicate_actions
from rewardcert.symbolic.exact.familylp import FamilyLP
from rewardcert.symbolic.exact.linalg import dynamics, to_fmpq
from rewardcert.symbolic.guidance.floatlp import FloatFamilyLP, FloatPessimal
from rewardcert.symbolic.guidance.floatvi import return_bounds
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.policy_error import policy_error

from benchmarks.common import random_distribution, random_mdp
from rewardcert.certificates import safety_certificate, threshold_certificate
from tests.test_seed import brute_force


def instance(seed: int, n_states: int = 5, L=F(1, 2)):
    mdp = random_mdp(9300 + seed, n_states, 3)
    D = random_distribution(seed, mdp)
    star, members = brute_force(mdp, D, L)
    errors = {p: policy_error(mdp, D, p).value for p in members}
    return mdp, D, L, star, errors


def local_search(mdp, D, L):
    dyn = dynamics(mdp)
    reward = [to_fmpq(r) for r in mdp.reward]
    flp = FloatFamilyLP(FamilyLP(dyn, reward, [to_fmpq(d) for d in D]))
    enabled = duplicate_actions(mdp, D, merge=False).actions
    threshold = to_fmpq(return_bounds(mdp).regret_threshold(L))
    return incumbent.LocalSearch(flp, FloatPessimal(dyn, reward, enabled), enabled, threshold)


@pytest.mark.parametrize("seed", range(4))
def test_the_walk_ends_at_an_exact_local_minimum_of_pi_l(seed):
    mdp, D, L, star, errors = instance(seed)
    assert errors
    worst = max(errors, key=errors.get)
    found = local_search(mdp, D, L).improve(worst)
    assert found in errors                                   # a member of Π_L (regret ≥ L), exactly
    assert errors[found] <= errors[worst]
    # No one- or two-state change inside Π_L is better (up to the floats' relative tie 1e-6).
    n = mdp.n_states
    for s in range(n):
        for t in range(s, n):
            for a in range(3):
                for b in range(3):
                    other = list(found)
                    other[s], other[t] = a, b
                    other = tuple(other)
                    if other in errors:
                        assert errors[other] >= errors[found] * (1 - F(1, 10 ** 6))


def test_a_poor_seed_is_polished_into_a_better_first_incumbent():
    mdp, D, L, star, errors = instance(7, n_states=6)
    worst = max(errors, key=errors.get)
    assert errors[worst] > star * mdp.range_reward
    runs = {polish: critical_epsilon(mdp, D, L, seed_policies=[worst], max_nodes=1, finish_seconds=0,
                                     polish_incumbents=polish) for polish in (False, True)}
    assert runs[False].upper_bound == errors[worst] / mdp.range_reward
    assert runs[True].upper_bound < runs[False].upper_bound
    assert runs[True].witness.policy in errors
    assert runs[True].upper_bound == errors[runs[True].witness.policy] / mdp.range_reward
    for polish in (False, True):
        full = critical_epsilon(mdp, D, L, seed_policies=[worst], polish_incumbents=polish)
        assert full.complete and full.critical_epsilon == star


@pytest.mark.parametrize("proposal", ["optimal", "worst member", "all zeros"])
def test_a_bad_proposal_never_changes_the_answer_or_the_certificate(monkeypatch, proposal):
    mdp, D, L, star, errors = instance(3, n_states=6)
    optimal = return_bounds(mdp).optimal_policy          # regret 0: not a member of Π_L
    worst = max(errors, key=errors.get)

    def improve(self, policy, deadline=None):
        if proposal == "optimal":
            return tuple(optimal)
        if proposal == "worst member":
            return worst
        return tuple(0 for _ in policy)                        # some policy, member or not

    monkeypatch.setattr(incumbent.LocalSearch, "improve", improve)
    result = critical_epsilon(mdp, D, L, seed_policies=[worst])
    assert result.complete and result.critical_epsilon == star
    assert result.witness.policy in errors
    status, message, _ = checker.check_document(threshold_certificate(mdp, D, L, result))
    assert status == "verified", message


def test_a_polished_seed_below_epsilon_decides_unsafe_before_any_split():
    mdp, D, L, star, errors = instance(7, n_states=6)
    worst = max(errors, key=errors.get)
    polished = critical_epsilon(mdp, D, L, seed_policies=[worst], max_nodes=1, finish_seconds=0)
    epsilon = (polished.upper_bound + errors[worst] / mdp.range_reward) / 2   # between the two
    result = critical_epsilon(mdp, D, L, seed_policies=[worst], decide_epsilon=epsilon)
    assert result.verdict(epsilon) is Verdict.UNSAFE and result.stats.nodes == 1
    assert epsilon > star
    status, message, _ = checker.check_document(safety_certificate(mdp, D, epsilon, L, result))
    assert status == "verified", message
