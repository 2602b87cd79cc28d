"""Dynamic branching (docs/engine.md §2): the same exact answer, trees the checker accepts."""

import copy
from fractions import Fraction as F

from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.proofs import checker
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import uniform_distribution
from rewardcert.symbolic.search.engine import critical_epsilon

from benchmarks.common import random_distribution, random_mdp
from rewardcert.certificates import interval_certificate, threshold_certificate
from tests.strategies import distributions, mdps
from tests.test_seed import brute_force


def splits_of(tree):
    stack, found = [(tree, 0)], []
    while stack:
        node, depth = stack.pop()
        if "split" in node:
            found.append((depth, node["split"]))
            stack.extend((child, depth + 1) for child in node["children"].values())
    return found


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_both_branchings_give_the_brute_force_answer_with_valid_certificates(data):
    mdp = data.draw(mdps(min_states=2, max_states=3, max_actions=3))
    D = data.draw(distributions(mdp))
    L = data.draw(st.sampled_from([F(1, 4), F(1, 2), F(1)]))
    star, _ = brute_force(mdp, D, L)
    for branching in ("fixed", "dynamic"):
        result = critical_epsilon(mdp, D, L, branching=branching)
        assert result.complete and result.critical_epsilon == star
        if not result.bounds.degenerate:
            document = threshold_certificate(mdp, D, L, result)
            status, message, _ = checker.check_document(document)
            assert status == "verified", message


def test_the_gridworld_finishes_with_dynamic_branching_and_its_tree_splits_out_of_order():
    grid = load_model("examples/gridworld4x4.toml").mdp
    D = uniform_distribution(grid)
    result = critical_epsilon(grid, D, F(3, 4))
    # The floating HiGHS MILP estimates 0.0140023 here (docs/performance.md); 4^16 policies.
    assert result.complete and abs(float(result.critical_epsilon) - 0.0140023) < 1e-6
    document = threshold_certificate(grid, D, F(3, 4), result)
    assert checker.check_document(document)[0] == "verified"
    order = [grid.states[s] for s in result.branch_order]
    splits = splits_of(document["evidence"]["tree"])
    assert any(order[depth] != state for depth, state in splits)       # really dynamic
    # The fixed order, stopped, brackets the same value.
    fixed = critical_epsilon(grid, D, F(3, 4), branching="fixed", max_nodes=2000)
    assert fixed.complete or fixed.lower_bound <= result.critical_epsilon <= fixed.upper_bound


def test_a_tampered_split_is_rejected():
    mdp = random_mdp(8002, 7, 4)
    D = random_distribution(2, mdp, zeros=0)
    result = critical_epsilon(mdp, D, F(1, 4))
    document = threshold_certificate(mdp, D, F(1, 4), result)
    tree = document["evidence"]["tree"]
    # Relabel the split of a child node as its parent's state: that state is then split twice.
    child = next(c for c in tree["children"].values() if "split" in c)
    mutated = copy.deepcopy(document)
    target = next(c for c in mutated["evidence"]["tree"]["children"].values() if "split" in c)
    target["split"] = tree["split"]
    assert checker.check_document(mutated)[2].get("rule") == "tree-split"
    # Relabel it as another free state: the leaves below now describe other families.
    others = [s for s in mdp.states if s not in (tree["split"], child["split"])]
    relabelled = copy.deepcopy(document)
    target = next(c for c in relabelled["evidence"]["tree"]["children"].values() if "split" in c)
    target["split"] = others[0]
    assert checker.check_document(relabelled)[0] == "rejected"


def test_a_stopped_dynamic_search_gives_a_valid_interval():
    mdp = random_mdp(10000, 10, 4)
    D = random_distribution(1, mdp, zeros=0)
    result = critical_epsilon(mdp, D, F(1, 2), max_nodes=300)
    assert not result.complete
    star = F(2021149158310651, 164036082213084400)   # the complete search's answer (test_parallel)
    assert result.lower_bound <= star <= result.upper_bound
    status, message, _ = checker.check_document(interval_certificate(mdp, D, F(1, 2), result))
    assert status == "verified", message
