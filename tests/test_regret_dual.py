"""The regret-aware family bound (certificate-format §3.6): sound, checked, and stronger than the plain dual."""

import copy
import random
from fractions import Fraction as F

from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.search import bounding
from rewardcert.symbolic.search.engine import critical_epsilon

from benchmarks.common import random_distribution, random_mdp
from rewardcert.certificates import (
    interval_certificate,
    safety_certificate,
    threshold_certificate,
)
from tests.strategies import distributions, mdps
from tests.test_checker import claim_is_true, mutations
from tests.test_seed import brute_force


def leaves(tree, kind):
    stack, found = [tree], []
    while stack:
        node = stack.pop()
        if node.get("close") == kind:
            found.append(node)
        stack.extend(node.get("children", {}).values())
    return found


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_regret_aware_search_gives_the_brute_force_answer(data):
    mdp = data.draw(mdps(min_states=2, max_states=3, max_actions=3))
    D = data.draw(distributions(mdp, allow_zeros=False))
    L = data.draw(st.sampled_from([F(1, 4), F(1, 2), F(3, 4)]))
    star, _ = brute_force(mdp, D, L)
    result = critical_epsilon(mdp, D, L, regret_aware=True)
    assert result.complete and result.critical_epsilon == star
    if not result.bounds.degenerate:
        assert checker.check_document(threshold_certificate(mdp, D, L, result))[0] == "verified"


def pruning_instance():
    """A random 7x4 MDP where the regret-aware bound closes families (seen in the benchmark sweep)."""
    mdp = random_mdp(8001, 7, 4)
    D = random_distribution(1, mdp, zeros=0)
    return mdp, D, F(1, 4)


def test_the_new_bound_prunes_families_the_plain_dual_cannot():
    mdp, D, L = pruning_instance()
    plain = critical_epsilon(mdp, D, L, regret_aware=False)
    aware = critical_epsilon(mdp, D, L, regret_aware=True)
    assert aware.critical_epsilon == plain.critical_epsilon
    assert aware.stats.regret_dual_closures > 0 and aware.stats.nodes < plain.stats.nodes
    target = aware.critical_epsilon * mdp.range_reward
    for closure in aware.closures:
        if closure.kind != "regret-dual":
            continue
        # The plain family dual of the same family, solved to optimality, is below the regret-aware bound
        # (which reached the incumbent of its time, so the plain one could not close the family):
        old = bounding.FamilyLP  # the same exact LP the search uses for plain duals
        from rewardcert.symbolic.exact.linalg import dynamics, to_fmpq, to_fraction
        lp = old(dynamics(mdp), [to_fmpq(r) for r in mdp.reward], [to_fmpq(d) for d in D])
        basis = [a if a is not None else aware.bounds.pessimal_policy[s] for s, a in enumerate(closure.family)]
        best = lp.solve(lp.initial_state(basis), lp.lower_bounds(closure.family))
        assert to_fraction(best.objective) < closure.bound and target <= closure.bound
    doc = threshold_certificate(mdp, D, L, aware)
    status, message, facts = checker.check_document(doc)
    assert status == "verified", message
    assert facts["regret_dual_leaves"] == aware.stats.regret_dual_closures


def test_tampering_with_regret_dual_leaves_is_caught_or_harmless():
    mdp, D, L = pruning_instance()
    aware = critical_epsilon(mdp, D, L, regret_aware=True)
    doc = threshold_certificate(mdp, D, L, aware)
    leaf = leaves(doc["evidence"]["tree"], "regret-dual")[0]
    # Targeted breaks, each with the rule that must name it.
    for change, rule in ((lambda n: n.update(t="-1/100"), "regret-dual-t"),
                         (lambda n: n.update(t=str(F(n["t"]) * 2)), None),
                         (lambda n: n.update(close="dual"), None)):
        broken = copy.deepcopy(doc)
        change(leaves(broken["evidence"]["tree"], "regret-dual")[0])
        status, _, facts = checker.check_document(broken)
        assert status == "rejected"
        assert rule is None or facts["rule"] == rule
    # Random mutations of that leaf only (the rest of the certificate is covered elsewhere).
    small = {"format": doc["format"], "instance": doc["instance"], "verdict": doc["verdict"],
             "evidence": doc["evidence"]}
    muts = [m for m in mutations({"instance": small["instance"], "leaf": leaf})
            if m[0].startswith("['leaf'")]
    for description, mutated in random.Random(0).sample(muts, min(60, len(muts))):
        replaced = copy.deepcopy(doc)
        target = leaves(replaced["evidence"]["tree"], "regret-dual")[0]
        target.clear()
        target.update(mutated["leaf"] if isinstance(mutated["leaf"], dict) else {"close": mutated["leaf"]})
        status, message, facts = checker.check_document(replaced)
        assert facts.get("rule") != "internal-error", (description, message)
        if status == "verified":
            assert claim_is_true(replaced), description


def test_a_stopped_search_gets_a_positive_certified_lower_end():
    grid_like = random_mdp(8002, 7, 4)
    D = random_distribution(2, grid_like, zeros=0)
    result = critical_epsilon(grid_like, D, F(1, 4), max_nodes=30)
    star = critical_epsilon(grid_like, D, F(1, 4)).critical_epsilon
    assert not result.complete and 0 < result.lower_bound <= star
    assert any(c.kind == "regret-dual" for c in result.open_leaves)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_deciding_at_epsilon_matches_brute_force(data):
    mdp = data.draw(mdps(min_states=2, max_states=3, max_actions=3))
    D = data.draw(distributions(mdp))
    L = data.draw(st.sampled_from([F(1, 4), F(1, 2), F(1)]))
    star, _ = brute_force(mdp, D, L)
    eps = data.draw(st.sampled_from([F(1, 100), F(1, 10), F(1, 3), F(1)]
                                    + ([star, star * F(9, 10), star * F(11, 10)] if star else [])))
    if eps <= 0:
        return
    result = critical_epsilon(mdp, D, L, decide_epsilon=eps)
    verdict = result.verdict(eps)
    expected = "safe" if star is None or eps < star else "unsafe"
    assert verdict.value == expected
    assert checker.check_document(safety_certificate(mdp, D, eps, L, result))[0] == "verified"


def test_deciding_far_below_the_threshold_needs_almost_no_search():
    mdp, D, L = pruning_instance()
    star = critical_epsilon(mdp, D, L)
    result = critical_epsilon(mdp, D, L, decide_epsilon=star.critical_epsilon / 10)
    assert result.verdict(star.critical_epsilon / 10).value == "safe"
    assert result.stats.nodes < star.stats.nodes / 100


def test_a_search_stopped_by_its_time_budget_still_gets_the_regret_aware_lower_end():
    # Regression: the open families' regret-aware LPs used to poll the search's own (expired) time
    # budget, so they stopped at their starting point and a --timeout run reported [0, U].
    grid_like = random_mdp(8002, 7, 4)
    D = random_distribution(2, grid_like, zeros=0)
    star = critical_epsilon(grid_like, D, F(1, 4)).critical_epsilon
    result = critical_epsilon(grid_like, D, F(1, 4), max_seconds=0)
    assert not result.complete and 0 < result.lower_bound <= star
    document = interval_certificate(grid_like, D, F(1, 4), result)
    assert checker.check_document(document)[0] == "verified"
