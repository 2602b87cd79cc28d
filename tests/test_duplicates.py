"""Duplicate actions (symbolic/exact/duplicates.py, format §3.8): the search covers the reduced policies only.

The answers are checked against brute force over *every* policy (tests/reference.py), so a
wrong reduction (one that drops a policy with a smaller f_π) would show up as a wrong ε*.
"""

import copy
from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import MDP, uniform_distribution
from rewardcert.symbolic.exact.duplicates import duplicate_actions
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.parallel import parallel_critical_epsilon

from rewardcert.certificates import (
    interval_certificate,
    safety_certificate,
    threshold_certificate,
)
from tests import reference as ref
from tests.conftest import EXAMPLES
from tests.strategies import distributions, mdps
from tests.test_checker import assert_tamper_proof, claim_is_true


def with_copies(mdp: MDP, data, copies: dict[int, int]):
    """``mdp`` with one more action ``dup``: in state ``s`` of ``copies`` it repeats action
    ``copies[s]`` (row, reward and data weight); elsewhere it is a self-loop with reward 0 and no data."""
    n, m = mdp.n_states, mdp.n_actions
    reward, transitions, weights = [], [], []
    for s in range(n):
        for a in range(m):
            x = s * m + a
            reward.append(mdp.reward[x])
            transitions.append(mdp.successors(x))
            weights.append(data[x])
        source = copies.get(s)
        if source is None:
            reward.append(F(0))
            transitions.append(((s, F(1)),))
            weights.append(F(0))
        else:
            x = s * m + source
            reward.append(mdp.reward[x])
            transitions.append(mdp.successors(x))
            weights.append(data[x])
    total = sum(weights)
    copied = MDP(mdp.states, mdp.actions + ("dup",), mdp.gamma, mdp.initial, tuple(reward), tuple(transitions),
                 name=mdp.name + "+dup")
    return copied, tuple(w / total for w in weights)


@st.composite
def duplicated_instances(draw):
    mdp = draw(mdps(min_states=1, max_states=3, max_actions=2))
    D = draw(distributions(mdp))
    states = draw(st.sets(st.integers(0, mdp.n_states - 1), min_size=1))
    copies = {s: draw(st.integers(0, mdp.n_actions - 1)) for s in states}
    copied, data = with_copies(mdp, D, copies)
    return copied, data, draw(st.sampled_from([F(1, 4), F(1, 2), F(1)]))


@settings(max_examples=40, deadline=None)
@given(duplicated_instances())
def test_the_reduced_search_gives_the_brute_force_answer_over_every_policy(instance):
    mdp, D, L = instance
    star, _ = ref.critical_epsilon(mdp, D, L)
    merged = critical_epsilon(mdp, D, L)
    assert merged.critical_epsilon == star
    assert critical_epsilon(mdp, D, L, merge_duplicates=False).critical_epsilon == star
    if not merged.bounds.degenerate:
        document = threshold_certificate(mdp, D, L, merged)
        assert checker.check_document(document)[0] == "verified"
        assert "duplicates" in document["evidence"]
        assert claim_is_true(document)


def test_duplicates_are_found_exactly_and_the_first_action_is_kept():
    lake = load_model(EXAMPLES / "frozenlake4x4.toml").mdp
    D = uniform_distribution(lake)
    found = duplicate_actions(lake, D)
    m = lake.n_actions
    # Independently: an action is covered iff an earlier one of its state has the same next-state
    # distribution, reward and weight; it is covered by the first such action.
    key = lambda x: ({t: p for t, p in ref.successors(lake, x) if p}, lake.reward[x], D[x])
    for s in range(lake.n_states):
        for a in range(m):
            x = s * m + a
            earlier = [s * m + b for b in range(a) if key(s * m + b) == key(x)]
            assert found.cover.get(x) == (earlier[0] if earlier else None)
        assert found.actions[s] == tuple(a for a in range(m) if s * m + a not in found.cover)
    assert len(found.cover) > 4, "Gymnasium's lake has holes, a goal and corners"
    # A different weight on one pair of a duplicate set splits it off.
    D2 = list(D)
    x = next(iter(found.cover))
    D2[x] += F(1, 1000)
    D2[found.cover[x]] -= F(1, 1000)
    assert x not in duplicate_actions(lake, D2).cover
    assert duplicate_actions(lake, D, merge=False).cover == {}


def test_a_pooled_search_uses_the_same_reduction():
    base = load_model(EXAMPLES / "chain3.toml").mdp
    mdp, D = with_copies(base, uniform_distribution(base), {0: 0, 1: 1, 2: 0})
    L = F(1, 2)
    serial = critical_epsilon(mdp, D, L)
    pooled = parallel_critical_epsilon(mdp, D, L, jobs=2)
    assert pooled.critical_epsilon == serial.critical_epsilon == ref.critical_epsilon(mdp, D, L)[0]
    document = threshold_certificate(mdp, D, L, pooled)
    assert checker.check_document(document)[0] == "verified" and "duplicates" in document["evidence"]


@pytest.fixture(scope="module")
def figure4_copied():
    base = load_model(EXAMPLES / "figure4.toml").mdp
    mdp, D = with_copies(base, uniform_distribution(base), {s: 0 for s in range(base.n_states)})
    L = F(4, 5)
    result = critical_epsilon(mdp, D, L)
    return mdp, D, L, result


def test_a_certificate_with_duplicates_verifies_and_its_mutants_are_caught(figure4_copied):
    mdp, D, L, result = figure4_copied
    document = threshold_certificate(mdp, D, L, result)
    assert document["evidence"]["duplicates"] == {s: {"dup": mdp.actions[0]} for s in mdp.states}
    status, _, facts = checker.check_document(document)
    assert status == "verified" and facts["duplicate_actions"] == mdp.n_states
    assert_tamper_proof(document, sample=400)


def rule_of(document) -> str:
    status, message, facts = checker.check_document(document)
    assert status == "rejected", message
    return facts["rule"]


def test_each_duplicate_rule_rejects_its_violation(figure4_copied):
    mdp, D, L, result = figure4_copied
    document = threshold_certificate(mdp, D, L, result)
    state, a0 = mdp.states[0], mdp.actions[0]
    model = lambda doc: doc["instance"]["model"]

    changed = copy.deepcopy(document)            # the copy's reward differs: not a duplicate
    model(changed)["reward"][state]["dup"] = "1000"
    assert rule_of(changed) == "duplicate-actions"
    changed = copy.deepcopy(document)            # its data weight differs
    data = changed["instance"]["data"]
    other = next(a for a in data[state] if a not in ("dup", a0))
    data[state]["dup"], data[state][other] = (str(F(data[state]["dup"]) + F(1, 100)),
                                              str(F(data[state][other]) - F(1, 100)))
    assert rule_of(changed) == "duplicate-actions"
    changed = copy.deepcopy(document)            # its transition row differs
    row = model(changed)["transitions"][state]["dup"]
    if len(mdp.states) > 1:
        model(changed)["transitions"][state]["dup"] = {mdp.states[1]: "1"} if row != {mdp.states[1]: "1"} \
            else {mdp.states[0]: "1"}
        assert rule_of(changed) == "duplicate-actions"
    changed = copy.deepcopy(document)            # a chain: the kept action is itself covered
    changed["evidence"]["duplicates"][state][a0] = "dup"
    assert rule_of(changed) == "duplicate-actions"
    changed = copy.deepcopy(document)            # an action covering itself
    changed["evidence"]["duplicates"][state] = {"dup": "dup"}
    assert rule_of(changed) == "duplicate-actions"
    changed = copy.deepcopy(document)            # an unknown action
    changed["evidence"]["duplicates"][state] = {"dup": "bogus"}
    assert rule_of(changed) == "duplicate-actions"
    changed = copy.deepcopy(document)            # without the table the tree misses policies
    del changed["evidence"]["duplicates"]
    assert rule_of(changed) == "tree-split"
    changed = copy.deepcopy(document)            # a covered action may not also have a child
    tree = changed["evidence"]["tree"]
    tree["children"]["dup"] = copy.deepcopy(tree["children"][a0])
    assert rule_of(changed) == "tree-split"


def test_duplicates_belong_only_to_certificates_with_a_tree(figure4_copied):
    mdp, D, L, result = figure4_copied
    star = result.critical_epsilon
    unsafe = safety_certificate(mdp, D, star, L, result)
    assert unsafe["verdict"] == "unsafe" and checker.check_document(unsafe)[0] == "verified"
    unsafe["evidence"]["duplicates"] = {mdp.states[0]: {"dup": mdp.actions[0]}}
    assert rule_of(unsafe) == "duplicate-actions"
    safe = safety_certificate(mdp, D, star / 2, L, result)
    assert safe["verdict"] == "safe" and "duplicates" in safe["evidence"]
    assert checker.check_document(safe)[0] == "verified"


def test_an_interval_certificate_of_a_stopped_reduced_search_verifies():
    lake = load_model(EXAMPLES / "frozenlake4x4.toml").mdp
    D = uniform_distribution(lake)
    result = critical_epsilon(lake, D, F(1, 2), max_nodes=200)
    assert not result.complete and result.duplicates.cover
    document = interval_certificate(lake, D, F(1, 2), result)
    assert checker.check_document(document)[0] == "verified"
    assert "duplicates" in document["evidence"]


def test_on_a_grid_model_the_reduction_gives_the_same_answer_with_a_smaller_tree():
    lake = load_model(EXAMPLES / "frozenlake4x4.toml").mdp
    D = uniform_distribution(lake)
    L = F(1, 4)
    merged = critical_epsilon(lake, D, L)
    full = critical_epsilon(lake, D, L, merge_duplicates=False)
    assert merged.complete and full.complete
    assert merged.critical_epsilon == full.critical_epsilon
    assert merged.stats.nodes < full.stats.nodes
    # The witness is a reduced policy, and both certificates verify.
    assert duplicate_actions(lake, D).reduce(merged.witness.policy) == tuple(merged.witness.policy)
    for result in (merged, full):
        assert checker.check_document(threshold_certificate(lake, D, L, result))[0] == "verified"
